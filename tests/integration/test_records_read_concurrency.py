"""ListAccessRecords' read sends its 17 Queries at once, and answers exactly as sending them in turn did."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from pynamodb.exceptions import QueryError

from access_keys.config import RECORD_SHARDS
from access_keys.dal import record_store
from access_keys.dal.models import AccessRecordItem, FailedAttemptsItem
from access_keys.dal.throttling import Throttled
from access_keys_tools.bench.records_read import InjectedLatency, records_client, write_traces

SECRET_ID = "AKIDconcurrentRead000000000000000000"
START_MS = 1_767_225_600_000
RECORDS = 200
FAILED_GROUPS = 30
SHOWN = 20


@pytest.fixture
def traces(aws: None) -> None:
    write_traces(SECRET_ID, records=RECORDS, failed_groups=FAILED_GROUPS, start_ms=START_MS)


@contextmanager
def failing_query_of(partition: str, *, code: str, status: int) -> Iterator[list[str]]:
    """Every Query of `partition` answers `code`, whichever thread sends it; yields the
    partitions queried, in the order they were sent."""
    queried: list[str] = []
    lock = threading.Lock()
    client = records_client()

    def before_call(model: Any, params: dict[str, Any], **_: Any) -> Any:
        if model.name != "Query":
            return None
        # The partition is the query's only equality: its first value.
        queried_partition = json.loads(params["body"])["ExpressionAttributeValues"][":0"]["S"]
        with lock:
            queried.append(queried_partition)
        if queried_partition != partition:
            return None
        response = AWSResponse(url="https://aws.invalid", status_code=status, headers={}, raw=None)
        return response, {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    client.meta.events.register("before-call.dynamodb", before_call)
    try:
        yield queried
    finally:
        client.meta.events.unregister("before-call.dynamodb", before_call)


def test_the_concurrent_read_answers_what_the_sequential_read_does(traces: None) -> None:
    concurrent = record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN)
    sequential = record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN, concurrent=False)

    assert concurrent == sequential
    access_records, failed_attempts = concurrent
    # The newest 20 of what was written, one second apart, newest first, from many shards.
    assert [record.request_id for record in access_records] == [
        f"request-{index:05d}" for index in range(RECORDS - 1, RECORDS - 1 - SHOWN, -1)
    ]
    assert len({record_store.shard_of(record.request_id) for record in access_records}) > 1
    assert [group.source_ip for group in failed_attempts] == [
        f"203.0.113.{index}" for index in range(FAILED_GROUPS - 1, FAILED_GROUPS - 1 - SHOWN, -1)
    ]


def test_the_records_lie_on_every_shard_and_the_read_makes_one_query_of_each_and_of_the_failed_attempts(
    traces: None,
) -> None:
    with failing_query_of("none", code="", status=200) as queried:
        record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN)

    shards = RECORD_SHARDS
    assert sorted(queried) == sorted(
        [AccessRecordItem.partition(SECRET_ID, shard) for shard in range(shards)]
        + [FailedAttemptsItem.partition(SECRET_ID)]
    )
    assert {record_store.shard_of(f"request-{index:05d}") for index in range(RECORDS)} == set(range(shards))


def test_the_queries_of_one_read_are_in_flight_at_once(traces: None) -> None:
    latency = InjectedLatency(records_client(), 0.02)

    with latency.installed():
        record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN)
        concurrent = latency.most_in_flight
        latency.reset()
        record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN, concurrent=False)
        sequential = latency.most_in_flight

    assert latency.calls == RECORD_SHARDS + 1
    assert sequential == 1
    # As many as the client's connection pool holds (10, pynamodb's default), or all 17.
    assert concurrent >= min(RECORD_SHARDS + 1, 10)


@pytest.mark.parametrize(
    ("code", "status", "raised"),
    [("ProvisionedThroughputExceededException", 400, Throttled), ("InternalServerError", 500, QueryError)],
    ids=["throttled", "service-failure"],
)
def test_one_failing_shard_query_fails_the_whole_read_as_before_and_leaves_no_query_running(
    traces: None, code: str, status: int, raised: type[Exception]
) -> None:
    failing = AccessRecordItem.partition(SECRET_ID, 5)
    latency = InjectedLatency(records_client(), 0.05)

    with latency.installed(), failing_query_of(failing, code=code, status=status):
        with pytest.raises(raised) as sequential:
            record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN, concurrent=False)
        with pytest.raises(raised) as concurrent:
            record_store.latest_traces(SECRET_ID, since=START_MS, limit=SHOWN)
        in_flight_when_raised = latency._in_flight

    assert in_flight_when_raised == 0
    assert str(concurrent.value) == str(sequential.value)
    if raised is QueryError:
        assert concurrent.value.cause_response_code == code
