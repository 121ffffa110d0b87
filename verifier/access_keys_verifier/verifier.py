"""`Verifier`: a platform service's client of the access-key service's VerifyRequestFunction."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from .canonical import claimed_secret_id
from .events import Request
from .outcomes import Caller, Refusal

logger = logging.getLogger("access_keys_verifier")

FUNCTION_ENV = "ACCESS_KEYS_VERIFY_FUNCTION"
ENDPOINT_ENV = "ACCESS_KEYS_LAMBDA_ENDPOINT"
DEFAULT_FUNCTION = "VerifyRequestFunction"
ACTION_HEADER = "x-tc-action"
TEMPORARY_CREDENTIALS_HEADER = "x-tc-token"

_SERVICE = re.compile(r"[a-z0-9-]{1,32}")

ChangesState = bool | Callable[[str], bool]


class Verifier:
    """Verifies the requests one platform service receives, through the access-key service.

    `service` is the service's name as signers put it in the credential scope (`cvm`): 1 to 32
    of `a-z 0-9 -`, not `cam`. The function is `function_name`, else env
    `ACCESS_KEYS_VERIFY_FUNCTION`, else `VerifyRequestFunction` (a name or an ARN). The Lambda
    client is `lambda_client`, else `boto3.client("lambda")` made on first use, with
    `endpoint_url` from env `ACCESS_KEYS_LAMBDA_ENDPOINT` when set (the local stack's Invoke API).
    One Verifier per process, made at import time, reuses its client across invocations. Pass
    your own `lambda_client` to choose its region, timeouts and retries: a retried VerifyRequest
    whose first attempt did reach the function is refused as a reused signature, never accepted.
    """

    def __init__(self, service: str, *, function_name: str | None = None, lambda_client: Any = None) -> None:
        if not isinstance(service, str) or not _SERVICE.fullmatch(service) or service == "cam":
            raise ValueError(f"service must be 1 to 32 of a-z 0-9 -, and not cam; got {service!r}")
        self.service = service
        self.function_name = function_name or os.environ.get(FUNCTION_ENV) or DEFAULT_FUNCTION
        self._lambda_client = lambda_client

    # ------------------------------------------------------------------------------ verify

    def verify(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        action: str,
        changes_state: bool = True,
        source_ip: str,
        user_agent: str | None = None,
        request_id: str,
    ) -> Caller:
        """Who signed this request, as received: `path` and `query` exactly as sent (no `?`),
        `headers` with names in any case, `body` the bytes received, `request_id` the service's own.

        `changes_state`: the request is accepted at most once (API.md, "Single use"); pass False
        only for reads. Raises Refusal for every request not accepted, including when the
        access-key service cannot be reached or answers anything but a verdict (InternalError).
        """
        request = Request(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            request_id=request_id,
            user_agent=user_agent,
        )
        return self.verify_request(request, action=action, changes_state=changes_state)

    def verify_event(
        self,
        event: Mapping[str, Any],
        *,
        action: str | None = None,
        changes_state: ChangesState = True,
        path: str | None = None,
    ) -> Caller:
        """Who signed the request of an API Gateway proxy event, payload 1.0 or 2.0 (see `Request.from_event`).

        `action` defaults to the X-TC-Action header (Tencent Cloud API 3.0 style); without either
        the request is refused with MissingParameter. `changes_state` is a bool, or a function of
        the action (`lambda action: not action.startswith("Describe")`).
        """
        return self.verify_request(Request.from_event(event, path=path), action=action, changes_state=changes_state)

    def verify_request(
        self, request: Request, *, action: str | None = None, changes_state: ChangesState = True
    ) -> Caller:
        """Who signed `request`: the Caller, or a Refusal raised. Never a Caller on any doubt."""
        authorization = request.header("authorization")
        canonical_hash = request.canonical_request_hash()  # Refusal if no canonical request can be built
        if request.header(TEMPORARY_CREDENTIALS_HEADER) is not None:
            # VerifyRequest carries no token: refused here, as the access-key service refuses its own.
            raise Refusal("AuthFailure.TokenFailure", "Temporary credentials (X-TC-Token) are not accepted.", 401)
        action = action_of(request, action)
        state_changing = changes_state(action) if callable(changes_state) else changes_state
        payload = {
            "Operation": "VerifyRequest",
            "Service": self.service,
            "Action": action,
            "Authorization": authorization,
            "Timestamp": request.header("x-tc-timestamp") or "",
            "CanonicalRequestHash": canonical_hash,
            "ChangesState": bool(state_changing),
            "SourceIp": request.source_ip,
            "RequestId": request.request_id,
        }
        if request.user_agent:
            payload["UserAgent"] = request.user_agent
        answer = self._invoke(payload)
        return _verdict(answer, claimed=claimed_secret_id(authorization), verifier=self)

    # ------------------------------------------------------------------------------ report

    def report_refusal(self, caller: Caller, code: str) -> bool:
        """Mark the caller's access record failed with `code`: the service refused the request after
        all (no permission, bad input, its own failure). ReportAccessOutcome.

        True when the record was updated. False otherwise (not this service's record, older than
        15 minutes, a malformed code, or the access-key service unreachable): logged, never raised,
        since the request is refused either way.
        """
        payload = {
            "Operation": "ReportAccessOutcome",
            "Service": self.service,
            "RecordId": caller.record_id,
            "ErrorCode": code,
        }
        try:
            answer = self._invoke(payload)
        except Refusal:
            return False
        if answer.get("Updated") is True:
            return True
        error = answer.get("Error")
        logger.warning("ReportAccessOutcome not applied: %s", error.get("Code") if isinstance(error, dict) else answer)
        return False

    # ------------------------------------------------------------------------------ invoke

    def _client(self) -> Any:
        if self._lambda_client is None:
            import boto3

            self._lambda_client = boto3.client("lambda", endpoint_url=os.environ.get(ENDPOINT_ENV) or None)
        return self._lambda_client

    def _invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The function's answer as a JSON object; Refusal InternalError for anything else (fail closed)."""
        operation = payload["Operation"]
        try:
            response = self._client().invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode("utf-8"),
            )
            raw = response["Payload"].read()
            function_error = response.get("FunctionError")
            status = response.get("StatusCode", 200)
        except Exception as error:
            # botocore's errors (denied, throttled, timed out, unreachable), boto3 missing, a
            # response without a payload: the verifier could not be asked, so nobody is verified.
            logger.warning("%s could not be invoked: %s", operation, _described(error))
            raise Refusal.internal_error() from None
        if function_error or status != 200:
            # The function raised (it never does for a refusal): its error report is not a verdict.
            logger.warning("%s failed in %s: %s (status %s)", operation, self.function_name, function_error, status)
            raise Refusal.internal_error()
        try:
            answer = json.loads(raw)
        except (ValueError, TypeError):
            answer = None
        if not isinstance(answer, dict):
            logger.warning("%s answered something other than a JSON object", operation)
            raise Refusal.internal_error()
        return answer


def action_of(request: Request, action: str | None) -> str:
    """The action given, else the request's X-TC-Action header; MissingParameter without either."""
    if action is None:
        action = (request.header(ACTION_HEADER) or "").strip()
    if not action:
        raise Refusal("MissingParameter", "The X-TC-Action header is missing.", 400)
    return action


def _verdict(answer: Mapping[str, Any], *, claimed: str | None, verifier: Verifier) -> Caller:
    """A VerifyRequest answer as its Caller, or its Refusal raised; InternalError for anything unexpected."""
    valid = answer.get("Valid")
    record_id = answer.get("RecordId")
    if valid is True:
        secret_id, uin = answer.get("SecretId"), answer.get("Uin")
        fields = (secret_id, uin, record_id)
        if all(isinstance(value, str) and value for value in fields) and secret_id == claimed:
            return Caller(secret_id=secret_id, uin=uin, record_id=record_id, verified_by=verifier)
        # Accepted, but not as a verdict about the key this request names: not believed.
        logger.warning("VerifyRequest accepted with an unreadable or mismatched caller")
        raise Refusal.internal_error()
    error = answer.get("Error")
    if valid is False and isinstance(error, Mapping):
        code, message = error.get("Code"), error.get("Message")
        if isinstance(code, str) and code and isinstance(message, str):
            raise Refusal(code, message, record_id=record_id if isinstance(record_id, str) else None)
    logger.warning("VerifyRequest answered neither an acceptance nor a refusal")
    raise Refusal.internal_error()


def _described(error: Exception) -> str:
    """An invoke failure for the log: its class and AWS error code, never its text (which may quote
    the request's parameters, and so the payload with its signature)."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(error).__name__} {code}" if code else type(error).__name__
