"""The scope's service and the signed host, as API.md "What the signature binds" widens them, and no further.

Tencent's Node.js SDK signs the first label of its endpoint as the service (`127` for
`127.0.0.1:3000`, the API id for `<api-id>.execute-api...`, `cam` for `cam.<domain>`) and the host
without its port; the Python SDK signs `cam` and the host as sent. Both must verify; a signature
made for another service or host must not.
"""

from __future__ import annotations

import time

import pytest
from harness import Api, Credentials

from access_keys import signing
from access_keys_tools.events import http_event

HOST = "abc123def4.execute-api.eu-west-1.amazonaws.com"


def _signed(
    credentials: Credentials,
    *,
    service: str = "cam",
    signed_host: str | None = None,
    sent_host: str = HOST,
    domain_prefix: str | None = "abc123def4",
) -> dict:
    """A ListAccessKeys on POST /, signed for `service` over `signed_host`, sent with `sent_host`."""
    event = http_event("TencentCloudApi/list-access-keys", body={})
    headers = event["headers"]
    headers["host"] = signed_host if signed_host is not None else sent_host
    timestamp = int(time.time())
    headers["x-tc-timestamp"] = str(timestamp)
    date = signing.utc_date(timestamp)
    signed_headers = ("content-type", "host", "x-tc-action")
    canonical = signing.canonical_request(
        method="POST", path="/", query="", headers=headers, signed_headers=signed_headers, body=b"{}"
    )
    scope = f"{date}/{service}/tc3_request"
    signature = signing.signature(
        signing.signing_key(credentials.secret_key, date, service, "tc3_request"),
        signing.string_to_sign(timestamp, scope, signing.hashed(canonical)),
    )
    headers["authorization"] = (
        f"TC3-HMAC-SHA256 Credential={credentials.secret_id}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    headers["host"] = sent_host
    event["requestContext"]["domainName"] = sent_host.rsplit(":", 1)[0]
    if domain_prefix is None:
        event["requestContext"].pop("domainPrefix", None)
    else:
        event["requestContext"]["domainPrefix"] = domain_prefix
    return event


def _code(api: Api, event: dict) -> str | None:
    response = api.invoke("TencentCloudApi", event).body["Response"]
    return response.get("Error", {}).get("Code")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({}, None, id="cam-as-the-python-sdk-signs"),
        pytest.param({"service": "abc123def4"}, None, id="the-domains-first-label-as-the-node-sdk-signs"),
        pytest.param(
            {"service": "cam", "domain_prefix": "cam", "sent_host": "cam.example.com"}, None, id="a-custom-domain"
        ),
        pytest.param(
            {"service": "127", "domain_prefix": "127", "sent_host": "127.0.0.1:3000"}, None, id="the-local-stack"
        ),
        pytest.param({"service": "cvm"}, "AuthFailure.SignatureFailure", id="another-service"),
        pytest.param(
            {"service": "abc123def4", "domain_prefix": None}, "AuthFailure.SignatureFailure", id="no-domain-prefix"
        ),
        pytest.param(
            {"service": "other", "domain_prefix": "abc123def4"}, "AuthFailure.SignatureFailure", id="a-label-not-ours"
        ),
        pytest.param({"service": ""}, "AuthFailure.InvalidAuthorization", id="an-empty-service"),
    ],
)
def test_the_scopes_service_is_cam_or_the_domains_first_label_and_nothing_else(
    api: Api, alice: Credentials, change: dict, code: str | None
):
    assert _code(api, _signed(alice, **change)) == code


@pytest.mark.parametrize(
    ("signed_host", "sent_host", "code"),
    [
        pytest.param("127.0.0.1:3000", "127.0.0.1:3000", None, id="with-the-port-as-sent"),
        pytest.param("127.0.0.1", "127.0.0.1:3000", None, id="without-the-port-as-the-node-sdk-signs"),
        pytest.param("[::1]", "[::1]:3000", None, id="ipv6-without-the-port"),
        pytest.param("127.0.0.1:3001", "127.0.0.1:3000", "AuthFailure.SignatureFailure", id="another-port"),
        pytest.param("127.0.0.2", "127.0.0.1:3000", "AuthFailure.SignatureFailure", id="another-host"),
        pytest.param("127.0.0.1:3000", "127.0.0.1", "AuthFailure.SignatureFailure", id="a-port-not-sent"),
        pytest.param("cam.localhost", "cam.localhost:3000", None, id="cam-localhost-without-the-port"),
    ],
)
def test_the_signed_host_may_leave_out_the_port_and_nothing_else(
    api: Api, alice: Credentials, signed_host: str, sent_host: str, code: str | None
):
    event = _signed(alice, signed_host=signed_host, sent_host=sent_host, domain_prefix=None)

    assert _code(api, event) == code


def test_a_rest_route_takes_the_same_rules(api: Api, alice: Credentials):
    # The Node SDK's style on a REST route: the domain's label as service, the host without its port
    event = http_event("ListAccessKeys/list")
    timestamp = int(time.time())
    headers = {**event["headers"], "host": "127.0.0.1", "x-tc-timestamp": str(timestamp)}
    scope = f"{signing.utc_date(timestamp)}/127/tc3_request"
    canonical = signing.canonical_request(
        method="GET",
        path="/v1/access-keys",
        query="",
        headers=headers,
        signed_headers=("content-type", "host"),
        body=b"",
    )
    signature = signing.signature(
        signing.signing_key(alice.secret_key, signing.utc_date(timestamp), "127", "tc3_request"),
        signing.string_to_sign(timestamp, scope, signing.hashed(canonical)),
    )
    headers["authorization"] = (
        f"TC3-HMAC-SHA256 Credential={alice.secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    )
    headers["host"] = "127.0.0.1:3000"
    event["headers"] = headers
    event["requestContext"]["domainPrefix"] = "127"

    assert api.invoke("ListAccessKeys", event).status == 200
