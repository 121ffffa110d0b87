"""Who can use the secrets key, on the template as CloudFormation receives it (SAM's transform):
Decrypt only the roles of the functions that verify, Encrypt only those of the functions that
create keys and the operators KeyCreatorArns names, and nobody anything else but administration.

Each role is given the ARN it will have (its path and a name), and each key policy statement is
evaluated for it as KMS would: the action, the principal, and the ArnLike condition on
aws:PrincipalArn. IAM policies cannot widen this: a key policy that does not allow an action for a
principal denies it, whatever the principal's own policies say.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from sam_transform import transformed

from access_keys_tools.template import condition_values, parameter_values, resolve

ACCOUNT = "123456789012"
STACK = "access-keys"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
VERIFYING = {
    "CreateAccessKeyFunction",
    "ListAccessKeysFunction",
    "GetAccessKeyFunction",
    "UpdateAccessKeyFunction",
    "DeleteAccessKeyFunction",
    "ListAccessRecordsFunction",
    "ListActivityFunction",
    "TencentCloudApiFunction",
    "VerifyRequestFunction",
}
CREATING = {"CreateAccessKeyFunction", "TencentCloudApiFunction"}
OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/KeyOperators"
# What no statement may allow anyone: each hands the plaintext, or the power to get it, on.
NEVER = ("kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:CreateGrant", "kms:Sign", "kms:*")


PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::StackName": STACK, "AWS::Region": "eu-west-1"}


def stack(parameters: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The key policy's statements, and every role's ARN by its logical id, for these parameters."""
    template = transformed(parameters)
    lookup = {**PSEUDO, **parameter_values(parameters, template), **condition_values(parameters, template)}
    resources = template["Resources"]
    policy = resolve(resources["SecretsKey"]["Properties"]["KeyPolicy"], lookup)
    roles = {}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            path = resolve(resource["Properties"].get("Path", "/"), lookup)
            roles[logical_id] = f"arn:aws:iam::{ACCOUNT}:role{path}{STACK}-{logical_id}-ABC123"
    return policy["Statement"], roles


def allows(statement: dict[str, Any], action: str, principal_arn: str) -> bool:
    """Whether the statement allows this action to this principal (in this account)."""
    assert statement["Effect"] == "Allow", "a Deny would need evaluating too"
    assert "NotAction" not in statement
    assert "NotPrincipal" not in statement
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if not any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
        return False
    principal = statement["Principal"]["AWS"]
    if principal not in (ROOT, principal_arn, "*"):
        return False
    conditions = statement.get("Condition", {})
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            if key == "aws:PrincipalArn":
                assert operator == "ArnLike"
                patterns = expected if isinstance(expected, list) else [expected]
                if not any(fnmatch.fnmatchcase(principal_arn, pattern) for pattern in patterns):
                    return False
            else:
                # The encryption context's conditions: they narrow what is decrypted, not who.
                assert key.startswith("kms:EncryptionContext"), key
    return True


def who_may(statements: list[dict[str, Any]], action: str, principals: dict[str, str]) -> set[str]:
    return {name for name, arn in principals.items() if any(allows(s, action, arn) for s in statements)}


def function_role(name: str) -> str:
    return "RecordLastAccessRole" if name == "RecordLastAccessFunction" else f"{name}Role"


@pytest.mark.parametrize(
    "parameters",
    [{}, {"Stage": "prod", "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:alarms"}],
    ids=["dev", "prod"],
)
def test_only_the_verifying_functions_can_decrypt_and_only_the_creating_ones_encrypt(parameters: dict) -> None:
    statements, roles = stack(parameters)
    others = {
        "an administrator": f"arn:aws:iam::{ACCOUNT}:role/Admin",
        "the account root": ROOT,
        "a role of another stack with a similar path": f"arn:aws:iam::{ACCOUNT}:role/{STACK}-other/verifiers/x",
        "a user": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "another account's role": f"arn:aws:iam::999999999999:role/{STACK}/verifiers/x",
    }
    principals = {**roles, **others}

    assert who_may(statements, "kms:Decrypt", principals) == {function_role(name) for name in VERIFYING}
    assert who_may(statements, "kms:Encrypt", principals) == {function_role(name) for name in CREATING}
    for action in NEVER:
        assert who_may(statements, action, principals) == set(), action
    # Administration stays with the account (through IAM), so that the key can always be managed.
    assert who_may(statements, "kms:PutKeyPolicy", principals) == set(principals)
    assert who_may(statements, "kms:ScheduleKeyDeletion", principals) == set(principals)


def test_the_operators_named_may_encrypt_and_still_not_decrypt() -> None:
    statements, roles = stack({"KeyCreatorArns": OPERATOR})
    principals = {**roles, "operator": OPERATOR, "someone else": f"arn:aws:iam::{ACCOUNT}:role/Other"}

    assert who_may(statements, "kms:Encrypt", principals) == {function_role(name) for name in CREATING} | {"operator"}
    assert "operator" not in who_may(statements, "kms:Decrypt", principals)


def test_every_use_of_the_key_requires_both_keys_of_the_encryption_context() -> None:
    statements, _ = stack({})

    for statement in statements:
        actions = set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        if actions & {"kms:Encrypt", "kms:Decrypt"}:
            condition = statement["Condition"]
            assert condition["ForAllValues:StringEquals"] == {"kms:EncryptionContextKeys": ["SecretId", "Uin"]}
            # ForAllValues alone passes a request with no context at all.
            assert condition["Null"] == {
                "kms:EncryptionContext:SecretId": "false",
                "kms:EncryptionContext:Uin": "false",
            }


def test_no_role_but_a_verifying_functions_has_the_verifiers_path() -> None:
    _, roles = stack({})
    on_path = {name for name, arn in roles.items() if f":role/{STACK}/verifiers/" in arn}

    assert on_path == {function_role(name) for name in VERIFYING}
    assert {name for name, arn in roles.items() if "/verifiers/creators/" in arn} == {
        function_role(name) for name in CREATING
    }
