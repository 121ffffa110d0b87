"""Tencent Cloud API 3.0 for CAM's access-key actions: `POST /` (and `GET /`, the parameters in the
query), so that Tencent's SDKs work unchanged.

The caller names the action in `X-TC-Action` and CAM's version in `X-TC-Version`, signs with
TC3-HMAC-SHA256 over the canonical URI `/` (the same verifier as the REST routes: the path is
`/`), and gets Tencent's envelopes: `{"Response": {..., "RequestId"}}`, or
`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`, always with HTTP 200, since
Tencent's SDKs read any other status as a network failure.

Each action calls the same service operation as its REST route (access_keys.keys) and
differs only in names and formats: CAM's `AccessKeyId` and `SecretAccessKey`, times as
`YYYY-MM-DD hh:mm:ss` (UTC), and `ResourceNotFound.SecretNotExist` for a key the caller cannot
see. Every call leaves its trace, like any signed request, under its X-TC-Action name, or
`InvalidAction` for a name this service does not answer (never the text sent).

The stock SDKs sign only `content-type;host`, so X-TC-Action is often unsigned: such a signature
is bound to the action it was first used for (`authentication.SignatureUse.action_header`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from access_keys import keys, validation
from access_keys.api import RESPONSE_HEADERS, ApiRequest, Dialect, Reply, handle
from access_keys.authentication import ACTION_HEADER
from access_keys.domain import AccessKey, Principal
from access_keys.errors import (
    AccessKeyNotFound,
    InvalidAction,
    InvalidParameter,
    InvalidParameterValue,
    MissingParameter,
    NoSuchVersion,
    ServiceError,
    UnauthorizedOperation,
)
from access_keys.validation import Field

VERSION = "2019-01-16"
MAX_SECRET_IDS = 10
# How much of an X-TC-Action the access record keeps; every real action name is shorter.
_ACTION_MAX_CHARS = 64
# CAM's codes where the REST routes have their own.
_CAM_CODES = {AccessKeyNotFound.code: "ResourceNotFound.SecretNotExist"}
_CAM_NOT_FOUND_MESSAGE = "The AccessKeyId does not exist, or is not one of your account's keys."


def _time(ms: int) -> str:
    """CAM's `YYYY-MM-DD hh:mm:ss`, in UTC."""
    return f"{datetime.fromtimestamp(ms // 1000, UTC):%Y-%m-%d %H:%M:%S}"


def _access_key(key: AccessKey) -> dict[str, Any]:
    return {
        "AccessKeyId": key.secret_id,
        "Status": str(key.status),
        "CreateTime": _time(key.create_time),
        "Description": key.description,
    }


def _target_uin(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal():
        raise InvalidParameter("TargetUin must be an account's Uin, a whole number.")
    return str(value)


def _secret_id_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(secret_id, str) for secret_id in value):
        raise InvalidParameter("SecretIdList must be a list of SecretIds.")
    if not 1 <= len(value) <= MAX_SECRET_IDS:
        raise InvalidParameter(f"SecretIdList must hold 1 to {MAX_SECRET_IDS} SecretIds.")
    return value


# TargetUin may only name the caller's own account (this service has no sub-accounts): checked,
# once every value is, by `dispatch`.
_TARGET_UIN = {"TargetUin": Field(_target_uin, required=False)}
_ACCESS_KEY_ID = {"AccessKeyId": Field(functools.partial(validation.secret_id, name="AccessKeyId"))}


def create_access_key(given: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
    created = keys.create_access_key(caller.uin, given.get("Description", ""))
    return {"AccessKey": {**_access_key(created.key), "SecretAccessKey": created.secret_key}}


def list_access_keys(given: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
    return {"AccessKeys": [_access_key(key) for key in keys.list_access_keys(caller)]}


def update_access_key(given: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
    keys.update_access_key(caller, given["AccessKeyId"], given["Status"])
    return {}


def delete_access_key(given: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
    keys.delete_access_key(caller, given["AccessKeyId"])
    return {}


def get_security_last_used(given: Mapping[str, Any], caller: Principal) -> dict[str, Any]:
    """A row per listed key the caller owns; an unknown id and another account's id are both left out."""
    rows = []
    for secret_id in dict.fromkeys(given["SecretIdList"]):  # each once, in the caller's order
        try:
            key = keys.get_access_key(caller, validation.secret_id(secret_id))
        except (InvalidParameterValue, AccessKeyNotFound):
            continue  # malformed, unknown or another account's: all look the same
        used = key.last_access_time
        rows.append(
            {
                "SecretId": key.secret_id,
                "LastUsedDate": None if used is None else _time(used)[:10],
                "LastSecretUsedDate": used,
            }
        )
    return {"SecretIdLastUsedRows": rows}


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """One CAM action: its operation, and the parameters it takes, in the order they are checked."""

    run: Callable[[Mapping[str, Any], Principal], dict[str, Any]]
    fields: Mapping[str, Field]


ACTIONS = {
    "CreateAccessKey": Action(
        create_access_key, {"Description": Field(validation.description, required=False), **_TARGET_UIN}
    ),
    "ListAccessKeys": Action(list_access_keys, _TARGET_UIN),
    "UpdateAccessKey": Action(update_access_key, {**_ACCESS_KEY_ID, "Status": Field(validation.status), **_TARGET_UIN}),
    "DeleteAccessKey": Action(delete_access_key, {**_ACCESS_KEY_ID, **_TARGET_UIN}),
    "GetSecurityLastUsed": Action(get_security_last_used, {"SecretIdList": Field(_secret_id_list)}),
}


def dispatch(request: ApiRequest, caller: Principal) -> Reply:
    """The verified request's action, after its version, then its parameters, are checked."""
    version = request.headers.get("x-tc-version", "").strip()
    if not version:
        raise MissingParameter(f"The X-TC-Version header is missing: this service speaks CAM's {VERSION}.")
    if version != VERSION:
        raise NoSuchVersion(f"The version {json.dumps(version)} does not exist: this service speaks CAM's {VERSION}.")
    if not request.action:
        raise MissingParameter("The X-TC-Action header is missing.")
    action = ACTIONS.get(request.action)
    if action is None:
        raise InvalidAction(
            f"The action {json.dumps(request.action)} does not exist. This service answers {', '.join(ACTIONS)}."
        )
    document = _query_document(request) if request.method == "GET" else request.body_input()
    given = validation.checked(document, action.fields)
    if given.get("TargetUin", caller.uin) != caller.uin:
        raise UnauthorizedOperation("TargetUin must be your own account's Uin: keys are managed by their owner only.")
    return Reply(200, action.run(given, caller))


def _query_document(request: ApiRequest) -> dict[str, Any]:
    """`GET /`'s parameters, as Tencent's SDKs flatten them into the query: `Description=ci`,
    `SecretIdList.0=AKID...&SecretIdList.1=AKID...`. Read from the raw query, since API Gateway's
    parsed parameters join repeated names with commas."""
    if request.body.strip():
        raise InvalidParameter("A GET request carries its parameters in the query string, not a body.")
    try:
        pairs = parse_qsl(request.query, keep_blank_values=True, strict_parsing=bool(request.query))
    except ValueError:
        raise InvalidParameter("The query string is not name=value pairs joined by &.") from None
    document: dict[str, Any] = {}
    lists: dict[str, dict[int, str]] = {}
    for name, value in pairs:
        base, dot, index = name.partition(".")
        if dot:
            if not index.isdecimal() or base in document:
                raise InvalidParameter(f"The query parameter {json.dumps(name)} is not NAME or NAME.<index>.")
            lists.setdefault(base, {})
            if int(index) in lists[base]:
                raise InvalidParameter(f"The query parameter {json.dumps(name)} is given twice.")
            lists[base][int(index)] = value
        elif name in document or name in lists:
            raise InvalidParameter(f"The query parameter {json.dumps(name)} is given twice.")
        else:
            document[name] = value
    for base, items in lists.items():
        if sorted(items) != list(range(len(items))):
            raise InvalidParameter(f"The indexes of {base} must run from 0 without a gap.")
        document[base] = [items[index] for index in range(len(items))]
    return document


def _envelope(request: ApiRequest, response: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": 200,
        # Content-Type exactly `application/json`: Tencent's SDKs parse an error only under it.
        "headers": {**RESPONSE_HEADERS, "X-Request-Id": request.request_id},
        "body": json.dumps({"Response": {**response, "RequestId": request.request_id}}),
    }


def _code_of(error: ServiceError) -> str:
    return _CAM_CODES.get(error.code, error.code)


def _message_of(error: ServiceError) -> str:
    return _CAM_NOT_FOUND_MESSAGE if isinstance(error, AccessKeyNotFound) else error.message


CLOUD_API = Dialect(
    success=lambda request, reply: _envelope(request, reply.body),
    failure=lambda request, error, code: _envelope(request, {"Error": {"Code": code, "Message": _message_of(error)}}),
    code_of=_code_of,
    # Any caller can send any X-TC-Action: only known names reach a record or a metric dimension.
    recorded_action=lambda request: request.action if request.action in ACTIONS else "InvalidAction",
    action_header=ACTION_HEADER,
)


def handle_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """An API Gateway event of `POST /` to its response."""
    request = ApiRequest.from_event(event, "")
    action = request.headers.get(ACTION_HEADER, "").strip()[:_ACTION_MAX_CHARS]
    return handle(dataclasses.replace(request, action=action), dispatch, CLOUD_API)
