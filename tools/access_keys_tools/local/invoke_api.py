"""The Lambda Invoke API for every function of template.yaml, as `sam local start-lambda` serves it.

`POST /2015-03-31/functions/{FunctionName}/invocations` runs the function in the same execution
environments (functions.py) that the gateway and the triggers use, with the request's payload as
the event, so that a platform service's unmodified

    boto3.client("lambda", endpoint_url="http://127.0.0.1:3001", ...).invoke(
        FunctionName="VerifyRequestFunction", Payload=json.dumps(event))

reaches the function as deployed. FunctionName is the template's logical id, the stack's name for
it (`access-keys-local-<LogicalId>`, what the function's context reports), or an ARN of either,
optionally qualified with `$LATEST`. The answers are Lambda's, down to the headers botocore reads:
`x-amzn-ErrorType` names the exception a client raises, `X-Amz-Function-Error: Unhandled` marks
a function error with the error document of Lambda's Python runtime (the exception's type and
message, and its stack).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from access_keys_tools.local import names
from access_keys_tools.local.functions import FunctionSpec, InvocationError
from access_keys_tools.local.gateway import HttpRequest, HttpResponse

log = logging.getLogger("access_keys_tools.local")

# Lambda's quota for a synchronous invocation's request and response payloads (6 MB).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# What the server still reads, to answer RequestTooLargeException rather than drop the connection.
MAX_READ_BYTES = 16 * 1024 * 1024
LATEST = "$LATEST"
_INVOCATIONS = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")
# arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>], or <account>:function:<name>[:<qualifier>]
_ARN = re.compile(r"(?:arn:[\w-]+:lambda:[\w-]+:)?\d{12}:function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?")
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
# Lambda's error documents spell the message as its API model does, which is not the same for all.
_MESSAGE_MEMBER = {"ResourceNotFoundException": "Message", "ServiceException": "Message"}

Invoke = Callable[[FunctionSpec, Any, str], Any]


class _Refused(Exception):
    """A request Lambda itself refuses, before any function runs."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class InvokeApi:
    """Answers Lambda Invoke requests for the functions in `specs` (keyed by logical id)."""

    max_body_bytes = MAX_READ_BYTES

    def __init__(self, specs: Mapping[str, FunctionSpec], invoke: Invoke) -> None:
        self._invoke = invoke
        self._functions: dict[str, FunctionSpec] = {}
        for spec in specs.values():
            self._functions[spec.logical_id] = spec
            self._functions[spec.function_name] = spec

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response, and the name of the function that made it ('-' when none did)."""
        try:
            spec, invocation_type, event = self._invocation(request)
        except _Refused as refused:
            return refused.response, "-"
        request_id = str(uuid.uuid4())
        # X-Amz-Log-Type: Tail is not honoured: the logs go to the runner's terminal, tagged.
        if invocation_type == "DryRun":
            return _invoked(204, b"", request_id), spec.short_name
        if invocation_type == "Event":
            self._in_background(spec, event, request_id)
            return _invoked(202, b"", request_id), spec.short_name
        return self._answer(spec, event, request_id), spec.short_name

    def _invocation(self, request: HttpRequest) -> tuple[FunctionSpec, str, Any]:
        """The function, the invocation type and the event a request asks for; raises _Refused."""
        raw_path, _, raw_query = request.target.partition("?")
        found = _INVOCATIONS.fullmatch(raw_path)
        if request.method != "POST" or found is None:
            # Only Invoke is served: every other Lambda operation is unknown here.
            raise _Refused(lambda_error(404, "UnknownOperationException", "Unknown operation"))
        if len(request.body) > MAX_PAYLOAD_BYTES:
            raise _Refused(self.transport_error(413))
        name, qualifier = _function_and_qualifier(unquote(found["name"]), raw_query)
        spec = self._functions.get(name)
        if spec is None or qualifier not in (None, LATEST):
            arn = _function_arn(name) + (f":{qualifier}" if qualifier else "")
            raise _Refused(lambda_error(404, "ResourceNotFoundException", f"Function not found: {arn}"))
        headers = {header.lower(): value for header, value in request.headers}
        invocation_type = headers.get("x-amz-invocation-type", "").strip() or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            message = (
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]"
            )
            raise _Refused(lambda_error(400, "InvalidParameterValueException", message))
        try:
            event = _payload(request.body)
        except ValueError as error:
            message = f"Could not parse request body into json: {error}"
            raise _Refused(lambda_error(400, "InvalidRequestContentException", message)) from None
        return spec, invocation_type, event

    def transport_error(self, status: int) -> HttpResponse:
        if status == 413:
            message = f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            return lambda_error(413, "RequestTooLargeException", message)
        return lambda_error(400, "InvalidRequestContentException", "Could not read the request body")

    def _answer(self, spec: FunctionSpec, event: Any, request_id: str) -> HttpResponse:
        try:
            result = self._invoke(spec, event, request_id)
        except InvocationError as error:
            log.error("%s failed: %s", spec.logical_id, error)
            return _function_error(error.document, request_id)
        body = json.dumps(result).encode("utf-8")
        if len(body) > MAX_PAYLOAD_BYTES:
            message = (
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                f"({MAX_PAYLOAD_BYTES} bytes)."
            )
            return _function_error({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}, request_id)
        return _invoked(200, body, request_id)

    def _in_background(self, spec: FunctionSpec, event: Any, request_id: str) -> None:
        """An asynchronous invocation: run once, its outcome logged (deployed, Lambda retries a
        failed event twice, then drops it or sends it to the function's on-failure destination)."""

        def run() -> None:
            try:
                self._invoke(spec, event, request_id)
            except InvocationError as error:
                log.warning("%s failed on an asynchronous invocation: %s", spec.logical_id, error)

        # A daemon thread: the stack's stop closes the function's pool, which ends it.
        threading.Thread(target=run, name=f"{spec.short_name}-event", daemon=True).start()


def _function_and_qualifier(given: str, raw_query: str) -> tuple[str, str | None]:
    """The function's name and qualifier, from FunctionName and ?Qualifier=; raises _Refused when they disagree."""
    arn = _ARN.fullmatch(given)
    if arn:
        name, qualifier = arn["name"], arn["qualifier"]
    else:
        name, _, qualifier_part = given.partition(":")
        qualifier = qualifier_part or None
    queried = parse_qs(raw_query).get("Qualifier", [None])[-1]
    if queried is not None and qualifier is not None and queried != qualifier:
        message = "The derived qualifier from the function name does not match the specified qualifier."
        raise _Refused(lambda_error(400, "InvalidParameterValueException", message))
    return name, qualifier or queried


def _function_arn(name: str) -> str:
    return f"arn:aws:lambda:{names.REGION}:{names.ACCOUNT_ID}:function:{name}"


def _payload(body: bytes) -> Any:
    """The event: the body as JSON, `{}` when there is none (as Lambda and sam local do)."""
    if not body.strip():
        return {}

    def no_constants(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError("the payload is not UTF-8") from error
    return json.loads(text, parse_constant=no_constants)


def _invoked(status: int, body: bytes, request_id: str) -> HttpResponse:
    headers = [
        ("Content-Type", "application/json"),
        ("X-Amz-Executed-Version", LATEST),
        ("x-amzn-RequestId", request_id),
    ]
    return HttpResponse(status, headers, body)


def _function_error(document: dict[str, Any], request_id: str) -> HttpResponse:
    response = _invoked(200, json.dumps(document).encode("utf-8"), request_id)
    return HttpResponse(200, [*response.headers, ("X-Amz-Function-Error", "Unhandled")], response.body)


def lambda_error(status: int, error_type: str, message: str) -> HttpResponse:
    """An error of the Lambda service itself, which botocore raises as `error_type`."""
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", error_type),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    kind = "Service" if status >= 500 else "User"
    document = {"Type": kind, _MESSAGE_MEMBER.get(error_type, "message"): message}
    return HttpResponse(status, headers, json.dumps(document).encode("utf-8"))
