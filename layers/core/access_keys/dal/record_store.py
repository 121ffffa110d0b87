"""The access-records table: access records, failed attempts, and the signatures already used."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from itertools import chain
from typing import Any

from pynamodb.constants import NONE
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from access_keys.clock import HOUR_MS
from access_keys.config import RECORD_SHARDS
from access_keys.dal.models import AccessRecordItem, FailedAttemptsItem, UsedSignatureItem, bind_tables
from access_keys.dal.throttling import reporting_throttling
from access_keys.domain import RECORD_RETENTION_DAYS, AccessRecord, FailedAttempts, Result

# The failed-attempt groups one listing reads, newest hours first, before it keeps the latest 20:
# a flood from more sources than this within the newest hours shows 20 of them, not necessarily
# the 20 latest, and the read stays one small page whatever the flood.
_FAILED_GROUPS_READ = 100


def shard_of(request_id: str) -> int:
    """The shard a record lands on: spread evenly, and the same for a retried write of the same
    request, which then overwrites its record instead of duplicating it."""
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % RECORD_SHARDS


def put_record(record: AccessRecord, *, unique_id: str | None = None) -> tuple[str, str]:
    """One PutItem, on one of the key's shards; returns the item's key (partition, sort key).

    The sort key ends in `unique_id` if given (a random one makes the key unguessable, so it can
    name the record to a caller, see `records.record_id`), else in the record's RequestId.
    """
    bind_tables()
    suffix = unique_id or record.request_id
    shard = shard_of(suffix)
    expires = datetime.fromtimestamp(record.access_time / 1000, UTC) + timedelta(days=RECORD_RETENTION_DAYS)
    partition = AccessRecordItem.partition(record.secret_id, shard)
    sort_key = AccessRecordItem.sort_key(record.access_time, suffix)
    item = AccessRecordItem(
        partition,
        sort_key,
        secret_id=record.secret_id,
        uin=record.uin,
        access_time=record.access_time,
        service=record.service,
        action=record.action,
        result=str(record.result),
        error_code=record.error_code,
        source_ip=record.source_ip,
        user_agent=record.user_agent,
        request_id=record.request_id,
        expires_at=expires,
    )
    with reporting_throttling():
        item.save()
    return partition, sort_key


def mark_failed(partition: str, sort_key: str, *, service: str, error_code: str, since: int) -> bool:
    """Turn a successful record of `service`, written at `since` or later, into a failure with
    `error_code`: one conditional UpdateItem. False, changing nothing, for any other record."""
    bind_tables()
    try:
        with reporting_throttling():
            AccessRecordItem._get_connection().update_item(
                partition,
                sort_key,
                actions=[
                    AccessRecordItem.result.set(str(Result.FAILURE)),
                    AccessRecordItem.error_code.set(error_code),
                ],
                condition=AccessRecordItem.secret_id_shard.exists()
                & (AccessRecordItem.service == service)
                & (AccessRecordItem.result == str(Result.SUCCESS))
                & (AccessRecordItem.access_time >= since),
                return_values=NONE,
            )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def latest_traces(
    secret_id: str, *, since: int, limit: int, concurrent: bool = True
) -> tuple[list[AccessRecord], list[FailedAttempts]]:
    """Both lists of a key's listing since `since`, newest first, each its latest `limit`: the
    records merged across the key's shards, and the failed-attempt groups with the latest LastTime
    among the newest groups.

    One Query per shard and one of the failed attempts, all sent at once (`concurrent=False`
    sends them one after another, as the listing did before: `make bench` compares the two).
    A failed Query fails the whole read, once the others it started have ended.
    """
    bind_tables()
    lower_bound = AccessRecordItem.sort_key(since, "")
    since_hour = since - since % HOUR_MS
    queries: list[Callable[[], list[Any]]] = [
        partial(
            _newest_of,
            AccessRecordItem,
            AccessRecordItem.partition(secret_id, shard),
            AccessRecordItem.access_time_request_id >= lower_bound,
            limit=limit,
        )
        for shard in range(RECORD_SHARDS)
    ]
    queries.append(
        partial(
            _newest_of,
            FailedAttemptsItem,
            FailedAttemptsItem.partition(secret_id),
            FailedAttemptsItem.hour_code_ip >= f"{since_hour:013d}",
            limit=_FAILED_GROUPS_READ,
        )
    )
    with reporting_throttling():
        *per_shard, groups = _run_all(queries) if concurrent else [query() for query in queries]
    newest = heapq.nlargest(limit, chain.from_iterable(per_shard), key=lambda item: item.access_time_request_id)
    kept = [item for item in groups if int(item.last_time) >= since]
    newest_groups = heapq.nlargest(limit, kept, key=lambda item: (int(item.last_time), item.hour_code_ip))
    return [_to_domain(item) for item in newest], [_failed_to_domain(item) for item in newest_groups]


def _newest_of(model: type[Model], partition: str, condition: Condition, *, limit: int) -> list[Any]:
    """The newest `limit` items of one partition that meet `condition`: one Query."""
    return list(
        model.query(
            partition,
            condition,
            scan_index_forward=False,
            limit=limit,
            # A record is readable as soon as the request that made it was answered.
            consistent_read=True,
        )
    )


@cache
def _readers() -> ThreadPoolExecutor:
    """The threads that send a listing's Queries, made by the first listing of the process and kept
    for the warm invocations after it (idle between them): one per Query, but no more than the
    client's connection pool holds. A call beyond the pool would open a connection of its own,
    which urllib3 closes afterwards: a TLS handshake per such call, each listing."""
    config: Any = AccessRecordItem._get_connection().connection.client.meta.config  # botocore's stubs omit the pool
    pool = int(config.max_pool_connections)
    return ThreadPoolExecutor(max_workers=min(RECORD_SHARDS + 1, pool), thread_name_prefix="records-read")


def _run_all[T](queries: list[Callable[[], T]]) -> list[T]:
    """Each query's result, in their order, the queries run at once on `_readers`.

    If one fails, those not started yet are cancelled and those running are waited for, so that
    nothing of this read is still running when its error is raised: the first in the queries'
    order, as running them in turn would have raised.
    """
    futures = [_readers().submit(query) for query in queries]
    _, pending = wait(futures, return_when=FIRST_EXCEPTION)
    if pending:
        for future in pending:
            future.cancel()
        wait(pending)
    for future in futures:
        if not future.cancelled() and (error := future.exception()) is not None:
            raise error
    return [future.result() for future in futures]


def _to_domain(item: AccessRecordItem) -> AccessRecord:
    return AccessRecord(
        secret_id=item.secret_id,
        uin=item.uin,
        access_time=int(item.access_time),
        # Records written before services other than this API verified here carry none.
        service=item.service or "cam",
        action=item.action,
        result=Result(item.result),
        error_code=item.error_code,
        source_ip=item.source_ip,
        user_agent=item.user_agent,
        request_id=item.request_id,
    )


def count_failed_attempt(
    secret_id: str, *, error_code: str, source_ip: str, user_agent: str, access_time: int, hour: int
) -> None:
    """Count one request that named the key without its signature, in its group: one UpdateItem."""
    bind_tables()
    item = FailedAttemptsItem(
        FailedAttemptsItem.partition(secret_id), FailedAttemptsItem.sort_key(hour, error_code, source_ip)
    )
    expires = datetime.fromtimestamp(access_time / 1000, UTC) + timedelta(days=RECORD_RETENTION_DAYS)
    with reporting_throttling():
        item.update(
            actions=[
                FailedAttemptsItem.secret_id.set(secret_id),
                FailedAttemptsItem.hour.set(hour),
                FailedAttemptsItem.error_code.set(error_code),
                FailedAttemptsItem.source_ip.set(source_ip),
                FailedAttemptsItem.first_time.set(FailedAttemptsItem.first_time | access_time),
                FailedAttemptsItem.last_time.set(access_time),
                FailedAttemptsItem.attempts.add(1),
                FailedAttemptsItem.user_agent.set(user_agent),
                FailedAttemptsItem.expires_at.set(expires),
            ]
        )


def _failed_to_domain(item: FailedAttemptsItem) -> FailedAttempts:
    return FailedAttempts(
        secret_id=item.secret_id,
        hour=int(item.hour),
        source_ip=item.source_ip,
        error_code=item.error_code,
        first_time=int(item.first_time),
        last_time=int(item.last_time),
        count=int(item.attempts),
        user_agent=item.user_agent,
    )


def use_signature(signature: str, *, action: str, reusable: bool, expires_at: int) -> bool:
    """Mark a signature as used for `action`, in one conditional PutItem; False if it may not serve.

    A single-use signature (`reusable=False`) is taken only if no request used it before. A
    reusable one is bound to its action: it serves again only for the same action, and only if
    no single-use request spent it.
    """
    bind_tables()
    item = UsedSignatureItem(
        UsedSignatureItem.id_for(signature),
        action=action,
        reusable=reusable,
        expires_at=datetime.fromtimestamp(expires_at, UTC),
    )
    condition = UsedSignatureItem.signature_id.does_not_exist()
    if reusable:
        condition |= (UsedSignatureItem.action == action) & (UsedSignatureItem.reusable == True)  # noqa: E712
    try:
        with reporting_throttling():
            item.save(condition=condition)
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def delete_records(secret_id: str, *, before: int | None, page_size: int = 100) -> tuple[int, bool]:
    """Delete up to `page_size` records per shard of the key, all of them or those older than `before`.

    Returns how many were deleted and whether none are left to delete, so that a caller with a
    deadline can stop between pages and resume later.
    """
    bind_tables()
    deleted = 0
    done = True
    partitions = [AccessRecordItem.partition(secret_id, shard) for shard in range(RECORD_SHARDS)]
    # Failed-attempt groups sort by their hour, so the same cut-off applies to them.
    partitions.append(FailedAttemptsItem.partition(secret_id))
    with reporting_throttling():
        for partition in partitions:
            condition = None
            if before is not None:
                condition = AccessRecordItem.access_time_request_id < AccessRecordItem.sort_key(before, "")
            page = list(
                AccessRecordItem.query(
                    partition,
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
