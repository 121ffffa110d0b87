"""docs/openapi.yaml describes exactly the API that template.yaml deploys and the code answers with.

A client generator or a fuzzer reads the OpenAPI document, not docs/api.md: a route missing from it
is never called, an error code missing from it is reported as a contract violation, and an object
schema that tolerates extra fields hides a response that grew one. So the document's routes are
compared with template.yaml, its error codes with access_keys.errors, and its schemas are checked
to be closed and complete, and the fields of its objects with what the REST routes write (`access_keys.rest`).
The session routes (`/v1/session/...`, behind API Gateway's JWT authorizer) are the signed routes'
operations again, with a bearer token for a signature, and API Gateway's own 401 as well.
No AWS and no OpenAPI library: the document is read as YAML.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import yaml

from access_keys import errors, rest
from access_keys.api import SESSION_PATH_PREFIX
from access_keys.domain import ACTIVITY_SHOWN, AccessKey, AccessRecord, ActivityEntry, FailedAttempts, Result, Status
from access_keys.errors import ServiceError
from access_keys.keys import CreatedKey
from access_keys.signing import SECRET_ID_PATTERN
from access_keys_tools.template import PROJECT_ROOT, resources_of_type

OPENAPI_PATH = PROJECT_ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON = "application/json"

# Statuses any route can answer (docs/api.md section 5): a query parameter (400), the signature
# (401), the body size (413), throttling (429) and the unexpected (500).
COMMON_ERRORS = {
    (400, "UnknownParameter"),
    (401, "AuthFailure.InvalidAuthorization"),
    (401, "AuthFailure.SecretIdNotFound"),
    (401, "AuthFailure.SignatureExpire"),
    (401, "AuthFailure.SignatureFailure"),
    (401, "AuthFailure.TokenFailure"),
    (413, "RequestSizeLimitExceeded"),
    (429, "RequestLimitExceeded"),
    (500, "InternalError"),
}
# What a route with a {SecretId} in its path can answer besides: a malformed id, a key that is not yours.
SECRET_ID_ERRORS = {(400, "InvalidParameterValue"), (404, "ResourceNotFound.AccessKey")}
# A session route checks no signature: its token is API Gateway's business, and the function's
# only refusal of a token that passed is AuthFailure.TokenFailure (no ID token, no Uin).
SESSION_COMMON_ERRORS = {
    (400, "UnknownParameter"),
    (401, "AuthFailure.TokenFailure"),
    (413, "RequestSizeLimitExceeded"),
    (429, "RequestLimitExceeded"),
    (500, "InternalError"),
}
# API Gateway's JWT authorizer answers a refused token itself, with its own body: the one answer of
# a route that is not the service's envelope, and without the service's headers.
GATEWAY_UNAUTHORIZED = "#/components/schemas/ApiGatewayUnauthorized"
# The authorizer of the session routes in template.yaml, and the security scheme standing for it.
SESSION_AUTHORIZER = "AccountSession"

Route = tuple[str, str]  # (METHOD, path)


@cache
def document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def resolve(node: Any) -> Any:
    """`node` with its `$ref`s followed (local references only, as the document uses)."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), f"only local references are expected: {reference}"
        target: Any = document()
        for part in reference[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


# Tencent Cloud API 3.0 (`POST /`) is not a REST route: its contract is Tencent's (CAM 2019-01-16,
# docs/api.md section 9), and Tencent's SDKs are its tests (tests/local/test_tencent_sdk.py).
CLOUD_API_ROUTES = {("POST", "/"), ("GET", "/")}
# The API Keys Management page is not part of the API either: static files, unsigned.
CONSOLE_ROUTES = {("GET", "/console"), ("GET", "/console/{asset}")}


def template_routes() -> dict[Route, str]:
    """(METHOD, path) -> logical id of the function, for every REST HttpApi event of template.yaml."""
    routes: dict[Route, str] = {}
    for logical_id, function in resources_of_type("AWS::Serverless::Function").items():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                route = (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
                if route in CLOUD_API_ROUTES or route in CONSOLE_ROUTES:
                    continue
                assert route not in routes, f"{route} is routed twice"
                routes[route] = logical_id
    return routes


def template_events() -> dict[Route, tuple[str, str | None]]:
    """(METHOD, path) -> (name of the HttpApi event, its authorizer or None), as template_routes()."""
    events: dict[Route, tuple[str, str | None]] = {}
    for function in resources_of_type("AWS::Serverless::Function").values():
        for name, event in (function["Properties"].get("Events") or {}).items():
            route = (event["Properties"].get("Method", "").upper(), event["Properties"].get("Path", ""))
            if event["Type"] == "HttpApi" and route not in CLOUD_API_ROUTES | CONSOLE_ROUTES:
                events[route] = (name, (event["Properties"].get("Auth") or {}).get("Authorizer"))
    return events


def is_session(path: str) -> bool:
    return path.startswith(SESSION_PATH_PREFIX)


def operations() -> dict[Route, dict[str, Any]]:
    """(METHOD, path) -> operation object of the document."""
    return {
        (method.upper(), path): operation
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def operation_ids() -> list[str]:
    return sorted(operation["operationId"] for operation in operations().values())


def signed_operation_ids() -> list[str]:
    return sorted(operation["operationId"] for (_, path), operation in operations().items() if not is_session(path))


def session_operation_ids() -> list[str]:
    return sorted(operation["operationId"] for (_, path), operation in operations().items() if is_session(path))


def signed_twin(operation_id: str) -> str:
    """The signed operation a session operation is (`ListAccessKeysSession` -> `ListAccessKeys`)."""
    return operation_id.removesuffix("Session")


def responses(operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """status -> response object (resolved) of one operation."""
    return {int(status): resolve(response) for status, response in operation["responses"].items()}


def json_schema(response: dict[str, Any]) -> dict[str, Any]:
    return resolve(response["content"][JSON]["schema"])


def may_come_from_gateway(response: dict[str, Any]) -> bool:
    """Whether API Gateway's own body is one of the response's (its JWT authorizer's 401)."""
    return {"$ref": GATEWAY_UNAUTHORIZED} in (json_schema(response).get("oneOf") or [])


def envelopes(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The service's bodies of an error response: its schema, or the alternatives that are not API Gateway's."""
    schema = json_schema(response)
    if "oneOf" not in schema:
        return [schema]
    return [resolve(option) for option in schema["oneOf"] if option != {"$ref": GATEWAY_UNAUTHORIZED}]


def error_codes(operation: dict[str, Any]) -> set[tuple[int, str]]:
    """{(status, Error.Code)} that the operation documents, from the enums of its error envelopes."""
    codes = set()
    for status, response in responses(operation).items():
        if status >= 400:
            for envelope in envelopes(response):
                code = resolve(envelope["properties"]["Error"])["properties"]["Code"]
                codes.update((status, value) for value in resolve(code)["enum"])
    return codes


# Errors no REST route answers: the three of Tencent Cloud API 3.0's route (`POST /`), always sent
# with HTTP 200 in Tencent's envelope, and ReportAccessOutcome's, never sent over HTTP.
NOT_REST = {errors.InvalidAction, errors.NoSuchVersion, errors.UnauthorizedOperation, errors.RecordNotFound}


def service_errors() -> set[tuple[int, str]]:
    """{(status, code)} of every ServiceError class the REST routes answer, the base class included."""
    classes = [value for value in vars(errors).values() if inspect.isclass(value) and issubclass(value, ServiceError)]
    return {(error.status, error.code) for error in classes if error not in NOT_REST}


def walk(schema: Any, where: str, seen: frozenset[int] = frozenset()) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, schema) of `schema` and of every schema inside it, references followed."""
    schema = resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen = seen | {id(schema)}
    yield where, schema
    for name, child in (schema.get("properties") or {}).items():
        yield from walk(child, f"{where}.{name}", seen)
    if "items" in schema:
        yield from walk(schema["items"], f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{where}{{*}}", seen)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for index, child in enumerate(schema.get(keyword) or []):
            yield from walk(child, f"{where}.{keyword}[{index}]", seen)
    if "not" in schema:
        yield from walk(schema["not"], f"{where}.not", seen)


def request_body_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for (method, path), operation in operations().items():
        if "requestBody" in operation:
            for media_type, content in resolve(operation["requestBody"])["content"].items():
                yield from walk(content["schema"], f"{method} {path} request {media_type}")


def response_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for (method, path), operation in operations().items():
        for status, response in responses(operation).items():
            for media_type, content in (response.get("content") or {}).items():
                yield from walk(content["schema"], f"{method} {path} {status} {media_type}")


def all_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    yield from request_body_schemas()
    yield from response_schemas()
    for name, schema in document()["components"].get("schemas", {}).items():
        yield from walk(schema, f"components.schemas.{name}")


def is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" or "properties" in schema


def test_the_document_is_openapi_3_0_with_a_title_and_version() -> None:
    assert document()["openapi"] == "3.0.3"
    assert document()["info"]["title"]
    assert document()["info"]["version"]


# ------------------------------------------------------------------------------------------ routes


def test_the_document_has_exactly_the_routes_template_yaml_deploys() -> None:
    routes = set(template_routes())

    assert routes, "template.yaml declares no HttpApi route"
    assert set(operations()) == routes


def test_each_operation_id_is_the_name_of_the_function_serving_the_route() -> None:
    # A session route is served by the signed route's function: its operationId has `Session` after
    # that name, as the name of its event in template.yaml has.
    routes = template_routes()

    assert all(logical_id.endswith("Function") for logical_id in routes.values())
    assert {route: operation["operationId"] for route, operation in operations().items()} == {
        (method, path): logical_id.removesuffix("Function") + ("Session" if is_session(path) else "")
        for (method, path), logical_id in routes.items()
    }
    assert {route: operation["operationId"] for route, operation in operations().items()} == {
        route: name for route, (name, _) in template_events().items()
    }


def test_each_session_route_is_a_signed_route_under_the_session_prefix() -> None:
    signed = {route for route in operations() if not is_session(route[1])}
    sessions = {route for route in operations() if is_session(route[1])}

    assert sessions, "no session route in the document"
    assert {(method, "/v1/" + path.removeprefix(SESSION_PATH_PREFIX)) for method, path in sessions} <= signed


def test_exactly_the_session_routes_are_behind_the_jwt_authorizer() -> None:
    behind = {route for route, (_, authorizer) in template_events().items() if authorizer is not None}

    assert {authorizer for _, authorizer in template_events().values()} == {None, SESSION_AUTHORIZER}
    assert behind == {route for route in operations() if is_session(route[1])}


def test_every_path_template_variable_is_a_required_secret_id_parameter_with_the_services_pattern() -> None:
    # Generators send values outside the pattern only when asked for negative cases, which the
    # service answers with the documented 400 InvalidParameterValue.
    for path, item in document()["paths"].items():
        variables = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method in HTTP_METHODS:
            if method not in item:
                continue
            parameters = [resolve(parameter) for parameter in item.get("parameters", [])]
            parameters += [resolve(parameter) for parameter in item[method].get("parameters", [])]
            in_path = {parameter["name"]: parameter for parameter in parameters if parameter["in"] == "path"}
            assert set(in_path) == variables, f"{method.upper()} {path}"
            for name, parameter in in_path.items():
                schema = resolve(parameter["schema"])
                assert parameter["required"] is True, f"{method.upper()} {path} {name}"
                assert schema["type"] == "string", f"{method.upper()} {path} {name}"
                assert schema["pattern"] == f"^{SECRET_ID_PATTERN.pattern}$", f"{method.upper()} {path} {name}"


@pytest.mark.parametrize("operation_id", signed_operation_ids())
def test_every_operation_asks_for_the_signing_headers_and_the_tc3_scheme(operation_id: str) -> None:
    ((method, path),) = [route for route, operation in operations().items() if operation["operationId"] == operation_id]
    item = document()["paths"][path]
    parameters = [resolve(parameter) for parameter in item.get("parameters", [])]
    parameters += [resolve(parameter) for parameter in item[method.lower()].get("parameters", [])]
    headers = {parameter["name"].lower(): parameter for parameter in parameters if parameter["in"] == "header"}
    security = item[method.lower()].get("security", document().get("security"))
    schemes = document()["components"]["securitySchemes"]

    assert {"authorization", "x-tc-timestamp"} <= set(headers)
    assert all(headers[name]["required"] is True for name in ("authorization", "x-tc-timestamp"))
    assert security, "the operation is not signed"
    for requirement in security:
        for name in requirement:
            assert schemes[name]["type"] == "apiKey"
            assert schemes[name]["in"] == "header"
            assert schemes[name]["name"] == "Authorization"
            assert "TC3-HMAC-SHA256" in schemes[name]["description"]


@pytest.mark.parametrize("operation_id", session_operation_ids())
def test_every_session_operation_asks_for_the_bearer_token_and_no_signing_header(operation_id: str) -> None:
    ((method, path),) = [route for route, operation in operations().items() if operation["operationId"] == operation_id]
    item = document()["paths"][path]
    parameters = [resolve(parameter) for parameter in item.get("parameters", [])]
    parameters += [resolve(parameter) for parameter in item[method.lower()].get("parameters", [])]
    headers = {parameter["name"].lower() for parameter in parameters if parameter["in"] == "header"}
    scheme = document()["components"]["securitySchemes"][SESSION_AUTHORIZER]

    # The bearer scheme supplies Authorization (OpenAPI ignores a header parameter of that name).
    assert headers.isdisjoint({"authorization", "x-tc-timestamp"})
    assert item[method.lower()]["security"] == [{SESSION_AUTHORIZER: []}]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_only_create_and_update_take_a_json_body_and_update_requires_its_status() -> None:
    bodies = {operation["operationId"]: operation.get("requestBody") for operation in operations().values()}
    create = resolve(bodies.pop("CreateAccessKey"))
    update = resolve(bodies.pop("UpdateAccessKey"))

    # A session route takes exactly the body of its signed route.
    assert resolve(bodies.pop("CreateAccessKeySession")) == create
    assert resolve(bodies.pop("UpdateAccessKeySession")) == update
    assert bodies == dict.fromkeys(bodies)  # every other route takes no body
    assert set(create["content"]) == {JSON}
    assert create.get("required", False) is False  # an empty body counts as {}
    assert resolve(create["content"][JSON]["schema"]).get("required", []) == []
    assert set(update["content"]) == {JSON}
    assert update["required"] is True
    update_schema = resolve(update["content"][JSON]["schema"])
    assert update_schema["required"] == ["Status"]
    assert resolve(update_schema["properties"]["Status"])["enum"] == ["Active", "Inactive"]


def test_each_route_documents_exactly_the_input_the_service_declares_for_it() -> None:
    # access_keys.rest.ROUTES is what the service checks; the document is what callers build from.
    documented: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for item in document()["paths"].values():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            parameters = [resolve(parameter) for parameter in item.get("parameters", [])]
            parameters += [resolve(parameter) for parameter in operation.get("parameters", [])]
            body = resolve(operation["requestBody"]["content"][JSON]["schema"]) if "requestBody" in operation else {}
            documented[operation["operationId"].removesuffix("Session")] = (
                {parameter["name"] for parameter in parameters if parameter["in"] == "path"},
                set(body.get("properties", {})),
                set(body.get("required", [])),
            )

    declared = {
        action: (set(route.path), set(route.body), {name for name, field in route.body.items() if field.required})
        for action, route in rest.ROUTES.items()
    }
    assert documented == declared


def test_a_description_longer_than_1024_characters_is_out_of_the_schema() -> None:
    create = resolve(next(op for op in operations().values() if op["operationId"] == "CreateAccessKey")["requestBody"])
    description = resolve(resolve(create["content"][JSON]["schema"])["properties"]["Description"])

    assert description["type"] == "string"
    assert description["maxLength"] == 1024


# ------------------------------------------------------------------------------------------ errors


def test_every_error_code_of_the_service_is_documented_with_its_status() -> None:
    documented = set().union(*(error_codes(operation) for operation in operations().values()))
    codes = service_errors()

    assert len(codes) > 1, "no ServiceError subclass found in access_keys.errors"
    assert codes - documented == set()


def test_the_document_invents_no_error_code_and_puts_none_under_a_wrong_status() -> None:
    documented = set().union(*(error_codes(operation) for operation in operations().values()))

    assert documented - service_errors() == set()


@pytest.mark.parametrize("operation_id", operation_ids())
def test_every_route_documents_the_errors_any_request_can_get(operation_id: str) -> None:
    ((path, operation),) = [
        (path, operation) for (_, path), operation in operations().items() if operation["operationId"] == operation_id
    ]
    expected = (SESSION_COMMON_ERRORS if is_session(path) else COMMON_ERRORS) | (
        SECRET_ID_ERRORS if "{SecretId}" in path else set()
    )

    assert expected - error_codes(operation) == set()


@pytest.mark.parametrize("operation_id", operation_ids())
def test_a_session_route_documents_the_authorizers_401_and_no_other_route_does(operation_id: str) -> None:
    ((path, operation),) = [
        (path, operation) for (_, path), operation in operations().items() if operation["operationId"] == operation_id
    ]
    from_gateway = {status for status, response in responses(operation).items() if may_come_from_gateway(response)}

    assert from_gateway == ({401} if is_session(path) else set())
    if is_session(path):
        unauthorized = responses(operation)[401]
        assert resolve(unauthorized["headers"]["WWW-Authenticate"])["required"] is False
        assert resolve(document()["components"]["schemas"]["ApiGatewayUnauthorized"]["properties"]["message"])[
            "enum"
        ] == ["Unauthorized"]


@pytest.mark.parametrize(
    ("operation_id", "status", "code"),
    [
        ("CreateAccessKey", 409, "OperationDenied.AccessKeyOverLimit"),
        ("CreateAccessKey", 400, "InvalidParameterValue"),
        ("UpdateAccessKey", 400, "MissingParameter"),
        ("UpdateAccessKey", 400, "InvalidParameter"),
        ("DeleteAccessKey", 409, "OperationDenied.AccessKeyActive"),
        ("CreateAccessKeySession", 409, "OperationDenied.AccessKeyOverLimit"),
        ("CreateAccessKeySession", 400, "InvalidParameterValue"),
        ("UpdateAccessKeySession", 400, "MissingParameter"),
        ("UpdateAccessKeySession", 400, "InvalidParameter"),
        ("UpdateAccessKeySession", 401, "AuthFailure.SignatureExpire"),
        ("DeleteAccessKeySession", 409, "OperationDenied.AccessKeyActive"),
    ],
)
def test_route_specific_errors_are_documented_on_their_route(operation_id: str, status: int, code: str) -> None:
    (operation,) = [operation for operation in operations().values() if operation["operationId"] == operation_id]

    assert (status, code) in error_codes(operation)


def test_every_error_response_has_the_envelope_and_nothing_else() -> None:
    for (method, path), operation in operations().items():
        for status, response in responses(operation).items():
            if status < 400:
                continue
            where = f"{method} {path} {status}"
            # Each body but API Gateway's (the 401 of a session route, tested above) is the envelope.
            assert envelopes(response), where
            for envelope in envelopes(response):
                error = resolve(envelope["properties"]["Error"])
                assert set(envelope["properties"]) == {"Error", "RequestId"}, where
                assert set(envelope["required"]) == {"Error", "RequestId"}, where
                assert envelope["additionalProperties"] is False, where
                assert set(error["properties"]) == {"Code", "Message"}, where
                assert set(error["required"]) == {"Code", "Message"}, where
                assert error["additionalProperties"] is False, where
                assert resolve(error["properties"]["Code"])["type"] == "string", where
                assert resolve(error["properties"]["Message"])["type"] == "string", where


def test_every_response_says_it_may_not_be_stored() -> None:
    # The service sends Cache-Control: no-store on every answer (a create's holds a SecretKey).
    # API Gateway's own 401 on a session route comes without it, so there it cannot be required.
    for (method, path), operation in operations().items():
        for status, response in responses(operation).items():
            header = resolve(response.get("headers", {}).get("Cache-Control"))

            assert header, f"{method} {path} {status}"
            assert header["required"] is not may_come_from_gateway(response), f"{method} {path} {status}"
            assert resolve(header["schema"])["enum"] == ["no-store"], f"{method} {path} {status}"


def test_a_429_tells_the_client_when_to_retry() -> None:
    for (method, path), operation in operations().items():
        throttled = responses(operation)[429]

        assert "Retry-After" in throttled["headers"], f"{method} {path}"


# ----------------------------------------------------------------------------------------- schemas


def test_every_request_body_schema_refuses_unknown_fields() -> None:
    checked = [(where, schema) for where, schema in request_body_schemas() if is_object(schema)]

    assert checked, "no request body schema found"
    assert [where for where, schema in checked if schema.get("additionalProperties") is not False] == []


def test_every_object_schema_refuses_unknown_fields() -> None:
    open_objects = [
        where
        for where, schema in all_schemas()
        if is_object(schema) and schema.get("additionalProperties") is not False
    ]

    assert open_objects == []


def test_every_object_requires_only_fields_it_declares() -> None:
    for where, schema in all_schemas():
        if is_object(schema):
            assert set(schema.get("required", [])) <= set(schema.get("properties", {})), where


def test_every_field_of_a_response_is_always_present_null_rather_than_missing() -> None:
    for where, schema in response_schemas():
        if is_object(schema):
            assert set(schema.get("required", [])) == set(schema.get("properties", {})), where


_KEY = AccessKey(secret_id="AKID" + "0" * 32, uin="100000000001", status=Status.ACTIVE, create_time=0, description="")
# Each object schema of the document, and what the REST routes answer for one (access_keys.rest).
ANSWERED_OBJECTS = {
    "AccessKey": rest.key_json(_KEY),
    "CreatedAccessKey": rest.created_key_json(CreatedKey(key=_KEY, secret_key="0" * 32)),
    "AccessRecord": rest.record_json(
        AccessRecord(
            secret_id=_KEY.secret_id,
            uin=_KEY.uin,
            access_time=0,
            service="cam",
            action="ListAccessKeys",
            result=Result.SUCCESS,
            error_code=None,
            source_ip="203.0.113.7",
            user_agent="",
            request_id="r",
        )
    ),
    "FailedAttempts": rest.failed_attempts_json(
        FailedAttempts(
            secret_id=_KEY.secret_id,
            hour=0,
            source_ip="198.51.100.9",
            error_code="AuthFailure.SignatureFailure",
            first_time=0,
            last_time=0,
            count=1,
            user_agent="",
        )
    ),
    "ActivityEntry": rest.activity_json(
        ActivityEntry(
            uin=_KEY.uin,
            time=0,
            actor="user:owner@example.com",
            action="UpdateAccessKey",
            secret_id=_KEY.secret_id,
            source_ip="203.0.113.7",
            result=Result.SUCCESS,
            error_code=None,
            request_id="r",
        )
    ),
}


@pytest.mark.parametrize("schema_name", sorted(ANSWERED_OBJECTS))
def test_an_object_schema_has_exactly_the_fields_the_service_writes(schema_name: str) -> None:
    schema = resolve(document()["components"]["schemas"][schema_name])

    assert set(schema["properties"]) == set(ANSWERED_OBJECTS[schema_name])


def test_list_access_records_answers_both_lists_with_their_schemas() -> None:
    (operation,) = [operation for operation in operations().values() if operation["operationId"] == "ListAccessRecords"]
    properties = json_schema(responses(operation)[200])["properties"]

    assert set(properties) == {"AccessRecords", "FailedAttempts", "RequestId"}
    for name, item in (("AccessRecords", "AccessRecord"), ("FailedAttempts", "FailedAttempts")):
        assert resolve(properties[name])["items"] == {"$ref": f"#/components/schemas/{item}"}
        assert resolve(properties[name])["maxItems"] == 20


@pytest.mark.parametrize("operation_id", ["ListActivity", "ListActivitySession"])
def test_list_activity_answers_the_latest_entries_of_the_account(operation_id: str) -> None:
    (operation,) = [operation for operation in operations().values() if operation["operationId"] == operation_id]
    properties = json_schema(responses(operation)[200])["properties"]

    assert set(properties) == {"Activity", "RequestId"}
    assert resolve(properties["Activity"])["items"] == {"$ref": "#/components/schemas/ActivityEntry"}
    assert resolve(properties["Activity"])["maxItems"] == ACTIVITY_SHOWN


@pytest.mark.parametrize(
    ("schema_name", "field"),
    [
        ("AccessKey", "LastAccessTime"),
        ("AccessRecord", "ErrorCode"),
        ("ActivityEntry", "SecretId"),
        ("ActivityEntry", "ErrorCode"),
    ],
)
def test_fields_documented_as_possibly_null_are_nullable(schema_name: str, field: str) -> None:
    schema = resolve(document()["components"]["schemas"][schema_name]["properties"][field])

    assert schema["nullable"] is True


def test_every_time_is_a_date_time_string() -> None:
    times = [(where, schema) for where, schema in all_schemas() if where.endswith("Time")]

    assert times, "no field named ...Time found"
    for where, schema in times:
        assert schema["type"] == "string", where
        assert schema["format"] == "date-time", where


# --------------------------------------------------------------------------------------- responses


@pytest.mark.parametrize("operation_id", operation_ids())
def test_every_response_of_an_operation_has_a_json_schema(operation_id: str) -> None:
    (operation,) = [operation for operation in operations().values() if operation["operationId"] == operation_id]

    for status, response in responses(operation).items():
        assert set(response.get("content") or {}) == {JSON}, f"{operation_id} {status}"
        assert json_schema(response), f"{operation_id} {status}"
        assert "X-Request-Id" in response.get("headers", {}), f"{operation_id} {status}"


@pytest.mark.parametrize("operation_id", operation_ids())
def test_success_is_201_for_create_and_200_otherwise_and_carries_a_request_id(operation_id: str) -> None:
    (operation,) = [operation for operation in operations().values() if operation["operationId"] == operation_id]
    successes = {status: response for status, response in responses(operation).items() if status < 400}

    assert set(successes) == {201 if signed_twin(operation_id) == "CreateAccessKey" else 200}
    for response in successes.values():
        schema = json_schema(response)
        assert "RequestId" in schema["required"]
        assert resolve(schema["properties"]["RequestId"])["type"] == "string"


def test_only_the_create_response_contains_a_secret_key() -> None:
    with_secret = {
        operation["operationId"]
        for operation in operations().values()
        for status, response in responses(operation).items()
        if any(where.endswith(".SecretKey") for where, _ in walk(json_schema(response), str(status)))
    }

    assert with_secret == {"CreateAccessKey", "CreateAccessKeySession"}
