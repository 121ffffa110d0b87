"""In-memory stand-ins for the data layer that `access_keys.keys` and `access_keys.records` call, so
their rules run with no AWS at all.

Each fake has the signature of the `dal` function it replaces and reports what that function
reports: its conditions are the real condition expressions, written in Python, and nothing more.
The rules stay in `keys` and `records`; a test that passes here because a fake decided for the
service would test the fake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import pytest
from secret_ledger import LEDGER

from access_keys import keys, records
from access_keys.clock import HOUR_MS
from access_keys.config import RECORD_SHARDS
from access_keys.dal.models import AccessRecordItem, FailedAttemptsItem
from access_keys.dal.record_store import shard_of
from access_keys.domain import AccessKey, AccessRecord, DeletedKey, FailedAttempts, Result, Status, StoredKey

# The failed-attempt groups one listing reads before it keeps the latest (record_store's).
_FAILED_GROUPS_READ = 100
# 2026-11-26T19:00:00.000Z: an hour's start, so tests can place times within and across UTC hours.
START_MS = 1_795_719_600_000


def seal(secret_id: str, uin: str, secret_key: str) -> bytes:
    """key_material.seal without KMS: bound to the SecretId and owner as KMS's context binds it,
    and a one-way digest, so nothing a test reads back is the SecretKey. Every SecretKey made here
    passes through it, so it tells the secret scan (tests/secret_ledger.py) which to look for."""
    LEDGER.issue(secret_id, secret_key)
    return b"sealed:" + hashlib.sha256(f"{secret_id}\n{uin}\n{secret_key}".encode()).digest()


@dataclass
class Clock:
    """The server's clock, in Unix ms, moved only by the test."""

    now: int = START_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms

    @property
    def second(self) -> int:
        return self.now // 1000


@dataclass
class MemoryKeyStore:
    """`access_keys.dal.key_store`: the key items and the per-owner account items."""

    keys: dict[str, AccessKey] = field(default_factory=dict)
    encrypted_secrets: dict[str, bytes] = field(default_factory=dict)
    status_changed_at: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, set[str]] = field(default_factory=dict)  # the account items: Uin -> SecretIds
    tombstones: dict[str, DeletedKey] = field(default_factory=dict)
    reads: int = 0  # find_key and get_key calls: each a GetItem
    _meanwhile: list[Callable[[], object]] = field(default_factory=list)

    def meanwhile(self, change: Callable[[], object]) -> None:
        """Let `change` happen once, just before the next conditional write is evaluated: another
        request's write landing between this request's read and its own write."""
        self._meanwhile.append(change)

    def _let_concurrent_change_land(self) -> None:
        while self._meanwhile:
            self._meanwhile.pop(0)()

    def find_key(self, secret_id: str) -> AccessKey | None:
        self.reads += 1
        return self.keys.get(secret_id)

    def get_key(self, secret_id: str) -> StoredKey | None:
        self.reads += 1
        key = self.keys.get(secret_id)
        return None if key is None else StoredKey(key=key, encrypted_secret=self.encrypted_secrets[secret_id])

    def create_key(self, key: AccessKey, encrypted_secret: bytes, *, max_keys: int) -> bool:
        held = self.accounts.get(key.uin, set())
        if len(held) >= max_keys or key.secret_id in self.keys:
            return False
        self.accounts[key.uin] = held | {key.secret_id}
        self.keys[key.secret_id] = key
        self.encrypted_secrets[key.secret_id] = encrypted_secret
        return True

    def list_keys(self, uin: str) -> list[AccessKey]:
        found = [self.keys[secret_id] for secret_id in self.accounts.get(uin, set()) if secret_id in self.keys]
        owned = [key for key in found if key.uin == uin]
        return sorted(owned, key=lambda key: (key.create_time, key.secret_id))

    def set_status(self, secret_id: str, status: Status, *, signed_at: int, changed_at: int) -> AccessKey | None:
        self._let_concurrent_change_land()
        key = self.keys.get(secret_id)
        last_change = self.status_changed_at.get(secret_id)
        if key is None or (last_change is not None and last_change > signed_at):
            return None
        self.keys[secret_id] = updated = replace(key, status=status)
        self.status_changed_at[secret_id] = changed_at
        return updated

    def delete_inactive_key(self, uin: str, secret_id: str, *, deleted_at: int) -> bool:
        self._let_concurrent_change_land()
        key = self.keys.get(secret_id)
        if key is None or key.uin != uin or key.status is not Status.INACTIVE or uin not in self.accounts:
            return False
        del self.keys[secret_id], self.encrypted_secrets[secret_id]
        self.status_changed_at.pop(secret_id, None)
        self.accounts[uin] = self.accounts[uin] - {secret_id}
        self.tombstones[secret_id] = DeletedKey(secret_id=secret_id, uin=uin, deleted_at=deleted_at)
        return True


@dataclass
class MemoryRecordStore:
    """`access_keys.dal.record_store`: access records and failed-attempt groups, by their item keys."""

    records: dict[tuple[str, str], AccessRecord] = field(default_factory=dict)
    failed: dict[tuple[str, str], FailedAttempts] = field(default_factory=dict)
    updates_tried: int = 0  # mark_failed calls: each an UpdateItem
    listings_read: int = 0  # latest_traces calls

    def put_record(self, record: AccessRecord, *, unique_id: str | None = None) -> tuple[str, str]:
        suffix = unique_id or record.request_id
        partition = AccessRecordItem.partition(record.secret_id, shard_of(suffix))
        sort_key = AccessRecordItem.sort_key(record.access_time, suffix)
        self.records[partition, sort_key] = record
        return partition, sort_key

    def mark_failed(self, partition: str, sort_key: str, *, service: str, error_code: str, since: int) -> bool:
        self.updates_tried += 1
        record = self.records.get((partition, sort_key))
        if record is None or record.service != service or record.result is not Result.SUCCESS:
            return False
        if record.access_time < since:
            return False
        self.records[partition, sort_key] = replace(record, result=Result.FAILURE, error_code=error_code)
        return True

    def count_failed_attempt(
        self, secret_id: str, *, error_code: str, source_ip: str, user_agent: str, access_time: int, hour: int
    ) -> None:
        item_key = (FailedAttemptsItem.partition(secret_id), FailedAttemptsItem.sort_key(hour, error_code, source_ip))
        before = self.failed.get(item_key)
        self.failed[item_key] = FailedAttempts(
            secret_id=secret_id,
            hour=hour,
            source_ip=source_ip,
            error_code=error_code,
            first_time=access_time if before is None else before.first_time,  # if_not_exists
            last_time=access_time,
            count=1 if before is None else before.count + 1,
            user_agent=user_agent,
        )

    def latest_traces(
        self, secret_id: str, *, since: int, limit: int, concurrent: bool = True
    ) -> tuple[list[AccessRecord], list[FailedAttempts]]:
        self.listings_read += 1
        # The records: each shard's items from `since` on, by sort key, newest first.
        shards = {AccessRecordItem.partition(secret_id, shard) for shard in range(RECORD_SHARDS)}
        lower_bound = AccessRecordItem.sort_key(since, "")
        in_range = sorted(
            (item_key for item_key in self.records if item_key[0] in shards and item_key[1] >= lower_bound),
            reverse=True,
            key=lambda item_key: item_key[1],
        )
        newest = [self.records[item_key] for item_key in in_range[:limit]]
        # The failed-attempt groups: the newest hours' from `since`'s hour on, then the latest LastTimes.
        partition = FailedAttemptsItem.partition(secret_id)
        since_hour = f"{since - since % HOUR_MS:013d}"
        read = sorted(
            (item_key for item_key in self.failed if item_key[0] == partition and item_key[1] >= since_hour),
            reverse=True,
        )[:_FAILED_GROUPS_READ]
        kept = [item_key for item_key in read if self.failed[item_key].last_time >= since]
        latest = sorted(kept, reverse=True, key=lambda item_key: (self.failed[item_key].last_time, item_key[1]))
        return newest, [self.failed[item_key] for item_key in latest[:limit]]


@dataclass(frozen=True)
class Memory:
    key_store: MemoryKeyStore
    record_store: MemoryRecordStore
    clock: Clock


def install(monkeypatch: pytest.MonkeyPatch) -> Memory:
    """Put the fakes and a test-driven clock where `keys` and `records` look them up."""
    memory = Memory(key_store=MemoryKeyStore(), record_store=MemoryRecordStore(), clock=Clock())
    monkeypatch.setattr(keys, "key_store", memory.key_store)
    # Only `seal`: anything else of key_material (KMS, the signing-key cache) fails loudly here.
    monkeypatch.setattr(keys, "key_material", SimpleNamespace(seal=seal))
    monkeypatch.setattr(records, "record_store", memory.record_store)
    monkeypatch.setattr(keys, "now_ms", memory.clock)
    monkeypatch.setattr(records, "now_ms", memory.clock)
    return memory
