"""The TC3-HMAC-SHA256 canonical request, built where the request arrived (API.md, "Signing every request").

    <METHOD>\\n<path exactly as sent>\\n<query exactly as sent>\\n<name:value\\n for each signed header>\\n
    <SignedHeaders>\\n<hex SHA-256 of the body>

The body is hashed here and only the hash of the whole canonical request travels: the body never
leaves the service. The Authorization header is read only for its SignedHeaders; everything
else about it (algorithm, credential, scope, signature) is the access-key service's to judge.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from .outcomes import Refusal

INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"

_CLAIMED_SECRET_ID = re.compile(r"Credential=(AKID[A-Za-z0-9]{32})/")
_SIGNED_HEADERS = re.compile(r"(?:^|[\s,])SignedHeaders=([^,]*)")


def lower_case_names(headers: Mapping[str, str | None]) -> dict[str, str]:
    """The headers with lower-case names (HTTP's are case-insensitive); absent values dropped."""
    return {name.lower(): value for name, value in headers.items() if value is not None}


def signed_headers_of(authorization: str | None) -> tuple[str, ...]:
    """The header names the Authorization's `SignedHeaders=` lists, lower-cased and trimmed.

    Read leniently: a header the access-key service would refuse as malformed is still sent to
    it, so that the attempt is recorded for the key it names. Refused here, with
    AuthFailure.InvalidAuthorization, only when there is no list to build a canonical request from.
    """
    if not authorization or not authorization.strip():
        raise Refusal(INVALID_AUTHORIZATION, "The Authorization header is missing.", 401)
    match = _SIGNED_HEADERS.search(authorization)
    if match and match.group(1).strip():
        return tuple(name.strip().lower() for name in match.group(1).split(";"))
    raise Refusal(
        INVALID_AUTHORIZATION,
        "The Authorization header must be 'TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'.",
        401,
    )


def claimed_secret_id(authorization: str | None) -> str | None:
    """The SecretId an Authorization header names in its Credential, if it names a well-formed one."""
    match = _CLAIMED_SECRET_ID.search(authorization or "")
    return match.group(1) if match else None


def canonical_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    """The CanonicalRequest. `headers` may have names in any case.

    Raises Refusal AuthFailure.InvalidAuthorization when a signed header is not in the request.
    """
    received = lower_case_names(headers)
    names = tuple(name.strip().lower() for name in signed_headers)
    lines = []
    for name in names:
        value = received.get(name)
        if value is None:
            raise Refusal(INVALID_AUTHORIZATION, f"The signed header {name!r} is not in the request.", 401)
        lines.append(f"{name}:{value.strip().lower()}\n")
    return f"{method.upper()}\n{path}\n{query}\n{''.join(lines)}\n{';'.join(names)}\n{hashlib.sha256(body).hexdigest()}"


def canonical_request_hash(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    signed_headers: tuple[str, ...] | None = None,
) -> str:
    """The lower-case hex SHA-256 of the CanonicalRequest, VerifyRequest's `CanonicalRequestHash`.

    `signed_headers` defaults to those the request's own Authorization header lists.
    """
    if signed_headers is None:
        signed_headers = signed_headers_of(lower_case_names(headers).get("authorization"))
    canonical = canonical_request(
        method=method, path=path, query=query, headers=headers, signed_headers=signed_headers, body=body
    )
    # surrogatepass: text no client could have signed as UTF-8 hashes to a mismatch, not an exception
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
