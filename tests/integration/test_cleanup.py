"""The scheduled cleanup: deleted keys' records, TTL leftovers, the unused-key report, bounded runs."""

from __future__ import annotations

import json

import pytest
from harness import Api, Credentials, LambdaContext, bootstrap_key, load_handler, scan_table

from access_keys import records
from access_keys.clock import DAY_MS, now_ms
from access_keys.config import settings
from access_keys.dal import cleanup_store, key_store
from access_keys.dal.models import KeyItem, bind_tables
from access_keys.domain import AccessKey, Status
from access_keys_tools.events import load_event


def run_cleanup(remaining_ms=lambda: 900_000) -> dict:
    handler = load_handler("Cleanup").lambda_handler
    context = LambdaContext(function_name="CleanupFunction")
    context.get_remaining_time_in_millis = remaining_ms  # the time left is the test's to decide, call by call
    return handler(load_event("Cleanup/scheduled"), context)


def records_of(secret_id: str) -> list[dict]:
    # Access records and failed-attempt counts carry their SecretId; used signatures, shared by no key, do not.
    return [
        item for item in scan_table(settings().records_table_name) if item.get("SecretId", {}).get("S") == secret_id
    ]


def write_record(secret_id: str, uin: str, access_time: int, request_id: str) -> None:
    records.record_access(
        AccessKey(secret_id, uin, Status.ACTIVE, 0, ""),
        action="GetAccessKey",
        error_code=None,
        source_ip="198.51.100.1",
        user_agent="test",
        request_id=request_id,
        access_time=access_time,
    )


def age_key(secret_id: str, *, created_days_ago: int, last_used_days_ago: int | None = None) -> None:
    bind_tables()
    actions = [KeyItem.create_time.set(now_ms() - created_days_ago * DAY_MS)]
    if last_used_days_ago is not None:
        actions.append(KeyItem.last_access_time.set(now_ms() - last_used_days_ago * DAY_MS))
    KeyItem(secret_id).update(actions=actions)


def delete_through_api(api: Api, owner: Credentials, secret_id: str) -> None:
    assert api.call("UpdateAccessKey/disable", owner, secret_id=secret_id).status == 200
    assert api.call("DeleteAccessKey/delete", owner, secret_id=secret_id).status == 200


def test_a_deleted_keys_records_are_removed_and_other_keys_records_untouched(
    api: Api, alice: Credentials, bob: Credentials
):
    # Given a key with records that is then deleted, and other keys with records
    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    doomed = Credentials.of(created)
    for _ in range(6):
        api.call("ListAccessKeys/list", doomed)
        api.call("ListAccessKeys/list", bob)
    delete_through_api(api, alice, doomed.secret_id)
    assert len(records_of(doomed.secret_id)) == 6
    kept = {secret_id: len(records_of(secret_id)) for secret_id in (alice.secret_id, bob.secret_id)}
    tombstones = [
        item for item in scan_table(settings().keys_table_name) if item["SecretId"]["S"].startswith("DELETED#")
    ]
    assert [item["DeletedSecretId"]["S"] for item in tombstones] == [doomed.secret_id]

    # When the cleanup runs
    outcome = run_cleanup()

    # Then the deleted key's records and its tombstone are gone, and nothing else changed
    assert outcome["passCompleted"] is True
    assert records_of(doomed.secret_id) == []
    assert {secret_id: len(records_of(secret_id)) for secret_id in kept} == kept
    assert not [item for item in scan_table(settings().keys_table_name) if item["SecretId"]["S"].startswith("DELETED#")]
    assert outcome["progress"]["deleted_keys_purged"] == 1
    assert outcome["progress"]["deleted_key_records_deleted"] == 6


def test_records_past_90_days_that_ttl_left_are_removed(api: Api, alice: Credentials):
    # Given a key older than the retention, with records TTL has not removed yet, and recent ones
    age_key(alice.secret_id, created_days_ago=200)
    for index in range(5):
        write_record(alice.secret_id, "100000000001", now_ms() - (91 + index) * DAY_MS, f"old-{index}")
    for index in range(3):
        write_record(alice.secret_id, "100000000001", now_ms() - index * DAY_MS, f"new-{index}")

    outcome = run_cleanup()

    assert sorted(item["RequestId"]["S"] for item in records_of(alice.secret_id)) == ["new-0", "new-1", "new-2"]
    assert outcome["progress"]["expired_records_deleted"] == 5


def test_the_unused_key_report_names_unused_and_never_used_keys(api: Api, aws, capsys, caplog):
    # Given a key used yesterday, one last used 120 days ago, and one never used
    recent = bootstrap_key("100000000011")
    stale = bootstrap_key("100000000012")
    never = bootstrap_key("100000000013")
    age_key(recent.secret_id, created_days_ago=300, last_used_days_ago=1)
    age_key(stale.secret_id, created_days_ago=300, last_used_days_ago=120)
    age_key(never.secret_id, created_days_ago=100)
    capsys.readouterr()

    outcome = run_cleanup()

    # Then the pass counts them, names each in a structured log line, and publishes the counts
    assert outcome["progress"]["keys_seen"] == 3
    assert outcome["progress"]["unused_keys"] == 1
    assert outcome["progress"]["never_used_keys"] == 1
    logged = {record.getMessage(): [] for record in caplog.records}
    for record in caplog.records:
        logged[record.getMessage()].append(record.__dict__)
    unused = logged.get("access key unused", [])
    never_used = logged.get("access key never used", [])
    assert [(line["secret_id"], line["days_unused"]) for line in unused] == [(stale.secret_id, 120)]
    assert [(line["secret_id"], line["days_since_creation"]) for line in never_used] == [(never.secret_id, 100)]
    [report] = logged["unused access key report"]
    assert (report["keys"], report["unused_keys"], report["never_used_keys"]) == (3, 1, 1)
    metrics_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emitted = next(line for line in metrics_lines if "UnusedAccessKeys" in line)
    assert (emitted["UnusedAccessKeys"], emitted["NeverUsedAccessKeys"]) == ([1.0], [1.0])


def test_a_cleanup_cut_short_resumes_where_it_stopped_and_finishes_the_work_once(api: Api, aws):
    # Given 40 accounts, 20 of whose keys were deleted with 3 records each
    deleted, live = [], []
    for number in range(40):
        uin = f"2000000{number:05d}"
        credentials = bootstrap_key(uin)
        for index in range(3):
            write_record(credentials.secret_id, uin, now_ms() - index, f"{uin}-{index}")
        if number % 2:
            key_store.set_status(credentials.secret_id, Status.INACTIVE, signed_at=0, changed_at=0)
            assert key_store.delete_inactive_key(uin, credentials.secret_id, deleted_at=now_ms())
            deleted.append(credentials.secret_id)
        else:
            live.append(credentials.secret_id)

    # When the first run's time runs out after a few steps
    steps = iter(range(1_000_000))
    first = run_cleanup(remaining_ms=lambda: 900_000 if next(steps) < 12 else 30_000)

    # Then it stops cleanly, with some work done and a checkpoint to resume from
    assert (first["passCompleted"], first["stoppedEarly"]) == (False, True)
    done_first = first["progress"]["deleted_keys_purged"] + first["progress"]["keys_seen"]
    assert 0 < done_first < len(deleted) + len(live)
    assert first["progress"]["cursor"]
    assert [secret_id for secret_id in deleted if records_of(secret_id)]
    state = next(item for item in scan_table(settings().keys_table_name) if item["SecretId"]["S"] == "CLEANUP#STATE")
    assert state["LeaseUntil"]["N"] == "0"  # released for the next run
    assert state["Cursor"]["S"] == first["progress"]["cursor"]

    # When the next run resumes
    second = run_cleanup()

    # Then the pass completes, every deleted key's records are gone, live keys keep theirs,
    # and every key is counted exactly once across the two runs
    assert second["passCompleted"] is True
    assert all(records_of(secret_id) == [] for secret_id in deleted)
    assert all(len(records_of(secret_id)) == 3 for secret_id in live)
    assert second["progress"]["keys_seen"] == len(live)
    assert second["progress"]["never_used_keys"] == len(live)
    assert second["progress"]["deleted_keys_purged"] == len(deleted)
    assert second["progress"]["deleted_key_records_deleted"] == 3 * len(deleted)


def test_a_run_while_another_holds_the_lease_does_nothing(api: Api, alice: Credentials):
    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    api.call("ListAccessKeys/list", Credentials.of(created))
    delete_through_api(api, alice, created["SecretId"])
    assert cleanup_store.acquire_lease("another-run", now=now_ms(), until=now_ms() + 600_000) is not None

    outcome = run_cleanup()

    assert outcome["ran"] is False
    assert len(records_of(created["SecretId"])) == 1


def test_a_lease_left_by_a_crashed_run_expires(api: Api, alice: Credentials):
    assert cleanup_store.acquire_lease("crashed-run", now=now_ms(), until=now_ms() - 1) is not None

    assert run_cleanup()["ran"] is True


def test_running_twice_is_harmless(api: Api, alice: Credentials, bob: Credentials):
    for _ in range(3):
        api.call("ListAccessKeys/list", alice)
    before = sorted(json.dumps(item, sort_keys=True) for item in scan_table(settings().records_table_name))

    first = run_cleanup()
    second = run_cleanup()

    assert first["passCompleted"]
    assert second["passCompleted"]
    assert first["progress"]["keys_seen"] == second["progress"]["keys_seen"] == 2
    after = sorted(json.dumps(item, sort_keys=True) for item in scan_table(settings().records_table_name))
    assert after == before


@pytest.mark.parametrize("remaining", [59_000, 1_000])
def test_a_run_with_no_time_left_stops_before_touching_anything(api: Api, alice: Credentials, remaining):
    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    api.call("ListAccessKeys/list", Credentials.of(created))
    delete_through_api(api, alice, created["SecretId"])

    outcome = run_cleanup(remaining_ms=lambda: remaining)

    assert outcome["stoppedEarly"] is True
    assert len(records_of(created["SecretId"])) == 1
