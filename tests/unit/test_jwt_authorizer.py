"""The local JWT authorizer refuses every token API Gateway's would, and the function refuses what
API Gateway's cannot tell apart (an access token of the same client): each case, and fuzzed junk."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from access_keys.api import session_actor
from access_keys.errors import TokenFailure
from access_keys_tools.local import jwt_authorizer
from access_keys_tools.local.functions import FunctionSpec
from access_keys_tools.local.gateway import Gateway, HttpRequest, Route, _path_pattern
from access_keys_tools.local.jwt_authorizer import JwtAuthorizer, Unauthorized, event_claims

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL"
CLIENT_ID = "consoleclient0000000000000"
KID = "key-1"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token(claims: dict[str, Any], *, header: dict[str, Any] | None = None, key: rsa.RSAPrivateKey = SIGNING_KEY) -> str:
    head = b64url(json.dumps(header or {"kid": KID, "alg": "RS256"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


def id_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "3f6a1c2e-8d4b-4e1a-9c7f-2b5d8e0a1f34",
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "custom:uin": "100000000001",
        "email": "owner@example.com",
        "iat": now,
        "auth_time": now,
        "exp": now + 900,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


FETCHED: list[str] = []


@pytest.fixture
def authorizer(monkeypatch: pytest.MonkeyPatch) -> JwtAuthorizer:
    fetched = FETCHED
    fetched.clear()

    def fetch(url: str) -> dict[str, rsa.RSAPublicKey]:
        fetched.append(url)
        return {KID: SIGNING_KEY.public_key()}

    monkeypatch.setattr(jwt_authorizer, "_fetch_keys", fetch)
    return JwtAuthorizer(
        "AccountSession", ISSUER, (CLIENT_ID,), "http://127.0.0.1:9/us-east-1_TESTPOOL/.well-known/jwks.json"
    )


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


def test_an_id_token_of_the_pool_for_the_client_passes_with_its_claims(authorizer: JwtAuthorizer) -> None:
    claims = authorizer.claims(bearer(token(id_claims())))

    assert claims["custom:uin"] == "100000000001"
    assert claims["token_use"] == "id"
    # API Gateway takes the token with or without the Bearer prefix.
    assert authorizer.claims({"authorization": token(id_claims())})["sub"] == claims["sub"]
    assert authorizer.claims({"authorization": f"bearer  {token(id_claims())} "})["sub"] == claims["sub"]


def test_an_access_token_passes_the_authorizer_on_its_client_id(authorizer: JwtAuthorizer) -> None:
    access = id_claims(aud=None, client_id=CLIENT_ID, token_use="access", scope="aws.cognito.signin.user.admin")

    assert authorizer.claims(bearer(token(access)))["token_use"] == "access"  # as API Gateway lets it through


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (id_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER"), "invalid issuer"),
        (id_claims(iss=None), "invalid issuer"),
        (id_claims(aud="anotherclient"), "invalid audience"),
        (id_claims(aud=None), "invalid audience"),
        # client_id counts only when there is no aud.
        (id_claims(aud="anotherclient", client_id=CLIENT_ID), "invalid audience"),
        (id_claims(exp=int(time.time()) - 1), "the token has expired"),
        (id_claims(exp=int(time.time())), "the token has expired"),
        (id_claims(exp=None), "the token has expired"),
        (id_claims(exp="9999999999"), "the token has expired"),
        (id_claims(nbf=int(time.time()) + 86_400), "invalid nbf"),
        (id_claims(iat=int(time.time()) + 86_400), "invalid iat"),
    ],
    ids=[
        "wrong issuer",
        "no issuer",
        "wrong audience",
        "no audience",
        "client_id beside a wrong aud",
        "expired",
        "expiring now",
        "no exp",
        "exp as text",
        "not yet valid",
        "issued in the future",
    ],
)
def test_a_token_with_a_wrong_claim_is_refused(authorizer: JwtAuthorizer, claims: dict, reason: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        authorizer.claims(bearer(token(claims)))

    assert refused.value.reason == reason


def test_a_bad_signature_is_refused(authorizer: JwtAuthorizer) -> None:
    forged = token(id_claims(), key=OTHER_KEY)  # the pool's kid, another key
    head, body, _ = token(id_claims()).split(".")
    other_account = b64url(json.dumps(id_claims(**{"custom:uin": "100000000002"})).encode())
    tampered = f"{head}.{other_account}.{token(id_claims()).split('.')[2]}"

    for refused_token in (forged, tampered, f"{head}.{body}.", f"{head}.{body}.AAAA"):
        with pytest.raises(Unauthorized, match="invalid signature"):
            authorizer.claims(bearer(refused_token))


def test_alg_none_and_an_hmac_signed_with_the_public_key_are_refused(authorizer: JwtAuthorizer) -> None:
    unsigned_head = b64url(json.dumps({"kid": KID, "alg": "none"}).encode())
    body = b64url(json.dumps(id_claims()).encode())
    public_pem = SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_head = b64url(json.dumps({"kid": KID, "alg": "HS256"}).encode())
    hs_signature = b64url(hmac.new(public_pem, f"{hs_head}.{body}".encode(), hashlib.sha256).digest())

    for refused_token in (f"{unsigned_head}.{body}.", f"{hs_head}.{body}.{hs_signature}"):
        with pytest.raises(Unauthorized, match="unsupported alg"):
            authorizer.claims(bearer(refused_token))


def test_an_unknown_kid_reads_the_keys_again_and_is_refused(authorizer: JwtAuthorizer) -> None:
    with pytest.raises(Unauthorized, match="unknown kid"):
        authorizer.claims(bearer(token(id_claims(), header={"kid": "rotated-away", "alg": "RS256"})))
    assert len(FETCHED) == 1
    with pytest.raises(Unauthorized, match="no kid"):
        authorizer.claims(bearer(token(id_claims(), header={"alg": "RS256"})))


def test_a_flood_of_made_up_kids_reads_the_keys_once_a_minute_at_most(authorizer: JwtAuthorizer) -> None:
    authorizer.claims(bearer(token(id_claims())))  # the keys, read once
    for number in range(200):
        with pytest.raises(Unauthorized, match="unknown kid"):
            authorizer.claims(bearer(token(id_claims(), header={"kid": f"made-up-{number}", "alg": "RS256"})))

    assert len(FETCHED) == 1
    assert authorizer.claims(bearer(token(id_claims())))["token_use"] == "id"  # the real kid still passes


@pytest.mark.parametrize(
    "value",
    ["", "   ", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "a.b", "a.b.c.d", "..", "Bearer x" * 5000, "é.é.é"],
    ids=[
        "empty",
        "blank",
        "bare Bearer",
        "Bearer and space",
        "Basic",
        "two parts",
        "four parts",
        "dots",
        "huge",
        "not ascii",
    ],
)
def test_what_is_not_a_jwt_is_refused(authorizer: JwtAuthorizer, value: str) -> None:
    with pytest.raises(Unauthorized):
        authorizer.claims({"authorization": value})
    with pytest.raises(Unauthorized, match="no token"):
        authorizer.claims({})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.binary(max_size=300).map(b64url).map(lambda text: f"{text}.{text}.{text}"))
def test_junk_tokens_are_only_ever_refused(value: str) -> None:
    checker = JwtAuthorizer("A", ISSUER, (CLIENT_ID,), "http://127.0.0.1:9/x")
    checker._keys = {KID: SIGNING_KEY.public_key()}
    with pytest.raises(Unauthorized):
        checker.claims({"authorization": f"Bearer {value}"})


def test_claims_reach_the_function_as_text_as_api_gateway_renders_them() -> None:
    rendered = event_claims({"exp": 1795722300, "email_verified": True, "cognito:groups": ["a", "b"], "x": {"y": 1}})

    assert rendered == {"exp": "1795722300", "email_verified": "true", "cognito:groups": "[a b]", "x": '{"y": 1}'}


# ------------------------------------------------------------------ the gateway, and the function
def gateway_with(authorizer: JwtAuthorizer) -> tuple[Gateway, list[dict]]:
    spec = FunctionSpec(
        logical_id="ListAccessKeysFunction",
        code_dir=__import__("pathlib").Path("."),
        handler="app.lambda_handler",
        timeout=10,
        memory_size=512,
        environment={},
        layer_dirs=(),
        reserved_concurrency=None,
        events={},
    )
    invoked: list[dict] = []

    def invoke(_spec: FunctionSpec, event: dict, _request_id: str) -> dict:
        invoked.append(event)
        return {"statusCode": 200, "body": "{}"}

    path = "/v1/session/access-keys"
    route = Route("GET", path, spec, _path_pattern(path), authorizer)
    return Gateway([route], invoke), invoked


def request(headers: list[tuple[str, str]]) -> HttpRequest:
    return HttpRequest("GET", "/v1/session/access-keys", [("Host", "127.0.0.1:3000"), *headers], b"", "127.0.0.1", 3000)


def test_the_gateway_answers_a_refused_token_itself_and_never_calls_the_function(authorizer: JwtAuthorizer) -> None:
    gateway, invoked = gateway_with(authorizer)

    for headers in ([], [("Authorization", "Bearer junk")], [("Authorization", f"Bearer {token(id_claims(aud='x'))}")]):
        response, function = gateway.handle(request(headers))
        assert response.status == 401
        assert json.loads(response.body) == {"message": "Unauthorized"}
        assert dict(response.headers)["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')
        assert function == "-"
    assert invoked == []


def test_the_gateway_passes_a_valid_tokens_claims_in_the_event(authorizer: JwtAuthorizer) -> None:
    gateway, invoked = gateway_with(authorizer)

    response, _ = gateway.handle(request([("Authorization", f"Bearer {token(id_claims())}")]))

    assert response.status == 200
    claims = invoked[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["custom:uin"] == "100000000001"
    assert claims["exp"].isdigit()


def test_the_function_takes_only_an_id_token_that_names_a_valid_uin() -> None:
    actor = session_actor(event_claims(id_claims()), now=1_800_000_000)
    assert (actor.uin, actor.actor, actor.signed_at) == ("100000000001", "user:owner@example.com", 1_800_000_000)

    for claims in (
        id_claims(token_use="access"),
        id_claims(token_use=None),
        id_claims(**{"custom:uin": None}),
        id_claims(**{"custom:uin": "1 OR 1=1"}),
        id_claims(**{"custom:uin": ""}),
        {},
    ):
        with pytest.raises(TokenFailure):
            session_actor(event_claims(claims), now=1_800_000_000)
