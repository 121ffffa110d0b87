"""An account's activity, in the records table: one partition per account, newest entries last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from access_keys.dal.models import ActivityItem, bind_tables
from access_keys.dal.throttling import reporting_throttling
from access_keys.domain import ACTIVITY_RETENTION_DAYS, ActivityEntry, Result


def put_entry(entry: ActivityEntry) -> None:
    """One PutItem; the same request written again overwrites its entry instead of adding one."""
    bind_tables()
    item = ActivityItem(
        ActivityItem.partition_for(entry.uin),
        f"{entry.time:013d}#{entry.request_id}",
        uin=entry.uin,
        time=entry.time,
        actor=entry.actor,
        action=entry.action,
        secret_id=entry.secret_id,
        source_ip=entry.source_ip,
        outcome=str(entry.result),
        error_code=entry.error_code,
        request_id=entry.request_id,
        expires_at=datetime.fromtimestamp(entry.time / 1000, UTC) + timedelta(days=ACTIVITY_RETENTION_DAYS),
    )
    with reporting_throttling():
        item.save()


def latest_entries(uin: str, *, since: int, limit: int) -> list[ActivityEntry]:
    """The newest `limit` entries with Time >= `since`, newest first: one Query."""
    bind_tables()
    with reporting_throttling():
        items = ActivityItem.query(
            ActivityItem.partition_for(uin),
            ActivityItem.time_request_id >= f"{since:013d}#",
            scan_index_forward=False,
            limit=limit,
            consistent_read=True,
        )
        return [
            ActivityEntry(
                uin=item.uin,
                time=int(item.time),
                actor=item.actor,
                action=item.action,
                secret_id=item.secret_id,
                source_ip=item.source_ip,
                result=Result(item.outcome),
                error_code=item.error_code,
                request_id=item.request_id,
            )
            for item in items
        ]
