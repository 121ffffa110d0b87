"""The key operations: create (quota 2), list, get, enable/disable, delete (only Inactive).

The rules live here, and the data layer (`dal.key_store`) only reports what it found or did.
Ownership has one home, `owned_key`: every operation on a named key asks it first. Input is
checked where it arrives (the routes' declarations, the operator's commands), not again here.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from access_keys import key_material
from access_keys.clock import now_ms
from access_keys.dal import key_store
from access_keys.domain import MAX_KEYS_PER_ACCOUNT, AccessKey, Principal, Status
from access_keys.errors import AccessKeyActive, AccessKeyNotFound, AccessKeyOverLimit, InternalError, SignatureExpire
from access_keys.observability import logger, metrics

_ALPHANUMERIC = string.ascii_letters + string.digits
# A delete whose condition fails because the key changed meanwhile is tried once more.
_DELETE_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key with its SecretKey: the one moment the SecretKey leaves the service."""

    key: AccessKey
    secret_key: str


def _random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def create_access_key(uin: str, description: str = "") -> CreatedKey:
    """Make a new Active key for `uin`, unless it already holds the most it may."""
    secret_id = "AKID" + _random_alphanumeric(32)
    secret_key = _random_alphanumeric(32)
    key = AccessKey(
        secret_id=secret_id,
        uin=uin,
        status=Status.ACTIVE,
        create_time=now_ms(),
        description=description,
    )
    encrypted = key_material.seal(secret_id, uin, secret_key)
    if not key_store.create_key(key, encrypted, max_keys=MAX_KEYS_PER_ACCOUNT):
        raise AccessKeyOverLimit()
    logger.info("access key created", extra={"secret_id": secret_id, "uin": uin})
    metrics.add_metric(name="AccessKeysCreated", unit=MetricUnit.Count, value=1)
    return CreatedKey(key=key, secret_key=secret_key)


def list_access_keys(caller: Principal) -> list[AccessKey]:
    return key_store.list_keys(caller.uin)


def owned_key(caller: Principal, secret_id: str) -> AccessKey:
    """The key `secret_id` if the caller's account owns it.

    Another account's key is reported exactly like a missing one, so that no caller
    learns whether a SecretId exists.
    """
    if caller.key is not None and secret_id == caller.key.secret_id:
        return caller.key  # already read, consistently, to verify this very request
    key = key_store.find_key(secret_id)
    if key is None or key.uin != caller.uin:
        raise AccessKeyNotFound()
    return key


def get_access_key(caller: Principal, secret_id: str) -> AccessKey:
    return owned_key(caller, secret_id)


def update_access_key(caller: Principal, secret_id: str, status: Status) -> AccessKey:
    """Set the key's status, unless the request was signed before the key's last status change.

    Status changes are ordered by when they were signed (whole seconds; the same second is not
    earlier), so no delayed request can undo a later disable. A change is dated no later than the
    server's clock, so one signed ahead of time cannot hold off the next.
    """
    owned_key(caller, secret_id)
    changed_at = min(caller.signed_at, now_ms() // 1000)
    key = key_store.set_status(secret_id, status, signed_at=caller.signed_at, changed_at=changed_at)
    if key is None:
        if key_store.find_key(secret_id) is None:  # deleted meanwhile: read afresh, even the signer's own
            raise AccessKeyNotFound()
        raise SignatureExpire(
            "This request was signed before the key's last status change, which it would undo. "
            "Sign it again with the current time if the change is still wanted."
        )
    logger.info("access key status set", extra={"secret_id": secret_id, "status": str(status)})
    return key


def delete_access_key(caller: Principal, secret_id: str) -> None:
    """Delete an Inactive key for good; an Active one must be disabled first."""
    for _ in range(_DELETE_ATTEMPTS):
        key = owned_key(caller, secret_id)  # AccessKeyNotFound once it is gone
        if key.status is Status.ACTIVE:
            raise AccessKeyActive()
        if key_store.delete_inactive_key(caller.uin, secret_id, deleted_at=now_ms()):
            break
        # The condition failed, so the key changed since it was read (enabled, deleted, or
        # enabled and disabled again): read it again and answer for what holds now.
    else:
        # Still there, Inactive and owned, yet the delete's condition keeps failing: only a
        # missing account item explains that, which no request can repair.
        logger.error("delete refused by the account item", extra={"secret_id": secret_id, "uin": caller.uin})
        raise InternalError()
    logger.info("access key deleted", extra={"secret_id": secret_id})
    metrics.add_metric(name="AccessKeysDeleted", unit=MetricUnit.Count, value=1)
