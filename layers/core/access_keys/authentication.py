"""Who signed this request: TC3-HMAC-SHA256 verification against the keys table.

Runs inside each function rather than in an API Gateway authorizer, because the signature
covers the body and an authorizer never sees the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from access_keys import key_material, signing
from access_keys.dal import key_store
from access_keys.domain import AccessKey, Status, StoredKey
from access_keys.errors import InvalidAuthorization, SecretIdNotFound, SignatureExpire, SignatureFailure

MAX_CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the signature covers. Header names are lower-case."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def find_claimed_key(request: SignedRequest) -> StoredKey | None:
    """The key the request claims to be signed with, read with one consistent GetItem.

    Read before the header is fully checked, because even a malformed request names a key
    whose owner should see the attempt in its access records.
    """
    header = request.headers.get("authorization")
    try:
        secret_id: str | None = signing.parse_authorization(header).secret_id  # memoised for verify()
    except InvalidAuthorization:
        secret_id = signing.claimed_secret_id(header)
    return key_store.get_key(secret_id) if secret_id else None


def verify(request: SignedRequest, stored: StoredKey | None, *, now: float) -> AccessKey:
    """The verified caller's key, or the AuthFailure that explains why there is none.

    `stored` is what `find_claimed_key` read for this request.
    """
    authorization = signing.parse_authorization(request.headers.get("authorization"))
    timestamp = signing.parse_timestamp(request.headers.get("x-tc-timestamp"))
    canonical = signing.canonical_request(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=request.headers,
        signed_headers=authorization.signed_headers,
        body=request.body,
    )
    if stored is None or stored.key.secret_id != authorization.secret_id:
        raise SecretIdNotFound()
    if stored.key.status is not Status.ACTIVE:
        raise SecretIdNotFound()

    if (
        authorization.date != signing.utc_date(timestamp)
        or authorization.service != signing.SERVICE
        or authorization.terminator != signing.TERMINATOR
    ):
        raise SignatureFailure(
            f"The credential scope must be {signing.utc_date(timestamp)}/{signing.SERVICE}/{signing.TERMINATOR}: "
            f"the UTC date of X-TC-Timestamp, the service {signing.SERVICE} and {signing.TERMINATOR}."
        )
    # The scope is the expected one, so the key for its date is the one to sign with.
    expected = signing.signature_with_keyed(
        key_material.signing_key_of(stored, authorization.date),
        signing.string_to_sign(timestamp, authorization.scope, canonical),
    )
    if not signing.signatures_match(expected, authorization.signature):
        raise SignatureFailure()

    # Checked once the timestamp is known to be the signer's own.
    if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureExpire(
            f"X-TC-Timestamp is more than {MAX_CLOCK_SKEW_SECONDS} seconds from the server's clock. "
            "Sign with the current time."
        )
    return stored.key
