"""The REST routes (`/v1/...`, docs/api.md): what each takes, how it answers, and its JSON.

Each route's input is declared once, in `ROUTES`, as data: its path parameters, then its body's
fields, each with its check. `endpoint` checks them in the contract's order (path parameter,
then query, then body fields, then values) once the request is authenticated, so the handler in
`functions/<op>/app.py` gets checked values and only calls its operation. The same routes answer
under `/v1/session/...` for a signed-in account (`api.handle_session`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from access_keys import validation
from access_keys.api import (
    RESPONSE_HEADERS,
    ApiRequest,
    Dialect,
    Reply,
    handle,
    handle_session,
    is_session_route,
    session_claims,
)
from access_keys.clock import format_time
from access_keys.domain import AccessKey, AccessRecord, ActivityEntry, FailedAttempts, Principal
from access_keys.errors import ServiceError
from access_keys.keys import CreatedKey
from access_keys.validation import Field


@dataclass(frozen=True, slots=True)
class Route:
    """What one route takes. No route takes a query parameter: one is reported, not ignored."""

    path: Mapping[str, Field] = field(default_factory=dict)  # checked first: the resource named
    body: Mapping[str, Field] = field(default_factory=dict)  # the JSON object's fields

    def input(self, request: ApiRequest) -> dict[str, Any]:
        """The request's checked input, or the first thing wrong with it as a ServiceError."""
        given = {name: path.check(request.path_parameters.get(name)) for name, path in self.path.items()}
        return given | validation.checked(request.body_input(), self.body)


_SECRET_ID = {"SecretId": Field(validation.secret_id)}

ROUTES: Mapping[str, Route] = {
    "CreateAccessKey": Route(body={"Description": Field(validation.description, required=False)}),
    "ListAccessKeys": Route(),
    "GetAccessKey": Route(path=_SECRET_ID),
    "UpdateAccessKey": Route(path=_SECRET_ID, body={"Status": Field(validation.status)}),
    "DeleteAccessKey": Route(path=_SECRET_ID),
    "ListAccessRecords": Route(path=_SECRET_ID),
    "ListActivity": Route(),
}

# What a handler is: the caller and the route's checked input, to the reply.
Operation = Callable[[Principal, Mapping[str, Any]], Reply]


def endpoint(action: str) -> Callable[[Operation], Callable[[Mapping[str, Any], Any], dict[str, Any]]]:
    """Make a Lambda handler of the operation `(caller, input) -> Reply` of the route `action`,
    its name as access records show it (`CreateAccessKey`, ...) and its key in `ROUTES`."""
    route = ROUTES[action]

    def decorate(operation: Operation) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
        def run(request: ApiRequest, caller: Principal) -> Reply:
            return operation(caller, route.input(request))

        @functools.wraps(operation)
        def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
            request = ApiRequest.from_event(event, action)
            if is_session_route(event):
                return handle_session(request, run, session_claims(event), REST)
            return handle(request, run, REST)

        return handler

    return decorate


# ---------------------------------------------------------------------------------- the answers


def _success(request: ApiRequest, reply: Reply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": {**RESPONSE_HEADERS, "X-Request-Id": request.request_id},
        "body": json.dumps({**reply.body, "RequestId": request.request_id}),
    }


def _failure(request: ApiRequest, error: ServiceError, code: str) -> dict[str, Any]:
    headers = {**RESPONSE_HEADERS, "X-Request-Id": request.request_id}
    if error.status == 429:
        headers["Retry-After"] = "1"
    return {
        "statusCode": error.status,
        "headers": headers,
        "body": json.dumps({"Error": {"Code": code, "Message": error.message}, "RequestId": request.request_id}),
    }


REST = Dialect(
    success=_success,
    failure=_failure,
    code_of=lambda error: error.code,
    recorded_action=lambda request: request.action,
)


# ---------------------------------------------------------------------------------- the JSON


def key_json(key: AccessKey) -> dict[str, Any]:
    """`<key>` of docs/api.md: a key as its owner sees it, without any secret."""
    return {
        "SecretId": key.secret_id,
        "Status": str(key.status),
        "CreateTime": format_time(key.create_time),
        "Description": key.description,
        "LastAccessTime": None if key.last_access_time is None else format_time(key.last_access_time),
    }


def created_key_json(created: CreatedKey) -> dict[str, Any]:
    """A create's answer: the only JSON that ever holds a SecretKey."""
    return {
        "SecretId": created.key.secret_id,
        "SecretKey": created.secret_key,
        "Status": str(created.key.status),
        "CreateTime": format_time(created.key.create_time),
        "Description": created.key.description,
    }


def record_json(record: AccessRecord) -> dict[str, Any]:
    return {
        "AccessTime": format_time(record.access_time),
        "Service": record.service,
        "Action": record.action,
        "Result": str(record.result),
        "ErrorCode": record.error_code,
        "SourceIp": record.source_ip,
        "UserAgent": record.user_agent,
        "RequestId": record.request_id,
    }


def failed_attempts_json(attempts: FailedAttempts) -> dict[str, Any]:
    return {
        "FirstTime": format_time(attempts.first_time),
        "LastTime": format_time(attempts.last_time),
        "Count": attempts.count,
        "SourceIp": attempts.source_ip,
        "ErrorCode": attempts.error_code,
        "UserAgent": attempts.user_agent,
    }


def activity_json(entry: ActivityEntry) -> dict[str, Any]:
    return {
        "Time": format_time(entry.time),
        "Actor": entry.actor,
        "Action": entry.action,
        "SecretId": entry.secret_id,
        "SourceIp": entry.source_ip,
        "Result": str(entry.result),
        "ErrorCode": entry.error_code,
        "RequestId": entry.request_id,
    }
