"""What a copy of a request, a public SecretId or junk can make the service do, in process.

The attacks over HTTP are in tests/local/test_copied_signatures.py; these are the ones whose
effect shows only inside: KMS calls, the derived-key cache, the table's guard items, the stream.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from harness import Api, AwsCalls, Credentials, StreamPump, scan_table, second_key

from access_keys import key_material
from access_keys.config import settings
from access_keys.dal.models import KeyItem
from access_keys_tools.events import http_event, sign_event


def _stock_signed(event_name: str, credentials: Credentials, **changes) -> dict:
    """An event signed as Tencent's stock SDKs sign: `content-type;host`, nothing else."""
    body = changes.pop("body", None)
    return sign_event(
        http_event(event_name, body=body, **changes),
        secret_id=credentials.secret_id,
        secret_key=credentials.secret_key,
        signed_headers=("content-type", "host"),
    )


def _with_date(event: dict, date: str) -> dict:
    event["headers"]["authorization"] = event["headers"]["authorization"].replace(
        time.strftime("%Y-%m-%d", time.gmtime(int(event["headers"]["x-tc-timestamp"]))), date
    )
    return event


def test_wrong_secret_requests_on_dates_the_service_never_accepts_cost_no_kms_call(
    api: Api, alice: Credentials, aws_calls: AwsCalls
):
    # Given a cold cache and 50 wrong-secret requests, each with a scope date of its own
    key_material.forget_all()
    aws_calls.reset()
    stranger = Credentials.forged(alice.secret_id)
    base = datetime.now(UTC)
    answers = []
    for days in range(2, 52):
        event = _stock_signed("ListAccessKeys/list", stranger)
        answers.append(api.invoke("ListAccessKeys", _with_date(event, f"{base - timedelta(days=days):%Y-%m-%d}")))

    # Then none was decrypted for: each date is outside the server's day and the days beside it
    assert {answer.error_code for answer in answers} == {"AuthFailure.SignatureExpire"}
    assert aws_calls.count("kms:Decrypt") == 0


def test_a_flood_of_wrong_secrets_cannot_evict_a_legitimate_keys_signing_key(
    api: Api, alice: Credentials, aws_calls: AwsCalls
):
    # Given alice's signing key is cached warm
    assert api.call("ListAccessKeys/list", alice).status == 200
    stranger = Credentials.forged(alice.secret_id)

    # When 1,030 wrong-secret requests arrive, timestamped on every date the server accepts
    aws_calls.reset()
    now = int(time.time())
    for index in range(1030):
        event = sign_event(
            http_event("ListAccessKeys/list"),
            secret_id=stranger.secret_id,
            secret_key=stranger.secret_key,
            timestamp=now + (index % 3 - 1) * 86_400,
        )
        assert api.invoke("ListAccessKeys", event).error_code == "AuthFailure.SignatureFailure"
    decrypts = aws_calls.count("kms:Decrypt")
    aws_calls.reset()
    accepted = api.call("ListAccessKeys/list", alice)

    # Then at most one derivation per accepted date was made, and alice's key is still warm
    assert decrypts <= 2  # today's key was cached already; yesterday's and tomorrow's at most once each
    assert accepted.status == 200
    assert aws_calls.count("kms:Decrypt") == 0


def test_a_key_item_moved_to_another_owner_is_refused_even_with_a_warm_cache(
    api: Api, alice: Credentials, aws_calls: AwsCalls
):
    # Given alice's key, used once (its signing key cached), then re-owned in the table by someone
    # who can write it (a bug, an operator, an attacker with table access)
    assert api.call("ListAccessKeys/list", alice).status == 200
    item = KeyItem.get(alice.secret_id, consistent_read=True)
    item.update(actions=[KeyItem.uin.set("100000000666")])

    # When the key signs again, while the cache is warm
    refused = api.call("ListAccessKeys/list", alice)

    # Then the cache, keyed on the owner too, misses, and KMS refuses the changed encryption context
    assert aws_calls.count("kms:Decrypt") >= 1
    assert refused.status >= 400
    assert refused.body.get("AccessKeys") is None


def test_a_spent_signature_stays_spent_whatever_an_attacker_changes_outside_what_it_signs(api: Api, alice: Credentials):
    # Given alice's create, accepted
    create = _stock_signed("CreateAccessKey/create", alice, body={"Description": "once"})
    assert api.invoke("CreateAccessKey", create).status == 201

    # When it is resent with a new RequestId, another source IP and user agent, and unsigned extras
    replays = []
    for user_agent, source_ip in (("curl/8.5.0", "198.51.100.9"), ("\x1b[2Jevil", "203.0.113.200")):
        replay = sign_event(create, secret_id=alice.secret_id, secret_key=alice.secret_key)  # a copy to mutate
        replay["headers"] = {**create["headers"], "user-agent": user_agent, "x-forwarded-for": "10.0.0.1"}
        replay["requestContext"]["http"].update({"userAgent": user_agent, "sourceIp": source_ip})
        replays.append(api.invoke("CreateAccessKey", replay))

    # Then every one is refused as used, and the account still has the one key created
    assert {(r.status, r.error_code) for r in replays} == {(401, "AuthFailure.SignatureFailure")}
    listed = api.call("ListAccessKeys/list", alice).body["AccessKeys"]
    assert len(listed) == 2


@pytest.mark.parametrize(
    "action",
    ["CreateAccessKey", "DeleteAccessKey", "UpdateAccessKey", "GetSecurityLastUsed", "DescribeInstances"],
)
def test_a_captured_read_on_post_slash_serves_no_other_action(api: Api, alice: Credentials, action: str):
    listed = _stock_signed("TencentCloudApi/list-access-keys", alice, body={})
    assert "Error" not in api.invoke("TencentCloudApi", listed).body["Response"]
    resent = dict(listed, headers={**listed["headers"], "x-tc-action": action})

    answer = api.invoke("TencentCloudApi", resent).body["Response"]

    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert "sign the x-tc-action header" in answer["Error"]["Message"]


def test_the_same_second_false_positive_tells_the_caller_what_to_do(api: Api, alice: Credentials):
    # Given the stock SDKs' ListAccessKeys and CreateAccessKey, both `{}`, signed in one second
    timestamp = int(time.time())
    listed = _stock_signed("TencentCloudApi/list-access-keys", alice, body={})
    created = _stock_signed("TencentCloudApi/create-access-key", alice, body={})
    for event in (listed, created):
        event["headers"]["authorization"] = sign_event(
            event,
            secret_id=alice.secret_id,
            secret_key=alice.secret_key,
            timestamp=timestamp,
            signed_headers=("content-type", "host"),
        )["headers"]["authorization"]
        event["headers"]["x-tc-timestamp"] = str(timestamp)
    assert listed["headers"]["authorization"] == created["headers"]["authorization"]

    assert "Error" not in api.invoke("TencentCloudApi", listed).body["Response"]
    refused = api.invoke("TencentCloudApi", created).body["Response"]["Error"]

    assert refused["Code"] == "AuthFailure.SignatureFailure"
    assert "sign this one again in the next second, or sign the x-tc-action header" in refused["Message"]


def test_an_update_signed_in_the_same_second_as_the_last_change_is_not_earlier(api: Api, alice: Credentials):
    secret_id = second_key(api, alice)
    now = int(time.time())

    disable, enable = {"Status": "Inactive"}, {"Status": "Active"}
    disabled = api.call("UpdateAccessKey/disable", alice, secret_id=secret_id, body=disable, timestamp=now)
    enabled = api.call("UpdateAccessKey/enable", alice, secret_id=secret_id, body=enable, timestamp=now)
    earlier = api.call(
        "UpdateAccessKey/disable", alice, secret_id=secret_id, body={"Status": "Inactive"}, timestamp=now - 1
    )

    assert (disabled.status, enabled.status) == (200, 200)
    assert (earlier.status, earlier.error_code) == (401, "AuthFailure.SignatureExpire")
    assert api.call("GetAccessKey/get", alice, secret_id=secret_id).body["AccessKey"]["Status"] == "Active"


def test_a_disabled_keys_attempts_are_classified_by_their_signature_with_one_answer(
    api: Api, alice: Credentials, stream: StreamPump
):
    # Given a disabled second key
    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    second = Credentials.of(created)
    api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id, body={"Status": "Inactive"})

    # When its real owner and a stranger both try it
    signed = api.call("ListAccessKeys/list", second)
    forged = api.call("ListAccessKeys/list", Credentials.forged(second.secret_id))

    # Then both get the same answer (no oracle), but only the signed one is an access record
    assert (signed.status, signed.error_code) == (401, "AuthFailure.SecretIdNotFound")
    assert (forged.status, forged.error_code) == (401, "AuthFailure.SecretIdNotFound")
    traces = api.call("ListAccessRecords/list", alice, secret_id=second.secret_id).body
    assert [record["RequestId"] for record in traces["AccessRecords"]] == [signed.body["RequestId"]]
    assert [(a["Count"], a["ErrorCode"]) for a in traces["FailedAttempts"]] == [(1, "AuthFailure.SecretIdNotFound")]


def test_strangers_never_move_last_access_time(api: Api, alice: Credentials, stream: StreamPump):
    # Given a never-used key
    unused = second_key(api, alice)
    stream.pump()

    # When strangers send junk and wrong signatures naming it
    for header in (f"junk Credential={unused}/", f"TC3-HMAC-SHA256 Credential={unused}/x"):
        event = http_event("ListAccessKeys/list", headers={"authorization": header, "x-tc-timestamp": "1"})
        assert api.invoke("ListAccessKeys", event).status == 401
    assert api.call("ListAccessKeys/list", Credentials.forged(unused)).status == 401
    stream.pump()

    # Then its LastAccessTime is still null
    assert api.call("GetAccessKey/get", alice, secret_id=unused).body["AccessKey"]["LastAccessTime"] is None
    guard_items = [
        item for item in scan_table(settings().records_table_name) if item["SecretIdShard"]["S"].startswith("USED#")
    ]
    assert guard_items  # the creates and updates of this test spent their signatures
    assert all("ExpiresAt" in item for item in guard_items)
