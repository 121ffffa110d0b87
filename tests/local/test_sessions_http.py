"""Signed in as the account, over HTTP against `make run`'s stack: a sign-in with SRP (pycognito's
client, an implementation independent of ours) against the stack's moto Cognito, every session
route with the ID token, the local gateway's JWT checks, and a flood of hostile Bearer tokens."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from running_stack import LocalStack
from stack_process import unique_uin

from access_keys_tools.template import PROJECT_ROOT

SESSION_ROUTES = [
    ("GET", "/v1/session/access-keys"),
    ("POST", "/v1/session/access-keys"),
    ("GET", "/v1/session/access-keys/AKID" + "A" * 32),
    ("PATCH", "/v1/session/access-keys/AKID" + "A" * 32),
    ("DELETE", "/v1/session/access-keys/AKID" + "A" * 32),
    ("GET", "/v1/session/access-keys/AKID" + "A" * 32 + "/access-records"),
    ("GET", "/v1/session/activity"),
]


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str


def http(stack: LocalStack, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(stack.url + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local stack
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def sign_in(stack: LocalStack, uin: str | None = None) -> Tokens:
    tokens = stack.sign_in(uin or unique_uin())
    return Tokens(tokens["IdToken"], tokens["AccessToken"])


def test_the_banner_says_how_to_make_an_accounts_sign_in(local_stack: LocalStack) -> None:
    line = (
        f"access-keys admin create-account --local {local_stack.aws_url} --uin 100000000001 --email owner@example.com"
    )
    assert line in local_stack.process.banner
    assert f"{local_stack.url}/console" in local_stack.process.banner


def test_a_signed_in_owner_uses_every_session_route_over_http(local_stack: LocalStack) -> None:
    tokens = sign_in(local_stack)
    bearer = f"Bearer {tokens.id_token}"

    status, created, headers = http(local_stack, "POST", "/v1/session/access-keys", bearer, {"Description": "console"})
    assert status == 201
    assert headers["Cache-Control"] == "no-store"
    secret_id = created["AccessKey"]["SecretId"]
    key = f"/v1/session/access-keys/{secret_id}"
    assert http(local_stack, "GET", "/v1/session/access-keys", bearer)[1]["AccessKeys"][0]["SecretId"] == secret_id
    assert http(local_stack, "GET", key, bearer)[1]["AccessKey"]["Status"] == "Active"
    assert http(local_stack, "GET", f"{key}/access-records", bearer)[1]["AccessRecords"] == []
    assert http(local_stack, "PATCH", key, bearer, {"Status": "Inactive"})[1]["AccessKey"]["Status"] == "Inactive"
    assert http(local_stack, "DELETE", key, bearer)[0] == 200
    status, listed, _ = http(local_stack, "GET", "/v1/session/activity", bearer)

    assert status == 200
    assert [entry["Action"] for entry in listed["Activity"]] == [
        "DeleteAccessKey",
        "UpdateAccessKey",
        "CreateAccessKey",
        "CreateAccount",
    ]
    assert listed["Activity"][0]["SourceIp"] == "127.0.0.1"


def test_another_accounts_session_gets_404_for_a_key_that_is_not_its_own(local_stack: LocalStack) -> None:
    alice, bob = sign_in(local_stack), sign_in(local_stack)
    _, created, _ = http(local_stack, "POST", "/v1/session/access-keys", f"Bearer {alice.id_token}", {})
    key = f"/v1/session/access-keys/{created['AccessKey']['SecretId']}"

    for method, body in (("GET", None), ("PATCH", {"Status": "Inactive"}), ("DELETE", None)):
        status, answer, _ = http(local_stack, method, key, f"Bearer {bob.id_token}", body)
        assert (status, answer["Error"]["Code"]) == (404, "ResourceNotFound.AccessKey")
    assert http(local_stack, "GET", key, f"Bearer {alice.id_token}")[1]["AccessKey"]["Status"] == "Active"


def test_an_access_token_passes_the_gateway_and_is_refused_by_the_function(local_stack: LocalStack) -> None:
    tokens = sign_in(local_stack)

    status, answer, _ = http(local_stack, "GET", "/v1/session/access-keys", f"Bearer {tokens.access_token}")

    assert (status, answer["Error"]["Code"]) == (401, "AuthFailure.TokenFailure")


def _b64(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def hostile_tokens(valid: str) -> dict[str, str]:
    head, body, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return {
        "none": "",
        "garbage": "Bearer \x01\x02garbage\x7f",
        "not base64": "Bearer %%%.%%%.%%%",
        "two parts": f"Bearer {head}.{body}",
        "alg none": f"Bearer {_b64({'alg': 'none', 'kid': 'dummy'})}.{body}.",
        "tampered claims": f"Bearer {head}.{_b64({**claims, 'custom:uin': '999'})}.{signature}",
        "expired": f"Bearer {head}.{_b64({**claims, 'exp': 1})}.{signature}",
        "signature cut": f"Bearer {head}.{body}.{signature[:-8]}",
        "oversized": "Bearer " + "A" * 20_000,
        "deeply nested": f"Bearer {_b64({'a': [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]})}.{body}.{signature}",
        "binary": "Bearer " + base64.urlsafe_b64encode(bytes(range(256)) * 4).decode(),
        "json header junk": f"Bearer {base64.urlsafe_b64encode(b'[1,2').decode()}.{body}.{signature}",
    }


@pytest.mark.parametrize(("method", "path"), SESSION_ROUTES)
def test_malformed_oversized_and_garbage_bearer_tokens_get_401_and_never_a_5xx(
    local_stack: LocalStack, method: str, path: str
) -> None:
    valid = _shared_token(local_stack)
    answers = {}
    for name, value in hostile_tokens(valid).items():
        status, answer, headers = http(
            local_stack, method, path, value or None, {} if method in ("POST", "PATCH") else None
        )
        answers[name] = (status, answer)
        assert status == 401, (name, status, answer)
        assert answer == {"message": "Unauthorized"}, name
        assert headers.get("www-authenticate", headers.get("Www-Authenticate", "")).startswith("Bearer "), name
    assert len(answers) == len(hostile_tokens(valid))


_TOKENS: dict[str, str] = {}


def _shared_token(stack: LocalStack) -> str:
    """One signed-in account's ID token for every route's hostile variants (each sign-in costs ~1 s)."""
    if "valid" not in _TOKENS:
        _TOKENS["valid"] = sign_in(stack).id_token
    return _TOKENS["valid"]


def test_the_readme_shows_the_banners_sign_in_command_and_pictures_that_exist(local_stack: LocalStack) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The console page") : readme.index("## Use Tencent Cloud's SDKs")]
    command = "access-keys admin create-account --local --uin 100000000001 --email owner@example.com"

    assert command in section
    # The banner names moto's URL when the port is not the default one, as here.
    assert command.replace("--local", f"--local {local_stack.aws_url}") in local_stack.process.banner
    pictures = re.findall(r"\]\((docs/images/[^)]+)\)", readme)
    assert {"docs/images/console-sign-in.png", "docs/images/console-totp-setup.png"} <= set(pictures)
    assert [picture for picture in pictures if not (PROJECT_ROOT / picture).is_file()] == []
