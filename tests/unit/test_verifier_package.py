"""access_keys_verifier, the package a platform service verifies its requests with, without AWS.

Its canonical request is proved against an independent signer, Tencent Cloud's Python SDK
(`AbstractClient._build_req_with_tc3_signature` and `_get_tc3_signature`, as in
test_signing_reference.py), for a platform service `cvm`, and against the access-key service's
own definition (`access_keys.signing.canonical_request`). The Lambda Invoke API is a fake
client shaped like boto3's: `invoke(FunctionName=..., InvocationType=..., Payload=...)`
answering `{"StatusCode", "Payload": <stream>}`, plus `FunctionError` when the function raised.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import importlib
import io
import json
import sys
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlencode

import pytest
from access_keys_verifier import (
    Caller,
    Refusal,
    Request,
    Verifier,
    canonical_request_hash,
    refusal_response,
    status_of,
    verified,
)
from access_keys_verifier.events import rebuilt_query
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from tencentcloud.common import abstract_client
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.sign import Sign

from access_keys import signing

# The SDK dates its scope with datetime.utcfromtimestamp, deprecated since Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning")

SECRET_ID = "AKIDq3Rv8mWZtY6pLc2NbX0sJd4HkE7uGa1F"
OTHER_SECRET_ID = "AKIDz9Tn4bLx0cVw7QmR2sHy5KdJ8gFp3eA6"
SECRET_KEY = "q8VbN3mZx4Lr7TcW1pYs6HdK0jFg2Ae5"
HOST = "cvm.platform.example.com"
SERVICE = "cvm"
TIMESTAMP = 1_764_547_200  # 2025-12-01T00:00:00Z
DATE = "2025-12-01"
SOURCE_IP = "203.0.113.7"
USER_AGENT = "tencentcloud-sdk-python/3.1"
REQUEST_ID = "c0ffee00-1111-2222-3333-444455556666"
RECORD_ID = "rec-opaque-0001"
FORM = "application/x-www-form-urlencoded"


class CvmClient(abstract_client.AbstractClient):
    """An SDK client for a platform service `cvm`: the SDK puts `cvm` in the credential scope."""

    _service = SERVICE
    _apiVersion = "2017-03-12"
    _default_content_type = "application/json"


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    path: str
    action: str
    params: dict[str, Any]
    form: bool = False  # a POST whose body is application/x-www-form-urlencoded


@dataclasses.dataclass(frozen=True)
class Signed:
    """A request as the SDK signed it and the service receives it, and the hash the SDK signed."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # the SDK's own header names, mixed case
    body: bytes
    action: str
    sdk_hash: str  # the last line of the SDK's StringToSign

    @property
    def authorization(self) -> str:
        return self.headers["Authorization"]

    def parts(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
        }


GET_WITH_QUERY = Call("GET", "/v1/instances", "DescribeInstances", {"Limit": 5, "Name": "web 1", "Tag": "env:prod/é"})
POST_JSON = Call("POST", "/", "RunInstances", {"InstanceName": "web 1", "Count": 2, "Zone": "ap-guangzhou-3"})
POST_FORM = Call("POST", "/v1/instances", "RunInstances", {"InstanceName": "web 1", "Note": "a&b=c+d"}, form=True)
CALLS = [
    pytest.param(GET_WITH_QUERY, id="GET-with-query"),
    pytest.param(POST_JSON, id="POST-json"),
    pytest.param(POST_FORM, id="POST-form"),
]


def sdk_sign(call: Call) -> Signed:
    """Sign `call` with the SDK's own code, recording the StringToSign it signs."""
    signed: list[str] = []

    class RecordingSign:
        @staticmethod
        def sign_tc3(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
            signed.append(string_to_sign)
            return Sign.sign_tc3(secret_key, date, service, string_to_sign)

    client = CvmClient(Credential(SECRET_ID, SECRET_KEY), "", ClientProfile(httpProfile=HttpProfile(endpoint=HOST)))
    req = RequestInternal(HOST, call.method, call.path)
    with (
        mock.patch.object(abstract_client, "time", SimpleNamespace(time=lambda: float(TIMESTAMP))),
        mock.patch.object(abstract_client, "Sign", RecordingSign),
    ):
        client._build_req_with_tc3_signature(call.action, call.params, req)
        if call.form:
            # The SDK's POST is JSON; a form POST is the same request with a form body, still
            # canonicalised and signed by the SDK's _get_tc3_signature.
            req.header["Content-Type"] = FORM
            req.data = urlencode(call.params)
            signature = client._get_tc3_signature(call.params, req, DATE, SERVICE, SECRET_KEY)
            req.header["Authorization"] = (
                f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{DATE}/{SERVICE}/tc3_request, "
                f"SignedHeaders=content-type;host, Signature={signature}"
            )
    is_get = call.method == "GET"
    return Signed(
        method=req.method,
        path=req.uri,
        query=req.data if is_get else "",
        headers=dict(req.header),
        body=b"" if is_get else req.data.encode("utf-8"),
        action=call.action,
        sdk_hash=signed[-1].rsplit("\n", 1)[1],
    )


def tc3_signature(canonical_hash: str) -> str:
    """API.md's Signature over a canonical request known by its hash, with the standard library."""
    key = hmac.digest(("TC3" + SECRET_KEY).encode(), DATE.encode(), "sha256")
    key = hmac.digest(key, SERVICE.encode(), "sha256")
    key = hmac.digest(key, b"tc3_request", "sha256")
    string_to_sign = f"TC3-HMAC-SHA256\n{TIMESTAMP}\n{DATE}/{SERVICE}/tc3_request\n{canonical_hash}"
    return hmac.digest(key, string_to_sign.encode(), "sha256").hex()


# ------------------------------------------------------------------------ the fake Lambda client


class FakeLambda:
    """boto3's Lambda client as far as the package uses it: `invoke`, answering `answer` as JSON."""

    def __init__(
        self,
        answer: Any = None,
        *,
        raw: bytes | None = None,
        function_error: str | None = None,
        status: int = 200,
        error: Exception | None = None,
    ) -> None:
        self.answer = answer
        self.raw = raw
        self.function_error = function_error
        self.status = status
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, Payload: bytes, InvocationType: str = "RequestResponse") -> dict[str, Any]:
        self.calls.append({"FunctionName": FunctionName, "InvocationType": InvocationType, "Payload": Payload})
        if self.error is not None:
            raise self.error
        raw = self.raw if self.raw is not None else json.dumps(self.answer).encode()
        response: dict[str, Any] = {"StatusCode": self.status, "Payload": io.BytesIO(raw)}
        if self.function_error is not None:
            response["FunctionError"] = self.function_error
        return response

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.calls[-1]["Payload"])


def accepted(secret_id: str = SECRET_ID) -> dict[str, Any]:
    return {"Valid": True, "SecretId": secret_id, "Uin": "100000000001", "RecordId": RECORD_ID, "RequestId": REQUEST_ID}


def refused(code: str, record_id: str | None = RECORD_ID) -> dict[str, Any]:
    return {
        "Valid": False,
        "Error": {"Code": code, "Message": f"{code}, said"},
        "RecordId": record_id,
        "RequestId": REQUEST_ID,
    }


def verify(verifier: Verifier, signed: Signed, **overrides: Any) -> Caller:
    arguments: dict[str, Any] = {
        **signed.parts(),
        "action": signed.action,
        "source_ip": SOURCE_IP,
        "user_agent": USER_AGENT,
        "request_id": REQUEST_ID,
        **overrides,
    }
    return verifier.verify(**arguments)


def with_header(signed: Signed, name: str, value: str | None) -> Signed:
    headers = {key: val for key, val in signed.headers.items() if key.lower() != name.lower()}
    if value is not None:
        headers[name] = value
    return dataclasses.replace(signed, headers=headers)


# --- 1. The canonical request is the SDK's, and the access-key service's -----------------------


@pytest.mark.parametrize("call", CALLS)
def test_the_canonical_request_hash_is_the_one_the_sdk_signs(call: Call) -> None:
    # Given a request signed by Tencent Cloud's SDK for the service cvm
    signed = sdk_sign(call)
    assert signed.authorization.startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{DATE}/cvm/tc3_request, ")

    # When the package builds its canonical request from what the service received
    ours = canonical_request_hash(**signed.parts())

    # Then it is the SDK's, and the SDK's signature is a signature over it
    assert ours == signed.sdk_hash
    assert signed.authorization.endswith(f"Signature={tc3_signature(ours)}")


def test_the_sdk_requests_have_the_shapes_the_tests_mean() -> None:
    get, post, form = sdk_sign(GET_WITH_QUERY), sdk_sign(POST_JSON), sdk_sign(POST_FORM)

    assert (get.query, get.body) == ("Limit=5&Name=web+1&Tag=env%3Aprod%2F%C3%A9", b"")
    assert (post.path, post.query, post.headers["Content-Type"]) == ("/", "", "application/json")
    assert json.loads(post.body) == POST_JSON.params
    assert (form.headers["Content-Type"], form.body) == (FORM, b"InstanceName=web+1&Note=a%26b%3Dc%2Bd")
    assert post.headers["X-TC-Action"] == "RunInstances"


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "signed_headers",
    [("content-type", "host"), ("content-type", "host", "x-tc-action", "x-tc-timestamp")],
    ids=["stock-sdk-headers", "more-headers-signed"],
)
def test_the_canonical_request_is_the_access_key_services_own(call: Call, signed_headers: tuple[str, ...]) -> None:
    # Given a request whose Authorization lists the signed headers
    signed = sdk_sign(call)
    authorization = signed.authorization.replace(
        "SignedHeaders=content-type;host,", f"SignedHeaders={';'.join(signed_headers)},"
    )
    signed = with_header(signed, "Authorization", authorization)

    # When the package hashes it, taking SignedHeaders from the Authorization header
    ours = canonical_request_hash(**signed.parts())

    # Then it is the hash of access_keys.signing.canonical_request, the service's definition
    theirs = signing.canonical_request(
        method=signed.method,
        path=signed.path,
        query=signed.query,
        headers={name.lower(): value for name, value in signed.headers.items()},
        signed_headers=signed_headers,
        body=signed.body,
    )
    assert ours == hashlib.sha256(theirs.encode()).hexdigest()


def test_header_names_are_read_in_any_case_and_values_trimmed_and_lower_cased() -> None:
    signed = sdk_sign(POST_JSON)
    shouted = {name.upper(): value for name, value in signed.headers.items()}
    padded = {**signed.headers, "Host": f"  {HOST.upper()}\t", "Content-Type": " Application/JSON "}

    assert canonical_request_hash(**{**signed.parts(), "headers": shouted}) == signed.sdk_hash
    assert canonical_request_hash(**{**signed.parts(), "headers": padded}) == signed.sdk_hash


# --- 2. The VerifyRequest payload -----------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS)
def test_the_payload_has_exactly_the_contracts_fields_and_no_body(call: Call) -> None:
    # Given a service's verifier and a request signed by the SDK
    client = FakeLambda(accepted())
    verifier = Verifier(
        SERVICE, function_name="arn:aws:lambda:eu-west-1:123456789012:function:Verify", lambda_client=client
    )
    signed = sdk_sign(call)

    # When the service verifies the request
    verify(verifier, signed, changes_state=False)

    # Then one RequestResponse invoke carries exactly the contract's fields
    [invoked] = client.calls
    assert invoked["FunctionName"] == "arn:aws:lambda:eu-west-1:123456789012:function:Verify"
    assert invoked["InvocationType"] == "RequestResponse"
    assert client.payload == {
        "Operation": "VerifyRequest",
        "Service": "cvm",
        "Action": call.action,
        "Authorization": signed.authorization,
        "Timestamp": str(TIMESTAMP),
        "CanonicalRequestHash": signed.sdk_hash,
        "ChangesState": False,
        "SourceIp": SOURCE_IP,
        "UserAgent": USER_AGENT,
        "RequestId": REQUEST_ID,
    }
    # And nothing of the body: not its bytes, not its parameters' values
    sent = invoked["Payload"].decode()
    for value in ("web 1", "web+1", "ap-guangzhou-3", "a%26b"):
        assert value not in sent


def test_the_payload_carries_the_timestamp_text_as_sent_and_leaves_out_an_absent_user_agent() -> None:
    client = FakeLambda(accepted())
    signed = with_header(sdk_sign(POST_JSON), "X-TC-Timestamp", f" {TIMESTAMP}")

    verify(Verifier(SERVICE, lambda_client=client), signed, user_agent=None)

    assert client.payload["Timestamp"] == f" {TIMESTAMP}"
    assert "UserAgent" not in client.payload
    assert client.payload["ChangesState"] is True  # the default: single use


def test_a_valid_answer_is_the_caller() -> None:
    verifier = Verifier(SERVICE, lambda_client=FakeLambda(accepted()))

    caller = verify(verifier, sdk_sign(POST_JSON))

    assert caller == Caller(secret_id=SECRET_ID, uin="100000000001", record_id=RECORD_ID)


REFUSALS = [
    ("AuthFailure.SignatureFailure", 401),
    ("AuthFailure.SecretIdNotFound", 401),
    ("AuthFailure.SignatureExpire", 401),
    ("AuthFailure.InvalidAuthorization", 401),
    ("AuthFailure.TokenFailure", 401),
    ("RequestLimitExceeded", 429),
    ("InternalError", 500),
    ("InvalidParameter", 400),
    ("InvalidParameterValue", 400),
    ("MissingParameter", 400),
    ("UnknownParameter", 400),
]


@pytest.mark.parametrize(("code", "status"), REFUSALS)
def test_each_refusal_is_raised_with_the_status_to_answer(code: str, status: int) -> None:
    record_id = None if status == 400 else RECORD_ID  # a malformed VerifyRequest makes no record
    verifier = Verifier(SERVICE, lambda_client=FakeLambda(refused(code, record_id)))

    with pytest.raises(Refusal) as refusal:
        verify(verifier, sdk_sign(POST_JSON))

    assert (refusal.value.code, refusal.value.message) == (code, f"{code}, said")
    assert (refusal.value.status, refusal.value.record_id) == (status, record_id)
    assert status_of(code) == status


def test_a_code_the_package_does_not_know_is_still_a_refusal() -> None:
    verifier = Verifier(SERVICE, lambda_client=FakeLambda(refused("OperationDenied.Someday")))

    with pytest.raises(Refusal) as refusal:
        verify(verifier, sdk_sign(POST_JSON))

    assert (refusal.value.code, refusal.value.status) == ("OperationDenied.Someday", 500)


# --- 3. Fail closed -----------------------------------------------------------------------------


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "denied"}}, "Invoke")


FAILURES = [
    pytest.param(FakeLambda(error=client_error("AccessDeniedException")), id="client-error-denied"),
    pytest.param(FakeLambda(error=client_error("TooManyRequestsException")), id="client-error-throttled"),
    pytest.param(FakeLambda(error=EndpointConnectionError(endpoint_url="http://127.0.0.1:3001")), id="unreachable"),
    pytest.param(FakeLambda(error=ReadTimeoutError(endpoint_url="https://lambda")), id="read-timeout"),
    # A function error is not a verdict, even when its payload looks like one.
    pytest.param(FakeLambda(accepted(), function_error="Unhandled"), id="function-error"),
    pytest.param(FakeLambda(accepted(), status=500), id="status-500"),
    pytest.param(FakeLambda(raw=b""), id="empty-payload"),
    pytest.param(FakeLambda(raw=b"not json"), id="garbage-payload"),
    pytest.param(FakeLambda(raw=b"\xff\xfe"), id="not-utf-8"),
    pytest.param(FakeLambda([accepted()]), id="a-list"),
    pytest.param(FakeLambda(None), id="null"),
    pytest.param(FakeLambda("Valid"), id="a-string"),
    pytest.param(FakeLambda({}), id="empty-object"),
    pytest.param(FakeLambda({**accepted(), "Valid": "true"}), id="valid-as-a-string"),
    pytest.param(FakeLambda({**accepted(), "Valid": 1}), id="valid-as-a-number"),
    pytest.param(FakeLambda({**accepted(), "Uin": None}), id="valid-without-uin"),
    pytest.param(FakeLambda({**accepted(), "RecordId": ""}), id="valid-without-record"),
    pytest.param(FakeLambda({**accepted(), "SecretId": 7}), id="valid-secret-id-not-a-string"),
    pytest.param(FakeLambda(accepted(OTHER_SECRET_ID)), id="valid-for-another-key"),
    pytest.param(FakeLambda({"Valid": False, "RecordId": None}), id="refused-without-error"),
    pytest.param(FakeLambda({"Valid": False, "Error": {"Code": 401}}), id="refused-code-not-a-string"),
    pytest.param(FakeLambda({"Valid": False, "Error": "AuthFailure"}), id="refused-error-not-an-object"),
]


@pytest.mark.parametrize("client", FAILURES)
def test_anything_but_a_verdict_is_an_internal_error(client: FakeLambda) -> None:
    verifier = Verifier(SERVICE, lambda_client=client)

    with pytest.raises(Refusal) as refusal:
        verify(verifier, sdk_sign(POST_JSON))

    assert (refusal.value.code, refusal.value.status, refusal.value.record_id) == ("InternalError", 500, None)
    assert "denied" not in refusal.value.message  # nothing internal is said


def test_without_boto3_the_package_imports_and_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a process where boto3 and botocore cannot be imported
    for name in [name for name in sys.modules if name.split(".")[0] == "access_keys_verifier"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "botocore", None)

    # When the package is imported, Then it imports
    package = importlib.import_module("access_keys_verifier")

    # And a verification without a Lambda client fails closed
    with pytest.raises(package.Refusal) as refusal:
        verify(package.Verifier(SERVICE), sdk_sign(POST_JSON))
    assert refusal.value.code == "InternalError"


# --- 4. Refused before asking, only when no canonical request can be built -------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("  ", id="blank"),
        pytest.param(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{DATE}/cvm/tc3_request, Signature=00", id="no-list"),
        pytest.param("TC3-HMAC-SHA256 Credential=x, SignedHeaders=content-type;x-nonce, Signature=0", id="not-sent"),
    ],
)
def test_a_request_without_a_canonical_request_is_refused_without_asking(authorization: str | None) -> None:
    client = FakeLambda(accepted())

    with pytest.raises(Refusal) as refusal:
        verify(
            Verifier(SERVICE, lambda_client=client), with_header(sdk_sign(POST_JSON), "Authorization", authorization)
        )

    assert (refusal.value.code, refusal.value.status, refusal.value.record_id) == (
        "AuthFailure.InvalidAuthorization",
        401,
        None,
    )
    assert client.calls == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("TC3-HMAC-SHA256 ", "TC3-HMAC-SHA1 ", id="wrong-algorithm"),
        pytest.param("SignedHeaders=content-type;host", "SignedHeaders=host;content-type", id="unsorted"),
        pytest.param("Signature=", "Signature=zz", id="malformed-signature"),
        pytest.param(f"/{DATE}/cvm/", "/2025-11-30/cos/", id="another-scope"),
    ],
)
def test_a_malformed_authorization_that_still_names_headers_is_the_services_to_judge(old: str, new: str) -> None:
    # The access-key service keeps the records: it sees the attempt, and says what is wrong.
    client = FakeLambda(refused("AuthFailure.InvalidAuthorization"))
    signed = sdk_sign(POST_JSON)
    tampered = with_header(signed, "Authorization", signed.authorization.replace(old, new, 1))

    with pytest.raises(Refusal) as refusal:
        verify(Verifier(SERVICE, lambda_client=client), tampered)

    assert client.payload["Authorization"] == tampered.authorization
    assert refusal.value.record_id == RECORD_ID


def test_a_missing_timestamp_is_sent_empty_for_the_service_to_refuse() -> None:
    client = FakeLambda(refused("AuthFailure.InvalidAuthorization"))

    with pytest.raises(Refusal):
        verify(Verifier(SERVICE, lambda_client=client), with_header(sdk_sign(POST_JSON), "X-TC-Timestamp", None))

    assert client.payload["Timestamp"] == ""


def test_temporary_credentials_are_refused_without_asking() -> None:
    client = FakeLambda(accepted())

    with pytest.raises(Refusal) as refusal:
        verify(Verifier(SERVICE, lambda_client=client), with_header(sdk_sign(POST_JSON), "X-TC-Token", "session"))

    assert (refusal.value.code, refusal.value.status) == ("AuthFailure.TokenFailure", 401)
    assert client.calls == []


# --- 5. API Gateway events ------------------------------------------------------------------------


def v2_event(signed: Signed, *, base64_body: bool = False) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": signed.path,
        "rawQueryString": signed.query,
        "headers": {name.lower(): value for name, value in signed.headers.items()},
        "requestContext": {
            "requestId": REQUEST_ID,
            "http": {"method": signed.method, "path": signed.path, "sourceIp": SOURCE_IP, "userAgent": USER_AGENT},
        },
        "body": (base64.b64encode(signed.body).decode() if base64_body else signed.body.decode()) or None,
        "isBase64Encoded": base64_body,
    }


def v1_event(signed: Signed, *, base64_body: bool = False) -> dict[str, Any]:
    """What API Gateway's payload 1.0 hands over: decoded query parameters, no raw query string."""
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(signed.query, keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    return {
        "resource": "/{proxy+}",
        "path": signed.path,
        "httpMethod": signed.method,
        "headers": dict(signed.headers),
        "multiValueHeaders": {name: [value] for name, value in signed.headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "requestContext": {
            "requestId": REQUEST_ID,
            "path": f"/prod{signed.path}",
            "identity": {"sourceIp": SOURCE_IP, "userAgent": USER_AGENT},
        },
        "body": (base64.b64encode(signed.body).decode() if base64_body else signed.body.decode()) or None,
        "isBase64Encoded": base64_body,
    }


EVENTS = [
    pytest.param(v2_event, False, id="payload-2.0"),
    pytest.param(v2_event, True, id="payload-2.0-base64"),
    pytest.param(v1_event, False, id="payload-1.0"),
    pytest.param(v1_event, True, id="payload-1.0-base64"),
]


@pytest.mark.parametrize(("make_event", "base64_body"), EVENTS)
@pytest.mark.parametrize("call", CALLS)
def test_an_event_is_verified_as_its_parts(call: Call, make_event: Any, base64_body: bool) -> None:
    # Given the API Gateway event of a request the SDK signed
    signed = sdk_sign(call)
    event = make_event(signed, base64_body=base64_body)

    # When the service verifies the event, its action named by the route
    client = FakeLambda(accepted())
    caller = Verifier(SERVICE, lambda_client=client).verify_event(event, action=call.action)

    # Then it sends what verifying the request by its parts sends: the SDK's hash, the event's context
    assert caller.secret_id == SECRET_ID
    from_event = client.payload
    verify(Verifier(SERVICE, lambda_client=client), signed)
    assert from_event == client.payload
    assert from_event["CanonicalRequestHash"] == signed.sdk_hash
    assert (from_event["SourceIp"], from_event["UserAgent"], from_event["RequestId"]) == (
        SOURCE_IP,
        USER_AGENT,
        REQUEST_ID,
    )


def test_payload_1_0_rebuilds_the_query_as_urlencode_writes_it() -> None:
    event = {"multiValueQueryStringParameters": {"Tag": ["a b", "c/d"], "Name": ["x+y"], "Empty": [""]}}

    assert rebuilt_query(event) == "Tag=a+b&Tag=c%2Fd&Name=x%2By&Empty="
    assert rebuilt_query({"queryStringParameters": {"Limit": "5"}}) == "Limit=5"
    assert rebuilt_query({"queryStringParameters": None, "multiValueQueryStringParameters": None}) == ""


def test_payload_2_0_cookies_are_the_cookie_header() -> None:
    request = Request.from_event({"rawPath": "/", "cookies": ["a=1", "b=2"], "headers": {"Host": HOST}})

    assert request.headers == {"host": HOST, "cookie": "a=1; b=2"}


def test_the_action_comes_from_x_tc_action_and_changes_state_may_depend_on_it() -> None:
    # Given a Tencent Cloud API 3.0 style request, POST / with X-TC-Action
    signed = sdk_sign(dataclasses.replace(POST_JSON, action="DescribeInstances"))
    client = FakeLambda(accepted())
    verifier = Verifier(SERVICE, lambda_client=client)

    # When the event is verified with no action given
    verifier.verify_event(v2_event(signed), changes_state=lambda action: not action.startswith("Describe"))

    # Then the action is the header's, and the read is not single use
    assert (client.payload["Action"], client.payload["ChangesState"]) == ("DescribeInstances", False)


def test_an_event_without_an_action_is_refused_without_asking() -> None:
    client = FakeLambda(accepted())
    event = v2_event(with_header(sdk_sign(POST_JSON), "X-TC-Action", None))

    with pytest.raises(Refusal) as refusal:
        Verifier(SERVICE, lambda_client=client).verify_event(event)

    assert (refusal.value.code, refusal.value.status) == ("MissingParameter", 400)
    assert client.calls == []


def test_the_signed_path_can_be_given_for_an_api_behind_a_stage() -> None:
    signed = sdk_sign(dataclasses.replace(GET_WITH_QUERY, path="/prod/v1/instances"))
    event = v1_event(dataclasses.replace(signed, path="/v1/instances"))  # payload 1.0 drops the stage
    client = FakeLambda(accepted())

    Verifier(SERVICE, lambda_client=client).verify_event(event, action="DescribeInstances", path="/prod/v1/instances")

    assert client.payload["CanonicalRequestHash"] == signed.sdk_hash


# --- 6. The decorator -------------------------------------------------------------------------------


def handler_for(client: FakeLambda, **options: Any) -> tuple[Any, list[Caller]]:
    seen: list[Caller] = []

    @verified(Verifier(SERVICE, lambda_client=client), **options)
    def lambda_handler(event: Mapping[str, Any], context: Any, caller: Caller) -> dict[str, Any]:
        seen.append(caller)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    return lambda_handler, seen


@pytest.mark.parametrize("envelope", ["rest", "tencent"])
def test_the_decorator_calls_the_handler_with_the_caller(envelope: str) -> None:
    handler, seen = handler_for(FakeLambda(accepted()), envelope=envelope)

    response = handler(v2_event(sdk_sign(POST_JSON)), None)

    assert seen == [Caller(SECRET_ID, "100000000001", RECORD_ID)]
    assert response == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": "{}",
    }


@pytest.mark.parametrize(("code", "status"), [("AuthFailure.SignatureFailure", 401), ("RequestLimitExceeded", 429)])
def test_the_decorator_answers_a_refusal_in_the_rest_envelope(code: str, status: int) -> None:
    handler, seen = handler_for(FakeLambda(refused(code)), envelope="rest")

    response = handler(v2_event(sdk_sign(POST_JSON)), None)

    assert seen == []
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["X-Request-Id"] == REQUEST_ID
    assert ("Retry-After" in response["headers"]) == (status == 429)
    assert json.loads(response["body"]) == {
        "Error": {"Code": code, "Message": f"{code}, said"},
        "RequestId": REQUEST_ID,
    }


def test_the_decorator_answers_a_refusal_in_tencents_envelope_with_http_200() -> None:
    handler, seen = handler_for(FakeLambda(refused("AuthFailure.SignatureFailure")), envelope="tencent")

    response = handler(v2_event(sdk_sign(POST_JSON)), None)

    assert seen == []
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert json.loads(response["body"]) == {
        "Response": {
            "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "AuthFailure.SignatureFailure, said"},
            "RequestId": REQUEST_ID,
        }
    }


@pytest.mark.parametrize("envelope", ["rest", "tencent"])
def test_the_decorator_fails_closed_and_answers_for_a_garbage_event(envelope: str) -> None:
    client = FakeLambda(accepted())
    handler, seen = handler_for(client, envelope=envelope)

    response = handler({"garbage": True}, None)

    assert (seen, client.calls) == ([], [])
    assert response["statusCode"] == (401 if envelope == "rest" else 200)
    assert response["headers"]["Cache-Control"] == "no-store"


def test_the_decorator_passes_the_action_and_changes_state() -> None:
    client = FakeLambda(accepted())
    handler, _ = handler_for(
        client, action="DescribeInstances", changes_state=lambda action: action != "DescribeInstances"
    )

    handler(v2_event(with_header(sdk_sign(GET_WITH_QUERY), "X-TC-Action", None)), None)

    assert (client.payload["Action"], client.payload["ChangesState"]) == ("DescribeInstances", False)


def test_a_refusal_response_keeps_the_handlers_cache_control_and_rejects_unknown_envelopes() -> None:
    client = FakeLambda(accepted())

    @verified(Verifier(SERVICE, lambda_client=client))
    def lambda_handler(event: Any, context: Any, caller: Caller) -> dict[str, Any]:
        return {"statusCode": 200, "headers": {"cache-control": "private, max-age=5"}, "body": ""}

    assert lambda_handler(v2_event(sdk_sign(POST_JSON)), None)["headers"] == {"cache-control": "private, max-age=5"}
    with pytest.raises(ValueError, match="envelope"):
        verified(Verifier(SERVICE, lambda_client=client), envelope="soap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="envelope"):
        refusal_response(Refusal.internal_error(), REQUEST_ID, envelope="soap")  # type: ignore[arg-type]


# --- 7. ReportAccessOutcome -------------------------------------------------------------------------

CALLER = Caller(SECRET_ID, "100000000001", RECORD_ID)


def test_report_refusal_sends_the_contracts_payload() -> None:
    client = FakeLambda({"Updated": True})

    assert Verifier(SERVICE, function_name="Verify", lambda_client=client).report_refusal(
        CALLER, "UnauthorizedOperation"
    )

    [invoked] = client.calls
    assert (invoked["FunctionName"], invoked["InvocationType"]) == ("Verify", "RequestResponse")
    assert client.payload == {
        "Operation": "ReportAccessOutcome",
        "Service": "cvm",
        "RecordId": RECORD_ID,
        "ErrorCode": "UnauthorizedOperation",
    }


@pytest.mark.parametrize(
    "client",
    [
        pytest.param(
            FakeLambda({"Updated": False, "Error": {"Code": "ResourceNotFound", "Message": "..."}}), id="not-updated"
        ),
        pytest.param(FakeLambda({"Updated": "yes"}), id="updated-not-a-bool"),
        pytest.param(FakeLambda(raw=b"garbage"), id="garbage"),
        pytest.param(FakeLambda({"Updated": True}, function_error="Unhandled"), id="function-error"),
        pytest.param(FakeLambda(error=client_error("AccessDeniedException")), id="client-error"),
    ],
)
def test_report_refusal_is_false_when_the_record_was_not_updated(client: FakeLambda) -> None:
    assert Verifier(SERVICE, lambda_client=client).report_refusal(CALLER, "UnauthorizedOperation") is False


# --- 8. Configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["cam", "", "CVM", "c" * 33, "cvm_1", "cvm "])
def test_a_service_name_outside_the_contract_is_rejected(service: str) -> None:
    with pytest.raises(ValueError, match="service"):
        Verifier(service)


def test_the_function_name_comes_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCESS_KEYS_VERIFY_FUNCTION", raising=False)
    assert Verifier(SERVICE).function_name == "VerifyRequestFunction"
    monkeypatch.setenv("ACCESS_KEYS_VERIFY_FUNCTION", "access-keys-VerifyRequest")
    assert Verifier(SERVICE).function_name == "access-keys-VerifyRequest"
    assert Verifier(SERVICE, function_name="Mine").function_name == "Mine"


@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:3001"])
def test_the_lambda_client_is_made_on_first_use_with_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, endpoint: str | None
) -> None:
    made: list[tuple[str, dict[str, Any]]] = []
    client = FakeLambda(accepted())

    def make_client(name: str, **options: Any) -> FakeLambda:
        made.append((name, options))
        return client

    monkeypatch.setitem(sys.modules, "boto3", SimpleNamespace(client=make_client))
    if endpoint is None:
        monkeypatch.delenv("ACCESS_KEYS_LAMBDA_ENDPOINT", raising=False)
    else:
        monkeypatch.setenv("ACCESS_KEYS_LAMBDA_ENDPOINT", endpoint)

    verifier = Verifier(SERVICE)
    assert made == []
    verify(verifier, sdk_sign(POST_JSON))
    verify(verifier, sdk_sign(POST_JSON))

    assert made == [("lambda", {"endpoint_url": endpoint})]
    assert len(client.calls) == 2
