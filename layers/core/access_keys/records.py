"""The traces a request naming an existing key leaves for that key's owner, in one of two lists.

`AccessRecords` hold the requests signed with the key's SecretKey, whatever they then got.
`FailedAttempts` count everything else that named the SecretId (a SecretId is public), grouped
per source IP, error code and UTC hour, so that nobody without the SecretKey can fill the first
list or fake a use of the key.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from access_keys import keys
from access_keys.clock import DAY_MS, HOUR_MS, now_ms
from access_keys.dal import record_store
from access_keys.domain import (
    OWN_SERVICE,
    RECORD_RETENTION_DAYS,
    RECORDS_SHOWN,
    AccessKey,
    AccessRecord,
    FailedAttempts,
    Principal,
    Result,
)

_USER_AGENT_MAX_CHARS = 512
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]+")
# How long after its verification a service may still report a request's outcome.
REPORT_WINDOW_MINUTES = 15


@dataclass(frozen=True, slots=True)
class Traces:
    access_records: list[AccessRecord]
    failed_attempts: list[FailedAttempts]


def record_access(
    key: AccessKey,
    *,
    service: str = OWN_SERVICE,
    action: str,
    error_code: str | None,
    source_ip: str,
    user_agent: str,
    request_id: str,
    access_time: int,
    unique_id: str | None = None,
) -> str:
    """An AccessRecord: for a request proven signed with the key's SecretKey only. Returns its
    RecordId, which names it to `report_access_outcome`; with a random `unique_id` no other
    caller can guess it."""
    partition, sort_key = record_store.put_record(
        AccessRecord(
            secret_id=key.secret_id,
            uin=key.uin,
            access_time=access_time,
            service=service,
            action=action,
            result=Result.FAILURE if error_code else Result.SUCCESS,
            error_code=error_code,
            source_ip=source_ip,
            user_agent=user_agent[:_USER_AGENT_MAX_CHARS],
            request_id=request_id,
        ),
        unique_id=unique_id,
    )
    return _record_id(partition, sort_key)


def report_access_outcome(service: str, record_id: str, error_code: str) -> bool:
    """Mark a record of `service` from the last 15 minutes as refused by that service after all.

    False when the RecordId names no such record: another service's, an older one, one already
    refused, or one that does not exist. A record never goes back to Success.
    """
    key = _record_key(record_id)
    if key is None:
        return False
    return record_store.mark_failed(
        *key, service=service, error_code=error_code, since=now_ms() - REPORT_WINDOW_MINUTES * 60_000
    )


def _record_id(partition: str, sort_key: str) -> str:
    return base64.urlsafe_b64encode(f"{partition}\n{sort_key}".encode()).decode().rstrip("=")


def _record_key(record_id: str) -> tuple[str, str] | None:
    # Only the alphabet `_record_id` writes: base64's decoder would also take `+` and `/`, and drop
    # any other character, so that many spellings would name one record.
    if not _RECORD_ID.fullmatch(record_id):
        return None
    try:
        decoded = base64.urlsafe_b64decode(record_id + "=" * (-len(record_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    partition, separator, sort_key = decoded.partition("\n")
    return (partition, sort_key) if separator and partition and sort_key else None


def count_failed_attempt(key: AccessKey, *, error_code: str, source_ip: str, user_agent: str, access_time: int) -> None:
    """A request that named the key but was not signed with its SecretKey."""
    record_store.count_failed_attempt(
        key.secret_id,
        error_code=error_code,
        source_ip=source_ip,
        user_agent=user_agent[:_USER_AGENT_MAX_CHARS],
        access_time=access_time,
        hour=access_time - access_time % HOUR_MS,
    )


def list_access_records(caller: Principal, secret_id: str) -> Traces:
    """The latest 20 of each list of the past 90 days, newest first.

    The cut-off is applied here, not left to DynamoDB's TTL, which may delete days late.
    """
    keys.owned_key(caller, secret_id)
    since = now_ms() - RECORD_RETENTION_DAYS * DAY_MS
    access_records, failed_attempts = record_store.latest_traces(secret_id, since=since, limit=RECORDS_SHOWN)
    return Traces(access_records=access_records, failed_attempts=failed_attempts)
