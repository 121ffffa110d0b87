"""TC3-HMAC-SHA256, as docs/api.md defines it: pure functions, no AWS.

The same functions sign (clients, tools, tests) and verify (`access_keys.authentication`),
so there is one definition of the canonical request. The verifier is proved against an
independent signer, Tencent Cloud's SDK, in tests/unit/test_signing_reference.py.

A signer calls `sign`. A verifier, or a test that builds an odd signature, goes step by step:
`parse_authorization` and `parse_timestamp`, `canonical_request`, `hashed`, `string_to_sign`,
`signing_key` (`keyed` to keep it), `signature`, then `signatures_match`. Each parses or hashes
what it is given, every time: nothing is cached between calls on text a caller chose.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple, Protocol

from access_keys.errors import InvalidAuthorization

try:  # CPython's OpenSSL HMAC, which `hmac.new` wraps; absent on builds without OpenSSL's HMAC
    from _hashlib import hmac_new
except ImportError:  # pragma: no cover - every supported CPython has it
    hmac_new = None  # type: ignore[assignment]
_openssl_hmac: Callable[..., KeyedHmac] | None = hmac_new

__all__ = [
    "ALGORITHM",
    "REQUIRED_SIGNED_HEADERS",
    "SECRET_ID_PATTERN",
    "SERVICE",
    "TERMINATOR",
    "Authorization",
    "KeyedHmac",
    "canonical_request",
    "claimed_secret_id",
    "hashed",
    "keyed",
    "parse_authorization",
    "parse_authorization_by_parts",
    "parse_timestamp",
    "sign",
    "signature",
    "signatures_match",
    "signing_key",
    "string_to_sign",
    "utc_date",
]


class KeyedHmac(Protocol):
    """What a verifier needs of a keyed HMAC: `hmac.HMAC`, or OpenSSL's own object."""

    def copy(self) -> KeyedHmac: ...
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "cam"
TERMINATOR = "tc3_request"
REQUIRED_SIGNED_HEADERS = frozenset({"content-type", "host"})

SECRET_ID_PATTERN = re.compile(r"AKID[A-Za-z0-9]{32}")
_CLAIMED_SECRET_ID = re.compile(r"Credential=(AKID[A-Za-z0-9]{32})/")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_OPTIONAL_WHITESPACE = " \t"
_LAST_DATED_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z
_EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()  # a GET's and a DELETE's, hashed once
# A well-formed header in the SDKs' own layout, read at once: a third of what parsing it part by
# part costs, which is a fifth of a warm verification.
_AS_SDKS_WRITE_IT = re.compile(
    r"TC3-HMAC-SHA256 Credential=(AKID[A-Za-z0-9]{32})/([A-Za-z0-9_.:-]+)/([A-Za-z0-9_.:-]+)/([A-Za-z0-9_.:-]+), ?"
    r"SignedHeaders=([a-z0-9!#$%&'*+.^_`|~;-]+), ?Signature=([0-9a-f]{64})"
)


class Authorization(NamedTuple):
    """The parts of a well-formed Authorization header. A tuple: made once per request, and a
    frozen dataclass costs four times as much to make."""

    secret_id: str
    date: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        """`date/service/terminator`, as the StringToSign carries it."""
        return f"{self.date}/{self.service}/{self.terminator}"


def claimed_secret_id(header: str | None) -> str | None:
    """The well-formed SecretId that an Authorization header names, even if the rest is malformed.

    A request whose header is broken but names an existing key still gets an access record,
    so the owner sees the failed attempt.
    """
    if not header:
        return None
    match = _CLAIMED_SECRET_ID.search(header)
    return match.group(1) if match else None


def parse_authorization(header: str | None) -> Authorization:
    """Parse `TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.

    Raises InvalidAuthorization, saying which part is wrong, for anything malformed.
    The scope's date, service and terminator are only checked for shape here: a wrong
    value in them is a signature failure, decided by the verifier (`access_keys.authentication`).

    A header written as the SDKs write it is read by one regular expression; any other is read
    part by part (`parse_authorization_by_parts`), which alone words the refusals. The first
    accepts only headers the second accepts, with the same result (tests/unit/test_signing_reference.py).
    """
    match = _AS_SDKS_WRITE_IT.fullmatch(header) if header else None
    if match is not None:
        signed_headers = tuple(match[5].split(";"))
        if (
            all(signed_headers)
            and REQUIRED_SIGNED_HEADERS.issubset(signed_headers)
            and list(signed_headers) == sorted(set(signed_headers))
        ):
            return Authorization(match[1], match[2], match[3], match[4], signed_headers, match[6])
    return parse_authorization_by_parts(header)


def parse_authorization_by_parts(header: str | None) -> Authorization:
    """`parse_authorization`, for any header: each part read and checked on its own."""
    if not header or not header.strip():
        raise InvalidAuthorization("The Authorization header is missing.")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise InvalidAuthorization(f"The Authorization header must use the {ALGORITHM} algorithm.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            raise InvalidAuthorization(
                "The Authorization header must be 'TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'."
            )
        fields[name] = value.strip()
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise InvalidAuthorization(
            "The Authorization header must have exactly Credential, SignedHeaders and Signature."
        )

    credential = fields["Credential"].split("/")
    if len(credential) != 4 or not all(credential):
        raise InvalidAuthorization("Credential must be <SecretId>/<Date>/cam/tc3_request.")
    secret_id, date, service, terminator = credential
    if not SECRET_ID_PATTERN.fullmatch(secret_id):
        raise InvalidAuthorization("The SecretId in Credential is malformed.")

    signed_headers = tuple(fields["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME.fullmatch(name) for name in signed_headers):
        raise InvalidAuthorization("SignedHeaders must be lower-case header names separated by ';'.")
    if list(signed_headers) != sorted(set(signed_headers)):
        raise InvalidAuthorization("SignedHeaders must be in ascending order, each name once.")
    if not REQUIRED_SIGNED_HEADERS.issubset(signed_headers):
        raise InvalidAuthorization("SignedHeaders must include content-type and host.")

    signature = fields["Signature"]
    if not _SIGNATURE.fullmatch(signature):
        raise InvalidAuthorization("Signature must be 64 lower-case hexadecimal digits.")
    return Authorization(secret_id, date, service, terminator, signed_headers, signature)


def parse_timestamp(value: str | None) -> int:
    """The X-TC-Timestamp header as Unix seconds.

    Only HTTP's optional whitespace (spaces, tabs) may surround the digits: `str.strip()` would
    also drop control characters that `int()` then refuses. A time past the last day UTC dates
    can name (9999-12-31) has no scope date, so it is malformed rather than merely expired.
    """
    digits = (value or "").strip(_OPTIONAL_WHITESPACE)
    if not digits:
        raise InvalidAuthorization("The X-TC-Timestamp header is missing.")
    if not _TIMESTAMP.fullmatch(digits) or int(digits) > _LAST_DATED_SECOND:
        raise InvalidAuthorization("X-TC-Timestamp must be Unix time in whole seconds.")
    return int(digits)


def utc_date(timestamp: int) -> str:
    """The `YYYY-MM-DD` of a Unix time, in UTC: the date a signature's scope must carry."""
    return _date_of_day(timestamp // 86_400)


@lru_cache(maxsize=8)
def _date_of_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")


def canonical_request(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    """The CanonicalRequest. `headers` must have lower-case names.

    Raises InvalidAuthorization when a signed header is not in the request.
    """
    try:
        header_lines = "".join([f"{name}:{headers[name].strip().lower()}\n" for name in signed_headers])
    except KeyError as missing:
        raise InvalidAuthorization(f"The signed header {missing.args[0]} is not in the request.") from None
    return (
        f"{method.upper()}\n{path}\n{query}\n{header_lines}\n"
        f"{';'.join(signed_headers)}\n{hashlib.sha256(body).hexdigest() if body else _EMPTY_BODY_SHA256}"
    )


def string_to_sign(timestamp: int, scope: str, hashed_canonical_request: str) -> str:
    """The StringToSign, from the hex SHA-256 of the CanonicalRequest (`hashed`): all a service
    that canonicalised its own request sends the verifier."""
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashed_canonical_request}"


def hashed(canonical: str) -> str:
    """The hex SHA-256 of a CanonicalRequest, as the StringToSign carries it."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def signing_key(secret_key: str, date: str, service: str = SERVICE, terminator: str = TERMINATOR) -> bytes:
    """The TC3 signing key: what a SecretKey signs with on one UTC date, for one service."""
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    return _hmac(k_service, terminator)


def _hmac(key: bytes, message: str) -> bytes:
    # hmac.digest is OpenSSL's one-shot HMAC, without the Python object hmac.new builds.
    return hmac.digest(key, message.encode("utf-8"), "sha256")


def keyed(key: bytes) -> KeyedHmac:
    """An HMAC-SHA256 already keyed with `key`: copying it skips hashing the key's pads again,
    which is a third of what one signature costs. For a verifier that keeps signing keys.

    OpenSSL's HMAC object itself where CPython exposes it: `hmac.HMAC` wraps it in Python, and
    its `copy()` and `hexdigest()` frames cost a fifth of a warm verification.
    """
    if _openssl_hmac is not None:
        return _openssl_hmac(key, digestmod="sha256")
    return hmac.new(key, digestmod=hashlib.sha256)


def signature(key: bytes | KeyedHmac, string_to_sign: str) -> str:
    """The hex Signature of `string_to_sign` under a signing key (`signing_key`), raw or `keyed`."""
    if isinstance(key, bytes):
        return _hmac(key, string_to_sign).hex()
    mac = key.copy()
    mac.update(string_to_sign.encode())
    return mac.hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    """Compare in constant time, so timing tells an attacker nothing about the right signature."""
    # Both are ASCII: `expected` is a hexdigest and `given` matched the signature's pattern.
    return hmac.compare_digest(expected, given)


def sign(
    *,
    secret_id: str,
    secret_key: str,
    method: str,
    path: str,
    query: str = "",
    headers: Mapping[str, str],
    body: bytes = b"",
    timestamp: int,
    signed_headers: tuple[str, ...] = ("content-type", "host"),
) -> str:
    """The Authorization header value a client sends; `headers` must have lower-case names."""
    date = utc_date(timestamp)
    scope = f"{date}/{SERVICE}/{TERMINATOR}"
    canonical = canonical_request(
        method=method, path=path, query=query, headers=headers, signed_headers=signed_headers, body=body
    )
    value = signature(signing_key(secret_key, date), string_to_sign(timestamp, scope, hashed(canonical)))
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={';'.join(signed_headers)}, Signature={value}"
