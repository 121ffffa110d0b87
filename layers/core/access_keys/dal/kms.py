"""KMS envelope for SecretKeys: encrypt at creation, decrypt on a cold verification."""

from __future__ import annotations

from functools import cache

from botocore.client import BaseClient

from access_keys.config import settings
from access_keys.dal import aws
from access_keys.dal.throttling import reporting_throttling


@cache
def _client() -> BaseClient:
    return aws.session().create_client("kms", region_name=settings().region)


def encrypt(plaintext: str, context: dict[str, str]) -> bytes:
    with reporting_throttling():
        response = _client().encrypt(
            KeyId=settings().secrets_kms_key_id,
            Plaintext=plaintext.encode("utf-8"),
            EncryptionContext=context,
        )
    return response["CiphertextBlob"]


def decrypt(ciphertext: bytes, context: dict[str, str]) -> str:
    with reporting_throttling():
        response = _client().decrypt(
            KeyId=settings().secrets_kms_key_id,
            CiphertextBlob=ciphertext,
            EncryptionContext=context,
        )
    return response["Plaintext"].decode("utf-8")
