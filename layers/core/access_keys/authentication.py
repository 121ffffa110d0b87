"""Who signed this request: TC3-HMAC-SHA256 verification against the keys table.

Runs inside each function rather than in an API Gateway authorizer, because the signature
covers the body and an authorizer never sees the body.

`authenticate` is the one verifier. It reads the claimed key once and returns a `Verdict` that
says, whatever the outcome, where the request's trace belongs: an AccessRecord when the request
is proven signed with the key's SecretKey (even if it is then refused: a disabled key, a token, a
signature already used, an expired timestamp), a failed attempt when it only names the key.

The checks run cheapest first. Nothing an unsigned request controls can make the service touch
key material for a date it would never accept, and a signature is compared before anything that
a copy of it could exploit is decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from access_keys import key_material, signing
from access_keys.dal import key_store, record_store
from access_keys.dal.throttling import Throttled
from access_keys.domain import AccessKey, Caller, Status, StoredKey
from access_keys.errors import (
    InternalError,
    InvalidAuthorization,
    SecretIdNotFound,
    ServiceError,
    SignatureExpire,
    SignatureFailure,
    TokenFailure,
    refusal_of,
)
from access_keys.observability import logger

MAX_CLOCK_SKEW_SECONDS = 300
# How long a used signature is remembered after its timestamp: it can be accepted for 300 s, and
# a day beyond that a replay is still answered "already used" rather than only "expired".
USED_SIGNATURE_TTL_SECONDS = MAX_CLOCK_SKEW_SECONDS + 86_400
_DAY_SECONDS = 86_400
ACTION_HEADER = "x-tc-action"
SIGNATURE_USED = "This signature has already been used; sign each request afresh."
_SIGNATURE_USED_UNSIGNED_ACTION = (
    f"{SIGNATURE_USED} X-TC-Action is not among the SignedHeaders, so a request with the same body "
    "signed in the same second (a read, for example) carries this very signature: sign this one again "
    "in the next second, or sign the x-tc-action header."
)


# The v1 methods sign with the SecretKey itself on every request, which would have this service
# keep and use the raw SecretKey per request; TC3 signs with a key derived per day and service.
LEGACY_SIGNATURE = (
    "This service accepts only TC3-HMAC-SHA256 signatures, in an Authorization header. The v1 methods "
    "(SignatureMethod HmacSHA1 or HmacSHA256, with Nonce and Signature parameters) are not accepted: set "
    "the SDK's signMethod to TC3-HMAC-SHA256, its default."
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request to this API's own routes, as received: what the signature covers. Header names
    are lower-case. `domain_prefix` is the first label of the domain the API was reached on, as
    API Gateway reports it (`requestContext.domainPrefix`; the client does not choose it)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    domain_prefix: str | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def timestamp(self) -> str | None:
        return self.headers.get("x-tc-timestamp")

    @property
    def carries_token(self) -> bool:
        return "x-tc-token" in self.headers

    def legacy_signature(self) -> str | None:
        """For a request signed with Tencent Cloud API's v1 methods (HmacSHA1, HmacSHA256: the
        parameters `SignatureMethod`, `Nonce`, `Signature` in the query or a form body, no
        Authorization header), the SecretId it names ("" if none); None for any other request."""
        parameters = dict(parse_qsl(self.query, keep_blank_values=True))
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            parameters.update(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        if "Signature" not in parameters or not {"SignatureMethod", "Nonce"} & set(parameters):
            return None
        secret_id = parameters.get("SecretId", "")
        return secret_id if signing.SECRET_ID_PATTERN.fullmatch(secret_id) else ""

    def accepts_service(self, service: str) -> bool:
        """`cam`, or the domain's first label: Tencent's Node.js SDK signs the endpoint's first
        label as the service, so with a domain `cam.<domain>` every SDK signs `cam`."""
        return service == signing.SERVICE or (service == self.domain_prefix and bool(service))

    def canonical_hashes(self, signed_headers: tuple[str, ...]) -> tuple[str, ...]:
        """The hex SHA-256 of the CanonicalRequest, with the Host as received, and, when it names a
        port, also without it: SDKs differ on whether they sign the port. Nothing else may differ.
        InvalidAuthorization if a signed header is absent."""
        hashes = [self._canonical_hash(signed_headers, self.headers)]
        host = self.headers.get("host", "")
        name, colon, port = host.rpartition(":")
        if "host" in signed_headers and colon and port.isdigit() and not name.endswith(":"):
            hashes.append(self._canonical_hash(signed_headers, {**self.headers, "host": name}))
        return tuple(hashes)

    def _canonical_hash(self, signed_headers: tuple[str, ...], headers: Mapping[str, str]) -> str:
        return signing.hashed(
            signing.canonical_request(
                method=self.method,
                path=self.path,
                query=self.query,
                headers=headers,
                signed_headers=signed_headers,
                body=self.body,
            )
        )


@dataclass(frozen=True, slots=True)
class HashedRequest:
    """A request that another of the platform's services received and canonicalised itself
    (VerifyRequest): only the hash of its canonical request travels, never its body."""

    authorization: str
    timestamp: str
    canonical_request_hash: str
    service: str
    carries_token: bool = False  # the service refuses X-TC-Token itself, or never sees one

    def accepts_service(self, service: str) -> bool:
        return service == self.service

    def canonical_hashes(self, signed_headers: tuple[str, ...]) -> tuple[str, ...]:
        return (self.canonical_request_hash,)


@dataclass(frozen=True, slots=True)
class SignatureUse:
    """What a copy of this request's signature may still do, decided by the route.

    `action` is the operation as records show it. `changes_state`: the signature is accepted
    once. `action_header`: the header the route reads its action from (`x-tc-action` on `POST /`);
    when the signature leaves it out, even a read binds the signature to its action.
    """

    action: str
    changes_state: bool
    action_header: str | None = None


@dataclass(slots=True)
class Verdict:
    """What authentication established about one request, accepted or not.

    `key`: the existing key the request names (None: it leaves no trace for anyone). `signed`: it
    is proven signed with that key's SecretKey. `caller` is set exactly when `refusal` is None.
    """

    key: AccessKey | None
    signed: bool
    caller: Caller | None = None
    refusal: ServiceError | None = None


def authenticate(request: SignedRequest | HashedRequest, use: SignatureUse, *, now: float) -> Verdict:
    """Verify the request, spend or bind its signature as `use` says, and say who signed it.

    Never raises for a refusal: the Verdict carries it. It raises only when the claimed key
    could not be read (`Throttled`, or AWS's error), since then nobody is known to record the
    attempt for.
    """
    header = request.authorization
    try:
        authorization = signing.parse_authorization(header)
    except InvalidAuthorization as malformed:
        refusal: ServiceError = malformed
        claimed = signing.claimed_secret_id(header)
        legacy = request.legacy_signature() if not header and isinstance(request, SignedRequest) else None
        if legacy is not None:
            refusal, claimed = InvalidAuthorization(LEGACY_SIGNATURE), legacy or None
        return Verdict(key_store.find_key(claimed) if claimed else None, signed=False, refusal=refusal)
    try:
        timestamp, canonical_hashes = _check_request(request, authorization, now=now)
    except ServiceError as refusal:
        # Refused before any key material is read: the key's public attributes name its owner.
        return Verdict(key_store.find_key(authorization.secret_id), signed=False, refusal=refusal)

    stored = key_store.get_key(authorization.secret_id)
    signed = False
    try:
        signer = _check_signature(authorization, stored, timestamp=timestamp, canonical_hashes=canonical_hashes)
        signed = True
        _check_signed_request(authorization, signer, use, timestamp=timestamp, now=now)
    except (ServiceError, Throttled) as refusal:  # throttled: KMS, or the single-use guard's write
        return Verdict(stored.key if stored else None, signed=signed, refusal=refusal_of(refusal))
    except Exception:
        # A failed decrypt leaves the signature unchecked; a failed guard write fails closed.
        logger.exception("verification failed", extra={"secret_id": authorization.secret_id, "signed": signed})
        return Verdict(stored.key if stored else None, signed=signed, refusal=InternalError())
    return Verdict(signer.key, True, Caller(signer.key, timestamp))


def _check_request(
    request: SignedRequest | HashedRequest, authorization: signing.Authorization, *, now: float
) -> tuple[int, tuple[str, ...]]:
    """The request's timestamp and the hashes its canonical request may have, if nothing about them is refused
    before any key material is read: a token, a scope date the server never accepts, a scope not
    the timestamp's or not the service's, a signed header missing."""
    timestamp = signing.parse_timestamp(request.timestamp)
    if request.carries_token:
        raise TokenFailure()
    if authorization.date not in _accepted_dates(int(now) // _DAY_SECONDS):
        # No request makes the service read or derive key material, or call KMS, for a date it
        # would never accept.
        raise SignatureExpire(
            "The credential scope's date must be the server's UTC date, or the day before or after it. "
            "Sign with the current time."
        )
    date = signing.utc_date(timestamp)
    scope_is_expected = (
        authorization.date == date
        and request.accepts_service(authorization.service)
        and authorization.terminator == signing.TERMINATOR
    )
    if not scope_is_expected:
        service = request.service if isinstance(request, HashedRequest) else signing.SERVICE
        expected_scope = f"{date}/{service}/{signing.TERMINATOR}"
        raise SignatureFailure(
            f"The credential scope must be {expected_scope}: "
            f"the UTC date of X-TC-Timestamp, the service {service} and {signing.TERMINATOR}."
        )
    return timestamp, request.canonical_hashes(authorization.signed_headers)


@lru_cache(maxsize=2)
def _accepted_dates(day: int) -> frozenset[str]:
    """The scope dates accepted on UTC day `day`: that day and the days either side of it."""
    return frozenset(signing.utc_date((day + offset) * _DAY_SECONDS) for offset in (-1, 0, 1))


def _check_signature(
    authorization: signing.Authorization, stored: StoredKey | None, *, timestamp: int, canonical_hashes: tuple[str, ...]
) -> StoredKey:
    """The stored key, once the signature is proven made with its SecretKey; the refusal otherwise.

    A disabled key's signature is still checked, so that its attempt is classified, but the answer
    is the same SecretIdNotFound either way: no oracle.
    """
    if stored is None:
        raise SecretIdNotFound()
    key = key_material.signing_key_of(stored, authorization.date, authorization.service)
    for canonical_hash in canonical_hashes:
        expected = signing.signature(key, signing.string_to_sign(timestamp, authorization.scope, canonical_hash))
        if signing.signatures_match(expected, authorization.signature):
            return stored
    raise SecretIdNotFound() if stored.key.status is not Status.ACTIVE else SignatureFailure()


def _check_signed_request(
    authorization: signing.Authorization,
    stored: StoredKey,
    use: SignatureUse,
    *,
    timestamp: int,
    now: float,
) -> None:
    """The refusals of a request its key's owner did sign; each leaves an AccessRecord."""
    if stored.key.status is not Status.ACTIVE:
        raise SecretIdNotFound()
    if use.changes_state or use.action_header is not None:  # a REST read's signature is neither spent nor bound
        _use_signature(authorization, use, timestamp=timestamp)
    # After the signature's use, so that a replay is told "already used" even once it has expired.
    if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureExpire(
            f"X-TC-Timestamp is more than {MAX_CLOCK_SKEW_SECONDS} seconds from the server's clock. "
            "Sign with the current time."
        )


def _use_signature(authorization: signing.Authorization, use: SignatureUse, *, timestamp: int) -> None:
    """Spend a state-changing request's signature, or bind a read's to its action where the
    signature does not cover the action: one conditional PutItem, shared by every instance."""
    action_signed = use.action_header is None or use.action_header in authorization.signed_headers
    if not use.changes_state and action_signed:
        return  # an identical read may come again, as SigV4 allows
    if not record_store.use_signature(
        authorization.signature,
        action=use.action,
        reusable=not use.changes_state,
        expires_at=timestamp + USED_SIGNATURE_TTL_SECONDS,
    ):
        raise SignatureFailure(SIGNATURE_USED if action_signed else _SIGNATURE_USED_UNSIGNED_ACTION)
