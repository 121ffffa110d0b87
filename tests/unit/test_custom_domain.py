"""The optional custom domain: with DomainName and CertificateArn the API also answers on
cam.<DomainName>, as Tencent Cloud's SDKs reach CAM; without them, nothing of it is made."""

from __future__ import annotations

import pytest
from sam_transform import created, transformed

CERTIFICATE = "arn:aws:acm:eu-west-1:111111111111:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
WITH_DOMAIN = {"DomainName": "example.com", "CertificateArn": CERTIFICATE}


def _of_type(resources: dict, resource_type: str) -> dict:
    return {name: resource for name, resource in resources.items() if resource["Type"] == resource_type}


def test_with_a_domain_the_api_answers_on_cam_of_it_over_tls_1_2():
    template = transformed(WITH_DOMAIN)
    resources = created(template, WITH_DOMAIN)

    (domain,) = _of_type(resources, "AWS::ApiGatewayV2::DomainName").values()
    (mapping,) = _of_type(resources, "AWS::ApiGatewayV2::ApiMapping").values()
    assert domain["Properties"]["DomainName"] == {"Fn::Sub": "cam.${DomainName}"}
    assert domain["Properties"]["DomainNameConfigurations"] == [
        {"CertificateArn": {"Ref": "CertificateArn"}, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
    ]
    # Mapped to the HTTP API's own $default stage, which SAM makes: the resource it depends on exists.
    assert mapping["Properties"]["ApiId"] == {"Ref": "AccessKeysApi"}
    assert mapping["Properties"]["Stage"] == "$default"
    assert mapping["DependsOn"] in template["Resources"]
    assert template["Resources"][mapping["DependsOn"]]["Type"] == "AWS::ApiGatewayV2::Stage"
    assert {"CustomDomainUrl", "CustomDomainTarget"} <= set(template["Outputs"])


@pytest.mark.parametrize(
    "parameters",
    [{}, {"DomainName": "example.com"}, {"CertificateArn": CERTIFICATE}],
    ids=["neither", "a-domain-without-certificate", "a-certificate-without-domain"],
)
def test_without_both_parameters_no_domain_is_made(parameters: dict):
    resources = created(transformed(parameters), {"DomainName": "", "CertificateArn": "", **parameters})

    assert _of_type(resources, "AWS::ApiGatewayV2::DomainName") == {}
    assert _of_type(resources, "AWS::ApiGatewayV2::ApiMapping") == {}
