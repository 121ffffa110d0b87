"""The TC3 verifier, proved against an independent signer: Tencent Cloud's own Python SDK.

Requests are signed by the SDK's code (`AbstractClient._build_req_with_tc3_signature` and
`_get_tc3_signature` in tencentcloud-sdk-python-common), not by a re-implementation of it,
with the route's path as the canonical URI, service `cam` and a fixed clock. Our
`authentication.authenticate` must accept exactly those requests and turn each tampering into the
error a caller would see. Nothing here touches AWS or the network: the SecretKey comes from
an in-memory fake of `key_material.secret_key_of`, and the SDK is only asked to sign.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import abstract_client
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from access_keys import authentication, signing
from access_keys.authentication import SignedRequest
from access_keys.domain import AccessKey, Status, StoredKey
from access_keys.errors import (
    InvalidAuthorization,
    SecretIdNotFound,
    ServiceError,
    SignatureExpire,
    SignatureFailure,
)

# The SDK dates its scope with datetime.utcfromtimestamp, deprecated since Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning")

SECRET_ID = "AKIDq3Rv8mWZtY6pLc2NbX0sJd4HkE7uGa1F"
OTHER_SECRET_ID = "AKIDz9Tn4bLx0cVw7QmR2sHy5KdJ8gFp3eA6"
SECRET_KEY = "q8VbN3mZx4Lr7TcW1pYs6HdK0jFg2Ae5"
OTHER_SECRET_KEY = "Wk2Jc9Xr5Ht1Np8Gm4Lb7Qz0Sv3Dy6Fa"
ENCRYPTED_SECRET = b"kms-ciphertext-of-the-secret-key"
HOST = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
TIMESTAMP = 1_767_223_800  # 2025-12-31T23:30:00Z, half an hour before the UTC date changes
LOCAL_DATE_IN_UTC_PLUS_8 = "2026-01-01"  # the scope date a signer using local time in UTC+8 would write

KEY = AccessKey(
    secret_id=SECRET_ID, uin="100000000001", status=Status.ACTIVE, create_time=1_767_000_000, description="ci"
)
STORED = StoredKey(key=KEY, encrypted_secret=ENCRYPTED_SECRET)


@pytest.fixture(autouse=True)
def secret_keys_without_kms(monkeypatch: pytest.MonkeyPatch) -> None:
    """`key_material.secret_key_of` as an in-memory fake: the key's ciphertext "decrypts" to SECRET_KEY."""
    decrypted = {ENCRYPTED_SECRET: SECRET_KEY}
    monkeypatch.setattr(authentication.key_material, "secret_key_of", lambda stored: decrypted[stored.encrypted_secret])
    authentication.key_material.forget_all()


class CamClient(abstract_client.AbstractClient):
    """An SDK client for the `cam` service. PATCH and DELETE get the client's default content type."""

    _service = "cam"
    _apiVersion = "2019-01-16"
    _default_content_type = "application/json"


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    path: str
    action: str
    params: dict[str, Any]


CALLS = [
    pytest.param(
        Call("GET", f"/v1/access-keys/{SECRET_ID}/access-records", "ListAccessRecords", {"Limit": 5, "Name": "a b"}),
        id="GET-with-query",
    ),
    pytest.param(Call("POST", "/v1/access-keys", "CreateAccessKey", {"Description": "ci deploy"}), id="POST-json"),
    pytest.param(
        Call("PATCH", f"/v1/access-keys/{SECRET_ID}", "UpdateAccessKey", {"Status": "Inactive"}), id="PATCH-json"
    ),
    pytest.param(
        Call("DELETE", f"/v1/access-keys/{SECRET_ID}", "DeleteAccessKey", {"Reason": "rotated"}), id="DELETE-body"
    ),
]


def sdk_sign(
    call: Call,
    *,
    secret_key: str = SECRET_KEY,
    service: str = "cam",
    timestamp: int = TIMESTAMP,
    scope_date: str | None = None,
) -> SignedRequest:
    """The request as the SDK signs it and the service receives it (header names lower-cased).

    `scope_date` re-signs, still with the SDK's `_get_tc3_signature`, under a Credential date
    other than the UTC date of the timestamp: a consistent signature over the wrong scope.
    """
    client = CamClient(Credential(SECRET_ID, secret_key), "", ClientProfile(httpProfile=HttpProfile(endpoint=HOST)))
    client._service = service  # the scope's service: `cam` unless a test signs for another
    req = RequestInternal(HOST, call.method, call.path)
    # The SDK reads the clock as `time.time()` in its own module; replace only that reference.
    with mock.patch.object(abstract_client, "time", SimpleNamespace(time=lambda: float(timestamp))):
        client._build_req_with_tc3_signature(call.action, call.params, req)
    if scope_date is not None:
        resigned = client._get_tc3_signature(call.params, req, scope_date, service, secret_key)
        req.header["Authorization"] = (
            f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{scope_date}/{service}/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={resigned}"
        )
    # A GET carries its url-encoded params as the query string and has no body (ApiRequest._request).
    is_get = call.method == "GET"
    return SignedRequest(
        method=req.method,
        path=req.uri,
        query=req.data if is_get else "",
        headers={name.lower(): value for name, value in req.header.items()},
        body=b"" if is_get else req.data.encode("utf-8"),
    )


# A read: its signature is neither spent nor bound, so no table is needed here.
READ = authentication.SignatureUse(action="GetAccessKey", changes_state=False)


def verify(request: SignedRequest, stored: StoredKey | None = STORED, *, now: float = TIMESTAMP) -> AccessKey:
    """The caller's key as `authentication.authenticate` finds it with `stored` in the table, or its refusal raised."""

    def get_key(secret_id: str) -> StoredKey | None:
        return stored if stored is not None and stored.key.secret_id == secret_id else None

    def find_key(secret_id: str) -> AccessKey | None:
        found = get_key(secret_id)
        return found.key if found else None

    with (
        mock.patch.object(authentication.key_store, "get_key", get_key),
        mock.patch.object(authentication.key_store, "find_key", find_key),
    ):
        verdict = authentication.authenticate(request, READ, now=now)
    if verdict.refusal is not None:
        raise verdict.refusal
    assert verdict.caller is not None
    return verdict.caller.key


def with_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    """The request with one header replaced, or removed when `value` is None."""
    headers = dict(request.headers)
    if value is None:
        del headers[name]
    else:
        headers[name] = value
    return dataclasses.replace(request, headers=headers)


def with_authorization_edit(request: SignedRequest, old: str, new: str) -> SignedRequest:
    authorization = request.headers["authorization"]
    assert old in authorization
    return with_header(request, "authorization", authorization.replace(old, new, 1))


def with_flipped_signature_digit(request: SignedRequest) -> SignedRequest:
    authorization = request.headers["authorization"]
    last = authorization[-1]
    return with_header(request, "authorization", authorization[:-1] + ("1" if last == "0" else "0"))


# --- 1. The SDK's signatures are accepted -----------------------------------------------------


@pytest.mark.parametrize("call", CALLS)
def test_accepts_the_sdk_signature(call: Call) -> None:
    # Given a request signed by Tencent Cloud's SDK with the route's path as canonical URI
    request = sdk_sign(call)
    assert request.headers["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2025-12-31/cam/")

    # When the service verifies it, Then the caller is the key that signed it
    assert verify(request) == KEY


def test_sdk_signs_get_params_as_the_query_and_post_params_as_a_json_body() -> None:
    # The shapes the other tests rely on: what the SDK puts on the wire for each method.
    get, post, patch = (sdk_sign(param.values[0]) for param in CALLS[:3])

    assert (get.query, get.body) == ("Limit=5&Name=a+b", b"")
    assert get.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (post.query, post.body) == ("", b'{"Description": "ci deploy"}')
    assert post.headers["content-type"] == "application/json"
    assert (patch.body, patch.headers["content-type"]) == (b'{"Status": "Inactive"}', "application/json")
    assert post.headers["host"] == HOST
    assert post.headers["x-tc-timestamp"] == str(TIMESTAMP)


# --- 2. Each single change to a signed request is rejected with its own error -------------------

TAMPERINGS = [
    pytest.param(lambda r: dataclasses.replace(r, body=b'{"Status": "Active"}'), SignatureFailure, id="tampered-body"),
    pytest.param(
        lambda r: dataclasses.replace(r, path=f"/v1/access-keys/{OTHER_SECRET_ID}"),
        SignatureFailure,
        id="tampered-path",
    ),
    pytest.param(lambda r: dataclasses.replace(r, query="Limit=100"), SignatureFailure, id="tampered-query"),
    pytest.param(lambda r: dataclasses.replace(r, method="PUT"), SignatureFailure, id="tampered-method"),
    pytest.param(lambda r: with_header(r, "host", "evil.example.com"), SignatureFailure, id="tampered-host"),
    pytest.param(lambda r: with_header(r, "content-type", "text/plain"), SignatureFailure, id="other-content-type"),
    pytest.param(with_flipped_signature_digit, SignatureFailure, id="flipped-signature-digit"),
    pytest.param(
        lambda r: with_header(r, "x-tc-timestamp", str(TIMESTAMP + 1)), SignatureFailure, id="changed-timestamp"
    ),
    pytest.param(
        lambda r: with_authorization_edit(r, "TC3-HMAC-SHA256 ", "TC3-HMAC-SHA1 "),
        InvalidAuthorization,
        id="wrong-algorithm",
    ),
    pytest.param(
        lambda r: with_authorization_edit(r, "SignedHeaders=content-type;host,", "SignedHeaders=content-type,"),
        InvalidAuthorization,
        id="host-not-signed",
    ),
    pytest.param(lambda r: with_header(r, "authorization", None), InvalidAuthorization, id="missing-authorization"),
    pytest.param(lambda r: with_header(r, "x-tc-timestamp", None), InvalidAuthorization, id="missing-timestamp"),
    pytest.param(lambda r: with_header(r, "x-tc-timestamp", "now"), InvalidAuthorization, id="non-numeric-timestamp"),
]


@pytest.mark.parametrize(("tamper", "error"), TAMPERINGS)
@pytest.mark.parametrize("call", CALLS)
def test_rejects_a_tampered_request(
    call: Call, tamper: Callable[[SignedRequest], SignedRequest], error: type[ServiceError]
) -> None:
    # Given a request the SDK signed, which the service accepts as it is
    request = sdk_sign(call)
    assert verify(request) == KEY

    # When one thing of it is changed, Then the caller gets that change's error
    tampered = tamper(request)
    with pytest.raises(error):
        verify(tampered)


SIGNING_MISTAKES = [
    pytest.param({"secret_key": OTHER_SECRET_KEY}, id="wrong-secret-key"),
    pytest.param({"scope_date": LOCAL_DATE_IN_UTC_PLUS_8}, id="scope-date-not-the-utc-date-of-the-timestamp"),
    pytest.param({"service": "cvm"}, id="scope-service-not-cam"),
]


@pytest.mark.parametrize("mistake", SIGNING_MISTAKES)
@pytest.mark.parametrize("call", CALLS)
def test_rejects_a_signature_over_the_wrong_inputs(call: Call, mistake: dict[str, Any]) -> None:
    # Given the SDK signs correctly with every input right, the service accepts the request
    assert verify(sdk_sign(call)) == KEY

    # When the SDK signs the same request, self-consistently, with one input wrong
    request = sdk_sign(call, **mistake)

    # Then the caller gets a SignatureFailure
    with pytest.raises(SignatureFailure):
        verify(request)


@pytest.mark.parametrize(
    ("stored", "error"),
    [
        pytest.param(None, SecretIdNotFound, id="no-stored-key"),
        pytest.param(
            dataclasses.replace(STORED, key=dataclasses.replace(KEY, status=Status.INACTIVE)),
            SecretIdNotFound,
            id="disabled-key",
        ),
        pytest.param(
            dataclasses.replace(STORED, key=dataclasses.replace(KEY, secret_id=OTHER_SECRET_ID)),
            SecretIdNotFound,
            id="stored-key-of-another-secret-id",
        ),
    ],
)
@pytest.mark.parametrize("call", CALLS)
def test_rejects_a_correct_signature_without_an_active_key(
    call: Call, stored: StoredKey | None, error: type[ServiceError]
) -> None:
    # Given a request the SDK signed, accepted while its key is stored and Active
    request = sdk_sign(call)
    assert verify(request, STORED) == KEY

    # When the key is not there or not usable, Then the caller gets SecretIdNotFound
    with pytest.raises(error):
        verify(request, stored)


@pytest.mark.parametrize("age", [pytest.param(-300, id="300s-ahead"), pytest.param(300, id="300s-old")])
@pytest.mark.parametrize("call", CALLS)
def test_accepts_a_timestamp_300_seconds_from_now(call: Call, age: int) -> None:
    # Given a request the SDK signed at TIMESTAMP
    request = sdk_sign(call)

    # When the service's clock is 300 s away from it, Then it is still accepted
    assert verify(request, now=TIMESTAMP + age) == KEY


@pytest.mark.parametrize("age", [pytest.param(-301, id="301s-ahead"), pytest.param(301, id="301s-old")])
@pytest.mark.parametrize("call", CALLS)
def test_rejects_a_timestamp_301_seconds_from_now(call: Call, age: int) -> None:
    # Given a correctly signed request, which the service accepts at the time it was signed
    request = sdk_sign(call)
    assert verify(request, now=TIMESTAMP) == KEY

    # When the service's clock is 301 s away from its timestamp, Then the signature has expired
    with pytest.raises(SignatureExpire):
        verify(request, now=TIMESTAMP + age)


# --- 3. Our client-side signer matches the SDK byte for byte -----------------------------------


@pytest.mark.parametrize("call", CALLS)
def test_our_signer_produces_the_sdk_authorization_header(call: Call) -> None:
    # Given a request signed by the SDK
    request = sdk_sign(call)

    # When our signer signs the same method, path, query, headers, body and time
    ours = signing.sign(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        method=request.method,
        path=request.path,
        query=request.query,
        headers=request.headers,
        body=request.body,
        timestamp=TIMESTAMP,
    )

    # Then its Authorization header is the SDK's, byte for byte
    assert ours == request.headers["authorization"]


# --- 4. More headers may be signed, and then they are covered ----------------------------------


def test_an_additionally_signed_header_is_covered_by_the_signature() -> None:
    # Given an SDK-shaped POST whose Authorization, from our signer, also signs X-TC-Action
    request = sdk_sign(CALLS[1].values[0])
    authorization = signing.sign(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        method=request.method,
        path=request.path,
        query=request.query,
        headers=request.headers,
        body=request.body,
        timestamp=TIMESTAMP,
        signed_headers=("content-type", "host", "x-tc-action"),
    )
    assert "SignedHeaders=content-type;host;x-tc-action," in authorization
    request = with_header(request, "authorization", authorization)
    assert verify(request) == KEY

    # When the signed header's value is changed
    tampered = with_header(request, "x-tc-action", "DeleteAccessKey")

    # Then the caller gets a SignatureFailure
    with pytest.raises(SignatureFailure):
        verify(tampered)


# -- the header as the SDKs write it, read at once, and any other, part by part ---------------------

# Each part of a header: as the SDKs write it (first), or wrong in one of the ways a client or a
# forger might write it.
_PARTS = {
    "secret_id": [SECRET_ID, SECRET_ID[:-1], SECRET_ID + "x", "akid" + SECRET_ID[4:], ""],
    "date": ["2026-12-01", "", "2026 12 01", "2026-12-01 ", "20261201=", "é", "a.b:c_d"],
    "service": ["cam", "cvm", "", " cam", "c m", "cam\x1c", "c,m"],
    "terminator": ["tc3_request", "", "tc3_request/x", "tc3_request\t"],
    "names": [
        ["content-type", "host"],
        ["content-type", "host", "x-tc-action"],
        ["host"],
        ["content-type"],
        ["x-nonce"],
        ["host", "content-type"],
        ["content-type", "content-type", "host"],
        ["content-type", "host", ""],
        ["", "content-type", "host"],
        ["Content-Type", "host"],
        ["content-type", "host", "a b"],
        [],
    ],
    "signature": ["0" * 64, "a" * 63, "A" * 64, "f" * 65, "0" * 63 + "g", ""],
    "separator": [", ", ",", ",  ", " ,", ";", ", \t"],
    "algorithm": ["TC3-HMAC-SHA256", "TC3-HMAC-SHA256 ", "tc3-hmac-sha256", "HMAC", ""],
    "around": ["", " ", "\t", "\n", "\x1c", "\u2003"],
}


@st.composite
def authorization_headers(draw: st.DrawFn) -> str:
    """Headers near the SDKs' layout: each part right, or now and then wrong."""

    def part(name: str) -> Any:
        choices = _PARTS[name]
        return choices[0] if draw(st.integers(0, 3)) else draw(st.sampled_from(choices))

    fields = [
        f"Credential={part('secret_id')}/{part('date')}/{part('service')}/{part('terminator')}",
        f"SignedHeaders={';'.join(part('names'))}",
        f"Signature={part('signature')}",
    ]
    if draw(st.integers(0, 9)) == 0:
        fields = draw(st.permutations(fields))
    around = part("around")
    return f"{around}{part('algorithm')} {part('separator').join(fields)}{around}"


def _parsed(parse: Callable[[str], signing.Authorization], header: str) -> object:
    try:
        return parse(header)
    except InvalidAuthorization as refused:
        return ("refused", refused.message)


@settings(max_examples=1500, deadline=None)
@given(header=authorization_headers() | st.text(max_size=300))
def test_the_header_read_at_once_is_read_as_the_part_by_part_parser_reads_it(header: str) -> None:
    assert _parsed(signing.parse_authorization, header) == _parsed(signing.parse_authorization_by_parts, header)


@pytest.mark.parametrize("call", CALLS)
def test_the_sdks_header_is_read_at_once(call: Call) -> None:
    sdk_header = sdk_sign(call).headers["authorization"]
    with mock.patch.object(signing, "parse_authorization_by_parts", side_effect=AssertionError("read part by part")):
        parsed = signing.parse_authorization(sdk_header)

    assert parsed == signing.parse_authorization_by_parts(sdk_header)
    assert parsed.secret_id == SECRET_ID
