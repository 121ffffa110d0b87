"""Access records: one per signed request whose SecretId exists, whatever its outcome."""

from __future__ import annotations

from access_keys import keys
from access_keys.clock import DAY_MS, now_ms
from access_keys.dal import record_store
from access_keys.domain import RECORD_RETENTION_DAYS, RECORDS_SHOWN, AccessKey, AccessRecord, Result

_USER_AGENT_MAX_CHARS = 512


def record_access(
    key: AccessKey,
    *,
    action: str,
    error_code: str | None,
    source_ip: str,
    user_agent: str,
    request_id: str,
    access_time: int,
) -> None:
    record_store.put_record(
        AccessRecord(
            secret_id=key.secret_id,
            uin=key.uin,
            access_time=access_time,
            action=action,
            result=Result.FAILURE if error_code else Result.SUCCESS,
            error_code=error_code,
            source_ip=source_ip,
            user_agent=user_agent[:_USER_AGENT_MAX_CHARS],
            request_id=request_id,
        )
    )


def list_access_records(caller: AccessKey, secret_id: str) -> list[AccessRecord]:
    """The latest 20 records of the past 90 days, newest first.

    The cut-off is applied here, not left to DynamoDB's TTL, which may delete days late.
    """
    keys.owned_key(caller, secret_id)
    since = now_ms() - RECORD_RETENTION_DAYS * DAY_MS
    return record_store.latest_records(secret_id, since=since, limit=RECORDS_SHOWN)
