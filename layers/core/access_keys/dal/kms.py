"""KMS envelope for SecretKeys: encrypt at creation, decrypt on a cold verification."""

from __future__ import annotations

from functools import cache
from typing import Any

from access_keys.config import settings
from access_keys.dal import aws
from access_keys.dal.throttling import reporting_throttling


@cache
def _client() -> Any:  # botocore's KMS client: its methods are made at run time
    return aws.session().create_client("kms", region_name=settings().region)


def encrypt(plaintext: str, context: dict[str, str]) -> bytes:
    with reporting_throttling():
        response = _client().encrypt(
            KeyId=settings().secrets_kms_key_id,
            Plaintext=plaintext.encode("utf-8"),
            EncryptionContext=context,
        )
    ciphertext: bytes = response["CiphertextBlob"]
    return ciphertext


def decrypt(ciphertext: bytes, context: dict[str, str]) -> str:
    with reporting_throttling():
        response = _client().decrypt(
            KeyId=settings().secrets_kms_key_id,
            CiphertextBlob=ciphertext,
            EncryptionContext=context,
        )
    plaintext: bytes = response["Plaintext"]
    return plaintext.decode("utf-8")
