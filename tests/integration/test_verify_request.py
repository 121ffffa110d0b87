"""VerifyRequestFunction: the platform's other services verify their requests here (API.md,
"Verification for the platform's services"), with the rules of this API's own routes.

A service builds the canonical request of what it received, hashes it, and invokes the function
with the hash, never the body. These tests play the service: they sign a request for `cvm` as a
client would, canonicalise it with the service's own rules (`access_keys.signing`), and invoke the
handler as the Lambda Invoke API would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from typing import Any

import jsonschema
import pytest
from botocore.exceptions import ReadTimeoutError
from harness import AwsCalls, Credentials, LambdaContext, StreamPump, bootstrap_key, load_handler, scan_table
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from access_keys import key_material, signing, verification
from access_keys.clock import now_ms
from access_keys.config import settings
from access_keys.dal import key_store
from access_keys.domain import Status
from access_keys_tools.events import load_event
from access_keys_tools.template import PROJECT_ROOT

SERVICE = "cvm"
VERIFY_FIELD_NAMES = sorted(verification.VERIFY_FIELDS)
HOST = "cvm.example.com"


SCHEMA = json.loads((PROJECT_ROOT / "docs" / "schemas" / "verify-request.schema.json").read_text())
ANSWER_SCHEMA = {**SCHEMA, **SCHEMA["x-answers"]}
del ANSWER_SCHEMA["oneOf"]
ANSWERS = jsonschema.Draft202012Validator(ANSWER_SCHEMA, format_checker=jsonschema.FormatChecker())
PAYLOADS = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def _invoke(event: Any) -> dict[str, Any]:
    """The handler's answer, which must be one the documented schema allows, whatever was sent."""
    handler = load_handler("VerifyRequest").lambda_handler
    answer = handler(event, LambdaContext(function_name="VerifyRequestFunction"))
    ANSWERS.validate(answer)
    return answer


def _verify_event(
    credentials: Credentials,
    *,
    body: dict | None = None,
    action: str = "DescribeInstances",
    changes_state: bool | None = False,
    timestamp: int | None = None,
    service: str = SERVICE,
    scope_service: str | None = None,
    request_id: str | None = None,
    secret_key: str | None = None,
) -> dict[str, Any]:
    """What a service sends for one request a client signed for it."""
    raw = json.dumps(body if body is not None else {"Limit": 1}).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {"content-type": "application/json", "host": HOST}
    canonical = signing.canonical_request(
        method="POST", path="/", query="", headers=headers, signed_headers=("content-type", "host"), body=raw
    )
    scope = f"{signing.utc_date(timestamp)}/{scope_service or service}/tc3_request"
    signature = signing.signature(
        signing.signing_key(
            secret_key or credentials.secret_key, signing.utc_date(timestamp), scope_service or service, "tc3_request"
        ),
        signing.string_to_sign(timestamp, scope, signing.hashed(canonical)),
    )
    event = {
        "Operation": "VerifyRequest",
        "Service": service,
        "Action": action,
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={credentials.secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        ),
        "Timestamp": str(timestamp),
        "CanonicalRequestHash": hashlib.sha256(canonical.encode()).hexdigest(),
        "SourceIp": "203.0.113.7",
        "UserAgent": "tencentcloud-sdk-nodejs/4.1",
        "RequestId": request_id or f"cvm-{uuid.uuid4()}",
    }
    if changes_state is not None:
        event["ChangesState"] = changes_state
    PAYLOADS.validate(event)  # what this test plays is what the schema documents
    return event


def _records(secret_id: str) -> list[dict[str, Any]]:
    return [
        item
        for item in scan_table(settings().records_table_name)
        if item.get("SecretId", {}).get("S") == secret_id and "Result" in item
    ]


def test_a_signed_request_is_valid_and_names_its_caller_and_record(alice: Credentials):
    event = _verify_event(alice)

    answer = _invoke(event)

    assert answer["Valid"] is True
    assert (answer["SecretId"], answer["Uin"], answer["RequestId"]) == (
        alice.secret_id,
        "100000000001",
        event["RequestId"],
    )
    assert isinstance(answer["RecordId"], str)
    assert len(answer["RecordId"]) > 40
    (record,) = _records(alice.secret_id)
    assert record["Service"]["S"] == SERVICE
    assert record["Action"]["S"] == "DescribeInstances"
    assert record["RequestId"]["S"] == event["RequestId"]
    assert record["Result"]["S"] == "Success"


def test_a_disable_refuses_the_very_next_verify(alice: Credentials):
    assert _invoke(_verify_event(alice))["Valid"] is True
    key_store.set_status(alice.secret_id, Status.INACTIVE, signed_at=0, changed_at=0)

    answer = _invoke(_verify_event(alice))

    assert answer["Valid"] is False
    assert answer["Error"]["Code"] == "AuthFailure.SecretIdNotFound"
    assert answer["RecordId"] is not None  # signed with the key: its owner sees it
    assert [r["Result"]["S"] for r in _records(alice.secret_id)].count("Failure") == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"secret_key": "x" * 32}, "AuthFailure.SignatureFailure", id="wrong-secret"),
        pytest.param({"scope_service": "cos"}, "AuthFailure.SignatureFailure", id="signed-for-another-service"),
        pytest.param({"scope_service": "cam"}, "AuthFailure.SignatureFailure", id="signed-for-cam"),
        pytest.param({"timestamp": int(time.time()) - 301}, "AuthFailure.SignatureExpire", id="301-s-old"),
        pytest.param({"timestamp": int(time.time()) - 3 * 86_400}, "AuthFailure.SignatureExpire", id="days-old"),
    ],
)
def test_refusals_carry_the_apis_codes_and_never_raise(alice: Credentials, change: dict, code: str):
    answer = _invoke(_verify_event(alice, **change))

    assert answer["Valid"] is False
    assert answer["Error"]["Code"] == code


def test_a_changed_body_is_a_signature_failure_counted_as_a_failed_attempt(alice: Credentials):
    event = _verify_event(alice)
    event["CanonicalRequestHash"] = hashlib.sha256(b"another body").hexdigest()

    answer = _invoke(event)

    assert (answer["Valid"], answer["Error"]["Code"], answer["RecordId"]) == (
        False,
        "AuthFailure.SignatureFailure",
        None,
    )
    assert _records(alice.secret_id) == []
    failed = [item for item in scan_table(settings().records_table_name) if item["SecretIdShard"]["S"].endswith("#F")]
    assert [item["Count"]["N"] for item in failed] == ["1"]


def test_a_state_changing_request_is_accepted_once_and_a_read_repeatably(alice: Credentials):
    change = _verify_event(alice, body={"Run": 1}, action="RunInstances", changes_state=True)
    read = _verify_event(alice, body={"Describe": 1}, action="DescribeInstances", changes_state=False)
    default = _verify_event(alice, body={"Stop": 1}, action="TerminateInstances", changes_state=None)  # true

    assert [_invoke(change)["Valid"], _invoke(change)["Valid"]] == [True, False]
    assert [_invoke(read)["Valid"], _invoke(read)["Valid"]] == [True, True]
    again = [_invoke(default), _invoke(default)]
    assert [answer["Valid"] for answer in again] == [True, False]
    assert again[1]["Error"]["Message"].startswith("This signature has already been used")


def test_a_malformed_event_gets_a_parameter_code_and_makes_no_record(alice: Credentials):
    good = _verify_event(alice)
    cases = {
        "MissingParameter": {key: value for key, value in good.items() if key != "CanonicalRequestHash"},
        "UnknownParameter": {**good, "Body": "{}"},
        "InvalidParameter": {**good, "ChangesState": "yes"},
        "InvalidParameterValue": {**good, "Service": "cam"},
    }
    answers = {code: _invoke(event) for code, event in cases.items()}
    answers["bad-hash"] = _invoke({**good, "CanonicalRequestHash": "A" * 64})
    answers["bad-ip"] = _invoke({**good, "SourceIp": "localhost"})
    answers["not-an-object"] = _invoke(["VerifyRequest"])
    answers["no-operation"] = _invoke({})
    answers["other-operation"] = _invoke({"Operation": "DeleteAccessKey"})

    assert {code: answers[code]["Error"]["Code"] for code in cases} == {code: code for code in cases}
    assert answers["bad-hash"]["Error"]["Code"] == "InvalidParameterValue"
    assert answers["bad-ip"]["Error"]["Code"] == "InvalidParameterValue"
    assert answers["not-an-object"]["Error"]["Code"] == "InvalidParameter"
    assert answers["no-operation"]["Error"]["Code"] == "MissingParameter"
    assert answers["other-operation"]["Error"]["Code"] == "InvalidParameterValue"
    assert all(answer.get("Valid") is not True for answer in answers.values())
    assert scan_table(settings().records_table_name) == []


def test_a_failed_record_write_fails_closed(alice: Credentials, aws_calls: AwsCalls):
    aws_calls.fail_next("dynamodb:PutItem", code="InternalServerError", status=500)

    answer = _invoke(_verify_event(alice))

    assert (answer["Valid"], answer["Error"]["Code"]) == (False, "InternalError")


def test_a_throttled_key_read_fails_closed_without_a_record(alice: Credentials, aws_calls: AwsCalls):
    aws_calls.fail_next("dynamodb:GetItem", code="ProvisionedThroughputExceededException", status=400)

    answer = _invoke(_verify_event(alice))

    assert (answer["Valid"], answer["Error"]["Code"], answer["RecordId"]) == (False, "RequestLimitExceeded", None)
    assert _records(alice.secret_id) == []


def test_a_warm_verify_makes_one_read_one_write_and_no_kms_call(alice: Credentials, aws_calls: AwsCalls):
    assert _invoke(_verify_event(alice))["Valid"] is True  # warms the derived key for cvm
    aws_calls.reset()
    assert _invoke(_verify_event(alice))["Valid"] is True
    warm_read = sorted(aws_calls.calls)
    aws_calls.reset()
    assert _invoke(_verify_event(alice, body={"Run": 1}, action="RunInstances", changes_state=True))["Valid"] is True
    warm_change = sorted(aws_calls.calls)
    key_material.forget_all()
    aws_calls.reset()
    assert _invoke(_verify_event(alice))["Valid"] is True
    cold_read = sorted(aws_calls.calls)

    assert warm_read == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert warm_change == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:PutItem"]  # + the single-use guard
    assert cold_read == ["dynamodb:GetItem", "dynamodb:PutItem", "kms:Decrypt"]


def test_report_access_outcome_turns_the_services_own_record_into_a_failure_once(alice: Credentials, aws_calls):
    record_id = _invoke(_verify_event(alice))["RecordId"]
    report = {"Operation": "ReportAccessOutcome", "Service": SERVICE, "RecordId": record_id}

    aws_calls.reset()
    first = _invoke({**report, "ErrorCode": "UnauthorizedOperation"})
    calls = list(aws_calls.calls)
    second = _invoke({**report, "ErrorCode": "InvalidParameter"})

    assert first == {"Updated": True}
    assert calls == ["dynamodb:UpdateItem"]
    assert second["Updated"] is False  # a record is refused once, and never goes back to Success
    (record,) = _records(alice.secret_id)
    assert (record["Result"]["S"], record["ErrorCode"]["S"]) == ("Failure", "UnauthorizedOperation")


def test_another_service_cannot_report_a_record_and_a_record_id_cannot_be_forged(alice: Credentials):
    bob = bootstrap_key("100000000002", "bob")
    record_id = _invoke(_verify_event(alice))["RecordId"]
    bobs = _invoke(_verify_event(bob))["RecordId"]
    bob_record = next(
        r for r in scan_table(settings().records_table_name) if r.get("SecretId", {}).get("S") == bob.secret_id
    )
    # A forgery: bob's record's partition and time, with a guessed ending
    forged = base64.urlsafe_b64encode(
        f"{bob_record['SecretIdShard']['S']}\n{bob_record['AccessTimeRequestId']['S'][:14]}guess".encode()
    ).decode()

    answers = [
        _invoke({"Operation": "ReportAccessOutcome", "Service": "cos", "RecordId": record_id, "ErrorCode": "Denied"}),
        _invoke({"Operation": "ReportAccessOutcome", "Service": SERVICE, "RecordId": forged, "ErrorCode": "Denied"}),
        _invoke({"Operation": "ReportAccessOutcome", "Service": SERVICE, "RecordId": "!!", "ErrorCode": "Denied"}),
    ]

    assert [(a["Updated"], a["Error"]["Code"]) for a in answers] == [(False, "ResourceNotFound.AccessRecord")] * 3
    assert {r["Result"]["S"] for r in scan_table(settings().records_table_name) if "Result" in r} == {"Success"}
    assert bobs != record_id


def test_a_record_older_than_15_minutes_cannot_be_reported(alice: Credentials, monkeypatch):
    record_id = _invoke(_verify_event(alice))["RecordId"]
    later = now_ms() + 16 * 60_000
    monkeypatch.setattr("access_keys.records.now_ms", lambda: later)

    answer = _invoke({"Operation": "ReportAccessOutcome", "Service": SERVICE, "RecordId": record_id, "ErrorCode": "X"})

    assert answer["Updated"] is False


def test_every_service_moves_last_access_time(alice: Credentials, stream: StreamPump):
    _invoke(_verify_event(alice))
    stream.pump()

    stored = key_store.get_key(alice.secret_id)

    assert stored is not None
    assert stored.key.last_access_time is not None


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
KNOWN_CODES = {
    "InvalidParameter",
    "InvalidParameterValue",
    "MissingParameter",
    "UnknownParameter",
    "AuthFailure.InvalidAuthorization",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureExpire",
    "AuthFailure.SignatureFailure",
    "ResourceNotFound.AccessRecord",
}


@hypothesis_settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "20")) * 5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.dictionaries(
        st.sampled_from([*VERIFY_FIELD_NAMES, "Body", "", "operation"]), JSON_VALUES, min_size=1, max_size=4
    ),
    dropped=st.sets(st.sampled_from(VERIFY_FIELD_NAMES), max_size=2),
    operation=st.sampled_from(["VerifyRequest", "ReportAccessOutcome"]),
)
def test_any_payload_is_answered_with_a_code_and_never_raises(alice: Credentials, changes, dropped, operation):
    good = _verify_event(alice)
    event = {**good, **changes, "Operation": operation}
    for name in dropped:
        event.pop(name, None)

    answer = _invoke(event)

    assert isinstance(answer, dict)
    differs = {name for name in set(event) | set(good) if event.get(name, ...) != good.get(name, ...)}
    # Only what the signature does not cover, and that a service may state freely, can differ in a Valid one
    assert answer.get("Valid") is not True or differs <= {"UserAgent", "SourceIp", "ChangesState"}, answer
    if "Error" in answer:
        assert answer["Error"]["Code"] in KNOWN_CODES, answer
        for internal in ("Traceback", "dynamodb", "pynamodb", "botocore"):
            assert internal not in answer["Error"]["Message"]


def test_the_stored_events_are_payloads_the_schema_allows():
    for name in ("verify", "report"):
        PAYLOADS.validate(load_event(f"VerifyRequest/{name}"))


@pytest.mark.parametrize("changes_state", [False, True], ids=["read", "change"])
@pytest.mark.parametrize("fault", ["throttle", "service-failure", "timeout"])
def test_a_failed_aws_call_at_any_point_fails_closed_and_leaves_nothing_half_written(
    alice: Credentials, aws_calls: AwsCalls, changes_state: bool, fault: str
):
    # Given the calls one cold verification makes
    key_material.forget_all()
    aws_calls.reset()
    assert _invoke(_verify_event(alice, body={"probe": 1}, changes_state=changes_state))["Valid"] is True
    sequence = list(aws_calls.calls)

    for position, call in enumerate(sequence, 1):
        # When that call fails, on a fresh request
        key_material.forget_all()
        aws_calls.reset()
        if fault == "timeout":
            aws_calls.fail_call(position, exception=ReadTimeoutError(endpoint_url="https://aws.invalid"))
        else:
            code = {
                "throttle": "ThrottlingException"
                if call.startswith("kms")
                else "ProvisionedThroughputExceededException",
                "service-failure": "KMSInternalException" if call.startswith("kms") else "InternalServerError",
            }[fault]
            aws_calls.fail_call(position, code=code, status=400 if fault == "throttle" else 500)
        before = {item["SecretIdShard"]["S"] + item["AccessTimeRequestId"]["S"] for item in _records(alice.secret_id)}
        event = _verify_event(alice, body={"probe": position, "fault": fault}, changes_state=changes_state)
        answer = _invoke(event)

        # Then the service is told to refuse, with a code that says the verifier could not decide
        where = f"{fault} in {call} (call {position} of {sequence})"
        assert answer["Valid"] is False, where
        expected = "RequestLimitExceeded" if fault == "throttle" else "InternalError"
        assert answer["Error"]["Code"] == expected, where
        # And no successful record was left behind for a request that was refused
        after = [
            r
            for r in _records(alice.secret_id)
            if r["SecretIdShard"]["S"] + r["AccessTimeRequestId"]["S"] not in before
        ]
        assert all(record["Result"]["S"] == "Failure" for record in after), where
        # And the same request signed afresh is accepted once the fault is gone
        assert _invoke(_verify_event(alice, body={"retry": position, "f": fault}, changes_state=changes_state))["Valid"]


def test_the_unused_key_report_counts_use_through_another_service(alice: Credentials, stream: StreamPump):
    # Given a second key of alice's, used only to call cvm
    used_elsewhere = bootstrap_key("100000000021", "cvm only")
    never_used = bootstrap_key("100000000022", "never used")
    assert _invoke(_verify_event(used_elsewhere))["Valid"] is True
    stream.pump()

    # When the cleanup's pass reports unused keys
    handler = load_handler("Cleanup").lambda_handler
    outcome = handler(load_event("Cleanup/scheduled"), LambdaContext(function_name="CleanupFunction"))

    # Then the key used through cvm is not among the never-used ones; the other is
    assert outcome["progress"]["keys_seen"] == 3  # alice's, and these two
    assert outcome["progress"]["never_used_keys"] == 2  # alice's own and never_used: neither signed anything
    assert key_store.get_key(used_elsewhere.secret_id).key.last_access_time is not None
    assert key_store.get_key(never_used.secret_id).key.last_access_time is None
