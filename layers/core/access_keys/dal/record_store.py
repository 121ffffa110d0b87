"""The access-records table."""

from __future__ import annotations

import heapq
import secrets
from datetime import UTC, datetime, timedelta
from itertools import chain

from access_keys.config import settings
from access_keys.dal.models import AccessRecordItem, bind_tables
from access_keys.dal.throttling import throttling_as_request_limit
from access_keys.domain import RECORD_RETENTION_DAYS, AccessRecord, Result


def put_record(record: AccessRecord) -> None:
    """One PutItem, on a random shard of the key's partitions."""
    bind_tables()
    shard = secrets.randbelow(settings().record_shards)
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
