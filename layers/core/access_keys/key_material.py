"""SecretKeys at rest: KMS-encrypted under a context that binds each to its SecretId and owner.

Decrypted SecretKeys are kept in this process's memory for a few minutes, so a warm
verification makes no KMS call. The cache never decides whether a key may be used: the
verifier reads the key's status from the table on every request.
"""

from __future__ import annotations

import time

from access_keys.config import settings
from access_keys.dal import kms
from access_keys.domain import StoredKey

_MAX_CACHED = 1024
# SecretId -> (ciphertext it was decrypted from, SecretKey, monotonic expiry)
_cache: dict[str, tuple[bytes, str, float]] = {}


def _context(secret_id: str, uin: str) -> dict[str, str]:
    # A ciphertext copied onto another key item, or another owner, no longer decrypts.
    return {"SecretId": secret_id, "Uin": uin}


def seal(secret_id: str, uin: str, secret_key: str) -> bytes:
    return kms.encrypt(secret_key, _context(secret_id, uin))


def secret_key_of(stored: StoredKey) -> str:
    secret_id = stored.key.secret_id
    now = time.monotonic()
    cached = _cache.get(secret_id)
    if cached and cached[0] == stored.encrypted_secret and cached[2] > now:
        return cached[1]
    secret_key = kms.decrypt(stored.encrypted_secret, _context(secret_id, stored.key.uin))
    if secret_id not in _cache and len(_cache) >= _MAX_CACHED:
        _cache.pop(next(iter(_cache)))
    _cache[secret_id] = (stored.encrypted_secret, secret_key, now + settings().secret_cache_seconds)
    return secret_key


def forget_all() -> None:
    """Drop every cached SecretKey, as a cold start would."""
    _cache.clear()
