"""The local gateway builds the events API Gateway sends, for the routes template.yaml declares."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from access_keys_tools.events import EVENTS_DIR, load_event
from access_keys_tools.local import names
from access_keys_tools.local.functions import function_specs, worker_environment
from access_keys_tools.local.gateway import (
    Gateway,
    HttpRequest,
    api_gateway_event,
    http_response,
    routes,
)
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
}
HTTP_EVENT_FILES = sorted(
    path for path in EVENTS_DIR.glob("*/*.json") if "routeKey" in json.loads(path.read_text(encoding="utf-8"))
)


@pytest.fixture(scope="module")
def gateway_routes() -> list:
    return routes(function_specs(LOCAL_VALUES))


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
    assert len(declared) == 9  # six REST routes, Tencent Cloud API's POST /, the console page and its files


@pytest.mark.parametrize("path", HTTP_EVENT_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_the_local_event_has_the_keys_and_shapes_of_the_stored_event(path, gateway_routes: list) -> None:
    stored = load_event(f"{path.parent.name}/{path.stem}")
    request = request_like(stored)
    route, parameters = route_for(gateway_routes, request.method, stored["rawPath"])

    local = api_gateway_event(route, parameters, request)

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

    for method, target in (("GET", "/"), ("POST", "/v1/access-keys/AKID"), ("GET", "/v1/access-keys/a/b")):
        response, function = gateway.handle(HttpRequest(method, target, [], b"", "127.0.0.1", 3000))

        assert (response.status, json.loads(response.body), function) == (404, {"message": "Not Found"}, "-")
    assert called == []


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
            assert environment[name] == value, (logical_id, name)
    assert function_specs(LOCAL_VALUES)["CleanupFunction"].timeout == 900
