"""The cleanup's state item: a lease so that runs never overlap, and a checkpoint to resume from."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from access_keys.dal.models import CLEANUP_STATE_ID, CleanupStateItem, bind_tables
from access_keys.dal.throttling import reporting_throttling


@dataclass
class CleanupProgress:
    """How far the current pass over the keys table has come, and what it has found so far."""

    cursor: str | None = None
    pass_started_at: int | None = None
    keys_seen: int = 0
    unused_keys: int = 0
    never_used_keys: int = 0
    expired_records_deleted: int = 0
    deleted_key_records_deleted: int = 0
    deleted_keys_purged: int = 0


_COUNTERS = (
    "keys_seen",
    "unused_keys",
    "never_used_keys",
    "expired_records_deleted",
    "deleted_key_records_deleted",
    "deleted_keys_purged",
)


def acquire_lease(owner: str, *, now: int, until: int) -> CleanupProgress | None:
    """Take the lease until `until` (ms) unless another run holds it; None when it does."""
    bind_tables()
    item = CleanupStateItem(CLEANUP_STATE_ID)
    try:
        with reporting_throttling():
            item.update(
                actions=[CleanupStateItem.lease_owner.set(owner), CleanupStateItem.lease_until.set(until)],
                condition=CleanupStateItem.lease_until.does_not_exist() | (CleanupStateItem.lease_until < now),
            )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return CleanupProgress(
        cursor=item.cursor,
        pass_started_at=None if item.pass_started_at is None else int(item.pass_started_at),
        **{name: int(getattr(item, name) or 0) for name in _COUNTERS},
    )


def save_progress(owner: str, progress: CleanupProgress, *, completed_at: int | None = None) -> bool:
    """Checkpoint, if this run still holds the lease; False when it has lost it."""
    bind_tables()
    actions = [getattr(CleanupStateItem, name).set(getattr(progress, name)) for name in _COUNTERS]
    actions.append(
        CleanupStateItem.cursor.set(progress.cursor) if progress.cursor else CleanupStateItem.cursor.remove()
    )
    if progress.pass_started_at is None:
        actions.append(CleanupStateItem.pass_started_at.remove())
    else:
        actions.append(CleanupStateItem.pass_started_at.set(progress.pass_started_at))
    if completed_at is not None:
        actions.append(CleanupStateItem.last_pass_completed_at.set(completed_at))
    return _update_if_owner(owner, actions)


def release_lease(owner: str) -> bool:
    bind_tables()
    return _update_if_owner(owner, [CleanupStateItem.lease_until.set(0)])


def _update_if_owner(owner: str, actions: list[Action]) -> bool:
    try:
        with reporting_throttling():
            CleanupStateItem(CLEANUP_STATE_ID).update(actions=actions, condition=CleanupStateItem.lease_owner == owner)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
