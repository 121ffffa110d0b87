"""Who may invoke VerifyRequestFunction: exactly the accounts PlatformServiceAccounts lists.

Proved on the template as CloudFormation receives it: SAM's own transform of template.yaml (the
library `sam validate` and `sam deploy` use), then its conditions and principals evaluated for
given parameter values, as CloudFormation would.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sam_transform import created, transformed

from access_keys_tools.template import load_template, parameter_values, resolve

VERIFIER = "VerifyRequestFunction"


def invokers(accounts: str, permission_type: str = "AWS::Lambda::Permission") -> list[tuple[str, Any]]:
    """(principal, what it may use) of every permission of this type CloudFormation would create."""
    parameters = {"PlatformServiceAccounts": accounts}
    template = transformed(parameters)
    values = parameter_values(parameters, template)
    found = []
    for resource in created(template, parameters).values():
        if resource["Type"] != permission_type:
            continue
        properties = resource["Properties"]
        target = properties.get("FunctionName", properties.get("LayerVersionArn"))
        found.append((resolve(properties["Principal"], values), target))
    return found


def may_invoke_verifier(accounts: str) -> list[Any]:
    # The function itself, or its alias `live` (AutoPublishAlias), which is what the services invoke.
    targets = ({"Fn::GetAtt": [VERIFIER, "Arn"]}, {"Ref": VERIFIER}, {"Ref": f"{VERIFIER}Aliaslive"})
    return sorted(principal for principal, function in invokers(accounts) if function in targets)


@pytest.mark.parametrize(
    "accounts",
    ["111111111111", "111111111111,222222222222", "111111111111,222222222222,333333333333,444444444444,555555555555"],
)
def test_exactly_the_listed_accounts_may_invoke_the_verifier(accounts: str) -> None:
    assert may_invoke_verifier(accounts) == sorted(accounts.split(","))


def test_with_no_account_listed_no_other_account_may_invoke_it() -> None:
    assert may_invoke_verifier("") == []


def test_no_route_schedule_or_service_principal_reaches_the_verifier() -> None:
    # SAM adds a permission per event source; the verifier has none, so API Gateway cannot call it.
    events = load_template()["Resources"][VERIFIER]["Properties"].get("Events")

    assert events is None
    assert all(str(principal).isdigit() for principal in may_invoke_verifier("111111111111,222222222222"))


def test_the_parameter_refuses_anything_but_up_to_five_account_ids() -> None:
    pattern = load_template()["Parameters"]["PlatformServiceAccounts"]["AllowedPattern"]

    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "111111111111,222222222222")
    for refused in ("*", "111111111111,*", "arn:aws:iam::111111111111:root", "1111", ",".join(["111111111111"] * 6)):
        assert not re.fullmatch(pattern, refused), refused


@pytest.mark.parametrize("accounts", ["", "111111111111", "111111111111,222222222222,333333333333"])
def test_the_verifier_layer_is_shared_with_the_same_accounts_and_no_other(accounts: str) -> None:
    shared = invokers(accounts, "AWS::Lambda::LayerVersionPermission")

    assert sorted(principal for principal, _ in shared) == sorted(filter(None, accounts.split(",")))
    # SAM names each layer version VerifierLayer<hash of its content>.
    assert all(set(layer) == {"Ref"} and layer["Ref"].startswith("VerifierLayer") for _, layer in shared)
