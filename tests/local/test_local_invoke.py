"""The local stack's Lambda Invoke API, through boto3's own lambda client, as a platform service calls it."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import StackProcess, free_port, stack_environment, unique_uin

from access_keys_tools.events import EVENTS_DIR, load_event, sign_event
from access_keys_tools.local import names
from access_keys_tools.template import resources_of_type

FUNCTIONS = sorted(resources_of_type("AWS::Serverless::Function"))


def lambda_client(stack: LocalStack) -> Any:
    """What a service of the platform builds, pointed at the stack instead of AWS."""
    return boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name=names.REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # not a secret: the stack checks no AWS signature
        config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=120),
    )


def invoke(stack: LocalStack, function_name: str, event: Any, **arguments: Any) -> tuple[dict[str, Any], Any]:
    """The invoke response, and its payload decoded (None when there is none)."""
    response = lambda_client(stack).invoke(FunctionName=function_name, Payload=json.dumps(event), **arguments)
    raw = response["Payload"].read().decode("utf-8")
    LEDGER.saw_response(raw)
    return response, json.loads(raw) if raw else None


def test_an_api_function_answers_a_signed_event_as_api_gateway_would_get_it(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "invoked")
    event = sign_event(load_event("ListAccessKeys/list"), secret_id=owner.secret_id, secret_key=owner._secret_key)

    response, answer = invoke(local_stack, "ListAccessKeysFunction", event)

    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert (response["StatusCode"], response.get("FunctionError"), response["ExecutedVersion"]) == (
        200,
        None,
        "$LATEST",
    )
    assert headers["content-type"] == "application/json"
    assert answer["statusCode"] == 200, answer
    body = json.loads(answer["body"])
    assert [(key["SecretId"], key["Description"]) for key in body["AccessKeys"]] == [(owner.secret_id, "invoked")]
    assert body["RequestId"] == event["requestContext"]["requestId"]


def test_the_cleanup_runs_on_a_scheduled_event_and_returns_its_outcome(local_stack: LocalStack) -> None:
    response, outcome = invoke(local_stack, "CleanupFunction", load_event("Cleanup/scheduled"))

    assert (response["StatusCode"], response.get("FunctionError")) == (200, None)
    # Its reserved concurrency of 1 holds this invocation until the scheduled run is done.
    assert set(outcome) == {"ran", "passCompleted", "stoppedEarly", "progress"}
    assert (outcome["ran"], outcome["passCompleted"], outcome["stoppedEarly"]) == (True, True, False)


@pytest.mark.parametrize("function_name", FUNCTIONS)
def test_every_function_of_the_template_is_invocable_with_its_stored_events(
    local_stack: LocalStack, function_name: str
) -> None:
    short_name = function_name.removesuffix("Function")
    stored = sorted(EVENTS_DIR.glob(f"{short_name}/*.json"))

    dry_run = lambda_client(local_stack).invoke(FunctionName=function_name, InvocationType="DryRun")
    answers = {
        path.stem: invoke(local_stack, function_name, load_event(f"{short_name}/{path.stem}")) for path in stored
    }

    assert dry_run["StatusCode"] == 204
    for name, (response, _) in answers.items():
        # A stored HTTP event's signature is stale: the function answers it with a refusal, not an error.
        assert (response["StatusCode"], response.get("FunctionError")) == (200, None), (name, response)


def test_an_unknown_function_raises_resource_not_found(local_stack: LocalStack) -> None:
    client = lambda_client(local_stack)

    with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="CleanupFunction", Qualifier="1", Payload=b"{}")

    error = missing.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction"
    )
    assert error["Type"] == "User"


def test_a_payload_that_is_not_json_raises_invalid_request_content(local_stack: LocalStack) -> None:
    client = lambda_client(local_stack)

    with pytest.raises(client.exceptions.InvalidRequestContentException) as refused:
        client.invoke(FunctionName="ListAccessKeysFunction", Payload=b'{"version": "2.0",')

    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_a_payload_over_six_megabytes_raises_request_too_large(local_stack: LocalStack) -> None:
    client = lambda_client(local_stack)

    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="CleanupFunction", Payload=json.dumps("x" * (6 * 1024 * 1024)))


def test_an_event_invocation_answers_202_and_the_function_runs(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())
    event = sign_event(load_event("ListAccessKeys/list"), secret_id=owner.secret_id, secret_key=owner._secret_key)

    response = lambda_client(local_stack).invoke(
        FunctionName="ListAccessKeysFunction", InvocationType="Event", Payload=json.dumps(event)
    )

    assert (response["StatusCode"], response["Payload"].read()) == (202, b"")
    # The call ran in the background: its access record shows in the key's records.
    deadline = time.monotonic() + 20
    actions: list[str] = []
    while "ListAccessKeys" not in actions and time.monotonic() < deadline:
        time.sleep(0.2)
        actions = [record["Action"] for record in owner.list_access_records(owner.secret_id)["AccessRecords"]]
    assert "ListAccessKeys" in actions


@pytest.mark.parametrize(
    "function_name",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:ListAccessKeysFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:ListAccessKeysFunction:$LATEST",
        "123456789012:function:ListAccessKeysFunction",
        "ListAccessKeysFunction:$LATEST",
    ],
)
def test_an_arn_or_a_qualified_name_reaches_the_function(local_stack: LocalStack, function_name: str) -> None:
    owner = local_stack.bootstrap(unique_uin())
    event = sign_event(load_event("ListAccessKeys/list"), secret_id=owner.secret_id, secret_key=owner._secret_key)

    response, answer = invoke(local_stack, function_name, event)

    assert (response["StatusCode"], answer["statusCode"]) == (200, 200), answer
    assert json.loads(answer["body"])["AccessKeys"][0]["SecretId"] == owner.secret_id


def test_a_function_that_raises_answers_200_with_lambdas_error_document(local_stack: LocalStack) -> None:
    # A list is valid JSON, but no event any handler of the template reads.
    response, document = invoke(local_stack, "ConsoleFunction", [1, 2])

    assert (response["StatusCode"], response["FunctionError"]) == (200, "Unhandled")
    assert set(document) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert document["errorType"].isidentifier()  # the exception's class name, as Lambda's runtime reports it
    assert document["stackTrace"]
    assert all(line.startswith("  File ") for line in document["stackTrace"])
    assert not any("access_keys_tools/local/worker.py" in line for line in document["stackTrace"])


def test_other_methods_and_paths_get_404(local_stack: LocalStack) -> None:
    for method, path in (
        ("GET", "/2015-03-31/functions/CleanupFunction/invocations"),
        ("GET", "/2015-03-31/functions/CleanupFunction"),
        ("POST", "/2015-03-31/functions/CleanupFunction/invoke-async"),
        ("GET", "/"),
    ):
        request = urllib.request.Request(local_stack.lambda_url + path, method=method)  # noqa: S310 - loopback
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310

        assert refused.value.code == 404, (method, path)
        assert refused.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_the_banner_names_the_invoke_api(local_stack: LocalStack) -> None:
    assert f"Lambda    {local_stack.lambda_url}" in local_stack.process.banner


def test_botocore_errors_are_client_errors_not_connection_errors(local_stack: LocalStack) -> None:
    """Every refusal is an answer botocore parses, never a dropped connection."""
    client = lambda_client(local_stack)

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.invoke(FunctionName="CleanupFunction", InvocationType="Later", Payload=b"{}")

    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_ctrl_c_with_invocations_in_flight_leaves_no_process_behind(tmp_path: Path) -> None:
    lambda_port = free_port()
    stack = StackProcess(
        [sys.executable, "-m", "access_keys_tools.local"],
        env=stack_environment(PORT=str(free_port()), MOTO_PORT=str(free_port()), LAMBDA_PORT=str(lambda_port)),
        log_path=tmp_path / "stack.log",
        timeout=60,
    )
    try:
        client = lambda_client(LocalStack("", "", stack, lambda_url=names.lambda_url(lambda_port)))
        for function_name in FUNCTIONS:  # cold starts, in the background, when Ctrl-C comes
            client.invoke(FunctionName=function_name, InvocationType="Event", Payload=b"{}")

        def wait_for_the_cleanup() -> None:  # a caller waiting for its answer when Ctrl-C comes
            with contextlib.suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                client.invoke(FunctionName="CleanupFunction", Payload=b"{}")

        threading.Thread(target=wait_for_the_cleanup, daemon=True).start()
        exit_code, rest, left = stack.interrupt()
    finally:
        stack.kill()  # only if Ctrl-C did not end it: nothing may outlive the test

    assert exit_code == 0, rest
    assert "Stopped." in rest
    assert left == [], f"processes left after Ctrl-C: {left}"
