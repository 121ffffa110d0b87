"""SecretKeys at rest: KMS-encrypted under a context that binds each to its SecretId and owner.

The signing keys derived from them are kept in this process's memory for a few minutes, so a
warm verification makes no KMS call. The cache never decides whether a key may be used: the
verifier reads the key's status from the table on every request.
"""

from __future__ import annotations

import time

from access_keys import signing
from access_keys.dal import kms
from access_keys.domain import StoredKey

_MAX_CACHED = 1024
# How long a derived signing key is kept (never the SecretKey), so a warm request makes no KMS
# call. The key's status is still read on every request: caching never delays a disable.
_CACHED_SECONDS = 300
# (SecretId, Uin, ciphertext, UTC date, service) -> (TC3 signing key as a keyed HMAC, monotonic expiry).
# Keyed on everything the encryption context binds, as well as the ciphertext: a key item whose
# owner or ciphertext changed is a miss, and KMS decides again whether it decrypts.
# Only derived keys are kept: each signs for one day and one service, while a SecretKey would
# sign for ever. The SecretKey itself lives only as long as the derivation takes. The verifier
# derives only for the server's UTC day and the days either side, so no request can fill this
# with dates it would never accept.
_cache: dict[tuple[str, str, bytes, str, str], tuple[signing.KeyedHmac, float]] = {}


def _context(secret_id: str, uin: str) -> dict[str, str]:
    # A ciphertext copied onto another key item, or another owner, no longer decrypts.
    return {"SecretId": secret_id, "Uin": uin}


def seal(secret_id: str, uin: str, secret_key: str) -> bytes:
    return kms.encrypt(secret_key, _context(secret_id, uin))


def secret_key_of(stored: StoredKey) -> str:
    """The key's SecretKey, decrypted by KMS. Not cached: see `signing_key_of`."""
    return kms.decrypt(stored.encrypted_secret, _context(stored.key.secret_id, stored.key.uin))


def signing_key_of(stored: StoredKey, date: str, service: str = signing.SERVICE) -> signing.KeyedHmac:
    """The key's TC3 signing key for `date` (and the service `cam`), `signing.keyed`, derived
    once per day and kept a few minutes, so a warm verification makes no KMS call and derives
    nothing."""
    entry = (stored.key.secret_id, stored.key.uin, stored.encrypted_secret, date, service)
    now = time.monotonic()
    cached = _cache.get(entry)
    if cached and cached[1] > now:
        return cached[0]
    derived = signing.keyed(signing.signing_key(secret_key_of(stored), date, service))
    if entry not in _cache and len(_cache) >= _MAX_CACHED:
        _cache.pop(next(iter(_cache)))
    _cache[entry] = (derived, now + _CACHED_SECONDS)
    return derived


def forget_all() -> None:
    """Drop every cached signing key, as a cold start would."""
    _cache.clear()
