"""Fixtures of the end-to-end tests: a fresh moto account per test, with the template's tables."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from harness import Api, AwsCalls, Credentials, StreamPump, bootstrap_key
from moto import mock_aws

from access_keys import key_material
from access_keys.config import settings
from access_keys_tools.template import create_tables


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh moto account with the template's tables and the secrets KMS key."""
    with mock_aws():
        config = settings()
        create_tables(
            boto3.client("dynamodb"),
            {"KeysTable": config.keys_table_name, "AccessRecordsTable": config.records_table_name},
        )
        kms = boto3.client("kms")
        key_id = kms.create_key(Description="access-keys test secrets")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=config.secrets_kms_key_id, TargetKeyId=key_id)
        key_material.forget_all()
        yield
        key_material.forget_all()


@pytest.fixture
def api(aws: None) -> Api:
    return Api()


@pytest.fixture
def alice(aws: None) -> Credentials:
    return bootstrap_key("100000000001", "alice bootstrap")


@pytest.fixture
def bob(aws: None) -> Credentials:
    return bootstrap_key("100000000002", "bob bootstrap")


@pytest.fixture
def aws_calls(aws: None) -> Iterator[AwsCalls]:
    recorder = AwsCalls()
    yield recorder
    recorder.close()


@pytest.fixture
def stream(aws: None) -> StreamPump:
    return StreamPump()
