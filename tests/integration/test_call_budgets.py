"""The AWS calls each operation makes are budgeted, and counted here exactly.

A warm signed request costs one GetItem on the keys table (the caller's key, consistently), one
PutItem on the records table (its access record) and no KMS call, plus only what its operation
needs; a cold one adds one KMS Decrypt. The stream function makes one conditional update per
distinct key per batch, however many records the batch holds. These counts are deterministic,
so they are asserted here rather than timed.
"""

from __future__ import annotations

import copy
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from figures import figure
from harness import Api, AwsCalls, Credentials, StreamPump, bootstrap_key, scan_table, second_key

from access_keys import key_material, records
from access_keys.config import RECORD_SHARDS, settings
from access_keys.dal.models import AccessRecordItem, KeyItem
from access_keys.domain import AccessKey, Status
from access_keys_tools.events import load_event

VERIFY = Counter({"dynamodb:GetItem": 1, "dynamodb:PutItem": 1})


@dataclass(frozen=True)
class Operation:
    name: str
    event: str
    prepare: Callable[[Api, Credentials], dict[str, Any]]  # the call's arguments, after any setup
    needs: Counter[str]  # what the operation needs beyond verification and its record


OPERATIONS = [
    Operation(
        "CreateAccessKey",
        "CreateAccessKey/create",
        lambda api, owner: {"body": {"Description": "new"}},
        # the single-use guard; seal the secret; key + quota
        Counter({"dynamodb:PutItem": 1, "kms:Encrypt": 1, "dynamodb:TransactWriteItems": 1}),
    ),
    Operation(
        "ListAccessKeys",
        "ListAccessKeys/list",
        lambda api, owner: {},
        Counter({"dynamodb:GetItem": 1, "dynamodb:BatchGetItem": 1}),  # the account item, then its keys
    ),
    Operation(
        "GetAccessKey (own key)",
        "GetAccessKey/get",
        lambda api, owner: {"secret_id": owner.secret_id},
        Counter(),  # the verification has read it already
    ),
    Operation(
        "GetAccessKey (other key)",
        "GetAccessKey/get",
        lambda api, owner: {"secret_id": second_key(api, owner)},
        Counter({"dynamodb:GetItem": 1}),
    ),
    Operation(
        "UpdateAccessKey",
        "UpdateAccessKey/disable",
        lambda api, owner: {"secret_id": second_key(api, owner), "body": {"Status": "Inactive"}},
        # the single-use guard; the key's owner (keys.owned_key, where ownership is decided for every
        # operation); still there and not changed since it was signed: the write's condition
        Counter({"dynamodb:PutItem": 1, "dynamodb:GetItem": 1, "dynamodb:UpdateItem": 1}),
    ),
    Operation(
        "DeleteAccessKey",
        "DeleteAccessKey/delete",
        lambda api, owner: {"secret_id": second_key(api, owner, disabled=True)},
        # the single-use guard; the key; delete + count + tombstone
        Counter({"dynamodb:PutItem": 1, "dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 1}),
    ),
    Operation(
        "ListAccessRecords",
        "ListAccessRecords/list",
        lambda api, owner: {"secret_id": owner.secret_id},
        Counter({"dynamodb:Query": 17}),  # one per record shard, merged, and one of the failed attempts
    ),
    # Tencent Cloud API 3.0 (POST /) runs the same operations: the same calls.
    Operation(
        "Tencent Cloud API ListAccessKeys",
        "TencentCloudApi/list-access-keys",
        lambda api, owner: {"body": {}},
        Counter({"dynamodb:GetItem": 1, "dynamodb:BatchGetItem": 1}),
    ),
    Operation(
        "Tencent Cloud API ListAccessKeys, X-TC-Action unsigned (stock SDKs)",
        "TencentCloudApi/list-access-keys",
        lambda api, owner: {"body": {}, "signed_headers": ("content-type", "host")},
        # the signature is bound to its action, so it cannot be resent as a create
        Counter({"dynamodb:PutItem": 1, "dynamodb:GetItem": 1, "dynamodb:BatchGetItem": 1}),
    ),
    Operation(
        "Tencent Cloud API GetSecurityLastUsed (own key)",
        "TencentCloudApi/get-security-last-used",
        lambda api, owner: {"body": {"SecretIdList": [owner.secret_id]}},
        Counter(),  # the verification has read it already
    ),
]


def _calls_of(operation: Operation, api: Api, aws_calls: AwsCalls, *, uin: str, warm: bool) -> Counter[str]:
    owner = bootstrap_key(uin, "budget")
    arguments = operation.prepare(api, owner)
    key_material.forget_all()
    if warm:
        api.call("ListAccessKeys/list", owner)  # this execution environment has now decrypted the secret
    aws_calls.reset()
    response = api.call(operation.event, owner, **arguments)
    assert 200 <= response.status < 300, response.raw_body
    return Counter(aws_calls.calls)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.name)
def test_each_operation_makes_exactly_its_budgeted_calls_and_a_cold_one_a_single_decrypt_more(
    operation: Operation, api: Api, aws_calls: AwsCalls
) -> None:
    warm = _calls_of(operation, api, aws_calls, uin="100000000011", warm=True)
    cold = _calls_of(operation, api, aws_calls, uin="100000000012", warm=False)

    figure(f"calls per request, {operation.name}: warm {dict(sorted(warm.items()))}; cold adds kms:Decrypt 1")
    assert warm == VERIFY + operation.needs
    assert cold == VERIFY + operation.needs + Counter({"kms:Decrypt": 1})


STREAM_RECORDS = 10_000
STREAM_KEYS = 10
STREAM_BATCH = 100


def _stream_record(template: dict[str, Any], secret_id: str, access_time: int, sequence: int) -> dict[str, Any]:
    record = copy.deepcopy(template)
    request_id = str(uuid.uuid4())
    shard = f"{secret_id}#{sequence % 16:02d}"
    sort_key = f"{access_time:013d}#{request_id}"
    image = record["dynamodb"]["NewImage"]
    image["SecretIdShard"] = {"S": shard}
    image["AccessTimeRequestId"] = {"S": sort_key}
    image["SecretId"] = {"S": secret_id}
    image["AccessTime"] = {"N": str(access_time)}
    image["RequestId"] = {"S": request_id}
    record["dynamodb"]["Keys"] = {"SecretIdShard": {"S": shard}, "AccessTimeRequestId": {"S": sort_key}}
    record["dynamodb"]["SequenceNumber"] = str(10**21 + sequence)
    record["eventID"] = uuid.uuid4().hex
    return record


def test_the_stream_makes_one_update_per_distinct_key_per_batch(
    aws: None, stream: StreamPump, aws_calls: AwsCalls
) -> None:
    secret_ids = [bootstrap_key(f"1000000002{index // 2}", "streamed").secret_id for index in range(STREAM_KEYS)]
    template = load_event("RecordLastAccess/insert-batch")["Records"][0]
    start = 1_795_721_444_000
    records = [
        _stream_record(template, secret_ids[(index * 7) % STREAM_KEYS], start + index, index)
        for index in range(STREAM_RECORDS)
    ]
    newest: dict[str, int] = {}
    for record in records:
        image = record["dynamodb"]["NewImage"]
        newest[image["SecretId"]["S"]] = max(newest.get(image["SecretId"]["S"], 0), int(image["AccessTime"]["N"]))

    updates_per_batch = []
    began = time.perf_counter()
    for offset in range(0, STREAM_RECORDS, STREAM_BATCH):
        batch = records[offset : offset + STREAM_BATCH]
        aws_calls.reset()
        response = stream.deliver({"Records": batch})
        assert response == {"batchItemFailures": []}
        distinct = {record["dynamodb"]["NewImage"]["SecretId"]["S"] for record in batch}
        updates_per_batch.append((aws_calls.count("dynamodb:UpdateItem"), len(distinct)))
    elapsed = time.perf_counter() - began

    figure(
        f"stream: {STREAM_RECORDS} records over {STREAM_KEYS} keys in batches of {STREAM_BATCH}: "
        f"{sum(updates for updates, _ in updates_per_batch)} conditional updates, "
        f"{STREAM_RECORDS / elapsed:,.0f} records/s in-process (on moto)"
    )
    assert all(updates <= distinct for updates, distinct in updates_per_batch)
    assert sum(updates for updates, _ in updates_per_batch) == len(updates_per_batch) * STREAM_KEYS
    for secret_id in secret_ids:
        assert KeyItem.get(secret_id, consistent_read=True).last_access_time == newest[secret_id]


HOT_KEY_RECORDS = int(os.environ.get("HOT_KEY_RECORDS", "2000"))
HOT_KEY_RATE = 10_000  # records per second, all of one key
PARTITION_WRITES_PER_SECOND = 1_000  # what one DynamoDB partition accepts
READ_UNIT_BYTES = 4096


def _item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (numbers at most 21 bytes)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, content),) = value.items()
        if kind == "S":
            size += len(content.encode())
        elif kind == "N":
            size += min(21, len(content.lstrip("-").replace(".", "")) // 2 + 1)
        elif kind == "B":
            size += len(content)
        else:
            raise AssertionError(f"no size rule for {kind}")
    return size


class QueryReads:
    """The read units of each records-table Query, from the items it returned (consistent reads)."""

    def __init__(self) -> None:
        self.queries: list[tuple[int, int]] = []  # (items, read units)
        self._client = AccessRecordItem._get_connection().connection.client
        self._client.meta.events.register("after-call.dynamodb.Query", self._after_query)

    def _after_query(self, parsed: dict[str, Any], **_: Any) -> None:
        items = parsed.get("Items", [])
        self.queries.append((len(items), -(-sum(_item_bytes(item) for item in items) // READ_UNIT_BYTES)))

    def close(self) -> None:
        self._client.meta.events.unregister("after-call.dynamodb.Query", self._after_query)


REQUEST_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def test_one_hot_key_at_10000_records_a_second_stays_under_one_partitions_write_limit(api: Api) -> None:
    owner = bootstrap_key("100000000031", "hot")
    key = AccessKey(owner.secret_id, "100000000031", Status.ACTIVE, 0, "")
    # API Gateway's request ids look like `Abc1234567890=`; these are as random, and the same each run.
    rng = random.Random(6)  # noqa: S311 - repeatable ids, not secrets
    second = 1_795_721_444_000
    checkpoints = (1_000, HOT_KEY_RECORDS)
    reads = QueryReads()
    read_units = []
    try:
        for index in range(HOT_KEY_RECORDS):
            records.record_access(
                key,
                action="GetAccessKey",
                error_code=None,
                source_ip="198.51.100.7",
                user_agent="tencentcloud-sdk-python/3.0.1400",
                request_id="".join(rng.choices(REQUEST_ID_ALPHABET, k=14)) + "=",
                access_time=second + index * 1000 // HOT_KEY_RATE,
            )
            if index + 1 in checkpoints:
                reads.queries.clear()
                response = api.call("ListAccessRecords/list", owner, secret_id=owner.secret_id)
                assert response.status == 200
                assert len(response.body["AccessRecords"]) == 20
                read_units.append(sum(units for _, units in reads.queries))
        queries = list(reads.queries)
    finally:
        reads.close()

    per_partition = Counter(
        item["SecretIdShard"]["S"]
        for item in scan_table(settings().records_table_name)
        if item["SecretId"]["S"] == owner.secret_id and item["RequestId"]["S"].endswith("=")
    )
    busiest_rate = max(per_partition.values()) / HOT_KEY_RECORDS * HOT_KEY_RATE
    figure(
        f"hot key: {HOT_KEY_RECORDS:,} records of one key at {HOT_KEY_RATE:,}/s over {len(per_partition)} partitions: "
        f"busiest partition {busiest_rate:,.0f} writes/s (budget <= {PARTITION_WRITES_PER_SECOND:,}); "
        f"newest-20 read: {len(queries)} queries of <= {max(items for items, _ in queries)} items each, "
        f"{read_units[0]} read units with {checkpoints[0]:,} records stored, {read_units[1]} with {checkpoints[1]:,}"
    )
    assert len(per_partition) == RECORD_SHARDS
    assert busiest_rate <= PARTITION_WRITES_PER_SECOND
    # Each shard's query reads at most its 20 newest items, so the cost does not grow with the key's records.
    assert len(queries) == RECORD_SHARDS + 1  # and the failed attempts' partition
    assert all(items <= 20 for items, _ in queries)
    assert read_units[0] == read_units[1]


def test_the_largest_ascii_items_cost_one_request_unit_each(api: Api) -> None:
    """The cost figures count 1 read unit per verification (key item < 4 KB) and 1 write unit
    per access record (< 1 KB). Both hold for the largest items ASCII text makes."""
    owner = bootstrap_key("100000000041", "d" * 1024)
    key = AccessKey(owner.secret_id, "100000000041", Status.ACTIVE, 0, "d" * 1024)
    api.call("ListAccessKeys/list", owner)  # the stream would set LastAccessTime; here it is absent
    records.record_access(
        key,
        action="ListAccessRecords",
        error_code="OperationDenied.AccessKeyOverLimit",
        source_ip="2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        user_agent="u" * 600,  # kept to 512 characters
        request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
        access_time=9_999_999_999_999,
    )

    key_item = next(item for item in scan_table(settings().keys_table_name) if item["SecretId"]["S"] == key.secret_id)
    largest_record = max(
        _item_bytes(item)
        for item in scan_table(settings().records_table_name)
        if item["SecretId"]["S"] == key.secret_id
    )
    figure(f"item sizes: largest key item {_item_bytes(key_item)} bytes, largest access record {largest_record} bytes")
    assert _item_bytes(key_item) + len("LastAccessTime") + 21 <= READ_UNIT_BYTES
    assert largest_record <= 1024
