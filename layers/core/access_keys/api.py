"""From an API Gateway HTTP API event (payload 2.0) to a response, for every route alike.

The order of checks is the contract's: body size, then authentication, then the route's own
input (declared in `access_keys.rest.ROUTES`, or `access_keys.cloud_api.ACTIONS`) and rules.
Every request that names an existing key leaves one trace for its owner, whatever its outcome:
an access record when it is proven signed with the key's SecretKey, a failed attempt's count
otherwise. Errors become responses here and nowhere else.

Each operation also answers a session route (`/v1/session/...`), for a user signed in to the
account: API Gateway's JWT authorizer has checked the ID token, the operation runs for the account
it names, and a change goes to the account's activity instead of a key's records.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from access_keys import activity, authentication, records, validation
from access_keys.clock import now_ms
from access_keys.dal.throttling import Throttled
from access_keys.domain import OWN_SERVICE, STATE_CHANGING_ACTIONS, AccessKey, AccountActor, Principal
from access_keys.errors import (
    InternalError,
    InvalidParameter,
    RequestSizeLimitExceeded,
    ServiceError,
    TokenFailure,
    UnknownParameter,
    refusal_of,
)
from access_keys.observability import count_alone, logger, metrics

MAX_BODY_BYTES = 64 * 1024
# On every answer: a response may hold a SecretKey (the create), and none is worth keeping.
RESPONSE_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}
# The routes a signed-in user's session calls, behind the HTTP API's JWT authorizer (template.yaml).
SESSION_PATH_PREFIX = "/v1/session/"


@dataclass(frozen=True, slots=True)
class ApiRequest:
    action: str
    request_id: str
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    path_parameters: Mapping[str, str]
    query_parameters: Mapping[str, str]
    source_ip: str
    user_agent: str
    domain_prefix: str | None = None  # the first label of the domain the API was reached on

    @classmethod
    def from_event(cls, event: Mapping[str, Any], action: str) -> ApiRequest:
        context = event.get("requestContext") or {}
        http = context.get("http") or {}
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        raw_body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw_body, validate=True)
            except (binascii.Error, ValueError):
                body = raw_body.encode("utf-8")
        else:
            body = raw_body.encode("utf-8")
        return cls(
            action=action,
            request_id=context.get("requestId") or str(uuid.uuid4()),
            method=http.get("method") or "",
            path=event.get("rawPath") or http.get("path") or "",
            query=event.get("rawQueryString") or "",
            headers=headers,
            body=body,
            path_parameters=event.get("pathParameters") or {},
            query_parameters=event.get("queryStringParameters") or {},
            source_ip=http.get("sourceIp") or "",
            domain_prefix=context.get("domainPrefix") or None,
            user_agent=http.get("userAgent") or headers.get("user-agent", ""),
        )

    def signed(self) -> authentication.SignedRequest:
        return authentication.SignedRequest(
            method=self.method,
            path=self.path,
            query=self.query,
            headers=self.headers,
            body=self.body,
            domain_prefix=self.domain_prefix,
        )

    def body_input(self) -> dict[str, Any]:
        """The input of a route that takes it in the body: the body as a JSON object (none: an
        empty one), or InvalidParameter.

        Such a route takes no query parameters: any is an UnknownParameter, so that a typo is
        reported rather than silently ignored.
        """
        if self.query_parameters:
            name = sorted(self.query_parameters)[0]
            raise UnknownParameter(f"This action does not take the query parameter {json.dumps(name)}.")
        if not self.body.strip():
            return {}
        try:
            # Strict UTF-8 first: json.loads would guess UTF-16 or 32 from bytes, and let
            # encoded surrogates through. RecursionError: nesting deeper than the parser goes.
            document = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidParameter("The request body is not valid JSON.") from None
        if not isinstance(document, dict):
            raise InvalidParameter("The request body must be a JSON object.")
        return document


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


Operation = Callable[[ApiRequest, Principal], Reply]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a family of routes answers: the REST routes' statuses and bodies, or another API's.

    `code_of` is the error code the caller is answered, and the access record shows; `recorded_action`
    the Action that records and metrics show, which must come from a small, fixed set (any caller
    can send any text). `action_header` is the header the action is read from, if the path alone
    does not name it: a signature that leaves that header out must not serve another action.
    """

    success: Callable[[ApiRequest, Reply], dict[str, Any]]
    failure: Callable[[ApiRequest, ServiceError, str], dict[str, Any]]
    code_of: Callable[[ServiceError], str]
    recorded_action: Callable[[ApiRequest], str]
    action_header: str | None = None


def handle(request: ApiRequest, operation: Operation, dialect: Dialect) -> dict[str, Any]:
    action = dialect.recorded_action(request)
    metrics.add_dimension(name="Action", value=action)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if len(request.body) > MAX_BODY_BYTES:
        # Refused before anything is read or hashed, and without an access record.
        return _refuse(request, RequestSizeLimitExceeded(f"The body is over {MAX_BODY_BYTES} bytes."), dialect)

    access_time = now_ms()
    use = authentication.SignatureUse(
        action=action, changes_state=action in STATE_CHANGING_ACTIONS, action_header=dialect.action_header
    )
    verdict: authentication.Verdict | None = None
    error: ServiceError | None = None
    try:
        verdict = authentication.authenticate(request.signed(), use, now=time.time())
        if verdict.caller is None:
            error = verdict.refusal
        else:
            metrics.add_metric(name="RequestsVerified", unit=MetricUnit.Count, value=1)
            response = dialect.success(request, operation(request, verdict.caller))
    except (ServiceError, Throttled) as raised:
        error = refusal_of(raised)
    except Exception:
        logger.exception("unexpected failure", extra={"action": action})
        error = InternalError()
    if error is not None:
        response = _refuse(request, error, dialect)
    if verdict is None or verdict.key is None:
        logger.info("request for no existing key", extra={"action": action})
    elif verdict.signed:
        _record(request, verdict.key, action, dialect.code_of(error) if error else None, access_time)
    else:
        _count_failed_attempt(request, verdict.key, dialect.code_of(error or InternalError()), access_time)
    return response


def _record(request: ApiRequest, key: AccessKey, action: str, error_code: str | None, access_time: int) -> None:
    try:
        records.record_access(
            key,
            service=OWN_SERVICE,
            action=action,
            error_code=error_code,
            source_ip=request.source_ip,
            user_agent=request.user_agent,
            request_id=request.request_id,
            access_time=access_time,
        )
    except Exception:
        # The request's own outcome stands: failing a create that has happened would
        # invite a retry that makes a second key. The gap is logged and counted instead.
        logger.exception("access record not written", extra={"secret_id": key.secret_id})
        count_alone("AccessRecordsLost")  # an alarm watches it (template.yaml)


def _count_failed_attempt(request: ApiRequest, key: AccessKey, error_code: str, access_time: int) -> None:
    try:
        records.count_failed_attempt(
            key,
            error_code=error_code,
            source_ip=request.source_ip,
            user_agent=request.user_agent,
            access_time=access_time,
        )
    except Exception:
        # Refused already; a flood of these on one key may be throttled, and costs only this count.
        logger.exception("failed attempt not counted", extra={"secret_id": key.secret_id})
        count_alone("FailedAttemptsLost")


def _refuse(request: ApiRequest, error: ServiceError, dialect: Dialect) -> dict[str, Any]:
    code = dialect.code_of(error)
    if error.status >= 500:
        logger.error("request failed", extra={"action": request.action, "code": code})
    else:
        logger.info("request refused", extra={"action": request.action, "code": code, "reason": error.message})
    with single_metric(
        name="RequestsRefused",
        unit=MetricUnit.Count,
        value=1,
        default_dimensions={"Action": dialect.recorded_action(request)},
    ) as metric:
        metric.add_dimension(name="ErrorCode", value=code)
    return dialect.failure(request, error, code)


# ---------------------------------------------------------------------------------- sessions


def is_session_route(event: Mapping[str, Any]) -> bool:
    """Whether API Gateway matched a session route: its route key, which no caller can set."""
    route_key = str((event.get("requestContext") or {}).get("routeKey") or event.get("routeKey") or "")
    return route_key.partition(" ")[2].startswith(SESSION_PATH_PREFIX)


def session_claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The claims API Gateway's JWT authorizer verified, or none (a route deployed without it)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims")
    return claims if isinstance(claims, Mapping) else {}


def session_actor(claims: Mapping[str, Any], *, now: float) -> AccountActor:
    """The account a session's ID token names, and who in it is signed in.

    The JWT authorizer has checked the token's signature, issuer, audience and expiry before the
    function runs; it cannot tell an ID token from an access token of the same client, which
    names no Uin, so the token's use is checked here. No claims at all means the route has no
    authorizer: refused, never served as some account.
    """
    if claims.get("token_use") != "id":
        raise TokenFailure("A session route takes the ID token of a sign-in, as `Authorization: Bearer <token>`.")
    try:
        uin = validation.uin(claims.get("custom:uin"))
    except ServiceError:
        raise TokenFailure("This sign-in names no account: the user has no Uin.") from None
    user = claims.get("email") or claims.get("cognito:username") or claims.get("sub")
    if not isinstance(user, str) or not user:
        raise TokenFailure("This sign-in names no user.")
    return AccountActor(uin=uin, actor=f"user:{user}", signed_at=int(now))


def handle_session(
    request: ApiRequest, operation: Operation, claims: Mapping[str, Any], dialect: Dialect
) -> dict[str, Any]:
    """Run `operation` for the signed-in account; record a change in the account's activity."""
    metrics.add_dimension(name="Action", value=request.action)
    metrics.add_metric(name="SessionRequests", unit=MetricUnit.Count, value=1)
    if len(request.body) > MAX_BODY_BYTES:
        return _refuse(request, RequestSizeLimitExceeded(f"The body is over {MAX_BODY_BYTES} bytes."), dialect)
    actor: AccountActor | None = None
    reply: Reply | None = None
    error: ServiceError | None = None
    try:
        actor = session_actor(claims, now=time.time())
        reply = operation(request, actor)
        response = dialect.success(request, reply)
    except (ServiceError, Throttled) as raised:
        error = refusal_of(raised)
    except Exception:
        logger.exception("unexpected failure", extra={"action": request.action})
        error = InternalError()
    if error is not None:
        response = _refuse(request, error, dialect)
    if actor is not None and request.action in STATE_CHANGING_ACTIONS:
        activity.record(
            activity.entry_of(
                actor,
                action=request.action,
                secret_id=_key_acted_on(request, reply),
                source_ip=request.source_ip,
                request_id=request.request_id,
                error_code=dialect.code_of(error) if error else None,
            )
        )
    return response


def _key_acted_on(request: ApiRequest, reply: Reply | None) -> str | None:
    """The key a change named in its path, or the one a create made; None for one that names none."""
    try:
        return validation.secret_id(request.path_parameters.get("SecretId"))
    except ServiceError:
        pass
    created = reply.body.get("AccessKey") if reply is not None else None
    return created.get("SecretId") if isinstance(created, dict) else None
