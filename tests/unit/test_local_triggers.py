"""The local stream trigger keeps Lambda's contract for DynamoDB stream event sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from access_keys_tools.local.functions import InvocationError
from access_keys_tools.local.triggers import StreamTrigger
from access_keys_tools.template import resources_of_type

STREAM_EVENT = resources_of_type("AWS::Serverless::Function")["RecordLastAccessFunction"]["Properties"]["Events"][
    "AccessRecordsStream"
]


@dataclass
class Spec:
    logical_id: str = "RecordLastAccessFunction"
    short_name: str = "RecordLastAccess"


@dataclass
class ScriptedFunction:
    """Answers each invocation with the next scripted outcome: a response, or an exception."""

    outcomes: list[Any]
    spec: Spec = field(default_factory=Spec)
    batches: list[list[str]] = field(default_factory=list)

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        self.batches.append([record["dynamodb"]["SequenceNumber"] for record in event["Records"]])
        outcome = self.outcomes.pop(0) if self.outcomes else {"batchItemFailures": []}
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def records(count: int) -> list[dict[str, Any]]:
    return [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(100 + index)}} for index in range(count)]


def trigger(function: ScriptedFunction) -> StreamTrigger:
    return StreamTrigger(function, STREAM_EVENT, reader=None, backoff_seconds=0)  # type: ignore[arg-type]


def failed(*sequence_numbers: str) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": number} for number in sequence_numbers]}


def test_a_partial_failure_is_retried_from_the_first_failed_record() -> None:
    function = ScriptedFunction([failed("103", "101")])

    trigger(function)._deliver(records(5))

    assert function.batches == [["100", "101", "102", "103", "104"], ["101", "102", "103", "104"]]


def test_an_unknown_item_identifier_fails_the_whole_batch() -> None:
    function = ScriptedFunction([failed("999")])

    trigger(function)._deliver(records(3))

    assert function.batches == [["100", "101", "102"], ["100", "101", "102"]]


def test_a_function_error_bisects_the_batch() -> None:
    function = ScriptedFunction([InvocationError("boom")])

    trigger(function)._deliver(records(4))

    assert function.batches == [["100", "101", "102", "103"], ["100", "101"], ["102", "103"]]


def test_a_record_that_keeps_failing_is_dropped_after_the_templates_retries() -> None:
    retries = STREAM_EVENT["Properties"]["MaximumRetryAttempts"]
    function = ScriptedFunction([failed("100")] * (retries + 5))

    trigger(function)._deliver(records(1))

    assert len(function.batches) == retries + 1  # the first attempt and its retries, then it moves on
