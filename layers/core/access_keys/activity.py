"""An account's activity: what its signed-in users and the operators did to it, kept 90 days.

A key's access records hold the requests signed with that key; nobody without its SecretKey can
add to them. What is done without a key (in the console's session, or by an operator with AWS
credentials) is recorded here instead, per account: who, what, which key, when, from where, and
how it ended. Changes are recorded; a session's reads are not (they change nothing, and would push
the changes out of the 50 shown). An operator's reads are, since the owner did not make them.
"""

from __future__ import annotations

from access_keys.clock import DAY_MS, now_ms
from access_keys.dal import activity_store
from access_keys.domain import ACTIVITY_RETENTION_DAYS, ACTIVITY_SHOWN, AccountActor, ActivityEntry, Result
from access_keys.observability import count_alone, logger


def entry_of(
    actor: AccountActor,
    *,
    action: str,
    secret_id: str | None,
    source_ip: str,
    request_id: str,
    error_code: str | None = None,
) -> ActivityEntry:
    """What `actor` did to its account just now, and how it ended (no error code: it succeeded)."""
    return ActivityEntry(
        uin=actor.uin,
        time=now_ms(),
        actor=actor.actor,
        action=action,
        secret_id=secret_id,
        source_ip=source_ip,
        result=Result.FAILURE if error_code else Result.SUCCESS,
        error_code=error_code,
        request_id=request_id,
    )


def record(entry: ActivityEntry) -> None:
    """Add `entry` (`entry_of`) to its account. A failure to write it is logged and counted, and
    the action's own outcome stands (it has happened; failing it now would invite a retry)."""
    try:
        activity_store.put_entry(entry)
    except Exception:
        logger.exception("activity entry not written", extra={"uin": entry.uin, "action": entry.action})
        count_alone("ActivityEntriesLost")


def list_activity(uin: str) -> list[ActivityEntry]:
    """The account's latest 50 entries of the past 90 days, newest first."""
    since = now_ms() - ACTIVITY_RETENTION_DAYS * DAY_MS
    return activity_store.latest_entries(uin, since=since, limit=ACTIVITY_SHOWN)
