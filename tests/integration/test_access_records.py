"""Every request naming an existing key leaves exactly one trace for its owner, whatever its outcome:
an AccessRecord if it was signed with the key's SecretKey, a failed attempt's count otherwise."""

import time

from harness import Api, Credentials, scan_table

from access_keys import records
from access_keys.clock import DAY_MS, now_ms
from access_keys.config import RECORD_SHARDS, settings
from access_keys.domain import AccessKey, Status


def _traces(api: Api, credentials: Credentials, secret_id: str | None = None) -> dict:
    response = api.call("ListAccessRecords/list", credentials, secret_id=secret_id or credentials.secret_id)
    assert response.status == 200
    return response.body


def _records(api: Api, credentials: Credentials, secret_id: str | None = None) -> list[dict]:
    return _traces(api, credentials, secret_id)["AccessRecords"]


def test_successes_and_failures_are_recorded_newest_first_with_their_request_ids(api: Api, alice: Credentials):
    # Given a mix of outcomes signed with alice's key, and one not signed with it
    wrong_secret = api.call("ListAccessKeys/list", Credentials.forged(alice.secret_id))
    outcomes = [
        api.call("ListAccessKeys/list", alice),
        api.call("ListAccessKeys/list", alice, timestamp=int(time.time()) - 3600),
        api.call("CreateAccessKey/create", alice, body={"Description": 5}),
        api.call("GetAccessKey/get", alice, secret_id="AKID" + "1" * 32),
        api.call("CreateAccessKey/create", alice, body={}),
        api.call("CreateAccessKey/create", alice, body={}),
    ]

    # When alice reads her key's records
    traces = _traces(api, alice)
    shown = traces["AccessRecords"]

    # Then there is one per signed request, newest first, each with the outcome that request got
    assert [record["RequestId"] for record in shown] == [r.body["RequestId"] for r in reversed(outcomes)]
    assert [(record["Action"], record["Result"], record["ErrorCode"]) for record in reversed(shown)] == [
        ("ListAccessKeys", "Success", None),
        ("ListAccessKeys", "Failure", "AuthFailure.SignatureExpire"),
        ("CreateAccessKey", "Failure", "InvalidParameter"),
        ("GetAccessKey", "Failure", "ResourceNotFound.AccessKey"),
        ("CreateAccessKey", "Success", None),
        ("CreateAccessKey", "Failure", "OperationDenied.AccessKeyOverLimit"),
    ]
    assert {record["Service"] for record in shown} == {"cam"}
    # And the request with the wrong secret is counted apart, as a failed attempt
    assert wrong_secret.error_code == "AuthFailure.SignatureFailure"
    assert [(a["Count"], a["ErrorCode"], a["SourceIp"]) for a in traces["FailedAttempts"]] == [
        (1, "AuthFailure.SignatureFailure", "203.0.113.7")
    ]
    newest = shown[0]
    assert newest["SourceIp"] == "203.0.113.7"
    assert newest["UserAgent"] == "curl/8.5.0"
    assert newest["AccessTime"].endswith("Z")
    assert [record["AccessTime"] for record in shown] == sorted(
        (record["AccessTime"] for record in shown), reverse=True
    )


def test_a_listing_shows_in_the_next_listing(api: Api, alice: Credentials):
    first = api.call("ListAccessRecords/list", alice, secret_id=alice.secret_id)

    shown = _records(api, alice)

    assert [record["RequestId"] for record in shown] == [first.body["RequestId"]]
    assert shown[0]["Action"] == "ListAccessRecords"


def test_a_disabled_keys_attempts_are_recorded_for_its_owner(api: Api, alice: Credentials):
    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    second = Credentials.of(created)
    api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id)

    refused = api.call("ListAccessKeys/list", second)

    shown = _records(api, alice, second.secret_id)
    assert [(r["RequestId"], r["ErrorCode"]) for r in shown] == [
        (refused.body["RequestId"], "AuthFailure.SecretIdNotFound")
    ]


def test_a_malformed_header_that_names_an_existing_key_is_counted_as_a_failed_attempt(api: Api, alice: Credentials):
    from access_keys_tools.events import http_event, sign_event

    event = sign_event(http_event("ListAccessKeys/list"), secret_id=alice.secret_id, secret_key=alice.secret_key)
    event["headers"]["authorization"] = event["headers"]["authorization"].replace(
        "SignedHeaders=content-type;host", "SignedHeaders=host"
    )
    refused = api.invoke("ListAccessKeys", event)

    traces = _traces(api, alice)
    assert refused.error_code == "AuthFailure.InvalidAuthorization"
    assert traces["AccessRecords"] == []  # nothing proves alice's SecretKey signed it
    assert [(a["Count"], a["ErrorCode"]) for a in traces["FailedAttempts"]] == [(1, "AuthFailure.InvalidAuthorization")]


def test_requests_for_unknown_keys_and_oversized_bodies_leave_no_record(api: Api, alice: Credentials, aws_calls):
    api.call("ListAccessKeys/list", Credentials("AKID" + "2" * 32, alice.secret_key))
    api.call("CreateAccessKey/create", alice, body={"Description": "x" * 70_000})

    assert aws_calls.count("dynamodb:PutItem") == 0
    assert _records(api, alice) == []


def _write_record(key: AccessKey, request_id: str, access_time: int, *, action: str) -> None:
    records.record_access(
        key,
        action=action,
        error_code=None,
        source_ip="198.51.100.1",
        user_agent="test",
        request_id=request_id,
        access_time=access_time,
    )


def test_only_the_latest_20_of_the_past_90_days_are_shown(api: Api, alice: Credentials):
    # Given 25 recent records and 3 older than 90 days, which TTL may not have removed yet
    key = AccessKey(alice.secret_id, "100000000001", Status.ACTIVE, 0, "")
    now = now_ms()
    for index in range(3):
        _write_record(key, f"old-{index}", now - 91 * DAY_MS + index, action="Old")
    for index in range(25):
        _write_record(key, f"recent-{index:02d}", now - 60_000 + index, action="GetAccessKey")

    shown = _records(api, alice)

    assert [record["RequestId"] for record in shown] == [f"recent-{index:02d}" for index in range(24, 4, -1)]


def test_records_older_than_90_days_are_hidden_even_when_nothing_newer_exists(api: Api, alice: Credentials):
    key = AccessKey(alice.secret_id, "100000000001", Status.ACTIVE, 0, "")
    _write_record(key, "just-expired", now_ms() - 90 * DAY_MS - 1000, action="GetAccessKey")
    _write_record(key, "just-kept", now_ms() - 90 * DAY_MS + 60_000, action="GetAccessKey")

    assert [record["RequestId"] for record in _records(api, alice)] == ["just-kept"]


def test_the_newest_20_are_merged_across_all_shards_of_a_busy_key(api: Api, alice: Credentials):
    # Given 160 records of one key, spread over all its shards by RequestId
    key = AccessKey(alice.secret_id, "100000000001", Status.ACTIVE, 0, "")
    now = now_ms()
    for index in range(160):
        _write_record(key, f"busy-{index:03d}", now - 100_000 + index * 7, action="GetAccessKey")
    shards = {item["SecretIdShard"]["S"] for item in scan_table(settings().records_table_name)}
    assert len(shards) == RECORD_SHARDS

    # When the owner lists them
    shown = _records(api, alice)

    # Then the 20 newest of all shards come back, newest first
    assert [record["RequestId"] for record in shown] == [f"busy-{index:03d}" for index in range(159, 139, -1)]
