"""Sessions in the end-to-end tests: accounts made as `admin create-account` makes them, in the
template's user pool on moto, signed in with moto's Cognito, and session routes called as API
Gateway calls them once its JWT authorizer has passed the ID token (its claims in the event).

The authorizer's own checks (signature, issuer, audience, expiry) are API Gateway's, emulated by
the local gateway and tested there (tests/unit/test_jwt_authorizer.py, tests/local/).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from accounts import NEW_PASSWORD, totp
from harness import Api

from access_keys_tools import admin
from access_keys_tools.events import load_event
from access_keys_tools.local import cognito, names
from access_keys_tools.local.backend import create_user_pools
from access_keys_tools.local.jwt_authorizer import event_claims

SOURCE_IP = "198.51.100.23"
# The session route of each operation, and the stored signed event its request is made from.
SESSION_ROUTES = {
    "CreateAccessKey": ("POST", "/v1/session/access-keys", "CreateAccessKey/create"),
    "ListAccessKeys": ("GET", "/v1/session/access-keys", "ListAccessKeys/list"),
    "GetAccessKey": ("GET", "/v1/session/access-keys/{SecretId}", "GetAccessKey/get"),
    "UpdateAccessKey": ("PATCH", "/v1/session/access-keys/{SecretId}", "UpdateAccessKey/disable"),
    "DeleteAccessKey": ("DELETE", "/v1/session/access-keys/{SecretId}", "DeleteAccessKey/delete"),
    "ListAccessRecords": ("GET", "/v1/session/access-keys/{SecretId}/access-records", "ListAccessRecords/list"),
    "ListActivity": ("GET", "/v1/session/activity", "ListActivity/list"),
}


@dataclass(frozen=True)
class Session:
    email: str
    uin: str
    id_claims: dict[str, Any]
    access_claims: dict[str, Any]


def accounts_pool() -> str:
    """The template's user pool and console client, created in the current moto account, with
    moto's Cognito checking passwords and TOTP codes as Cognito does (`cognito.install`)."""
    cognito.install()
    values: dict[str, Any] = names.pseudo_parameters()
    create_user_pools(boto3.client("cognito-idp"), values)
    os.environ["ACCOUNTS_USER_POOL_ID"] = values["AccountsUserPool"]
    os.environ["ACCOUNTS_CLIENT_ID"] = values["AccountsConsoleClient"]
    return values["AccountsUserPool"]


def sign_in(uin: str, email: str | None = None) -> Session:
    """An account made by `admin create-account`, its first sign-in done (new password, and TOTP
    set up: the stack's MFA is on), and the claims of the tokens it got."""
    email = email or f"owner-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.create_account(uin, email)
    cognito = boto3.client("cognito-idp")
    pool, client = os.environ["ACCOUNTS_USER_POOL_ID"], os.environ["ACCOUNTS_CLIENT_ID"]
    started = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": created.temporary_password},
    )
    assert started["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    answered = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool,
        ClientId=client,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": NEW_PASSWORD},
        Session=started["Session"],
    )
    assert answered["ChallengeName"] == "MFA_SETUP"
    secret = cognito.associate_software_token(Session=answered["Session"])
    verified = cognito.verify_software_token(Session=secret["Session"], UserCode=totp(secret["SecretCode"]))
    assert verified["Status"] == "SUCCESS"
    answered = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool,
        ClientId=client,
        ChallengeName="MFA_SETUP",
        ChallengeResponses={"USERNAME": email},
        Session=verified["Session"],
    )
    tokens = answered["AuthenticationResult"]
    return Session(email, uin, _claims(tokens["IdToken"]), _claims(tokens["AccessToken"]))


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def session_event(
    operation: str,
    claims: dict[str, Any] | None,
    *,
    secret_id: str | None = None,
    body: Any = None,
    query: str = "",
) -> dict[str, Any]:
    """The event API Gateway sends the operation's function for a session request whose token
    passed the authorizer with these claims (None: a route deployed without the authorizer)."""
    method, route_path, stored = SESSION_ROUTES[operation]
    event = load_event(stored)
    path = route_path.replace("{SecretId}", secret_id or "")
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route_path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = query
    event.pop("queryStringParameters", None)
    if query:
        event["queryStringParameters"] = dict(part.partition("=")[::2] for part in query.split("&"))
    event["requestContext"]["http"]["sourceIp"] = SOURCE_IP
    for name in ("authorization", "x-tc-timestamp", "x-tc-action", "x-tc-version"):
        event["headers"].pop(name, None)
    event["headers"]["authorization"] = "Bearer (the token whose claims follow)"
    if secret_id is not None:
        event["pathParameters"] = {"SecretId": secret_id}
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    elif method in ("GET", "DELETE"):
        event.pop("body", None)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": event_claims(claims), "scopes": None}}
    return event


def call(api: Api, operation: str, session: Session | dict[str, Any] | None, **kwargs: Any) -> Any:
    claims = session.id_claims if isinstance(session, Session) else session
    return api.invoke(operation, session_event(operation, claims, **kwargs))
