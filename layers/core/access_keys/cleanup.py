"""The scheduled cleanup: what TTL and deletes leave behind, and the unused-key report.

One pass walks the keys table (never the records table, which is far larger):
- a deleted key's tombstone: remove all the key's records, then the tombstone;
- a key older than the retention: remove its records past 90 days that TTL has not removed yet;
- every key: report it when unused for 90 days or more, or never used.

Each run holds a lease, so two runs never work at once, and stops cleanly before its deadline
with a checkpoint (the last item fully processed); the next run resumes from there. Every step
is idempotent, so a run that repeats work after a crash, or a second run, does no harm.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from aws_lambda_powertools.metrics import MetricUnit

from access_keys.clock import DAY_MS, format_time, now_ms
from access_keys.dal import cleanup_store, key_store, record_store
from access_keys.dal.cleanup_store import CleanupProgress
from access_keys.domain import RECORD_RETENTION_DAYS, UNUSED_AFTER_DAYS, AccessKey, DeletedKey
from access_keys.observability import logger, metrics

# Stop this long before the Lambda timeout, leaving time to checkpoint and release the lease.
SAFETY_MARGIN_MS = 60_000
SCAN_PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class RunOutcome:
    ran: bool  # False when another run held the lease
    pass_completed: bool
    stopped_early: bool
    progress: CleanupProgress


class Deadline:
    """Whether there is time left for another step, from the Lambda context's remaining time."""

    def __init__(self, remaining_ms: Callable[[], int], margin_ms: int = SAFETY_MARGIN_MS) -> None:
        self._remaining_ms = remaining_ms
        self._margin_ms = margin_ms

    def time_left(self) -> bool:
        return self._remaining_ms() > self._margin_ms

    def lease_until(self, now: int) -> int:
        return now + self._remaining_ms()


def run_cleanup(deadline: Deadline, *, now: int | None = None) -> RunOutcome:
    now = now_ms() if now is None else now
    owner = str(uuid.uuid4())
    progress = cleanup_store.acquire_lease(owner, now=now, until=deadline.lease_until(now))
    if progress is None:
        logger.info("cleanup skipped: another run holds the lease")
        metrics.add_metric(name="CleanupRunsSkipped", unit=MetricUnit.Count, value=1)
        return RunOutcome(ran=False, pass_completed=False, stopped_early=False, progress=CleanupProgress())
    metrics.add_metric(name="CleanupRuns", unit=MetricUnit.Count, value=1)
    if progress.pass_started_at is None:
        progress.pass_started_at = now
    try:
        completed, stopped_early = _walk_keys(progress, deadline, owner, now)
    finally:
        cleanup_store.release_lease(owner)
    if stopped_early:
        metrics.add_metric(name="CleanupRunsStoppedEarly", unit=MetricUnit.Count, value=1)
    return RunOutcome(ran=True, pass_completed=completed, stopped_early=stopped_early, progress=progress)


def _walk_keys(progress: CleanupProgress, deadline: Deadline, owner: str, now: int) -> tuple[bool, bool]:
    """Returns (pass completed, stopped early)."""
    while True:
        page, scan_complete = key_store.scan_page(progress.cursor, limit=SCAN_PAGE_SIZE)
        for partition, entry in page:
            if entry is not None and (not deadline.time_left() or not _clean(entry, progress, deadline, now)):
                cleanup_store.save_progress(owner, progress)
                logger.info("cleanup stopped before its deadline; the next run resumes", extra=asdict(progress))
                return False, True
            progress.cursor = partition
        if scan_complete:
            _report_pass(progress, now)
            if not cleanup_store.save_progress(owner, CleanupProgress(), completed_at=now):
                logger.warning("cleanup lost its lease before recording the end of its pass")
            return True, False
        if not cleanup_store.save_progress(owner, progress):
            logger.warning("cleanup lost its lease; stopping")
            return False, True


def _clean(entry: AccessKey | DeletedKey, progress: CleanupProgress, deadline: Deadline, now: int) -> bool:
    """Process one keys-table entry completely; False if the deadline came first (nothing is lost:
    the entry is processed again from the start by the next run)."""
    if isinstance(entry, DeletedKey):
        deleted = _delete_records(entry.secret_id, before=None, deadline=deadline)
        if deleted is None:
            return False
        key_store.forget_deleted_key(entry.secret_id)
        progress.deleted_key_records_deleted += deleted
        progress.deleted_keys_purged += 1
        logger.info("deleted key's records removed", extra={"secret_id": entry.secret_id, "records": deleted})
        return True

    cutoff = now - RECORD_RETENTION_DAYS * DAY_MS
    if entry.create_time < cutoff:
        deleted = _delete_records(entry.secret_id, before=cutoff, deadline=deadline)
        if deleted is None:
            return False
        progress.expired_records_deleted += deleted
    progress.keys_seen += 1
    _report_if_unused(entry, progress, now)
    return True


def _delete_records(secret_id: str, *, before: int | None, deadline: Deadline) -> int | None:
    total = 0
    while True:
        deleted, done = record_store.delete_records(secret_id, before=before)
        total += deleted
        if done:
            return total
        if not deadline.time_left():
            return None


def _report_if_unused(key: AccessKey, progress: CleanupProgress, now: int) -> None:
    if key.last_access_time is None:
        progress.never_used_keys += 1
        logger.info(
            "access key never used",
            extra={
                "secret_id": key.secret_id,
                "uin": key.uin,
                "status": str(key.status),
                "create_time": format_time(key.create_time),
                "days_since_creation": (now - key.create_time) // DAY_MS,
            },
        )
    elif now - key.last_access_time >= UNUSED_AFTER_DAYS * DAY_MS:
        progress.unused_keys += 1
        logger.info(
            "access key unused",
            extra={
                "secret_id": key.secret_id,
                "uin": key.uin,
                "status": str(key.status),
                "last_access_time": format_time(key.last_access_time),
                "days_unused": (now - key.last_access_time) // DAY_MS,
            },
        )


def _report_pass(progress: CleanupProgress, now: int) -> None:
    """The unused-key report of one whole pass, as metrics and one structured log line."""
    metrics.add_metric(name="UnusedAccessKeys", unit=MetricUnit.Count, value=progress.unused_keys)
    metrics.add_metric(name="NeverUsedAccessKeys", unit=MetricUnit.Count, value=progress.never_used_keys)
    metrics.add_metric(name="ExpiredRecordsDeleted", unit=MetricUnit.Count, value=progress.expired_records_deleted)
    metrics.add_metric(name="DeletedKeysPurged", unit=MetricUnit.Count, value=progress.deleted_keys_purged)
    logger.info(
        "unused access key report",
        extra={
            "keys": progress.keys_seen,
            "unused_keys": progress.unused_keys,
            "never_used_keys": progress.never_used_keys,
            "unused_after_days": UNUSED_AFTER_DAYS,
            "expired_records_deleted": progress.expired_records_deleted,
            "deleted_keys_purged": progress.deleted_keys_purged,
            "deleted_key_records_deleted": progress.deleted_key_records_deleted,
            "pass_started_at": format_time(progress.pass_started_at or now),
            "pass_completed_at": format_time(now),
        },
    )
