"""How the verifier handles secrets: constant-time comparison, no cache outliving a delete,
no echo of a signature or a secret in any answer."""

from __future__ import annotations

import ast
import hmac
import inspect
import time

import pytest
from harness import Api, Credentials

from access_keys import authentication, key_material, signing
from access_keys_tools.events import http_event, sign_event


def test_the_verifier_compares_signatures_with_compare_digest(
    api: Api, alice: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def spy(expected: bytes, given: bytes) -> bool:
        compared.append((expected, given))
        return compare_digest(expected, given)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    forged = Credentials.forged(alice.secret_id)

    refused = api.call("ListAccessKeys/list", forged)
    accepted = api.call("ListAccessKeys/list", alice)

    assert refused.error_code == "AuthFailure.SignatureFailure"
    assert accepted.status == 200
    assert len(compared) == 2
    assert all(len(expected) == len(given) == 64 for expected, given in compared)


def test_no_signature_is_compared_with_an_equality_operator() -> None:
    offenders = []
    for module in (signing, authentication):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                # A value named after a signature; not a literal such as a set of field names.
                operands = [operand for operand in (node.left, *node.comparators) if not _literal(operand)]
                if any("signature" in ast.unparse(operand).lower() for operand in operands):
                    offenders.append(f"{module.__name__}: {ast.unparse(node)}")

    assert offenders == []


def _literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant | ast.Set | ast.List | ast.Tuple | ast.Dict)


def test_a_deleted_keys_cached_secret_never_verifies(api: Api, alice: Credentials) -> None:
    created = api.call("CreateAccessKey/create", alice, body={"Description": "doomed"}).body["AccessKey"]
    doomed = Credentials.of(created)
    assert api.call("ListAccessKeys/list", doomed).status == 200  # its secret is now cached warm
    api.call("UpdateAccessKey/disable", alice, secret_id=doomed.secret_id, body={"Status": "Inactive"})
    assert api.call("DeleteAccessKey/delete", alice, secret_id=doomed.secret_id).status == 200

    # Another execution environment would still hold its signing key: this one does too.
    assert any(entry[0] == doomed.secret_id for entry in key_material._cache)
    after = api.call("ListAccessKeys/list", doomed)
    recreated = api.call("CreateAccessKey/create", alice, body={"Description": "next"})

    assert (after.status, after.error_code) == (401, "AuthFailure.SecretIdNotFound")
    assert recreated.body["AccessKey"]["SecretId"] != doomed.secret_id


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("forged", "AuthFailure.SignatureFailure"),
        ("expired", "AuthFailure.SignatureExpire"),
        ("wrong-service", "AuthFailure.SignatureFailure"),
        ("tampered-body", "AuthFailure.SignatureFailure"),
    ],
)
def test_no_refusal_echoes_the_signature_or_a_secret(api: Api, alice: Credentials, change: str, code: str) -> None:
    timestamp = int(time.time()) - (3600 if change == "expired" else 0)
    secret_key = "f" * 32 if change == "forged" else alice.secret_key
    event = sign_event(
        http_event("CreateAccessKey/create", body={"Description": "x"}),
        secret_id=alice.secret_id,
        secret_key=secret_key,
        timestamp=timestamp,
    )
    if change == "wrong-service":
        event["headers"]["authorization"] = event["headers"]["authorization"].replace("/cam/", "/cvm/")
    if change == "tampered-body":
        event["body"] = '{"Description": "y"}'
    signature = event["headers"]["authorization"].rsplit("Signature=", 1)[1]

    response = api.invoke("CreateAccessKey", event)

    assert response.error_code == code, response.raw_body
    for secret in (signature, alice.secret_key, secret_key, event["headers"]["authorization"]):
        assert secret not in response.raw_body
