"""Answering a refusal as API Gateway expects it, and `verified`, the decorator for a Lambda handler."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from .events import Request
from .outcomes import Caller, Refusal
from .verifier import ChangesState, Verifier

Envelope = Literal["rest", "tencent"]
ENVELOPES: tuple[Envelope, ...] = ("rest", "tencent")

# Every answer: an authenticated answer is no shared cache's to keep.
RESPONSE_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}

Handler = Callable[[Any, Any, Caller], Any]
LambdaHandler = Callable[[Any, Any], Any]


def refusal_response(refusal: Refusal, request_id: str, *, envelope: Envelope = "rest") -> dict[str, Any]:
    """The API Gateway proxy response that answers `refusal`.

    `rest`: HTTP `refusal.status`, `{"Error": {"Code", "Message"}, "RequestId"}`, and
    `Retry-After: 1` on 429. `tencent` (Tencent Cloud API 3.0): HTTP 200,
    `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`, since Tencent's SDKs read any
    other status as a network failure. Both `Content-Type: application/json` (exactly: the SDKs
    parse an error only under it) and `Cache-Control: no-store`.
    """
    error = {"Code": refusal.code, "Message": refusal.message}
    headers = {**RESPONSE_HEADERS, "X-Request-Id": request_id}
    if envelope == "rest":
        if refusal.status == 429:
            headers["Retry-After"] = "1"
        return {
            "statusCode": refusal.status,
            "headers": headers,
            "body": json.dumps({"Error": error, "RequestId": request_id}),
        }
    if envelope == "tencent":
        return {
            "statusCode": 200,
            "headers": headers,
            "body": json.dumps({"Response": {"Error": error, "RequestId": request_id}}),
        }
    raise ValueError(f"envelope must be one of {ENVELOPES}; got {envelope!r}")


def verified(
    verifier: Verifier,
    *,
    envelope: Envelope = "rest",
    action: str | Callable[[Any], str] | None = None,
    changes_state: ChangesState = True,
) -> Callable[[Handler], LambdaHandler]:
    """Decorate `handler(event, context, caller)` into a Lambda handler `handler(event, context)`.

    Each API Gateway event is verified first (`Verifier.verify_event`); the handler runs only for
    an accepted request, with its Caller. A refusal is answered here, in the `envelope` chosen
    (`refusal_response`), and the handler does not run. `action` is the action's name, or a
    function of the event giving it; by default the X-TC-Action header. `changes_state` is a
    bool or a function of the action. The handler's own API Gateway response (a dict with
    `statusCode`) gets `Cache-Control: no-store` unless it sets Cache-Control itself.

        verifier = Verifier("cvm")

        @verified(verifier, envelope="tencent", changes_state=lambda action: not action.startswith("Describe"))
        def lambda_handler(event, context, caller):
            ...
    """
    if envelope not in ENVELOPES:
        raise ValueError(f"envelope must be one of {ENVELOPES}; got {envelope!r}")

    def decorate(handler: Handler) -> LambdaHandler:
        @functools.wraps(handler)
        def lambda_handler(event: Any, context: Any) -> Any:
            request = Request.from_event(event)
            try:
                named = action(event) if callable(action) else action
                caller = verifier.verify_request(request, action=named, changes_state=changes_state)
            except Refusal as refusal:
                return refusal_response(refusal, request.request_id, envelope=envelope)
            return not_stored(handler(event, context, caller))

        return lambda_handler

    return decorate


def not_stored(response: Any) -> Any:
    """An API Gateway proxy response with `Cache-Control: no-store`, unless it sets Cache-Control."""
    if not isinstance(response, Mapping) or "statusCode" not in response:
        return response  # a payload 2.0 bare body: API Gateway makes the response
    headers = dict(response.get("headers") or {})
    if not any(name.lower() == "cache-control" for name in headers):
        headers["Cache-Control"] = "no-store"
    return {**response, "headers": headers}
