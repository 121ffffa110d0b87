"""SecretKeys at rest: KMS-encrypted under a context that binds each to its SecretId and owner.

The signing keys derived from them are kept in this process's memory for a few minutes, so a
warm verification makes no KMS call. The cache never decides whether a key may be used: the
verifier reads the key's status from the table on every request.
"""

from __future__ import annotations

import hmac
import time

from access_keys import signing
from access_keys.config import settings
from access_keys.dal import kms
from access_keys.domain import StoredKey

_MAX_CACHED = 1024
# (SecretId, UTC date) -> (ciphertext it was derived from, TC3 signing key as a keyed HMAC,
# monotonic expiry).
# Only derived keys are kept: each signs for one day and one service, while a SecretKey would
# sign for ever. The SecretKey itself lives only as long as the derivation takes.
_cache: dict[tuple[str, str], tuple[bytes, hmac.HMAC, float]] = {}


def _context(secret_id: str, uin: str) -> dict[str, str]:
    # A ciphertext copied onto another key item, or another owner, no longer decrypts.
    return {"SecretId": secret_id, "Uin": uin}


def seal(secret_id: str, uin: str, secret_key: str) -> bytes:
    return kms.encrypt(secret_key, _context(secret_id, uin))


def secret_key_of(stored: StoredKey) -> str:
    """The key's SecretKey, decrypted by KMS. Not cached: see `signing_key_of`."""
    return kms.decrypt(stored.encrypted_secret, _context(stored.key.secret_id, stored.key.uin))


def signing_key_of(stored: StoredKey, date: str) -> hmac.HMAC:
    """The key's TC3 signing key for `date` (and the service `cam`), `signing.keyed`, derived
    once per day and kept a few minutes, so a warm verification makes no KMS call and derives
    nothing."""
    entry = (stored.key.secret_id, date)
    now = time.monotonic()
    cached = _cache.get(entry)
    if cached and cached[0] == stored.encrypted_secret and cached[2] > now:
        return cached[1]
    derived = signing.keyed(signing.signing_key(secret_key_of(stored), date))
    if entry not in _cache and len(_cache) >= _MAX_CACHED:
        _cache.pop(next(iter(_cache)))
    _cache[entry] = (stored.encrypted_secret, derived, now + settings().secret_cache_seconds)
    return derived


def forget_all() -> None:
    """Drop every cached signing key, as a cold start would."""
    _cache.clear()
