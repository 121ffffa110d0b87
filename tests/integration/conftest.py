"""End-to-end harness: handlers invoked with signed API Gateway v2 events, on moto.

Tables are created from template.yaml itself, so tests and deployment cannot drift.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from access_keys import key_material
from access_keys.config import settings
from access_keys_tools.events import http_event, sign_event
from access_keys_tools.template import PROJECT_ROOT, create_tables, resources_of_type



@cache
def load_handler(operation: str) -> ModuleType:
    """Import the operation's app.py, found through template.yaml, under a unique module name."""
    function = resources_of_type("AWS::Serverless::Function")[f"{operation}Function"]["Properties"]
    path: Path = PROJECT_ROOT / function["CodeUri"] / "app.py"
    spec = importlib.util.spec_from_file_location(f"{operation}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    raw_body: str

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw_body)

    @property
    def error_code(self) -> str | None:
        return self.body.get("Error", {}).get("Code")


@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str


class Api:
    """Calls the handlers the way API Gateway would, with events from events/ signed afresh."""

    def __init__(self) -> None:
        self.responses: list[Response] = []

    def invoke(self, operation: str, event: dict[str, Any]) -> Response:
        handler = load_handler(operation).lambda_handler
        raw = handler(event, LambdaContext(function_name=f"{operation}Function"))
        response = Response(raw["statusCode"], raw["headers"], raw["body"])
        self.responses.append(response)
        return response

    def call(
        self,
        event_name: str,
        credentials: Credentials,
        *,
        secret_id: str | None = None,
        body: Any = None,
        query: str | None = None,
        timestamp: int | None = None,
    ) -> Response:
        event = http_event(event_name, secret_id=secret_id, body=body, query=query)
        signed = sign_event(
            event, secret_id=credentials.secret_id, secret_key=credentials.secret_key, timestamp=timestamp
        )
        return self.invoke(event_name.split("/")[0], signed)


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


def bootstrap_key(uin: str, description: str = "") -> Credentials:
    """An account's first key, made as `access-keys admin create-key` makes it."""
    from access_keys import keys

    created = keys.create_access_key(uin, description)
    return Credentials(created.key.secret_id, created.secret_key)


@pytest.fixture
def alice(aws: None) -> Credentials:
    return bootstrap_key("100000000001", "alice bootstrap")


@pytest.fixture
def bob(aws: None) -> Credentials:
    return bootstrap_key("100000000002", "bob bootstrap")
