"""The rules of `access_keys.records`, on in-memory stores (tests/unit/memory_stores.py): no AWS at all.

What a key's owner sees is read back through `list_access_records`, as ListAccessRecords shows it.
"""

from __future__ import annotations

import base64

import pytest
from memory_stores import START_MS, Memory, install

from access_keys import keys, records
from access_keys.clock import DAY_MS, HOUR_MS
from access_keys.domain import AccessKey, AccessRecord, AccountActor, FailedAttempts, Result
from access_keys.errors import AccessKeyNotFound

ALICE = "100000000001"
BOB = "100000000002"
MINUTE_MS = 60_000
SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Memory:
    return install(monkeypatch)


@pytest.fixture
def key(memory: Memory) -> AccessKey:
    return keys.create_access_key(ALICE).key


def owner(memory: Memory) -> AccountActor:
    return AccountActor(uin=ALICE, actor="user:alice@example.com", signed_at=memory.clock.second)


def record(
    memory: Memory,
    key: AccessKey,
    *,
    service: str = "cvm",
    error_code: str | None = None,
    user_agent: str = "tencentcloud-sdk-nodejs/4.1",
    request_id: str = "req-1",
    access_time: int | None = None,
    unique_id: str | None = None,
) -> str:
    return records.record_access(
        key,
        service=service,
        action="DescribeInstances",
        error_code=error_code,
        source_ip="203.0.113.7",
        user_agent=user_agent,
        request_id=request_id,
        access_time=memory.clock.now if access_time is None else access_time,
        unique_id=unique_id or f"unique-{request_id}",
    )


def attempt(key: AccessKey, access_time: int, *, source_ip: str = "198.51.100.9", user_agent: str = "curl") -> None:
    records.count_failed_attempt(
        key, error_code=SIGNATURE_FAILURE, source_ip=source_ip, user_agent=user_agent, access_time=access_time
    )


def shown(memory: Memory, key: AccessKey) -> list[AccessRecord]:
    return records.list_access_records(owner(memory), key.secret_id).access_records


def shown_attempts(memory: Memory, key: AccessKey) -> list[FailedAttempts]:
    return records.list_access_records(owner(memory), key.secret_id).failed_attempts


# ------------------------------------------------------------------------------ record_access


@pytest.mark.parametrize(
    ("error_code", "result"),
    [(None, Result.SUCCESS), ("AuthFailure.SignatureExpire", Result.FAILURE)],
    ids=["accepted", "refused"],
)
def test_a_signed_request_is_listed_as_failure_exactly_when_it_got_an_error_code(
    memory: Memory, key: AccessKey, error_code: str | None, result: Result
) -> None:
    record(memory, key, service="cam", error_code=error_code)

    assert shown(memory, key) == [
        AccessRecord(
            secret_id=key.secret_id,
            uin=ALICE,
            access_time=memory.clock.now,
            service="cam",
            action="DescribeInstances",
            result=result,
            error_code=error_code,
            source_ip="203.0.113.7",
            user_agent="tencentcloud-sdk-nodejs/4.1",
            request_id="req-1",
        )
    ]


def test_a_long_user_agent_is_kept_to_its_first_512_characters(memory: Memory, key: AccessKey) -> None:
    long_agent = "a" * 500 + "b" * 100

    record(memory, key, user_agent=long_agent)
    attempt(key, memory.clock.now, user_agent=long_agent)

    assert shown(memory, key)[0].user_agent == long_agent[:512]
    assert shown_attempts(memory, key)[0].user_agent == long_agent[:512]


def test_two_services_records_of_one_request_id_are_both_kept(memory: Memory, key: AccessKey) -> None:
    first = record(memory, key, service="cvm", request_id="same", unique_id="9f1c")
    second = record(memory, key, service="cos", request_id="same", unique_id="3ab7")

    listed = shown(memory, key)

    assert first != second
    assert sorted(entry.service for entry in listed) == ["cos", "cvm"]


# ------------------------------------------------------------------------------ report_access_outcome


def test_a_service_refusing_a_request_after_all_turns_its_record_into_a_failure(memory: Memory, key: AccessKey) -> None:
    record_id = record(memory, key, service="cvm")

    updated = records.report_access_outcome("cvm", record_id, "UnauthorizedOperation")

    assert updated is True
    assert (shown(memory, key)[0].result, shown(memory, key)[0].error_code) == (
        Result.FAILURE,
        "UnauthorizedOperation",
    )


def test_another_service_cannot_report_on_a_record(memory: Memory, key: AccessKey) -> None:
    record_id = record(memory, key, service="cvm")

    updated = records.report_access_outcome("cos", record_id, "UnauthorizedOperation")

    assert updated is False
    assert shown(memory, key)[0].result is Result.SUCCESS


@pytest.mark.parametrize(
    ("age", "updated"),
    [(15 * MINUTE_MS, True), (15 * MINUTE_MS + 1, False)],
    ids=["15-minutes-old", "15-minutes-and-1-ms-old"],
)
def test_a_report_is_taken_for_15_minutes_after_the_request(
    memory: Memory, key: AccessKey, age: int, updated: bool
) -> None:
    record_id = record(memory, key)
    memory.clock.advance(age)

    answer = records.report_access_outcome("cvm", record_id, "UnauthorizedOperation")

    assert answer is updated
    assert shown(memory, key)[0].result is (Result.FAILURE if updated else Result.SUCCESS)


def test_a_record_refused_at_verification_cannot_be_reported_on(memory: Memory, key: AccessKey) -> None:
    record_id = record(memory, key, error_code="AuthFailure.SignatureExpire")

    updated = records.report_access_outcome("cvm", record_id, "UnauthorizedOperation")

    assert updated is False
    assert shown(memory, key)[0].error_code == "AuthFailure.SignatureExpire"


def test_a_second_report_changes_nothing_and_the_first_code_stays(memory: Memory, key: AccessKey) -> None:
    record_id = record(memory, key)
    records.report_access_outcome("cvm", record_id, "UnauthorizedOperation")

    updated = records.report_access_outcome("cvm", record_id, "InternalError")

    assert updated is False
    assert (shown(memory, key)[0].result, shown(memory, key)[0].error_code) == (
        Result.FAILURE,
        "UnauthorizedOperation",
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "record_id",
    ["", "A", "!!!!", _b64(b"no separator"), _b64(b"\nsort-key"), _b64(b"partition\n"), _b64(b"\xff\xfe\n\xfd")],
    ids=["empty", "one-char", "not-base64", "no-newline", "no-partition", "no-sort-key", "not-utf8"],
)
def test_a_malformed_record_id_is_answered_false_without_a_lookup(memory: Memory, record_id: str) -> None:
    updated = records.report_access_outcome("cvm", record_id, "UnauthorizedOperation")

    assert updated is False
    assert memory.record_store.updates_tried == 0


def test_a_record_id_is_answered_only_as_it_was_given_out(memory: Memory, key: AccessKey) -> None:
    record_id = record(memory, key, service="cvm")
    # The same bytes in base64's other alphabet, or with a character its decoder would skip.
    respelled = [record_id.replace("-", "+").replace("_", "/"), record_id[:4] + "!" + record_id[4:], record_id + "="]
    respelled = [spelling for spelling in respelled if spelling != record_id]

    answers = [records.report_access_outcome("cvm", spelling, "UnauthorizedOperation") for spelling in respelled]

    assert respelled
    assert answers == [False] * len(respelled)
    assert memory.record_store.updates_tried == 0
    assert records.report_access_outcome("cvm", record_id, "UnauthorizedOperation") is True


def test_a_well_formed_record_id_naming_no_record_is_answered_false(memory: Memory, key: AccessKey) -> None:
    made_up = _b64(f"{key.secret_id}#00\n{START_MS:013d}#guess".encode())

    updated = records.report_access_outcome("cvm", made_up, "UnauthorizedOperation")

    assert updated is False
    assert memory.record_store.updates_tried == 1


# ------------------------------------------------------------------------------ count_failed_attempt


def test_failed_attempts_are_counted_per_utc_hour(memory: Memory, key: AccessKey) -> None:
    attempt(key, START_MS)  # 19:00:00.000
    attempt(key, START_MS + HOUR_MS - 1)  # 19:59:59.999
    attempt(key, START_MS + HOUR_MS)  # 20:00:00.000
    memory.clock.advance(HOUR_MS)

    groups = shown_attempts(memory, key)

    assert [(group.hour, group.count, group.first_time, group.last_time) for group in groups] == [
        (START_MS + HOUR_MS, 1, START_MS + HOUR_MS, START_MS + HOUR_MS),
        (START_MS, 2, START_MS, START_MS + HOUR_MS - 1),
    ]


# ------------------------------------------------------------------------------ list_access_records


def test_another_accounts_records_are_not_read_at_all(memory: Memory) -> None:
    bobs = keys.create_access_key(BOB).key
    record(memory, bobs)

    with pytest.raises(AccessKeyNotFound):
        records.list_access_records(owner(memory), bobs.secret_id)

    assert memory.record_store.listings_read == 0


@pytest.mark.parametrize(
    ("age", "listed"),
    [(90 * DAY_MS, True), (90 * DAY_MS + 1, False)],
    ids=["90-days-old", "90-days-and-1-ms-old"],
)
def test_traces_are_shown_for_90_days_to_the_millisecond(
    memory: Memory, key: AccessKey, age: int, listed: bool
) -> None:
    record(memory, key)
    attempt(key, memory.clock.now)
    memory.clock.advance(age)

    traces = records.list_access_records(owner(memory), key.secret_id)

    assert (len(traces.access_records), len(traces.failed_attempts)) == ((1, 1) if listed else (0, 0))


def test_the_20_newest_of_25_records_are_shown_newest_first(memory: Memory, key: AccessKey) -> None:
    for second in range(25):
        record(memory, key, request_id=f"req-{second:02d}", access_time=START_MS + second * 1000)
    memory.clock.advance(25_000)

    listed = shown(memory, key)

    assert [entry.request_id for entry in listed] == [f"req-{second:02d}" for second in range(24, 4, -1)]


def test_the_20_latest_of_25_failed_attempt_groups_are_shown_latest_first(memory: Memory, key: AccessKey) -> None:
    for second in range(25):
        attempt(key, START_MS + second * 1000, source_ip=f"198.51.100.{second}")
    memory.clock.advance(25_000)

    groups = shown_attempts(memory, key)

    assert [group.source_ip for group in groups] == [f"198.51.100.{second}" for second in range(24, 4, -1)]
