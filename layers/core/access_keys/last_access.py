"""Each key's LastAccessTime, kept from the access-records stream.

Per batch, only the newest record of each key matters: one conditional update per distinct
key, never one per record. The condition only moves the time forward and never re-creates a
deleted key, so an older, replayed or reordered batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from access_keys.dal import key_store
from access_keys.observability import logger, metrics

# Lambda's partial batch response (ReportBatchItemFailures) is written here rather than with
# Powertools' BatchProcessor: that would import asyncio and every Powertools event class, a
# third of this function's cold start, to do what the loop below does.


@dataclass(frozen=True, slots=True)
class Access:
    secret_id: str
    access_time: int
    sequence_number: str

    @property
    def order(self) -> tuple[int, int]:
        """Newer time first; for equal times, the later write in the stream."""
        return self.access_time, int(self.sequence_number or 0)


def access_of(record: Mapping[str, Any]) -> Access | None:
    """The key and time a stream record of an access record carries; None for anything else."""
    change = record.get("dynamodb") or {}
    image = change.get("NewImage") or {}
    secret_id = (image.get("SecretId") or {}).get("S")
    access_time = (image.get("AccessTime") or {}).get("N")
    if not secret_id or not access_time:
        return None
    try:
        return Access(secret_id, int(access_time), str(change.get("SequenceNumber") or ""))
    except ValueError:
        return None


def newest_per_key(records: Iterable[Mapping[str, Any]]) -> dict[str, Access]:
    newest: dict[str, Access] = {}
    for record in records:
        access = access_of(record)
        if access is None:
            continue
        current = newest.get(access.secret_id)
        if current is None or access.order > current.order:
            newest[access.secret_id] = access
    return newest


def process_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Handle one stream batch; the response names only the records whose update failed.

    Each key's update is carried by its newest record. If that update fails, only that record
    is reported, and Lambda retries from it: the key's older records in the batch need nothing
    more, since the newer time covers them.
    """
    batch = event.get("Records") or []
    newest = newest_per_key(batch)
    logger.info("stream batch", extra={"records": len(batch), "keys": len(newest)})
    metrics.add_metric(name="AccessRecordsStreamed", unit=MetricUnit.Count, value=len(batch))
    failures = []
    for access in newest.values():
        try:
            updated = key_store.advance_last_access(access.secret_id, access.access_time)
        except Exception:
            logger.exception("last access not updated", extra={"secret_id": access.secret_id})
            failures.append({"itemIdentifier": access.sequence_number})
            continue
        if updated:
            metrics.add_metric(name="LastAccessUpdated", unit=MetricUnit.Count, value=1)
        else:
            logger.debug("last access unchanged", extra={"secret_id": access.secret_id})
    return {"batchItemFailures": failures}
