"""The access-records table."""

from __future__ import annotations

import hashlib
import heapq
from datetime import UTC, datetime, timedelta
from itertools import chain

from access_keys.config import settings
from access_keys.dal.models import AccessRecordItem, bind_tables
from access_keys.dal.throttling import throttling_as_request_limit
from access_keys.domain import RECORD_RETENTION_DAYS, AccessRecord, Result


def shard_of(request_id: str) -> int:
    """The shard a record lands on: spread evenly, and the same for a retried write of the same
    request, which then overwrites its record instead of duplicating it."""
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % settings().record_shards


def put_record(record: AccessRecord) -> None:
    """One PutItem, on one of the key's shards."""
    bind_tables()
    shard = shard_of(record.request_id)
    expires = datetime.fromtimestamp(record.access_time / 1000, UTC) + timedelta(days=RECORD_RETENTION_DAYS)
    item = AccessRecordItem(
        AccessRecordItem.partition(record.secret_id, shard),
        AccessRecordItem.sort_key(record.access_time, record.request_id),
        secret_id=record.secret_id,
        uin=record.uin,
        access_time=record.access_time,
        action=record.action,
        result=str(record.result),
        error_code=record.error_code,
        source_ip=record.source_ip,
        user_agent=record.user_agent,
        request_id=record.request_id,
        expires_at=expires,
    )
    with throttling_as_request_limit():
        item.save()


def latest_records(secret_id: str, *, since: int, limit: int) -> list[AccessRecord]:
    """The newest `limit` records with AccessTime >= `since`, newest first, merged across shards."""
    bind_tables()
    lower_bound = AccessRecordItem.sort_key(since, "")
    per_shard = []
    with throttling_as_request_limit():
        for shard in range(settings().record_shards):
            query = AccessRecordItem.query(
                AccessRecordItem.partition(secret_id, shard),
                AccessRecordItem.access_time_request_id >= lower_bound,
                scan_index_forward=False,
                limit=limit,
                # A record is readable as soon as the request that made it was answered.
                consistent_read=True,
            )
            per_shard.append(list(query))
    newest = heapq.nlargest(limit, chain.from_iterable(per_shard), key=lambda item: item.access_time_request_id)
    return [_to_domain(item) for item in newest]


def _to_domain(item: AccessRecordItem) -> AccessRecord:
    return AccessRecord(
        secret_id=item.secret_id,
        uin=item.uin,
        access_time=int(item.access_time),
        action=item.action,
        result=Result(item.result),
        error_code=item.error_code,
        source_ip=item.source_ip,
        user_agent=item.user_agent,
        request_id=item.request_id,
    )


def delete_records(secret_id: str, *, before: int | None, page_size: int = 100) -> tuple[int, bool]:
    """Delete up to `page_size` records per shard of the key, all of them or those older than `before`.

    Returns how many were deleted and whether none are left to delete, so that a caller with a
    deadline can stop between pages and resume later.
    """
    bind_tables()
    deleted = 0
    done = True
    with throttling_as_request_limit():
        for shard in range(settings().record_shards):
            condition = None
            if before is not None:
                condition = AccessRecordItem.access_time_request_id < AccessRecordItem.sort_key(before, "")
            page = list(
                AccessRecordItem.query(
                    AccessRecordItem.partition(secret_id, shard),
                    condition,
                    limit=page_size,
                    attributes_to_get=["SecretIdShard", "AccessTimeRequestId"],
                )
            )
            if len(page) == page_size:
                done = False
            with AccessRecordItem.batch_write() as batch:
                for item in page:
                    batch.delete(item)
            deleted += len(page)
    return deleted, done
