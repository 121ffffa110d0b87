"""VerifyRequest and ReportAccessOutcome: how the platform's other services verify requests here.

A service (a `cvm`, a `cos`) receives a TC3-signed request, builds its canonical request itself,
and invokes VerifyRequestFunction with the hash of it, never the body. The same verifier as this
API's own routes (`authentication.authenticate`) checks it, with the same scope, skew and
single-use rules, and the same two record lists: the key's owner sees the call, with its Service
and Action, whatever it got. The SecretKey never leaves this service.

Invoked with the Lambda Invoke API by the principals the stack allows; never raises for a
refusal (the answer says `Valid`), and fails closed: when it cannot decide, it says so with
`RequestLimitExceeded` or `InternalError`, and the service must refuse.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from access_keys import authentication, records, validation
from access_keys.clock import now_ms
from access_keys.dal.throttling import Throttled
from access_keys.domain import OWN_SERVICE, AccessKey
from access_keys.errors import (
    InternalError,
    InvalidParameter,
    InvalidParameterValue,
    MissingParameter,
    RecordNotFound,
    ServiceError,
    refusal_of,
)
from access_keys.observability import count_alone, logger, metrics
from access_keys.validation import Field

_SERVICE = re.compile(r"[a-z0-9-]{1,32}")
_ACTION = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,128}")
_CANONICAL_HASH = re.compile(r"[0-9a-f]{64}")
_ERROR_CODE = re.compile(r"[A-Za-z0-9._]{1,64}")
# Longer than any header a client sends; beyond it the event is malformed, not a signature failure.
_MAX_HEADER_CHARS = 8192
_MAX_USER_AGENT_CHARS = 4096
_MAX_RECORD_ID_CHARS = 512


def _text(name: str, pattern: re.Pattern[str], description: str) -> Field:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidParameter(f"{name} must be a string.")
        if not pattern.fullmatch(value):
            raise InvalidParameterValue(f"{name} must be {description}.")
        return value

    return Field(check)


def _bounded(name: str, limit: int, *, required: bool = True) -> Field:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidParameter(f"{name} must be a string.")
        if len(value) > limit:
            raise InvalidParameterValue(f"{name} must be at most {limit} characters.")
        return value

    return Field(check, required=required)


def _service(value: Any) -> str:
    service: str = _text("Service", _SERVICE, "1 to 32 of a-z, 0-9 and -").check(value)
    if service == OWN_SERVICE:
        raise InvalidParameterValue("Service must be the calling service's own name, not cam.")
    return service


def _source_ip(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidParameter("SourceIp must be a string.")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidParameterValue("SourceIp must be an IPv4 or IPv6 address.") from None


def _changes_state(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameter("ChangesState must be true or false.")
    return value


_OPERATION = Field(lambda value: value)  # already checked: it chose these fields

VERIFY_FIELDS = {
    "Operation": _OPERATION,
    "Service": Field(_service),
    "Action": _text("Action", _ACTION, "1 to 64 of A-Z, a-z, 0-9 and . _ : -"),
    "Authorization": _bounded("Authorization", _MAX_HEADER_CHARS),
    "Timestamp": _bounded("Timestamp", 64),
    "CanonicalRequestHash": _text("CanonicalRequestHash", _CANONICAL_HASH, "64 lower-case hexadecimal digits"),
    "ChangesState": Field(_changes_state, required=False),
    "SourceIp": Field(_source_ip),
    "UserAgent": _bounded("UserAgent", _MAX_USER_AGENT_CHARS, required=False),
    "RequestId": _text("RequestId", _REQUEST_ID, "1 to 128 printable ASCII characters"),
}
REPORT_FIELDS = {
    "Operation": _OPERATION,
    "Service": Field(_service),
    "RecordId": _bounded("RecordId", _MAX_RECORD_ID_CHARS),
    "ErrorCode": _text("ErrorCode", _ERROR_CODE, "1 to 64 of A-Z, a-z, 0-9, . and _"),
}


def _checked(event: Mapping[str, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    """The event's fields, checked in the contract's order: names, then presence, then values."""
    return validation.checked(event, fields, noun="operation")


def handle(event: Any) -> dict[str, Any]:
    """One invocation of VerifyRequestFunction: its answer, never an exception for a refusal."""
    operation = event.get("Operation") if isinstance(event, Mapping) else None
    metrics.add_dimension(name="Operation", value=operation if operation in _OPERATIONS else "Invalid")
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    if operation not in _OPERATIONS:
        error = (
            InvalidParameter("The event must be a JSON object.")
            if not isinstance(event, Mapping)
            else MissingParameter("The parameter Operation is required.")
            if operation is None
            else InvalidParameterValue("Operation must be VerifyRequest or ReportAccessOutcome.")
        )
        return {"Error": _error(error)}
    try:
        return _OPERATIONS[operation](event)
    except Exception:
        logger.exception("invocation failed", extra={"operation": operation})
        return _refused(operation, InternalError(), event.get("RequestId"))


def verify_request(event: Mapping[str, Any]) -> dict[str, Any]:
    try:
        checked = _checked(event, VERIFY_FIELDS)
    except ServiceError as malformed:  # no record: the event, not a request, is wrong
        return _verify_answer(malformed, None, event.get("RequestId"))
    request = authentication.HashedRequest(
        authorization=checked["Authorization"],
        timestamp=checked["Timestamp"],
        canonical_request_hash=checked["CanonicalRequestHash"],
        service=checked["Service"],
    )
    use = authentication.SignatureUse(action=checked["Action"], changes_state=checked.get("ChangesState", True))
    access_time = now_ms()
    try:
        verdict = authentication.authenticate(request, use, now=time.time())
    except Throttled as undecided:  # the key could not be read: nobody to record it for
        return _verify_answer(refusal_of(undecided), None, checked["RequestId"])
    refusal = verdict.refusal
    record_id = None
    if verdict.key is not None and verdict.signed:
        try:
            record_id = records.record_access(
                verdict.key,
                service=checked["Service"],
                action=checked["Action"],
                error_code=refusal.code if refusal else None,
                source_ip=checked["SourceIp"],
                user_agent=checked.get("UserAgent", ""),
                request_id=checked["RequestId"],
                access_time=access_time,
                unique_id=secrets.token_hex(16),
            )
        except Exception as error:
            # Every accepted request shows in its key's records, or it is not accepted: the
            # service has done nothing yet, so refusing is safe, and its client may retry.
            logger.exception("access record not written", extra={"secret_id": verdict.key.secret_id})
            refusal = refusal or refusal_of(error)
    elif verdict.key is not None:
        _count_failed_attempt(verdict.key, verdict.refusal, checked, access_time)
    if refusal is not None or verdict.caller is None:
        refusal = refusal or InternalError()
        logger.info("verification refused", extra={"service": checked["Service"], "code": refusal.code})
        count_alone("VerificationsRefused", ErrorCode=refusal.code)  # alarms watch InternalError
        return _verify_answer(refusal, record_id, checked["RequestId"])
    metrics.add_metric(name="RequestsVerified", unit=MetricUnit.Count, value=1)
    return {
        "Valid": True,
        "SecretId": verdict.caller.secret_id,
        "Uin": verdict.caller.uin,
        "RecordId": record_id,
        "RequestId": checked["RequestId"],
    }


def report_access_outcome(event: Mapping[str, Any]) -> dict[str, Any]:
    try:
        checked = _checked(event, REPORT_FIELDS)
        if not records.report_access_outcome(checked["Service"], checked["RecordId"], checked["ErrorCode"]):
            raise RecordNotFound()
    except (ServiceError, Throttled) as refusal:
        return {"Updated": False, "Error": _error(refusal_of(refusal))}
    return {"Updated": True}


def _count_failed_attempt(
    key: AccessKey, refusal: ServiceError | None, checked: Mapping[str, Any], access_time: int
) -> None:
    try:
        records.count_failed_attempt(
            key,
            error_code=(refusal or InternalError()).code,
            source_ip=checked["SourceIp"],
            user_agent=checked.get("UserAgent", ""),
            access_time=access_time,
        )
    except Exception:
        logger.exception("failed attempt not counted", extra={"secret_id": key.secret_id})


def _verify_answer(refusal: ServiceError, record_id: str | None, request_id: Any) -> dict[str, Any]:
    return {
        "Valid": False,
        "Error": _error(refusal),
        "RecordId": record_id,
        "RequestId": request_id if isinstance(request_id, str) else None,
    }


def _refused(operation: str, error: ServiceError, request_id: Any) -> dict[str, Any]:
    if operation == "ReportAccessOutcome":
        return {"Updated": False, "Error": _error(error)}
    return _verify_answer(error, None, request_id)


def _error(error: ServiceError) -> dict[str, str]:
    return {"Code": error.code, "Message": error.message}


_OPERATIONS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "VerifyRequest": verify_request,
    "ReportAccessOutcome": report_access_outcome,
}
