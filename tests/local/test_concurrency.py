"""Concurrency over real HTTP against the local stack: the quota, disables and records hold.

The default test command runs a quick version; `make reliability` runs the published figures:
QUOTA_ROUNDS=20 (of 20 concurrent creates), TOGGLES=200 (disable/enable with 4 clients
firing) and LOAD_REQUESTS=2000 (from 8 clients).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from figures import figure
from running_stack import LocalStack
from stack_process import unique_uin

from access_keys_tools.client import AccessKeysClient, ApiError
from access_keys_tools.local import names

QUOTA_ROUNDS = int(os.environ.get("QUOTA_ROUNDS", "2"))
CONCURRENT_CREATES = 20
TOGGLES = int(os.environ.get("TOGGLES", "15"))
FIRING_CLIENTS = 4
LOAD_REQUESTS = int(os.environ.get("LOAD_REQUESTS", "200"))
LOAD_CLIENTS = 8


def outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except ApiError as error:
        return error.code
    return "ok"


def test_twenty_concurrent_creates_end_with_exactly_two_keys_every_round(local_stack: LocalStack) -> None:
    for round_number in range(QUOTA_ROUNDS):
        owner = local_stack.bootstrap(unique_uin(), f"round {round_number}")
        start = threading.Barrier(CONCURRENT_CREATES)

        def create(_: int, owner: AccessKeysClient = owner, start: threading.Barrier = start) -> str:
            start.wait()
            return outcome(owner.create_access_key)

        with ThreadPoolExecutor(max_workers=CONCURRENT_CREATES) as pool:
            outcomes = list(pool.map(create, range(CONCURRENT_CREATES)))

        assert sorted(outcomes) == ["OperationDenied.AccessKeyOverLimit"] * (CONCURRENT_CREATES - 1) + ["ok"]
        assert owner.list_access_keys()["TotalCount"] == 2
    figure(f"quota race: {QUOTA_ROUNDS} rounds of {CONCURRENT_CREATES} concurrent creates, 2 keys after each")


@dataclass(frozen=True)
class Attempt:
    started: float
    ended: float
    accepted: bool


def test_no_request_that_starts_after_a_disable_returns_succeeds(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "owner")
    created = owner.create_access_key("target")["AccessKey"]
    target = AccessKeysClient(created["SecretId"], created["SecretKey"], local_stack.url)
    inactive_windows: list[tuple[float, float]] = []  # from a disable's response to the next enable's request
    attempts: list[Attempt] = []
    lock = threading.Lock()
    stop = threading.Event()

    def fire() -> None:
        while not stop.is_set():
            started = time.monotonic()
            accepted = outcome(target.list_access_keys) == "ok"
            with lock:
                attempts.append(Attempt(started, time.monotonic(), accepted))

    clients = [threading.Thread(target=fire) for _ in range(FIRING_CLIENTS)]
    for client in clients:
        client.start()
    try:
        for _ in range(TOGGLES):
            owner.update_access_key(target.secret_id, "Inactive")
            disabled_at = time.monotonic()
            # Disabled long enough for whole requests to fall inside, under load.
            time.sleep(random.uniform(0.05, 0.25))  # noqa: S311 - jitter, not a secret
            enabling_at = time.monotonic()
            owner.update_access_key(target.secret_id, "Active")
            inactive_windows.append((disabled_at, enabling_at))
            time.sleep(random.uniform(0, 0.1))  # noqa: S311
    finally:
        stop.set()
        for client in clients:
            client.join()

    inside = [
        attempt
        for attempt in attempts
        if any(disabled < attempt.started and attempt.ended < enabling for disabled, enabling in inactive_windows)
    ]
    accepted_while_disabled = [attempt for attempt in inside if attempt.accepted]
    figure(
        f"disable race: {TOGGLES} toggles, {len(attempts)} requests from {FIRING_CLIENTS} clients, "
        f"{len(inside)} entirely inside a disabled window, {len(accepted_while_disabled)} of them accepted"
    )
    assert accepted_while_disabled == []
    assert inside, "no request fell inside a disabled window: the test proved nothing"
    assert any(attempt.accepted for attempt in attempts)


def records_of(local_stack: LocalStack, secret_id: str) -> list[dict[str, Any]]:
    """The key's AccessRecords, every one of them, straight from the table: its items under
    `<SecretId>#<shard>`, not its failed-attempt groups under `<SecretId>#F` nor the account's
    activity entries that name it (under `ACTIVITY#<Uin>`)."""
    dynamodb: Any = local_stack.aws("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=local_stack.records_table(),
        FilterExpression="begins_with(SecretIdShard, :shards) AND SecretIdShard <> :failed",
        ExpressionAttributeValues={":shards": {"S": f"{secret_id}#"}, ":failed": {"S": f"{secret_id}#F"}},
    )
    return [item for page in pages for item in page["Items"]]


def last_access_of(local_stack: LocalStack, secret_id: str) -> int | None:
    dynamodb: Any = local_stack.aws("dynamodb")
    item = dynamodb.get_item(
        TableName=names.table_name("KeysTable"), Key={"SecretId": {"S": secret_id}}, ConsistentRead=True
    )["Item"]
    return int(item["LastAccessTime"]["N"]) if "LastAccessTime" in item else None


def test_every_request_under_load_leaves_exactly_one_trace_and_last_access_catches_up(
    local_stack: LocalStack,
) -> None:
    owner = local_stack.bootstrap(unique_uin(), "loaded")
    forged = AccessKeysClient(owner.secret_id, "f" * 32, local_stack.url, user_agent="forger")
    unknown = "AKID" + "0" * 32
    mix: list[Callable[[], Any]] = [
        owner.list_access_keys,  # success: an AccessRecord
        lambda: owner.get_access_key(unknown),  # 404 ResourceNotFound.AccessKey: an AccessRecord
        forged.list_access_keys,  # 401 AuthFailure.SignatureFailure: counted as a failed attempt
    ]
    outcomes: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        for index in range(number, LOAD_REQUESTS, LOAD_CLIENTS):
            result = outcome(mix[index % len(mix)])
            with lock:
                outcomes.append(result)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=LOAD_CLIENTS) as pool:
        list(pool.map(client, range(LOAD_CLIENTS)))
    elapsed = time.monotonic() - started

    records = records_of(local_stack, owner.secret_id)
    newest = max(int(record["AccessTime"]["N"]) for record in records)
    deadline = time.monotonic() + 15
    while last_access_of(local_stack, owner.secret_id) != newest and time.monotonic() < deadline:
        time.sleep(0.1)
    caught_up = last_access_of(local_stack, owner.secret_id)
    # After the wait: this listing is an AccessRecord of its own, which moves LastAccessTime on.
    failed_attempts = owner.list_access_records(owner.secret_id)["FailedAttempts"]
    failures = sum(1 for record in records if record.get("ErrorCode", {}).get("S"))
    counted = sum(attempts["Count"] for attempts in failed_attempts)
    figure(
        f"records under load: {LOAD_REQUESTS} requests from {LOAD_CLIENTS} clients in {elapsed:.1f} s, "
        f"{len(records)} records ({failures} failures), {counted} failed attempts, last access caught up"
    )

    signed = outcomes.count("ok") + outcomes.count("ResourceNotFound.AccessKey")
    assert len(outcomes) == LOAD_REQUESTS
    assert set(outcomes) == {"ok", "ResourceNotFound.AccessKey", "AuthFailure.SignatureFailure"}
    # Each request signed with the key's SecretKey: exactly one AccessRecord.
    assert len(records) == signed
    assert len({record["RequestId"]["S"] for record in records}) == signed
    assert failures == outcomes.count("ResourceNotFound.AccessKey")
    assert "forger" not in {record["UserAgent"]["S"] for record in records}
    # Each forged one: counted once, in its group (one per UTC hour the run touched), never a record.
    assert counted == outcomes.count("AuthFailure.SignatureFailure")
    assert 1 <= len(failed_attempts) <= 2
    assert {(a["SourceIp"], a["ErrorCode"], a["UserAgent"]) for a in failed_attempts} == {
        ("127.0.0.1", "AuthFailure.SignatureFailure", "forger")
    }
    # The newest AccessRecord's time: a forgery, however late, never moves it.
    assert caught_up == newest
