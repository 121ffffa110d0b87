"""The stored events of events/: one loader for tests, tools and `sam local invoke`.

HTTP events carry a TC3 signature, which expires 300 s after its timestamp, so `sign_event`
re-signs a stored event with a given key and time.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

from access_keys import signing
from access_keys_tools.template import PROJECT_ROOT

EVENTS_DIR = PROJECT_ROOT / "events"


def event_path(name: str) -> Path:
    """`GetAccessKey/own-key` -> events/GetAccessKey/own-key.json"""
    return EVENTS_DIR / f"{name}.json"


def load_event(name: str) -> dict[str, Any]:
    with event_path(name).open(encoding="utf-8") as stream:
        return json.load(stream)


def http_event(
    name: str,
    *,
    secret_id: str | None = None,
    body: Any = None,
    query: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A stored HTTP event, with the path's SecretId, the body, the query or headers replaced.

    `body` may be a JSON-able object or raw str/bytes.
    """
    event = load_event(name)  # a fresh copy, read from the file
    if secret_id is not None:
        event = with_path_secret_id(event, secret_id)
    if body is not None:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["content-length"] = str(len(event["body"].encode("utf-8")))
    if query is not None:
        event["rawQueryString"] = query
        parameters = dict(part.split("=", 1) if "=" in part else (part, "") for part in query.split("&") if part)
        if parameters:
            event["queryStringParameters"] = parameters
        else:
            event.pop("queryStringParameters", None)
    if headers:
        event["headers"].update({name.lower(): value for name, value in headers.items()})
    return event


def with_path_secret_id(event: dict[str, Any], secret_id: str) -> dict[str, Any]:
    """A copy of an HTTP event whose route names the key `secret_id`."""
    event = copy.deepcopy(event)
    event["pathParameters"] = {**(event.get("pathParameters") or {}), "SecretId": secret_id}
    path = event["routeKey"].split(" ", 1)[1]
    for parameter, value in event["pathParameters"].items():
        path = path.replace("{" + parameter + "}", value)
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    return event


def sign_event(
    event: dict[str, Any],
    *,
    secret_id: str,
    secret_key: str,
    timestamp: int | None = None,
    signed_headers: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """A copy of `event`, signed now (or at `timestamp`) with the given key, with a fresh RequestId.

    By default it signs `content-type;host`, and `x-tc-action` too when the event carries one, as
    this project's own clients do: a signature that covers its action can serve no other. Pass
    `signed_headers=("content-type", "host")` to sign as Tencent's stock SDKs do.
    """
    signed = copy.deepcopy(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = signed["headers"]
    if signed_headers is None:
        signed_headers = (
            ("content-type", "host", "x-tc-action") if "x-tc-action" in headers else ("content-type", "host")
        )
    headers["x-tc-timestamp"] = str(timestamp)
    body = signed.get("body") or ""
    headers["authorization"] = signing.sign(
        secret_id=secret_id,
        secret_key=secret_key,
        method=signed["requestContext"]["http"]["method"],
        path=signed["rawPath"],
        query=signed.get("rawQueryString", ""),
        headers=headers,
        body=body.encode("utf-8"),
        timestamp=timestamp,
        signed_headers=signed_headers,
    )
    context = signed["requestContext"]
    context["requestId"] = str(uuid.uuid4())
    context["timeEpoch"] = timestamp * 1000
    context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(timestamp))
    return signed


def sign_verify_event(
    event: dict[str, Any], *, secret_id: str, secret_key: str, timestamp: int | None = None
) -> dict[str, Any]:
    """A copy of a stored VerifyRequest event, signed now (or at `timestamp`) for its Service and
    CanonicalRequestHash with the given key, with a fresh RequestId: what a platform service
    would send for a request its client signed."""
    signed = copy.deepcopy(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    date = signing.utc_date(timestamp)
    scope = f"{date}/{signed['Service']}/{signing.TERMINATOR}"
    signature = signing.signature(
        signing.signing_key(secret_key, date, signed["Service"], signing.TERMINATOR),
        signing.string_to_sign(timestamp, scope, signed["CanonicalRequestHash"]),
    )
    signed["Authorization"] = (
        f"{signing.ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    )
    signed["Timestamp"] = str(timestamp)
    signed["RequestId"] = f"{signed['Service']}-{uuid.uuid4()}"
    return signed
