"""What a test needs to sign in as an account: an authenticator app's TOTP codes, and a new password
the pool's policy accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

NEW_PASSWORD = "Correct-Horse-Battery-9"


def totp(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code of a base32 secret (SHA-1, 6 digits, 30 s), as an authenticator app shows it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int((time.time() if at is None else at) // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"
