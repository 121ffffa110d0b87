"""access_keys_verifier against the real VerifyRequestFunction, in-process, on moto.

A platform service's code, unchanged: the package builds the canonical request and invokes the
function through a Lambda client; here that client is `InProcessLambda`, which hands the payload
bytes to the handler template.yaml names (`load_handler("VerifyRequest")`) and answers the way
boto3's `invoke` does, `FunctionError` included when the handler raises. Every rule of API.md's
"Verification for the platform's services" can then be checked through the package a service
team uses, with the key's records read back through the API.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import pytest
from access_keys_verifier import Caller, Refusal, Verifier, verified
from harness import Api, Credentials, LambdaContext, load_handler

from access_keys import signing
from access_keys.dal import key_store
from access_keys.domain import Status

SERVICE = "cvm"
HOST = "cvm.platform.example.com"


class InProcessLambda:
    """boto3's Lambda client as the package uses it, calling VerifyRequestFunction's handler in-process."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, Payload: bytes, InvocationType: str = "RequestResponse") -> dict[str, Any]:
        assert InvocationType == "RequestResponse"
        payload = json.loads(Payload)
        self.payloads.append(payload)
        handler = load_handler("VerifyRequest").lambda_handler
        try:
            answer = handler(payload, LambdaContext(function_name=FunctionName))
        except Exception as error:  # as Lambda reports an unhandled error: StatusCode 200, FunctionError
            report = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(report).encode())}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


def signed_for(credentials: Credentials, *, method: str, path: str, body: bytes, action: str) -> dict[str, Any]:
    """The parts of a request signed for SERVICE with `credentials`, as the service receives them."""
    timestamp = int(time.time())
    date = signing.utc_date(timestamp)
    headers = {
        "content-type": "application/json",
        "host": HOST,
        "x-tc-action": action,
        "x-tc-timestamp": str(timestamp),
    }
    canonical = signing.canonical_request(
        method=method, path=path, query="", headers=headers, signed_headers=("content-type", "host"), body=body
    )
    scope = f"{date}/{SERVICE}/{signing.TERMINATOR}"
    signature = signing.signature(
        signing.signing_key(credentials.secret_key, date, SERVICE, signing.TERMINATOR),
        signing.string_to_sign(timestamp, scope, signing.hashed(canonical)),
    )
    headers["authorization"] = (
        f"{signing.ALGORITHM} Credential={credentials.secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )
    return {"method": method, "path": path, "query": "", "headers": headers, "body": body}


def test_a_request_signed_for_the_service_is_verified_and_recorded(api: Api, alice: Credentials) -> None:
    # Given cvm's verifier, talking to the real function in-process
    verifier = Verifier(SERVICE, lambda_client=InProcessLambda())

    # When cvm verifies a request alice signed for it
    request = signed_for(alice, method="POST", path="/", body=b'{"Limit": 1}', action="DescribeInstances")
    caller = verifier.verify(
        **request,
        action="DescribeInstances",
        changes_state=False,
        source_ip="203.0.113.7",
        user_agent="tencentcloud-sdk-python/3.1",
        request_id=str(uuid.uuid4()),
    )

    # Then the caller is alice's key, and her records show the call with its Service and Action
    assert caller.secret_id == alice.secret_id
    records = api.call("ListAccessRecords/list", alice, secret_id=alice.secret_id).body["AccessRecords"]
    assert any(
        (record["Service"], record["Action"], record["Result"]) == (SERVICE, "DescribeInstances", "Success")
        for record in records
    )


def _verify(verifier: Verifier, request: dict[str, Any], *, changes_state: bool = False) -> Caller:
    return verifier.verify(
        **request,
        action=request["headers"]["x-tc-action"],
        changes_state=changes_state,
        source_ip="203.0.113.7",
        user_agent="tencentcloud-sdk-python/3.1",
        request_id=str(uuid.uuid4()),
    )


def test_a_disable_refuses_the_next_verify_and_the_owner_sees_both(api: Api, alice: Credentials) -> None:
    lambda_client = InProcessLambda()
    verifier = Verifier(SERVICE, lambda_client=lambda_client)
    created = api.call("CreateAccessKey/create", alice, body={"Description": "cvm"}).body["AccessKey"]
    bot = Credentials.of(created)
    _verify(verifier, signed_for(bot, method="POST", path="/", body=b"{}", action="DescribeInstances"))

    key_store.set_status(bot.secret_id, Status.INACTIVE, signed_at=0, changed_at=0)
    with pytest.raises(Refusal) as refused:
        _verify(verifier, signed_for(bot, method="POST", path="/", body=b"{}", action="DescribeZones"))

    assert (refused.value.code, refused.value.status) == ("AuthFailure.SecretIdNotFound", 401)
    assert all(
        "body" not in payload and b"{}" not in json.dumps(payload).encode() for payload in lambda_client.payloads
    )
    records = api.call("ListAccessRecords/list", alice, secret_id=bot.secret_id).body["AccessRecords"]
    assert [(r["Service"], r["Action"], r["Result"]) for r in records if r["Service"] == SERVICE] == [
        (SERVICE, "DescribeZones", "Failure"),
        (SERVICE, "DescribeInstances", "Success"),
    ]


def test_a_state_changing_request_is_accepted_once_through_the_package(alice: Credentials) -> None:
    verifier = Verifier(SERVICE, lambda_client=InProcessLambda())
    request = signed_for(alice, method="POST", path="/", body=b'{"Name": "a"}', action="RunInstances")

    _verify(verifier, request, changes_state=True)
    with pytest.raises(Refusal) as replayed:
        _verify(verifier, request, changes_state=True)

    assert replayed.value.code == "AuthFailure.SignatureFailure"


def test_the_service_reports_its_own_refusal_and_the_record_shows_it(api: Api, alice: Credentials) -> None:
    verifier = Verifier(SERVICE, lambda_client=InProcessLambda())
    caller = _verify(verifier, signed_for(alice, method="POST", path="/", body=b"{}", action="StopInstances"))

    assert verifier.report_refusal(caller, "UnauthorizedOperation") is True
    assert verifier.report_refusal(caller, "UnauthorizedOperation") is False  # once

    records = api.call("ListAccessRecords/list", alice, secret_id=alice.secret_id).body["AccessRecords"]
    (stopped,) = [r for r in records if r["Action"] == "StopInstances"]
    assert (stopped["Result"], stopped["ErrorCode"]) == ("Failure", "UnauthorizedOperation")


def test_the_decorator_answers_a_tencent_style_refusal_itself(alice: Credentials) -> None:
    verifier = Verifier(SERVICE, lambda_client=InProcessLambda())

    @verified(verifier, envelope="tencent", changes_state=False)
    def handler(event: dict[str, Any], context: Any, caller: Caller) -> dict[str, Any]:
        return {"statusCode": 200, "body": json.dumps({"Response": {"Caller": caller.secret_id}})}

    request = signed_for(Credentials.forged(alice.secret_id), method="POST", path="/", body=b"{}", action="Describe")
    event = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": request["headers"],
        "body": "{}",
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "sourceIp": "198.51.100.1", "userAgent": "x"}, "requestId": "r1"},
    }

    answer = handler(event, None)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert answer["headers"]["Cache-Control"] == "no-store"


def test_report_refusal_takes_the_caller_back_to_the_verifier_that_accepted_it(api: Api, alice: Credentials) -> None:
    from access_keys_verifier import report_refusal

    verifier = Verifier(SERVICE, lambda_client=InProcessLambda())
    caller = _verify(verifier, signed_for(alice, method="POST", path="/", body=b'{"x": 1}', action="StartInstances"))

    assert report_refusal(caller, "ResourceInsufficient") is True
    records = api.call("ListAccessRecords/list", alice, secret_id=alice.secret_id).body["AccessRecords"]
    (started,) = [r for r in records if r["Action"] == "StartInstances"]
    assert (started["Result"], started["ErrorCode"]) == ("Failure", "ResourceInsufficient")
    with pytest.raises(TypeError):
        report_refusal(Caller(alice.secret_id, "100000000001", "made-up"), "X")
