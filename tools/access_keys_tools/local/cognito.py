"""Amazon Cognito as the console meets it, on moto's user pools: what moto 5.2.5 leaves out.

install() patches moto's Cognito classes in this process, once, so that both mock_aws and the
local stack's MotoServer (backend.py) behave as Cognito does here:

- USER_SRP_AUTH checks the password. moto answers InitiateAuth with a random SALT and SRP_B and
  takes any PASSWORD_CLAIM_SIGNATURE; here the server half of Cognito's SRP-6a (RFC 5054's
  3072-bit group, g = 2, the "Caldera Derived Key") runs against the password moto stores. A wrong
  signature, an A that is 0 mod N, a TIMESTAMP more than five minutes off, a SECRET_BLOCK used
  before and an unknown user all get NotAuthorizedException "Incorrect username or password.", as
  a pool with PreventUserExistenceErrors answers. SECRET_BLOCK is base64 (moto's was its session
  id, which a browser's atob() refuses and which let a client skip the password claim).
- A challenge's USERNAME must name the user of its Session (moto acted on whichever user it named).
- TOTP per user. moto gives everyone one fixed secret and checks codes only under
  MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true; here AssociateSoftwareToken makes each user a random
  secret, VerifySoftwareToken and the SOFTWARE_TOKEN_MFA challenge check RFC 6238 codes (SHA-1,
  6 digits, 30 s, one step either side) whatever that variable says, a code counts once, and
  MFA_SETUP needs a verified token. A wrong code gets Cognito's error: EnableSoftwareTokenMFAException
  from VerifySoftwareToken, CodeMismatchException from the SOFTWARE_TOKEN_MFA challenge.
- RevokeToken, which moto lacks: the refresh token and the access tokens issued from it stop working.
- The ID token's email claim is the user's email (moto's was the name the client signed in with,
  the sub once a challenge answered with Cognito's USERNAME).
- Token lifetimes from the app client's IdTokenValidity, AccessTokenValidity and
  RefreshTokenValidity in its TokenValidityUnits (moto made every token last an hour and refresh
  tokens forever); ExpiresIn is the access token's, as in Cognito.

It leaves as moto has them:
- Every pool's tokens are signed with one RSA key that ships with moto (kid "dummy"), which each
  pool's jwks.json serves: a token is valid for any pool.
- Usernames are case-sensitive whatever UsernameConfiguration says.
- ExplicitAuthFlows is not enforced (USER_PASSWORD_AUTH works for any client).
- Sessions never expire (AuthSessionValidity), failed sign-ins are neither throttled nor locked
  out, temporary passwords never expire, and SMS, email, devices and threat protection are absent.
- MFAS_CAN_SETUP is a list, not the JSON text Cognito sends.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from moto.cognitoidp import models
from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError, UserNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUser, CognitoIdpUserPool
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import EmptyResult

# RFC 5054's 3072-bit group (RFC 3526 group 15), the one Cognito uses.
N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2
INCORRECT_CREDENTIALS = "Incorrect username or password."
CLOCK_SKEW_SECONDS = 5 * 60
TOTP_STEP_SECONDS = 30
# The app client's setting, its key in TokenValidityUnits, and Cognito's default, by token use.
_VALIDITY = {
    "id": ("IdTokenValidity", "IdToken", 1, "hours"),
    "access": ("AccessTokenValidity", "AccessToken", 1, "hours"),
    "refresh": ("RefreshTokenValidity", "RefreshToken", 30, "days"),
}
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def install() -> None:
    """Patch moto's Cognito in this process; a second call changes nothing."""
    if getattr(CognitoIdpBackend, "closes_cognito_gaps", False):
        return
    _around(CognitoIdpBackend, "initiate_auth", _initiate_auth)
    _around(CognitoIdpBackend, "respond_to_auth_challenge", _respond_to_auth_challenge)
    CognitoIdpBackend.associate_software_token = _associate_software_token
    CognitoIdpBackend.verify_software_token = _verify_software_token
    CognitoIdpBackend.revoke_token = _revoke_token
    CognitoIdpResponse.revoke_token = _revoke_token_action
    _around(CognitoIdpUserPool, "create_jwt", _create_jwt)
    _around(CognitoIdpUserPool, "create_refresh_token", _create_refresh_token)
    _around(CognitoIdpUserPool, "create_tokens_from_refresh_token", _create_tokens_from_refresh_token)
    # Codes are checked per user here; moto's own check would hold them to its one fixed secret.
    models.get_cognito_idp_user_pool_enable_totp = lambda: False
    CognitoIdpBackend.closes_cognito_gaps = True


def _around(cls: type, name: str, wrapper: Callable[..., Any]) -> None:
    """Put wrapper(self, ..., original=cls.name bound to self) in the place of cls.name."""
    original = getattr(cls, name)

    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(self, *args, original=functools.partial(original, self), **kwargs)

    setattr(cls, name, method)


# ------------------------------------------------------------------------------ SRP


def pad(value: int) -> bytes:
    """Cognito's padHex as bytes: big-endian, with a zero byte in front when the top bit is set."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _hash(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


K = int.from_bytes(_hash(pad(N), pad(G)))


def srp_server_step(*, pool_name: str, user_id: str, password: str, salt: int, big_a: int, b: int) -> tuple[int, bytes]:
    """The server's B and the 16-byte key that the client's password claim is signed with."""
    x = int.from_bytes(_hash(pad(salt), _hash(f"{pool_name}{user_id}:{password}".encode())))
    verifier = pow(G, x, N)
    big_b = (K * verifier + pow(G, b, N)) % N
    u = int.from_bytes(_hash(pad(big_a), pad(big_b)))
    shared = pow(big_a * pow(verifier, u, N), b, N)
    pseudo_random_key = hmac.digest(pad(u), pad(shared), "sha256")  # HKDF-SHA256, one block
    return big_b, hmac.digest(pseudo_random_key, b"Caldera Derived Key\x01", "sha256")[:16]


def password_claim_signature(key: bytes, pool_name: str, user_id: str, secret_block: bytes, timestamp: str) -> str:
    message = pool_name.encode() + user_id.encode() + secret_block + timestamp.encode()
    return base64.b64encode(hmac.digest(key, message, "sha256")).decode()


@dataclass(frozen=True)
class _PasswordClaim:
    """What the PASSWORD_VERIFIER answer to one InitiateAuth must prove, kept by its SECRET_BLOCK."""

    session: str  # moto's, kept out of backend.sessions until the claim is proved
    session_entry: tuple[str, CognitoIdpUserPool]
    user: CognitoIdpUser
    pool_name: str
    key: bytes


def _password_claims(backend: CognitoIdpBackend) -> dict[str, _PasswordClaim]:
    return backend.__dict__.setdefault("password_claims", {})


def _initiate_auth(
    backend: CognitoIdpBackend,
    client_id: str,
    auth_flow: str,
    auth_parameters: dict[str, str],
    *,
    original: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    big_a = None
    if auth_flow == "USER_SRP_AUTH":
        try:
            big_a = int((auth_parameters or {}).get("SRP_A") or "0", 16)
        except ValueError:
            raise NotAuthorizedError(INCORRECT_CREDENTIALS) from None
        if big_a % N == 0:
            raise NotAuthorizedError(INCORRECT_CREDENTIALS)
    try:
        result = original(client_id, auth_flow, auth_parameters)
    except UserNotFoundError:
        raise NotAuthorizedError(INCORRECT_CREDENTIALS) from None
    return result if big_a is None else _password_verifier_challenge(backend, result, big_a)


def _password_verifier_challenge(backend: CognitoIdpBackend, result: dict[str, Any], big_a: int) -> dict[str, Any]:
    """moto's PASSWORD_VERIFIER challenge with real SRP parameters, and no Session to skip it with."""
    session = result.pop("Session")
    username, pool = session_entry = backend.sessions.pop(session)
    user = pool._get_user(username)
    pool_name = pool.id.split("_", 1)[1]
    salt = secrets.randbits(128)
    big_b, key = srp_server_step(
        pool_name=pool_name,
        user_id=user.username,
        password=user.password or "",
        salt=salt,
        big_a=big_a,
        b=secrets.randbits(1024),
    )
    secret_block = base64.b64encode(secrets.token_bytes(64)).decode()
    _password_claims(backend)[secret_block] = _PasswordClaim(session, session_entry, user, pool_name, key)
    result["ChallengeParameters"].update(
        SALT=pad(salt).hex(), SRP_B=format(big_b, "x"), USER_ID_FOR_SRP=user.username, SECRET_BLOCK=secret_block
    )
    return result


def _prove_password_claim(backend: CognitoIdpBackend, answers: dict[str, str]) -> str:
    """moto's session for a valid password claim; the claim cannot be tried again either way."""
    claim = _password_claims(backend).pop(answers.get("PASSWORD_CLAIM_SECRET_BLOCK") or "", None)
    timestamp = answers.get("TIMESTAMP") or ""
    if claim is None or not _is_recent(timestamp):
        raise NotAuthorizedError(INCORRECT_CREDENTIALS)
    secret_block = base64.b64decode(answers["PASSWORD_CLAIM_SECRET_BLOCK"])
    expected = password_claim_signature(claim.key, claim.pool_name, claim.user.username, secret_block, timestamp)
    if not hmac.compare_digest(expected.encode(), (answers.get("PASSWORD_CLAIM_SIGNATURE") or "").encode()):
        raise NotAuthorizedError(INCORRECT_CREDENTIALS)
    backend.sessions[claim.session] = claim.session_entry
    return claim.session


def _is_recent(timestamp: str) -> bool:
    """A TIMESTAMP such as "Tue Dec 1 12:27:31 UTC 2026" within five minutes of now."""
    try:
        when = datetime.strptime(timestamp, "%a %b %d %H:%M:%S UTC %Y").replace(tzinfo=UTC)
    except ValueError:
        return False
    return abs(time.time() - when.timestamp()) <= CLOCK_SKEW_SECONDS


def _respond_to_auth_challenge(
    backend: CognitoIdpBackend,
    session: str,
    client_id: str,
    challenge_name: str,
    challenge_responses: dict[str, str],
    *,
    original: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    answers = dict(challenge_responses or {})
    if challenge_name == "PASSWORD_VERIFIER":
        session = answers["PASSWORD_CLAIM_SECRET_BLOCK"] = _prove_password_claim(backend, answers)
    if session in backend.sessions:  # else moto refuses the session
        username, pool = backend.sessions[session]
        user = pool._get_user(username)
        if pool._get_user(answers.get("USERNAME")) is not user:
            raise NotAuthorizedError("Invalid session for the user.")
        if challenge_name == "SOFTWARE_TOKEN_MFA" and not _accept_totp(
            user, answers.get("SOFTWARE_TOKEN_MFA_CODE"), getattr(user, "totp_secret", None)
        ):
            raise CodeMismatchException("Invalid code received for user")
        if challenge_name == "MFA_SETUP" and not user.token_verified:
            raise NotAuthorizedError("Invalid session for the user.")
    return original(session, client_id, challenge_name, answers)


def _session_user(backend: CognitoIdpBackend, session: str) -> CognitoIdpUser:
    username, pool = backend.sessions[session]
    return pool._get_user(username)


# ------------------------------------------------------------------------------ TOTP


def _user_for(backend: CognitoIdpBackend, access_token: str | None, session: str | None) -> CognitoIdpUser:
    """The user a software-token call is for: by its Session, else by its access token."""
    if session:
        if session not in backend.sessions:
            raise NotAuthorizedError("Invalid session for the user.")
        return _session_user(backend, session)
    for pool in backend.user_pools.values():
        if access_token in pool.access_tokens:
            return pool._get_user(pool.access_tokens[access_token][1])
    raise NotAuthorizedError("Invalid Access Token")


def _associate_software_token(backend: CognitoIdpBackend, access_token: str, session: str) -> dict[str, str]:
    user = _user_for(backend, access_token, session)
    user.totp_pending_secret = base64.b32encode(secrets.token_bytes(20)).decode()
    return {"SecretCode": user.totp_pending_secret, **({"Session": session} if session else {})}


def _verify_software_token(
    backend: CognitoIdpBackend, access_token: str, session: str, user_code: str, friendly_device_name: str
) -> dict[str, str]:
    user = _user_for(backend, access_token, session)
    pending = getattr(user, "totp_pending_secret", None)
    if not _accept_totp(user, user_code, pending):
        raise JsonRESTError("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
    user.totp_secret = pending
    user.token_verified = True
    if not session:
        return {"Status": "SUCCESS"}
    next_session = str(uuid.uuid4())  # the one MFA_SETUP is answered with
    backend.sessions[next_session] = backend.sessions.pop(session)
    return {"Status": "SUCCESS", "Session": next_session}


def _accept_totp(user: CognitoIdpUser, code: str | None, secret: str | None) -> bool:
    """Whether code is the secret's, one step either side of now, and newer than the last one used."""
    if not secret or not code:
        return False
    now = int(time.time()) // TOTP_STEP_SECONDS
    for step in (now - 1, now, now + 1):
        if step > getattr(user, "totp_last_step", -1) and hmac.compare_digest(_totp(secret, step), code.encode()):
            user.totp_last_step = step  # Cognito takes a code once
            return True
    return False


def _totp(secret: str, step: int) -> bytes:
    """RFC 6238: HOTP-SHA1 of the time step, six digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.digest(key, step.to_bytes(8, "big"), "sha1")
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4]) & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}".encode()


# ------------------------------------------------------------------------------ tokens


def _revoke_token(backend: CognitoIdpBackend, client_id: str, token: str) -> None:
    """The refresh token, and the access tokens issued from it, stop working (unknown ones are ignored)."""
    for pool in backend.user_pools.values():
        issued = pool.refresh_tokens.get(token)
        if issued is None or issued[0] != client_id:
            continue
        pool.refresh_tokens[token] = None  # what moto's GlobalSignOut leaves, refused as revoked
        for access_token in list(pool.access_tokens):
            if jwt.decode(access_token, pool.json_web_key).claims.get("origin_jti") == issued[2]:
                del pool.access_tokens[access_token]


def _revoke_token_action(response: CognitoIdpResponse) -> EmptyResult:
    client_id = response._get_param("ClientId")
    backend = response._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
    backend.revoke_token(client_id, response._get_param("Token"))
    return EmptyResult()


def _lifetime(pool: CognitoIdpUserPool, client_id: str, token_use: str) -> int:
    """Seconds a token lasts, as the app client sets it."""
    setting, unit_key, default, default_unit = _VALIDITY[token_use]
    client = pool.clients.get(client_id)
    config = client.extended_config if client else {}
    if config.get(setting) is None:
        return default * _UNIT_SECONDS[default_unit]
    unit = (config.get("TokenValidityUnits") or {}).get(unit_key, default_unit)
    return int(config[setting]) * _UNIT_SECONDS[unit]


def _create_jwt(
    pool: CognitoIdpUserPool,
    client_id: str,
    username: str,
    token_use: str,
    *,
    expires_in: int | None = None,  # moto's hour, which the client's setting replaces
    extra_data: dict[str, Any] | None = None,
    original: Callable[..., tuple[str, int]],
) -> tuple[str, int]:
    user = pool._get_user(username)
    if user and "email" in pool.extended_config.get("UsernameAttributes", []):
        # moto writes the name it is given into the email claim: after a challenge answered with
        # the USERNAME Cognito gave (the sub), that would be the sub.
        username = user.attribute_lookup.get("email", username)
    return original(client_id, username, token_use, _lifetime(pool, client_id, token_use), extra_data)


def _refresh_token_expiry(pool: CognitoIdpUserPool) -> dict[str, float]:
    return pool.__dict__.setdefault("refresh_token_expiry", {})


def _create_refresh_token(
    pool: CognitoIdpUserPool, client_id: str, username: str, *, original: Callable[..., tuple[str, str]]
) -> tuple[str, str]:
    refresh_token, origin_jti = original(client_id, username)
    _refresh_token_expiry(pool)[refresh_token] = time.time() + _lifetime(pool, client_id, "refresh")
    return refresh_token, origin_jti


def _create_tokens_from_refresh_token(
    pool: CognitoIdpUserPool, refresh_token: str, *, original: Callable[..., tuple[str, str, int]]
) -> tuple[str, str, int]:
    if time.time() > _refresh_token_expiry(pool).get(refresh_token, math.inf):
        raise NotAuthorizedError("Refresh Token has expired")
    return original(refresh_token)
