"""The local gateway builds the events API Gateway sends, for the routes template.yaml declares."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any
from urllib.parse import quote

import pytest

from access_keys_tools.events import EVENTS_DIR, load_event
from access_keys_tools.local import names
from access_keys_tools.local.functions import function_specs, worker_environment
from access_keys_tools.local.gateway import (
    Gateway,
    HttpRequest,
    api_gateway_event,
    http_response,
    jwt_authorizers,
    routes,
)
from access_keys_tools.local.invoke_api import InvokeApi
from access_keys_tools.template import load_template, resources_of_type

LOCAL_VALUES = {
    **names.pseudo_parameters(),
    "KeysTable": "local-keys",
    "AccessRecordsTable": "local-records",
    "SecretsKey": "key-id",
    "KeysTable.Arn": "arn:keys",
    "AccessRecordsTable.Arn": "arn:records",
    "AccessRecordsTable.StreamArn": "arn:records/stream",
    "SecretsKey.Arn": "arn:key",
    "LastAccessFailuresQueue.Arn": "arn:queue",
    "RecordLastAccessRole.Arn": "arn:role",
    "AccountsUserPool": "us-east-1_pool",
    "AccountsConsoleClient": "client-id",
}
HTTP_EVENT_FILES = sorted(
    path for path in EVENTS_DIR.glob("*/*.json") if "routeKey" in json.loads(path.read_text(encoding="utf-8"))
)


@pytest.fixture(scope="module")
def gateway_routes() -> list:
    return routes(function_specs(LOCAL_VALUES), jwt_authorizers(LOCAL_VALUES, "http://127.0.0.1:9"))


def request_like(event: dict[str, Any]) -> HttpRequest:
    """The HTTP request that made a stored event, as a client would send it to the local stack."""
    sent_by_gateway = {"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
    headers = [(name.title(), value) for name, value in event["headers"].items() if name not in sent_by_gateway]
    query = f"?{event['rawQueryString']}" if event["rawQueryString"] else ""
    body = event.get("body") or ""
    return HttpRequest(
        method=event["requestContext"]["http"]["method"],
        target=event["rawPath"] + query,
        headers=headers,
        body=base64.b64decode(body) if event["isBase64Encoded"] else body.encode("utf-8"),
        source_ip=event["requestContext"]["http"]["sourceIp"],
        server_port=3000,
    )


def shape(value: Any) -> Any:
    """A value's structure: the keys of objects, the types of leaves."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def route_for(gateway_routes: list, method: str, path: str) -> tuple[Any, dict[str, str]]:
    for route in gateway_routes:
        parameters = route.match(method, path)
        if parameters is not None:
            return route, parameters
    raise AssertionError(f"no route for {method} {path}")


def test_the_routes_are_template_yamls_http_api_events(gateway_routes: list) -> None:
    declared = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id)
        for logical_id, function in resources_of_type("AWS::Serverless::Function").items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }

    assert {(route.method, route.path, route.function.logical_id) for route in gateway_routes} == declared
    # Seven REST routes and the same seven for a session, Tencent Cloud API's POST / and GET /, the
    # console and its files.
    assert len(declared) == 18
    authorized = {route.path for route in gateway_routes if route.authorizer is not None}
    assert authorized == {route.path for route in gateway_routes if route.path.startswith("/v1/session/")}
    assert {route.authorizer.issuer for route in gateway_routes if route.authorizer} == {
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
    }


@pytest.mark.parametrize("path", HTTP_EVENT_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_the_local_event_has_the_keys_and_shapes_of_the_stored_event(path, gateway_routes: list) -> None:
    stored = load_event(f"{path.parent.name}/{path.stem}")
    request = request_like(stored)
    route, parameters = route_for(gateway_routes, request.method, stored["rawPath"])

    local = api_gateway_event(route, parameters, request)
    # What a JWT authorizer adds once it has checked the token (tests/unit/test_jwt_authorizer.py).
    authorizer = stored["requestContext"].pop("authorizer", None)
    assert (authorizer is not None) == (route.authorizer is not None)

    assert shape(local) == shape(stored)
    for field in ("version", "routeKey", "rawPath", "rawQueryString", "isBase64Encoded", "pathParameters", "body"):
        assert local.get(field) == stored.get(field), field
    assert local["headers"] == {**stored["headers"], "x-forwarded-port": "3000", "x-forwarded-proto": "http"}
    for field in ("method", "path", "sourceIp", "userAgent", "protocol"):
        assert local["requestContext"]["http"][field] == stored["requestContext"]["http"][field], field
    assert route.function.logical_id == f"{path.parent.name}Function"


def test_headers_keep_their_values_and_repeats_are_joined_with_commas(gateway_routes: list) -> None:
    route, parameters = route_for(gateway_routes, "GET", "/v1/access-keys")
    request = HttpRequest(
        method="GET",
        target="/v1/access-keys?b=2&a=1&b=3",
        headers=[("Host", "Example.COM:3000"), ("X-Custom", "One"), ("x-custom", "Two"), ("Cookie", "s=1; t=2")],
        body=b"",
        source_ip="198.51.100.4",
        server_port=3000,
    )

    event = api_gateway_event(route, parameters, request)

    assert event["headers"]["host"] == "Example.COM:3000"
    assert event["headers"]["x-custom"] == "One,Two"
    assert event["rawQueryString"] == "b=2&a=1&b=3"
    assert event["queryStringParameters"] == {"b": "2,3", "a": "1"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert event["requestContext"]["http"]["sourceIp"] == "198.51.100.4"
    assert "body" not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/json", b'{"Description": "caf\xc3\xa9"}', False),
        ("application/json", b"\xff\xfe not utf-8", True),
        ("application/octet-stream", b"\x00\x01", True),
        ("", b"{}", True),
        ("text/plain; charset=utf-8", b"hello", False),
    ],
)
def test_binary_bodies_arrive_base64_encoded(gateway_routes: list, content_type: str, body: bytes, encoded: bool):
    route, parameters = route_for(gateway_routes, "POST", "/v1/access-keys")
    headers = [("Content-Type", content_type)] if content_type else []
    request = HttpRequest("POST", "/v1/access-keys", headers, body, "127.0.0.1", 3000)

    event = api_gateway_event(route, parameters, request)

    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode("utf-8")) == body


def test_every_request_gets_a_fresh_request_id(gateway_routes: list) -> None:
    route, parameters = route_for(gateway_routes, "GET", "/v1/access-keys")
    request = HttpRequest("GET", "/v1/access-keys", [], b"", "127.0.0.1", 3000)

    ids = {api_gateway_event(route, parameters, request)["requestContext"]["requestId"] for _ in range(50)}

    assert len(ids) == 50


def test_an_unknown_route_or_method_gets_api_gateways_404_without_calling_a_function(gateway_routes: list) -> None:
    called = []
    gateway = Gateway(gateway_routes, lambda *arguments: called.append(arguments))

    for method, target in (("PUT", "/"), ("POST", "/v1/access-keys/AKID"), ("GET", "/v1/access-keys/a/b")):
        response, function = gateway.handle(HttpRequest(method, target, [], b"", "127.0.0.1", 3000))

        assert (response.status, json.loads(response.body), function) == (404, {"message": "Not Found"}, "-")
    assert called == []


@pytest.mark.parametrize(
    "hosts",
    [["http://127.0.0.1:3000"], [""], ["a b"], ["127.0.0.1:3000/x"], ["x_y"], ["127.0.0.1:3000", "127.0.0.1:3000"]],
    ids=["a-url", "empty", "a-space", "a-path", "an-underscore", "twice"],
)
def test_a_malformed_host_gets_api_gateways_400_without_calling_a_function(gateway_routes: list, hosts: list) -> None:
    called = []
    gateway = Gateway(gateway_routes, lambda *arguments: called.append(arguments))
    headers = [("Host", host) for host in hosts]

    response, function = gateway.handle(HttpRequest("GET", "/v1/access-keys", headers, b"", "127.0.0.1", 3000))

    assert (response.status, json.loads(response.body), function) == (400, {"message": "Bad Request"}, "-")
    assert called == []


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("127.0.0.1:3000", "127"),
        ("cam.localhost:3000", "cam"),
        ("[::1]:3000", "[::1]"),
        ("localhost", "localhost"),
        ("cam.example.com.", "cam"),
    ],
)
def test_a_well_formed_host_reaches_its_route_with_its_domain_prefix(gateway_routes: list, host: str, prefix: str):
    seen = []

    def invoke(function: Any, event: dict[str, Any], request_id: str) -> dict[str, Any]:
        seen.append(event["requestContext"])
        return {"statusCode": 200, "body": "{}"}

    Gateway(gateway_routes, invoke).handle(
        HttpRequest("GET", "/v1/access-keys", [("Host", host)], b"", "127.0.0.1", 3000)
    )

    (context,) = seen
    assert context["domainPrefix"] == prefix


def test_a_failing_function_gets_api_gateways_500(gateway_routes: list) -> None:
    from access_keys_tools.local.functions import InvocationError

    def fail(*_: Any) -> None:
        raise InvocationError("Task timed out after 10.5 seconds")

    gateway = Gateway(gateway_routes, fail)
    response, function = gateway.handle(HttpRequest("GET", "/v1/access-keys", [], b"", "127.0.0.1", 3000))

    assert (response.status, json.loads(response.body), function) == (
        500,
        {"message": "Internal Server Error"},
        "ListAccessKeys",
    )


def test_a_function_result_becomes_the_http_response() -> None:
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "cookies": ["a=1"],
        "body": base64.b64encode(b'{"ok": true}').decode(),
        "isBase64Encoded": True,
    }

    response = http_response(result, "request-1")

    assert response.status == 201
    assert response.body == b'{"ok": true}'
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("apigw-requestid", "request-1") in response.headers
    assert http_response({"plain": "document"}, "r").status == 200  # format 2.0's inferred response


def test_each_function_runs_with_the_environment_the_template_gives_it() -> None:
    template = load_template()
    global_variables = template["Globals"]["Function"]["Environment"]["Variables"]

    for logical_id, spec in function_specs(LOCAL_VALUES).items():
        environment = worker_environment(spec, "http://127.0.0.1:3001")
        own = resources_of_type("AWS::Serverless::Function")[logical_id]["Properties"]
        declared = {**global_variables, **own.get("Environment", {}).get("Variables", {})}

        assert set(declared) <= set(environment), logical_id
        assert environment["KEYS_TABLE_NAME"] == "local-keys"
        assert environment["RECORDS_TABLE_NAME"] == "local-records"
        assert environment["SECRETS_KMS_KEY_ID"] == "key-id"
        assert environment["POWERTOOLS_LOG_LEVEL"] == template["Parameters"]["LogLevel"]["Default"]
        assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:3001"
        assert environment["_HANDLER"] == own["Handler"]
        assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == str(own.get("MemorySize", 512))
        for name, value in own.get("Environment", {}).get("Variables", {}).items():
            resolved = {"ACCOUNTS_USER_POOL_ID": "us-east-1_pool", "ACCOUNTS_CLIENT_ID": "client-id"}.get(name, value)
            if name == "COGNITO_ENDPOINT":  # where the browser reaches Cognito: the local moto
                resolved = "http://127.0.0.1:3001/"
            assert environment[name] == resolved, (logical_id, name)
    assert function_specs(LOCAL_VALUES)["CleanupFunction"].timeout == 900


# ------------------------------------------------------------------ the Lambda Invoke API (invoke_api.py)
def invoke_request(function_name: str, body: bytes = b"{}", invocation_type: str | None = None) -> HttpRequest:
    """What botocore's lambda client sends for invoke(FunctionName=..., Payload=...)."""
    headers = [("Host", "127.0.0.1:3001"), ("Content-Length", str(len(body)))]
    if invocation_type:
        headers.append(("X-Amz-Invocation-Type", invocation_type))
    target = f"/2015-03-31/functions/{quote(function_name, safe='')}/invocations"
    return HttpRequest("POST", target, headers, body, "127.0.0.1", 3001)


def error_of(response: Any) -> tuple[int, str, dict[str, Any]]:
    headers = dict(response.headers)
    return response.status, headers.get("x-amzn-ErrorType", ""), json.loads(response.body)


def test_every_function_of_the_template_is_invoked_by_its_logical_id_with_the_payload_as_event() -> None:
    specs = function_specs(LOCAL_VALUES)
    called: list[tuple[str, Any]] = []
    api = InvokeApi(specs, lambda spec, event, request_id: called.append((spec.logical_id, event)) or {"ok": 1})

    for logical_id in resources_of_type("AWS::Serverless::Function"):
        response, function = api.handle(invoke_request(logical_id, b'{"a": [1, "x"]}'))

        assert (response.status, json.loads(response.body)) == (200, {"ok": 1}), logical_id
        assert ("X-Amz-Executed-Version", "$LATEST") in response.headers
        assert ("Content-Type", "application/json") in response.headers
        assert function == specs[logical_id].short_name
    assert called == [(logical_id, {"a": [1, "x"]}) for logical_id in resources_of_type("AWS::Serverless::Function")]


@pytest.mark.parametrize(
    "function_name",
    [
        "CleanupFunction",
        "CleanupFunction:$LATEST",
        "access-keys-local-CleanupFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:CleanupFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:CleanupFunction:$LATEST",
        "123456789012:function:CleanupFunction",
    ],
)
def test_a_function_is_found_by_name_arn_or_partial_arn(function_name: str) -> None:
    called = []
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda spec, event, _: called.append(spec.logical_id))

    response, _ = api.handle(invoke_request(function_name))

    assert (response.status, response.body, called) == (200, b"null", ["CleanupFunction"])


@pytest.mark.parametrize(
    ("target", "method", "status", "error_type"),
    [
        ("/2015-03-31/functions/NoSuchFunction/invocations", "POST", 404, "ResourceNotFoundException"),
        ("/2015-03-31/functions/CleanupFunction%3A1/invocations", "POST", 404, "ResourceNotFoundException"),
        ("/2015-03-31/functions/CleanupFunction/invocations?Qualifier=prod", "POST", 404, "ResourceNotFoundException"),
        (
            "/2015-03-31/functions/CleanupFunction:1/invocations?Qualifier=2",
            "POST",
            400,
            "InvalidParameterValueException",
        ),
        ("/2015-03-31/functions/CleanupFunction/invocations", "GET", 404, "UnknownOperationException"),
        ("/2015-03-31/functions/CleanupFunction", "GET", 404, "UnknownOperationException"),
        ("/2015-03-31/functions/CleanupFunction/invocations/", "POST", 404, "UnknownOperationException"),
        ("/", "POST", 404, "UnknownOperationException"),
    ],
)
def test_what_lambda_refuses_gets_lambdas_error_and_runs_nothing(
    target: str, method: str, status: int, error_type: str
) -> None:
    called = []
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda *arguments: called.append(arguments))

    response, function = api.handle(HttpRequest(method, target, [], b"{}", "127.0.0.1", 3001))

    got_status, got_type, document = error_of(response)
    assert (got_status, got_type, function, called) == (status, error_type, "-", [])
    assert document["Type"] == "User"
    assert ("Content-Type", "application/json") in response.headers


def test_an_unknown_function_is_named_by_its_arn_in_the_message_botocore_reads() -> None:
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda *_: None)

    _, _, document = error_of(api.handle(invoke_request("NoSuchFunction"))[0])

    # ResourceNotFoundException's model spells it "Message"; most other Lambda errors, "message".
    assert document == {
        "Type": "User",
        "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction",
    }


@pytest.mark.parametrize("body", [b"{not json", b'{"a": NaN}', b"\xff\xfe", b"[1,"])
def test_a_payload_that_is_not_json_gets_invalid_request_content(body: bytes) -> None:
    called = []
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda *arguments: called.append(arguments))

    status, error_type, document = error_of(api.handle(invoke_request("CleanupFunction", body))[0])

    assert (status, error_type, called) == (400, "InvalidRequestContentException", [])
    assert document["message"].startswith("Could not parse request body into json")


def test_an_empty_payload_is_the_empty_object_and_any_json_value_is_an_event() -> None:
    events = []
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda spec, event, _: events.append(event))

    for body in (b"", b'"text"', b"[1, 2]", b"7"):
        api.handle(invoke_request("CleanupFunction", body))

    assert events == [{}, "text", [1, 2], 7]


def test_a_payload_over_six_megabytes_gets_request_too_large() -> None:
    called = []
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda *arguments: called.append(arguments))
    body = b'"' + b"x" * (6 * 1024 * 1024 - 1) + b'"'

    status, error_type, document = error_of(api.handle(invoke_request("CleanupFunction", body))[0])

    assert (status, error_type, called) == (413, "RequestTooLargeException", [])
    assert document["message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    assert api.transport_error(413).status == 413  # what the server answers unread, past MAX_READ_BYTES


def test_a_function_error_is_a_200_with_lambdas_error_document_and_function_error_unhandled() -> None:
    from access_keys_tools.local.functions import InvocationError

    document = {"errorMessage": "boom", "errorType": "ValueError", "requestId": "r", "stackTrace": ["  File ..."]}

    def fail(*_: Any) -> None:
        raise InvocationError("CleanupFunction: ValueError: boom", document)

    response, function = InvokeApi(function_specs(LOCAL_VALUES), fail).handle(invoke_request("CleanupFunction"))

    assert (response.status, json.loads(response.body), function) == (200, document, "Cleanup")
    assert ("X-Amz-Function-Error", "Unhandled") in response.headers
    assert ("X-Amz-Executed-Version", "$LATEST") in response.headers


def test_event_answers_202_at_once_and_runs_the_function_in_the_background() -> None:
    release, ran = threading.Event(), threading.Event()

    def slow(spec: Any, event: Any, request_id: str) -> None:
        release.wait(5)
        ran.set()

    api = InvokeApi(function_specs(LOCAL_VALUES), slow)
    response, _ = api.handle(invoke_request("CleanupFunction", b"{}", "Event"))

    assert (response.status, response.body, ran.is_set()) == (202, b"", False)
    release.set()
    assert ran.wait(5)


def test_dry_run_answers_204_without_running_and_an_unknown_type_is_refused() -> None:
    called = []
    api = InvokeApi(function_specs(LOCAL_VALUES), lambda *arguments: called.append(arguments))

    dry, _ = api.handle(invoke_request("CleanupFunction", b"{}", "DryRun"))
    unknown = error_of(api.handle(invoke_request("CleanupFunction", b"{}", "Later"))[0])

    assert (dry.status, dry.body, called) == (204, b"", [])
    assert unknown[:2] == (400, "InvalidParameterValueException")
