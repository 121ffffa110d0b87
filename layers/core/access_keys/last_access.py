"""Each key's LastAccessTime, kept from the access-records stream.

Per batch, only the newest record of each key matters: one conditional update per distinct
key, never one per record. The condition only moves the time forward and never re-creates a
deleted key, so an older, replayed or reordered batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from access_keys.dal import key_store
from access_keys.observability import logger, metrics


@dataclass(frozen=True, slots=True)
class Access:
    secret_id: str
    access_time: int
    sequence_number: str

    @property
    def order(self) -> tuple[int, int]:
        """Newer time first; for equal times, the later write in the stream."""
        return self.access_time, int(self.sequence_number or 0)


def access_of(record: DynamoDBRecord) -> Access | None:
    """The key and time a stream record of an access record carries; None for anything else."""
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or "SecretId" not in image or "AccessTime" not in image:
        return None
    return Access(str(image["SecretId"]), int(image["AccessTime"]), record.dynamodb.sequence_number or "")


def newest_per_key(records: Iterable[DynamoDBRecord]) -> dict[str, Access]:
    newest: dict[str, Access] = {}
    for record in records:
        access = access_of(record)
        if access is None:
            continue
        current = newest.get(access.secret_id)
        if current is None or access.order > current.order:
            newest[access.secret_id] = access
    return newest


def process_batch(
    event: dict[str, Any],
    context: Any,
    *,
    advance: Callable[[str, int], bool] = key_store.advance_last_access,
) -> dict[str, Any]:
    """Handle one stream batch; the response names only the records whose update failed.

    Each key's update is carried by its newest record. If that update fails, only that record
    is reported, and Lambda retries from it: the key's older records in the batch need nothing
    more, since the newer time covers them.
    """
    batch = [DynamoDBRecord(raw) for raw in event.get("Records", [])]
    newest = newest_per_key(batch)
    carriers = {access.sequence_number: access for access in newest.values()}

    def update_key_of(record: DynamoDBRecord) -> None:
        access = carriers.get(record.dynamodb.sequence_number if record.dynamodb else "")
        if access is None:
            return  # an older record of a key whose newer one is in this batch, or not an access record
        if advance(access.secret_id, access.access_time):
            metrics.add_metric(name="LastAccessUpdated", unit=MetricUnit.Count, value=1)
        else:
            logger.debug("last access unchanged", extra={"secret_id": access.secret_id})

    logger.info("stream batch", extra={"records": len(batch), "keys": len(newest)})
    metrics.add_metric(name="AccessRecordsStreamed", unit=MetricUnit.Count, value=len(batch))
    return process_partial_response(
        event=event,
        record_handler=update_key_of,
        processor=BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False),
        context=context,
    )
