"""What an operator (someone with the stack's AWS credentials) can do for an account, audited.

Each action calls the same service code as the API (`keys`, `activity`), acting for the key's
account as an `AccountActor` named after the operator's AWS principal, and leaves three traces:
an entry in the account's activity (which its owner reads in the console), a log line on stderr,
and the `OperatorActions` metric (CloudWatch PutMetricData, dimension Action). The activity entry
is the one that must not be lost: when it cannot be written, the command says so and fails.

    create_account   the account's sign-in: a Cognito user with the Uin, and a temporary password
    remove_sign_in   delete it, for an owner locked out of it (then create_account again)
    create_key       an access key for an account (automation's first key)
    list_keys        an account's keys
    set_key_status   disable (the incident response to a reported leak) or enable a key
    delete_key       delete a disabled key
    list_activity    an account's activity
"""

from __future__ import annotations

import os
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

from access_keys import activity, keys, validation
from access_keys.clock import now_ms
from access_keys.config import settings
from access_keys.dal import activity_store, aws, key_store
from access_keys.dal.throttling import Throttled
from access_keys.domain import AccessKey, AccountActor, ActivityEntry, Result, Status
from access_keys.errors import AccessKeyNotFound, InvalidParameterValue, ServiceError, refusal_of
from access_keys.observability import logger

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_EMAIL_MAX_CHARS = 254
_SYMBOLS = "!#%*+-=?@^_"  # of Cognito's password symbols, those no shell or URL treats specially
_TEMPORARY_PASSWORD_CHARS = 20
# Status changes are ordered by the second they are dated (keys.update_access_key). An operator's
# change is dated by this machine's clock: one far ahead would hold off the owner's next change,
# one far behind would let a request signed before the operator's disable undo it.
MAX_CLOCK_SKEW_SECONDS = 5


class AuditNotWritten(RuntimeError):
    """The action happened, but its activity entry could not be written."""


class ClockSkew(RuntimeError):
    """This machine's clock is too far from AWS's to date a status change by."""


class AccountNotFound(ServiceError):
    status = 404
    code = "ResourceNotFound.Account"


class AccountExists(ServiceError):
    status = 409
    code = "OperationDenied.AccountExists"


@dataclass(frozen=True)
class CreatedAccount:
    uin: str
    email: str
    temporary_password: str
    user_pool_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "Uin": self.uin,
            "Email": self.email,
            "TemporaryPassword": self.temporary_password,
            "UserPoolId": self.user_pool_id,
        }


def email(value: str) -> str:
    """An email address as Cognito keeps it here (case-insensitive usernames: lower case)."""
    value = value.strip().lower()
    if len(value) > _EMAIL_MAX_CHARS or not _EMAIL.fullmatch(value):
        raise InvalidParameterValue("Email must be an address such as owner@example.com.")
    return value


@cache
def operator() -> str:
    """The operator's AWS principal, as the activity names them; this machine's clock checked
    against the time of AWS's answer."""
    caller = _client("sts").get_caller_identity()
    _check_clock(caller["ResponseMetadata"].get("HTTPHeaders", {}).get("date"))
    return f"operator:{caller['Arn']}"


def _check_clock(aws_date: str | None, *, now: float | None = None) -> None:
    if not aws_date:
        return  # an endpoint that sends no Date: nothing to compare with
    try:
        aws_time = parsedate_to_datetime(aws_date).timestamp()
    except (TypeError, ValueError):
        return
    skew = (now_ms() / 1000 if now is None else now) - aws_time
    # The Date header has whole seconds, and the answer took a moment to arrive.
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS + 1:
        raise ClockSkew(
            f"this machine's clock is {skew:+.0f} s off AWS's; set it right (NTP) before changing keys, "
            "since status changes are ordered by when they are made"
        )


def user_pool_id() -> str:
    """The accounts' user pool: ACCOUNTS_USER_POOL_ID, as the stack's output AccountsUserPoolId."""
    found = os.environ.get("ACCOUNTS_USER_POOL_ID", "").strip()
    if not found:
        from access_keys.config import ConfigurationError

        raise ConfigurationError("environment variable ACCOUNTS_USER_POOL_ID is not set")
    return found


def create_account(uin: str, address: str) -> CreatedAccount:
    """The account's sign-in: a Cognito user for `address` with the Uin, confirmed by the operator,
    and a temporary password that its first sign-in must replace. One sign-in per Uin."""
    uin, address = validation.uin(uin), email(address)
    actor = _actor(uin)

    def create() -> CreatedAccount:
        pool = user_pool_id()
        if not key_store.claim_account(uin, address):
            raise AccountExists(f"Account {uin} has a sign-in already.")
        password = _temporary_password()
        cognito = _client("cognito-idp")
        try:
            cognito.admin_create_user(
                UserPoolId=pool,
                Username=address,
                UserAttributes=[
                    {"Name": "email", "Value": address},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "custom:uin", "Value": uin},
                ],
                TemporaryPassword=password,
                MessageAction="SUPPRESS",  # shown once, here; no email carries it
            )
        except Exception as error:
            key_store.release_account(uin, address)
            if getattr(error, "response", {}).get("Error", {}).get("Code") == "UsernameExistsException":
                raise AccountExists(f"A sign-in for {address} exists already.") from None
            raise
        return CreatedAccount(uin, address, password, pool)

    return _audited(actor, "CreateAccount", None, create)


def remove_sign_in(uin: str) -> str:
    """Delete the account's sign-in (its Cognito user), so that `create_account` can make it anew:
    for an owner who lost both their password's email and their TOTP device, which Cognito cannot
    reset while the pool requires MFA. The keys and their records stay. Returns the email it had."""
    uin = validation.uin(uin)

    def remove() -> str:
        address = key_store.account_owner(uin)
        if address is None:
            raise AccountNotFound(f"Account {uin} has no sign-in.")
        try:
            _client("cognito-idp").admin_delete_user(UserPoolId=user_pool_id(), Username=address)
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") != "UserNotFoundException":
                raise
        key_store.release_account(uin, address)
        return address

    return _audited(_actor(uin), "RemoveSignIn", None, remove)


def create_key(uin: str, description: str) -> keys.CreatedKey:
    uin, description = validation.uin(uin), validation.description(description)
    return _audited(
        _actor(uin), "CreateAccessKey", None, lambda: keys.create_access_key(uin, description), key_of=_created_id
    )


def list_keys(uin: str) -> list[AccessKey]:
    actor = _actor(validation.uin(uin))
    return _audited(actor, "ListAccessKeys", None, lambda: keys.list_access_keys(actor))


def set_key_status(secret_id: str, status: Status) -> AccessKey:
    actor = _actor_of_key(secret_id)
    return _audited(actor, "UpdateAccessKey", secret_id, lambda: keys.update_access_key(actor, secret_id, status))


def delete_key(secret_id: str) -> str:
    """Delete a disabled key; returns its account's Uin."""
    actor = _actor_of_key(secret_id)
    _audited(actor, "DeleteAccessKey", secret_id, lambda: keys.delete_access_key(actor, secret_id))
    return actor.uin


def list_activity(uin: str) -> list[ActivityEntry]:
    actor = _actor(validation.uin(uin))
    return _audited(actor, "ListActivity", None, lambda: activity.list_activity(actor.uin))


def _client(service: str) -> Any:
    """A client in the stack's region (AWS_REGION, as the tables and the key are reached), which
    botocore alone would not read: it takes AWS_DEFAULT_REGION or the profile's region."""
    return aws.session().create_client(service, region_name=settings().region)


def _actor(uin: str) -> AccountActor:
    return AccountActor(uin=uin, actor=operator(), signed_at=now_ms() // 1000)


def _actor_of_key(secret_id: str) -> AccountActor:
    stored = key_store.get_key(validation.secret_id(secret_id))
    if stored is None:
        raise AccessKeyNotFound()
    return _actor(stored.key.uin)


def _created_id(created: keys.CreatedKey) -> str | None:
    return created.key.secret_id


def _temporary_password() -> str:
    """Random, and of every class the pool's password policy asks for."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS]
    every = "".join(classes)
    chosen = [secrets.choice(chars) for chars in classes]
    chosen += [secrets.choice(every) for _ in range(_TEMPORARY_PASSWORD_CHARS - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def _audited[T](
    actor: AccountActor,
    action: str,
    secret_id: str | None,
    run: Callable[[], T],
    *,
    key_of: Callable[[T], str | None] = lambda _: None,
) -> T:
    """Run the action, then write its activity entry, log line and metric, whatever its outcome."""
    try:
        result = run()
    except (ServiceError, Throttled) as error:
        _audit(actor, action, secret_id, refusal_of(error).code)
        raise
    except Exception:
        _audit(actor, action, secret_id, "InternalError")
        raise
    _audit(actor, action, secret_id or key_of(result), None)
    return result


def _audit(actor: AccountActor, action: str, secret_id: str | None, error_code: str | None) -> None:
    entry = activity.entry_of(
        actor,
        action=action,
        secret_id=secret_id,
        source_ip="-",  # an operator calls AWS, not the API: CloudTrail has where from
        request_id=f"operator-{uuid.uuid4()}",
        error_code=error_code,
    )
    logger.info(
        "operator action",
        extra={
            "operator": actor.actor,
            "action": action,
            "uin": actor.uin,
            "secret_id": secret_id,
            "result": str(entry.result),
            "error_code": error_code,
            "request_id": entry.request_id,
        },
    )
    _put_metric(action, entry.result)
    try:
        activity_store.put_entry(entry)
    except Exception as audit_error:
        if error_code is None:  # the action happened: that it went unrecorded must be said
            raise AuditNotWritten(f"{action} done, but its activity entry was not written: {audit_error}") from None
        logger.exception("activity entry of a failed operator action not written")


def _put_metric(action: str, result: Result) -> None:
    # The functions' namespace, AccessKeys/<Stage> (template.yaml): the operator sets it for the stack.
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "AccessKeys/dev")
    try:
        _client("cloudwatch").put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": "OperatorActions",
                    "Dimensions": [{"Name": "Action", "Value": action}, {"Name": "Result", "Value": str(result)}],
                    "Value": 1,
                    "Unit": "Count",
                }
            ],
        )
    except Exception:
        # The activity entry and the log line stand; a metric is worth a warning, not a failure.
        logger.warning("OperatorActions metric not put", extra={"action": action})
