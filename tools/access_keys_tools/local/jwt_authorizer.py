"""An HTTP API JWT authorizer, as API Gateway runs one in front of a route.

API Gateway's checks, in its order (AWS docs, "Controlling access to HTTP APIs with JWT
authorizers"): the identity source is present; the token is a JWT whose header names an `alg` of
RS256 and a `kid` found in the issuer's JWKS; the signature verifies with that key; `iss` is the
configured issuer; `aud` is one of the configured audiences, or, only when there is no `aud`,
`client_id` is; `exp` is in the future and `nbf` and `iat` are not; the route's scopes, if it has
any, are in `scope`. Any failure is API Gateway's 401 `{"message":"Unauthorized"}` with a
`WWW-Authenticate` header, and the function is not called. The claims of a valid token reach the
function as `requestContext.authorizer.jwt.claims`, each value as text.

The keys come from the issuer's JWKS at `<jwks base>/<pool id>/.well-known/jwks.json`, which
moto's Cognito serves for its pools (as cognito-idp.<region>.amazonaws.com does for real ones).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Past this, API Gateway refuses the request before looking at it; a JWT of Cognito is ~1 kB.
MAX_TOKEN_CHARS = 16 * 1024
# API Gateway allows this much clock skew for exp, nbf and iat (none documented; it is small).
_LEEWAY_SECONDS = 0
# A kid not in the keys read last may be a rotated key, so the JWKS is read again, but at most
# this often: a flood of tokens with made-up kids must not become a flood of JWKS reads.
_REREAD_SECONDS = 60.0


class Unauthorized(Exception):
    """The token is refused; `reason` is for the WWW-Authenticate header, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class JwtAuthorizer:
    """One authorizer of an HttpApi's Auth.Authorizers, with its JWKS fetched when first needed."""

    name: str
    issuer: str
    audience: tuple[str, ...]
    jwks_url: str
    identity_header: str = "authorization"  # from $request.header.Authorization
    _keys: dict[str, rsa.RSAPublicKey] | None = field(default=None, repr=False)
    _read_at: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claims(self, headers: Mapping[str, str], *, scopes: tuple[str, ...] = (), now: float | None = None) -> dict:
        """The verified claims of the request's token; raises Unauthorized otherwise."""
        raw = headers.get(self.identity_header)
        if raw is None or not raw.strip():
            raise Unauthorized("no token")
        token = raw.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("token too large")
        header, payload, signed, signature = _parts(token)
        if header.get("alg") != "RS256":
            raise Unauthorized("unsupported alg")
        key = self._key(header.get("kid"))
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise Unauthorized("invalid signature") from None
        _check_claims(payload, self.issuer, self.audience, scopes, time.time() if now is None else now)
        return payload

    def _key(self, kid: Any) -> rsa.RSAPublicKey:
        if not isinstance(kid, str):
            raise Unauthorized("no kid")
        with self._lock:
            stale = time.monotonic() - self._read_at >= _REREAD_SECONDS
            if self._keys is None or (kid not in self._keys and stale):
                # A kid not seen yet: the issuer may have rotated its keys, so read them again.
                self._keys = _fetch_keys(self.jwks_url)
                self._read_at = time.monotonic()
            found = self._keys.get(kid)
        if found is None:
            raise Unauthorized("unknown kid")
        return found


def event_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as payload format 2.0 passes them: numbers and booleans as text, a list as
    `[a b]` (API Gateway's own rendering), objects as JSON."""

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + " ".join(text(item) for item in value) + "]"
        if isinstance(value, dict):
            return json.dumps(value)
        return str(value)

    return {name: text(value) for name, value in claims.items()}


def _parts(token: str) -> tuple[dict, dict, bytes, bytes]:
    pieces = token.split(".")
    if len(pieces) != 3 or not all(pieces[:2]):
        raise Unauthorized("not a JWT")
    try:
        header = json.loads(_b64url(pieces[0]))
        payload = json.loads(_b64url(pieces[1]))
        signature = _b64url(pieces[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Unauthorized("not a JWT") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise Unauthorized("not a JWT")
    return header, payload, f"{pieces[0]}.{pieces[1]}".encode("ascii"), signature


def _b64url(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


def _check_claims(
    payload: Mapping[str, Any], issuer: str, audience: tuple[str, ...], scopes: tuple[str, ...], now: float
) -> None:
    if payload.get("iss") != issuer:
        raise Unauthorized("invalid issuer")
    # aud first; client_id (Cognito's access tokens carry no aud) only when there is no aud.
    claimed = payload["aud"] if "aud" in payload else payload.get("client_id")
    claimed_list = claimed if isinstance(claimed, list) else [claimed]
    if not any(isinstance(item, str) and item in audience for item in claimed_list):
        raise Unauthorized("invalid audience")
    expires = payload.get("exp")
    if not _is_number(expires) or expires <= now - _LEEWAY_SECONDS:
        raise Unauthorized("the token has expired")
    for name in ("nbf", "iat"):
        if name in payload and (not _is_number(payload[name]) or payload[name] > now + _LEEWAY_SECONDS):
            raise Unauthorized(f"invalid {name}")
    if scopes:
        granted = payload.get("scope")
        if not isinstance(granted, str) or not set(scopes) & set(granted.split()):
            raise Unauthorized("insufficient scope")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fetch_keys(url: str) -> dict[str, rsa.RSAPublicKey]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the local moto's URL
        document = json.load(response)
    keys = {}
    for key in document.get("keys", []):
        if key.get("kty") != "RSA" or not isinstance(key.get("kid"), str):
            continue
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(_b64url(key["e"]), "big"), int.from_bytes(_b64url(key["n"]), "big")
        )
        keys[key["kid"]] = numbers.public_key()
    return keys
