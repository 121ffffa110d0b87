"""LastAccessTime follows the access-records stream: newest per key, forward only, one update per key."""

import copy

from harness import Api, Credentials, StreamPump, scan_table, second_credentials

from access_keys.clock import format_time
from access_keys.config import settings
from access_keys_tools.events import load_event
from access_keys_tools.streams import filter_patterns, passes_filter


def _newest_record_time(secret_id: str) -> int:
    times = [
        int(item["AccessTime"]["N"])
        for item in scan_table(settings().records_table_name)
        if item.get("SecretId", {}).get("S") == secret_id and "AccessTime" in item
    ]
    return max(times)


def _stored_last_access(secret_id: str) -> int | None:
    item = next(item for item in scan_table(settings().keys_table_name) if item["SecretId"]["S"] == secret_id)
    return int(item["LastAccessTime"]["N"]) if "LastAccessTime" in item else None


def _last_access(api: Api, owner: Credentials, secret_id: str) -> str | None:
    return api.call("GetAccessKey/get", owner, secret_id=secret_id).body["AccessKey"]["LastAccessTime"]


def test_after_n_requests_last_access_equals_the_newest_record_with_one_update_per_key(
    api: Api, alice: Credentials, stream: StreamPump, aws_calls
):
    # Given N signed requests by two keys, successes and failures
    second = second_credentials(api, alice)
    for _ in range(7):
        api.call("ListAccessKeys/list", alice)
        api.call("GetAccessKey/get", second, secret_id=alice.secret_id)
    api.call("GetAccessKey/get", second, secret_id="AKID" + "0" * 32)  # a failure signed with the key counts too
    assert _last_access(api, alice, alice.secret_id) is None  # the request path never sets it
    batch = stream.read_batch()
    assert len(batch["Records"]) >= 17
    aws_calls.reset()

    # When the stream is processed
    response = stream.deliver(batch)

    # Then each key's LastAccessTime is its newest record's AccessTime, to the millisecond,
    # written with one update per distinct key in the batch
    assert response == {"batchItemFailures": []}
    assert aws_calls.count("dynamodb:UpdateItem") == 2
    expected = {key: format_time(_newest_record_time(key)) for key in (alice.secret_id, second.secret_id)}
    listed = {
        key["SecretId"]: key["LastAccessTime"] for key in api.call("ListAccessKeys/list", second).body["AccessKeys"]
    }
    assert listed == expected
    assert _last_access(api, second, alice.secret_id) == expected[alice.secret_id]


def test_a_replayed_batch_changes_nothing(api: Api, alice: Credentials, stream: StreamPump):
    api.call("ListAccessKeys/list", alice)
    first = stream.read_batch()
    stream.deliver(first)
    api.call("ListAccessKeys/list", alice)
    stream.pump()
    newest = _last_access(api, alice, alice.secret_id)

    assert stream.deliver(first) == {"batchItemFailures": []}

    assert _last_access(api, alice, alice.secret_id) == newest


def test_an_out_of_order_batch_keeps_the_newest_time(api: Api, alice: Credentials, stream: StreamPump):
    for _ in range(5):
        api.call("ListAccessKeys/list", alice)
    batch = stream.read_batch()
    batch["Records"].reverse()

    stream.deliver(batch)

    expected = format_time(_newest_record_time(alice.secret_id))
    assert _last_access(api, alice, alice.secret_id) == expected


def test_an_older_batch_after_a_newer_one_never_moves_the_time_back(api: Api, alice: Credentials, stream: StreamPump):
    api.call("ListAccessKeys/list", alice)
    older = stream.read_batch()
    api.call("ListAccessKeys/list", alice)
    newer = stream.read_batch()

    stream.deliver(newer)
    expected = format_time(_newest_record_time(alice.secret_id))
    stream.deliver(older)

    assert _last_access(api, alice, alice.secret_id) == expected


def test_a_key_deleted_during_a_batch_is_not_recreated(api: Api, alice: Credentials, stream: StreamPump):
    # Given records of a key that is deleted before its batch is processed
    doomed = second_credentials(api, alice)
    api.call("ListAccessKeys/list", doomed)
    api.call("UpdateAccessKey/disable", alice, secret_id=doomed.secret_id)
    api.call("DeleteAccessKey/delete", alice, secret_id=doomed.secret_id)

    # When the batch is processed
    assert stream.pump() == {"batchItemFailures": []}

    # Then the deleted key stays deleted, and the surviving key is updated
    key_ids = {item["SecretId"]["S"] for item in scan_table(settings().keys_table_name)}
    assert doomed.secret_id not in key_ids
    assert api.call("GetAccessKey/get", alice, secret_id=doomed.secret_id).status == 404
    assert _last_access(api, alice, alice.secret_id) is not None


def test_a_partial_failure_reports_only_the_failed_keys_record(
    api: Api, alice: Credentials, bob: Credentials, stream: StreamPump, aws_calls
):
    # Given a batch with records of two keys, each key's update carried by its newest record
    for _ in range(3):
        api.call("ListAccessKeys/list", alice)
        api.call("ListAccessKeys/list", bob)
    batch = stream.read_batch()
    newest = {}
    for record in batch["Records"]:
        image = record["dynamodb"]["NewImage"]
        newest[image["SecretId"]["S"]] = record["dynamodb"]["SequenceNumber"]
    first_updated = min(newest, key=lambda secret_id: int(newest[secret_id]))

    # When the first key's update fails
    aws_calls.fail_next("dynamodb:UpdateItem", code="InternalServerError", status=500)
    response = stream.deliver(batch)

    # Then only that key's carrying record is reported, and only the other key is updated
    assert response == {"batchItemFailures": [{"itemIdentifier": newest[first_updated]}]}
    other = next(secret_id for secret_id in newest if secret_id != first_updated)
    assert _stored_last_access(other) == _newest_record_time(other)
    assert _stored_last_access(first_updated) is None

    # And the retry Lambda makes from that record on succeeds
    retry = {
        "Records": [
            record
            for record in batch["Records"]
            if int(record["dynamodb"]["SequenceNumber"]) >= int(newest[first_updated])
        ]
    }
    assert stream.deliver(retry) == {"batchItemFailures": []}
    assert _stored_last_access(first_updated) == _newest_record_time(first_updated)


def test_the_template_filter_drops_removals_so_ttl_and_cleanup_never_invoke_it():
    patterns = filter_patterns("RecordLastAccessFunction")
    inserts = load_event("RecordLastAccess/insert-batch")["Records"]
    removals = load_event("RecordLastAccess/ttl-remove-batch")["Records"]

    # A failed-attempt count and a used signature share the table but carry no Result
    failed_attempts = copy.deepcopy(inserts[0])
    failed_attempts["dynamodb"]["NewImage"] = {
        "SecretIdShard": {"S": f"{inserts[0]['dynamodb']['NewImage']['SecretId']['S']}#F"},
        "SecretId": inserts[0]["dynamodb"]["NewImage"]["SecretId"],
        "Count": {"N": "1"},
        "LastTime": {"N": "1796000000000"},
    }
    used_signature = copy.deepcopy(inserts[0])
    used_signature["dynamodb"]["NewImage"] = {"SecretIdShard": {"S": "USED#" + "a" * 64}, "Action": {"S": "x"}}

    assert patterns == [{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Result": {"S": ["Success", "Failure"]}}}}]
    assert all(passes_filter(record, patterns) for record in inserts)
    assert not any(passes_filter(record, patterns) for record in removals)
    assert not passes_filter(failed_attempts, patterns)
    assert not passes_filter(used_signature, patterns)


def test_the_stored_insert_batch_sets_each_keys_newest_time(aws, stream: StreamPump):
    # Given the two example keys of the stored event exist
    from access_keys.dal.models import KeyItem, bind_tables

    event = load_event("RecordLastAccess/insert-batch")
    newest: dict[str, int] = {}
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        secret_id, time = image["SecretId"]["S"], int(image["AccessTime"]["N"])
        newest[secret_id] = max(time, newest.get(secret_id, 0))
    bind_tables()
    for secret_id in newest:
        KeyItem(
            secret_id, uin="100000000001", status="Active", create_time=0, description="", encrypted_secret=b"x"
        ).save()

    # When the stored event is delivered
    assert stream.deliver(event) == {"batchItemFailures": []}

    # Then each key holds its newest record's time
    for secret_id, time in newest.items():
        assert int(KeyItem.get(secret_id, consistent_read=True).last_access_time) == time


def test_the_stored_ttl_removal_batch_changes_nothing_even_if_delivered_unfiltered(aws, stream: StreamPump, aws_calls):
    assert stream.deliver(load_event("RecordLastAccess/ttl-remove-batch")) == {"batchItemFailures": []}
    assert aws_calls.count("dynamodb:UpdateItem") == 0
