"""The end-to-end harness: handlers invoked as API Gateway would, AWS calls counted.

Handlers get signed API Gateway v2 events built from events/; tables come from template.yaml.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from secret_ledger import LEDGER

from access_keys import key_material, keys
from access_keys.config import settings
from access_keys.dal import kms
from access_keys.dal.models import (
    AccessRecordItem,
    AccountItem,
    CleanupStateItem,
    DeletedKeyItem,
    KeyItem,
    bind_tables,
)
from access_keys.domain import MAX_KEYS_PER_ACCOUNT
from access_keys_tools.events import http_event, sign_event
from access_keys_tools.local.worker import LambdaContext
from access_keys_tools.streams import StreamReader, lambda_batches
from access_keys_tools.template import PROJECT_ROOT, create_tables, resources_of_type

NONCE_HEADER = "x-request-nonce"


@cache
def load_handler(operation: str) -> ModuleType:
    """Import the operation's app.py, found through template.yaml, under a unique module name."""
    function = resources_of_type("AWS::Serverless::Function")[f"{operation}Function"]["Properties"]
    path: Path = PROJECT_ROOT / function["CodeUri"] / "app.py"
    spec = importlib.util.spec_from_file_location(f"{operation}_app", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


# Well-formed as an issued SecretKey is (32 letters and digits), and no key's: the SecretKey of a
# request signed by someone who knows only the SecretId.
WRONG_SECRET_KEY = "x" * 32


@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str

    @classmethod
    def of(cls, access_key: Mapping[str, Any]) -> Credentials:
        """The pair of a create response's `AccessKey` object (`SecretId`, `SecretKey`)."""
        return cls(access_key["SecretId"], access_key["SecretKey"])

    @classmethod
    def forged(cls, secret_id: str) -> Credentials:
        """`secret_id` with a SecretKey that is not its own: `WRONG_SECRET_KEY`."""
        return cls(secret_id, WRONG_SECRET_KEY)


class Api:
    """Calls the handlers the way API Gateway would, with events from events/ signed afresh."""

    def __init__(self) -> None:
        self.responses: list[Response] = []

    def invoke(self, operation: str, event: dict[str, Any]) -> Response:
        handler = load_handler(operation).lambda_handler
        raw = handler(event, LambdaContext(function_name=f"{operation}Function"))
        response = Response(raw["statusCode"], raw["headers"], raw["body"])
        self.responses.append(response)
        LEDGER.saw_response(response.raw_body)
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
        signed_headers: tuple[str, ...] | None = None,
    ) -> Response:
        """One request, signed afresh: it also signs a nonce header of its own, so that two identical
        calls in the same second carry distinct signatures, as each would from a careful client
        (a state-changing signature is accepted once). `signed_headers` signs exactly those
        instead, without the nonce: `("content-type", "host")` is how Tencent's stock SDKs sign.
        Tests of identical signatures use `sign_event` and `invoke` themselves."""
        event = http_event(
            event_name, secret_id=secret_id, body=body, query=query, headers={NONCE_HEADER: uuid.uuid4().hex}
        )
        if signed_headers is None:
            action = ("x-tc-action",) if "x-tc-action" in event["headers"] else ()
            signed_headers = ("content-type", "host", NONCE_HEADER, *action)
        signed = sign_event(
            event,
            secret_id=credentials.secret_id,
            secret_key=credentials.secret_key,
            timestamp=timestamp,
            signed_headers=signed_headers,
        )
        return self.invoke(event_name.split("/", maxsplit=1)[0], signed)


def issued(created: keys.CreatedKey) -> Credentials:
    """The pair of a key a test made in-process, not through a handler (`keys.create_access_key`,
    `admin.create_key`): the secret ledger learns its SecretKey here. A handler's create response
    tells the ledger itself, in `Api.invoke`."""
    LEDGER.issue(created.key.secret_id, created.secret_key)
    return Credentials(created.key.secret_id, created.secret_key)


def bootstrap_key(uin: str, description: str = "") -> Credentials:
    """An account's first key, made as `access-keys admin create-key` makes it."""
    return issued(keys.create_access_key(uin, description))


def second_credentials(api: Api, owner: Credentials) -> Credentials:
    """A second key of the owner's account, made through the API, to sign with."""
    return Credentials.of(api.call("CreateAccessKey/create", owner, body={}).body["AccessKey"])


def second_key(api: Api, owner: Credentials, *, disabled: bool = False) -> str:
    """A second key of the owner's account, made through the API (and disabled, if asked)."""
    created = api.call("CreateAccessKey/create", owner, body={"Description": "second"})
    secret_id = created.body["AccessKey"]["SecretId"]
    if disabled:
        api.call("UpdateAccessKey/disable", owner, secret_id=secret_id, body={"Status": "Inactive"})
    return secret_id


class AwsCalls:
    """Counts the service's AWS calls, by botocore event hooks on the clients the service uses.

    It can also make chosen calls fail without reaching AWS: the next calls of an API
    (`fail_next`), or the n-th call from now whatever it is (`fail_call`). A failure is an
    error response as the service would send it, or an exception (a timeout) as botocore
    raises it once its retries are spent.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._by_position: dict[int, dict[str, Any] | BaseException] = {}
        # ListAccessRecords sends its Queries from several threads at once.
        self._lock = threading.Lock()
        for client in _service_clients():
            client.meta.events.register("before-call", self._before_call)

    def _before_call(self, model: Any, **_: Any) -> Any:
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.calls.append(name)
            failure = self._by_position.pop(len(self.calls), None)
            if failure is None and self._failures.get(name):
                failure = self._failures[name].pop(0)
        if failure is None:
            return None
        if isinstance(failure, BaseException):
            raise failure
        # Answer as the service would, without reaching it.
        response = AWSResponse(url="https://aws.invalid", status_code=failure["status"], headers={}, raw=None)
        return response, {
            "Error": {"Code": failure["code"], "Message": failure["message"]},
            "ResponseMetadata": {"HTTPStatusCode": failure["status"]},
            **failure["extra"],
        }

    def fail_call(
        self,
        number: int,
        *,
        code: str = "",
        status: int = 500,
        message: str = "injected",
        extra: dict[str, Any] | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """Make the `number`-th call from now (1 is the next one) fail, whichever API it calls."""
        failure = exception or {"code": code, "status": status, "message": message, "extra": extra or {}}
        self._by_position[len(self.calls) + number] = failure

    def fail_next(
        self,
        call: str,
        *,
        code: str,
        status: int,
        message: str = "injected",
        times: int = 1,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Make the next `times` calls of `service:Operation` (e.g. `dynamodb:GetItem`) fail with `code`."""
        failure = {"code": code, "status": status, "message": message, "extra": extra or {}}
        self._failures.setdefault(call, []).extend([failure] * times)

    def reset(self) -> None:
        self.calls.clear()

    def count(self, call: str) -> int:
        return self.calls.count(call)

    def close(self) -> None:
        for client in _service_clients():
            client.meta.events.unregister("before-call", self._before_call)


def _service_clients() -> list[Any]:
    bind_tables()
    models = (KeyItem, AccountItem, DeletedKeyItem, CleanupStateItem, AccessRecordItem)
    clients = [model._get_connection().connection.client for model in models]
    clients.append(kms._client())
    return list({id(client): client for client in clients}.values())


@contextmanager
def fresh_service() -> Iterator[None]:
    """A fresh moto account holding the template's tables and the secrets KMS key."""
    with mock_aws():
        config = settings()
        create_tables(
            boto3.client("dynamodb"),
            {"KeysTable": config.keys_table_name, "AccessRecordsTable": config.records_table_name},
        )
        kms_client = boto3.client("kms")
        key_id = kms_client.create_key(Description="access-keys test secrets")["KeyMetadata"]["KeyId"]
        kms_client.create_alias(AliasName=config.secrets_kms_key_id, TargetKeyId=key_id)
        key_material.forget_all()
        try:
            yield
        finally:
            key_material.forget_all()
            for table_name in (config.keys_table_name, config.records_table_name):
                LEDGER.saw_items(table_name, scan_table(table_name))


def invariant_violations() -> list[str]:
    """What is wrong in the keys table, as one line each; empty when every invariant holds.

    - every key belongs to an account item that counts it, and every counted key exists;
    - no account counts more than the quota;
    - every key item is whole: a known status, a creation time, its encrypted SecretKey;
    - a tombstone's key is gone.
    """
    config = settings()
    items = scan_table(config.keys_table_name)
    keys = {item["SecretId"]["S"]: item for item in items if item["SecretId"]["S"].startswith("AKID")}
    accounts = {item["SecretId"]["S"]: item for item in items if item["SecretId"]["S"].startswith("ACCOUNT#")}
    tombstones = [item for item in items if item["SecretId"]["S"].startswith("DELETED#")]
    found = []
    counted: dict[str, str] = {}
    for account_id, account in accounts.items():
        secret_ids = set(account.get("SecretIds", {}).get("SS", []))
        if len(secret_ids) > MAX_KEYS_PER_ACCOUNT:
            found.append(f"{account_id} counts {len(secret_ids)} keys, over the quota of {MAX_KEYS_PER_ACCOUNT}")
        for secret_id in secret_ids:
            counted[secret_id] = account["Uin"]["S"]
            if secret_id not in keys:
                found.append(f"{account_id} counts {secret_id}, which does not exist")
    for secret_id, key in keys.items():
        if counted.get(secret_id) != key["Uin"]["S"]:
            found.append(f"{secret_id} of {key['Uin']['S']} is not counted by its account")
        if key.get("Status", {}).get("S") not in ("Active", "Inactive"):
            found.append(f"{secret_id} has no valid Status")
        if "CreateTime" not in key or not key.get("EncryptedSecretKey", {}).get("B"):
            found.append(f"{secret_id} is missing its CreateTime or EncryptedSecretKey")
    for tombstone in tombstones:
        if tombstone["DeletedSecretId"]["S"] in keys:
            found.append(f"{tombstone['DeletedSecretId']['S']} has a tombstone but still exists")
    return found


def scan_table(table_name: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb")
    return list(
        item for page in dynamodb.get_paginator("scan").paginate(TableName=table_name) for item in page["Items"]
    )


class StreamPump:
    """Feeds the access-records stream to RecordLastAccess as Lambda would: filtered by the
    template's FilterCriteria, in batches, with the records moto wrote for real."""

    def __init__(self) -> None:
        dynamodb = boto3.client("dynamodb")
        stream_arn = dynamodb.describe_table(TableName=settings().records_table_name)["Table"]["LatestStreamArn"]
        self.reader = StreamReader(boto3.client("dynamodbstreams"), stream_arn)

    def read_batch(self) -> dict[str, Any]:
        """Everything written since the last read that passes the filter, as one Lambda event."""
        return next(
            lambda_batches(self.reader.read(), function_logical_id="RecordLastAccessFunction", batch_size=10_000),
            {"Records": []},
        )

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = load_handler("RecordLastAccess").lambda_handler
        return handler(event, LambdaContext(function_name="RecordLastAccessFunction"))

    def pump(self) -> dict[str, Any]:
        return self.deliver(self.read_batch())
