"""Every AWS call of every operation fails in turn; the service answers well and stays whole.

For each operation the test first records the calls one request makes (on a cold secret cache,
so a KMS Decrypt is among them). Then, for each of those calls and each kind of fault that call
can meet, it starts from a fresh account, makes that one call fail, and checks what the caller
sees, that the tables hold no partial state, and that a retry of the same request succeeds.

The access record's own PutItem is the one exception, by design (docs/api.md, README): the
request's outcome stands when its record cannot be written, and the loss is counted in the
AccessRecordsLost metric, so that a retry never repeats a create that happened.

A state-changing request also makes the used-signature guard's conditional PutItem before its
operation. When that write fails, the request fails closed (5xx, or 429 when throttled) and
changes nothing; when its condition fails, the signature was already used (401).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from figures import figure
from harness import (
    Api,
    AwsCalls,
    Credentials,
    bootstrap_key,
    fresh_service,
    invariant_violations,
    scan_table,
    second_key,
)

from access_keys import key_material
from access_keys.config import settings

RECORD_WRITE = "dynamodb:PutItem"
# The guard's PutItem is conditional too; the record's, always the last call, is not.
CONDITIONAL_WRITES = frozenset({"dynamodb:TransactWriteItems", "dynamodb:UpdateItem", "dynamodb:PutItem"})


@dataclass(frozen=True)
class Scenario:
    operation: str
    event: str
    success: int
    # Prepares the account; returns the keyword arguments of the call (path key, body).
    prepare: Callable[[Api, Credentials], dict[str, Any]]


SCENARIOS = [
    Scenario("CreateAccessKey", "CreateAccessKey/create", 201, lambda api, owner: {"body": {"Description": "new"}}),
    Scenario("ListAccessKeys", "ListAccessKeys/list", 200, lambda api, owner: {}),
    Scenario("GetAccessKey", "GetAccessKey/get", 200, lambda api, owner: {"secret_id": owner.secret_id}),
    Scenario(
        "UpdateAccessKey",
        "UpdateAccessKey/disable",
        200,
        lambda api, owner: {"secret_id": second_key(api, owner, disabled=False), "body": {"Status": "Inactive"}},
    ),
    Scenario(
        "DeleteAccessKey",
        "DeleteAccessKey/delete",
        200,
        lambda api, owner: {"secret_id": second_key(api, owner, disabled=True)},
    ),
    Scenario("ListAccessRecords", "ListAccessRecords/list", 200, lambda api, owner: {"secret_id": owner.secret_id}),
]


@dataclass(frozen=True)
class Fault:
    name: str
    applies_to: Callable[[str], bool]
    inject: Callable[[AwsCalls, int, str], None]


def _throttle(calls: AwsCalls, position: int, call: str) -> None:
    code = "ThrottlingException" if call.startswith("kms:") else "ProvisionedThroughputExceededException"
    calls.fail_call(position, code=code, status=400)


def _service_failure(calls: AwsCalls, position: int, call: str) -> None:
    code = "KMSInternalException" if call.startswith("kms:") else "InternalServerError"
    calls.fail_call(position, code=code, status=500)


def _conditional_failure(calls: AwsCalls, position: int, call: str) -> None:
    if call == "dynamodb:TransactWriteItems":
        reasons = [{"Code": "ConditionalCheckFailed", "Message": "injected"}, {"Code": "None"}, {"Code": "None"}]
        calls.fail_call(
            position, code="TransactionCanceledException", status=400, extra={"CancellationReasons": reasons}
        )
    else:
        calls.fail_call(position, code="ConditionalCheckFailedException", status=400)


def _timeout(calls: AwsCalls, position: int, call: str) -> None:
    calls.fail_call(
        position, exception=ReadTimeoutError(endpoint_url=f"https://{call.split(':', maxsplit=1)[0]}.invalid")
    )


FAULTS = [
    Fault("throttle", lambda call: True, _throttle),
    Fault("service-failure", lambda call: True, _service_failure),
    Fault("conditional-failure", lambda call: call in CONDITIONAL_WRITES, _conditional_failure),
    Fault("timeout", lambda call: True, _timeout),
]

# What a conditional failure means where the service sets a condition: the answer the
# condition stands for, which is also what a real lost race gives.
CONDITIONAL_ANSWERS = {
    "CreateAccessKey": (409, "OperationDenied.AccessKeyOverLimit"),
    # The key is there and owned, so a failed condition means a status change signed later.
    "UpdateAccessKey": (401, "AuthFailure.SignatureExpire"),
    # The delete reads the key again and retries once, which a single failure cannot stop.
    "DeleteAccessKey": (200, None),
}

injected: list[str] = []


@contextmanager
def _prepared(scenario: Scenario) -> Iterator[tuple[Api, Credentials, dict[str, Any], AwsCalls]]:
    """A fresh account prepared for the scenario, a cold secret cache, and a call recorder."""
    with fresh_service():
        api = Api()
        owner = bootstrap_key("100000000001", "owner")
        arguments = scenario.prepare(api, owner)
        key_material.forget_all()
        recorder = AwsCalls()
        try:
            yield api, owner, arguments, recorder
        finally:
            recorder.close()


def _calls_of(scenario: Scenario) -> list[str]:
    with _prepared(scenario) as (api, owner, arguments, recorder):
        response = api.call(scenario.event, owner, **arguments)
        assert response.status == scenario.success, response.raw_body
        return recorder.calls


def _record_of(request_id: str) -> dict[str, Any] | None:
    for item in scan_table(settings().records_table_name):
        if item.get("RequestId", {}).get("S") == request_id:
            return item
    return None


def _failed_attempt_codes() -> list[str]:
    return [
        item["ErrorCode"]["S"]
        for item in scan_table(settings().records_table_name)
        if item["SecretIdShard"]["S"].endswith("#F")
    ]


def _expected(scenario: Scenario, fault: Fault, call: str) -> tuple[int, str | None]:
    if fault.name == "throttle":
        return 429, "RequestLimitExceeded"
    if fault.name == "conditional-failure" and call == "dynamodb:PutItem":
        return 401, "AuthFailure.SignatureFailure"  # the guard: this signature was used already
    if fault.name == "conditional-failure":
        return CONDITIONAL_ANSWERS[scenario.operation]
    return 500, "InternalError"


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.name)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.operation)
def test_a_failed_aws_call_gets_a_clear_answer_leaves_no_partial_state_and_a_retry_succeeds(
    scenario: Scenario, fault: Fault, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence = _calls_of(scenario)
    assert sequence[-1] == RECORD_WRITE  # the access record is the last call of every request

    targets = [
        (position, call)
        for position, call in enumerate(sequence, 1)
        if fault.applies_to(call) and not (fault.name == "conditional-failure" and position == len(sequence))
    ]
    if not targets:
        pytest.skip(f"{scenario.operation} makes no call a {fault.name} applies to")
    for position, call in targets:
        with _prepared(scenario) as (api, owner, arguments, recorder):
            fault.inject(recorder, position, call)
            capsys.readouterr()
            response = api.call(scenario.event, owner, **arguments)
            injected.append(f"{scenario.operation}:{call}#{position}:{fault.name}")
            where = f"{fault.name} in {call} (call {position} of {sequence})"

            assert response.body["RequestId"] == response.headers["X-Request-Id"], where
            assert invariant_violations() == [], where
            if position == len(sequence):
                # The record's write failed: the outcome stands and the loss is counted.
                assert response.status == scenario.success, where
                assert _record_of(response.body["RequestId"]) is None, where
                assert "AccessRecordsLost" in capsys.readouterr().out, where
                continue
            status, code = _expected(scenario, fault, call)
            assert (response.status, response.error_code) == (status, code), f"{where}: {response.raw_body}"
            record = _record_of(response.body["RequestId"])
            if position == 1:  # the key itself could not be read: no owner to record it for
                assert record is None, where
                continue_with_retry = True
            elif call == "kms:Decrypt":
                # The signature could not be checked, so nothing proves the key's SecretKey signed
                # it: it is counted as a failed attempt, never as an access record.
                assert record is None, where
                assert _failed_attempt_codes() == [code], where
                continue_with_retry = True
            else:
                assert record is not None, where
                assert record.get("ErrorCode", {}).get("S") == code, where
                continue_with_retry = code is not None
            if not continue_with_retry:
                continue

            retried = api.call(scenario.event, owner, **arguments)

            assert retried.status == scenario.success, f"retry after {where}: {retried.raw_body}"
            assert invariant_violations() == [], f"retry after {where}"


def test_the_fault_suite_injected_a_fault_into_every_call(request: pytest.FixtureRequest) -> None:
    """Printed for docs/reliability.md; runs last in this module."""
    figure(f"faults injected: {len(injected)} ({len(set(injected))} distinct call and fault pairs)")
    if request.config.option.keyword or request.config.option.markexpr:
        pytest.skip("only meaningful when the whole module runs")
    assert len(injected) >= len(SCENARIOS) * 3 * 3


def test_a_delete_whose_condition_keeps_failing_on_an_inactive_key_is_an_internal_error(
    api: Api, alice: Credentials, aws_calls: AwsCalls
) -> None:
    secret_id = second_key(api, alice, disabled=True)
    aws_calls.reset()
    aws_calls.fail_next(
        "dynamodb:TransactWriteItems",
        code="TransactionCanceledException",
        status=400,
        times=2,
        extra={"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}, {"Code": "None"}]},
    )

    refused = api.call("DeleteAccessKey/delete", alice, secret_id=secret_id)
    still_there = api.call("GetAccessKey/get", alice, secret_id=secret_id)
    retried = api.call("DeleteAccessKey/delete", alice, secret_id=secret_id)

    assert (refused.status, refused.error_code) == (500, "InternalError")
    assert still_there.body["AccessKey"]["Status"] == "Inactive"
    assert aws_calls.count("dynamodb:TransactWriteItems") == 3
    assert retried.status == 200
    assert invariant_violations() == []
