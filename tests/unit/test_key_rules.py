"""The rules of `access_keys.keys`, on in-memory stores (tests/unit/memory_stores.py): no AWS at all.

tests/integration runs the same rules end to end on moto; these say, in milliseconds, which rule
broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from memory_stores import Memory, install, seal

from access_keys import keys, records
from access_keys.domain import AccessKey, AccountActor, Caller, Principal, Status
from access_keys.errors import (
    AccessKeyActive,
    AccessKeyNotFound,
    AccessKeyOverLimit,
    InternalError,
    ServiceError,
    SignatureExpire,
)

ALICE = "100000000001"
BOB = "100000000002"
NEVER_ISSUED = "AKID" + "0" * 32


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Memory:
    return install(monkeypatch)


def actor(memory: Memory, uin: str) -> AccountActor:
    """Someone signed in to the account `uin`, acting now."""
    return AccountActor(uin=uin, actor=f"user:{uin}@example.com", signed_at=memory.clock.second)


def disabled(memory: Memory, uin: str, description: str = "") -> AccessKey:
    created = keys.create_access_key(uin, description).key
    return keys.update_access_key(actor(memory, uin), created.secret_id, Status.INACTIVE)


def signer_and_target(memory: Memory) -> tuple[AccessKey, AccessKey, int]:
    """Alice's two keys, the first to sign with and the second to change, and the second it is now."""
    return keys.create_access_key(ALICE).key, keys.create_access_key(ALICE).key, memory.clock.second


def status_of(memory: Memory, secret_id: str) -> Status:
    return memory.key_store.keys[secret_id].status


# ------------------------------------------------------------------------------ create


def test_a_new_key_is_active_dated_now_and_comes_with_its_secret_key(memory: Memory) -> None:
    created = keys.create_access_key(ALICE, "ci deploy")

    assert re.fullmatch(r"AKID[A-Za-z0-9]{32}", created.key.secret_id)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", created.secret_key)
    assert created.key == AccessKey(
        secret_id=created.key.secret_id,
        uin=ALICE,
        status=Status.ACTIVE,
        create_time=memory.clock.now,
        description="ci deploy",
    )
    assert keys.get_access_key(actor(memory, ALICE), created.key.secret_id) == created.key


def test_the_secret_key_is_stored_only_sealed_to_its_own_key_and_owner(memory: Memory) -> None:
    created = keys.create_access_key(ALICE)

    stored = memory.key_store.encrypted_secrets[created.key.secret_id]

    assert stored == seal(created.key.secret_id, ALICE, created.secret_key)
    assert created.secret_key.encode() not in stored
    assert created.secret_key[::-1].encode() not in stored


def test_a_third_key_is_refused_and_nothing_is_written(memory: Memory) -> None:
    first, second = keys.create_access_key(ALICE).key, keys.create_access_key(ALICE).key
    stored_before = dict(memory.key_store.keys), dict(memory.key_store.encrypted_secrets)

    with pytest.raises(AccessKeyOverLimit):
        keys.create_access_key(ALICE)

    assert (memory.key_store.keys, memory.key_store.encrypted_secrets) == stored_before
    assert set(keys.list_access_keys(actor(memory, ALICE))) == {first, second}


def test_another_accounts_keys_do_not_count_against_the_quota(memory: Memory) -> None:
    keys.create_access_key(BOB)
    keys.create_access_key(BOB)

    first, second = keys.create_access_key(ALICE).key, keys.create_access_key(ALICE).key

    assert set(keys.list_access_keys(actor(memory, ALICE))) == {first, second}


def test_deleting_a_key_frees_its_slot(memory: Memory) -> None:
    kept = keys.create_access_key(ALICE).key
    doomed = disabled(memory, ALICE)
    keys.delete_access_key(actor(memory, ALICE), doomed.secret_id)
    memory.clock.advance(1)

    replacement = keys.create_access_key(ALICE).key

    assert keys.list_access_keys(actor(memory, ALICE)) == [kept, replacement]


# ------------------------------------------------------------------------------ list


def test_the_list_shows_only_the_callers_keys_oldest_first(memory: Memory) -> None:
    older = keys.create_access_key(ALICE, "older").key
    memory.clock.advance(1)
    keys.create_access_key(BOB, "bob's")
    memory.clock.advance(1)
    newer = keys.create_access_key(ALICE, "newer").key

    listed_by_key = keys.list_access_keys(Caller(newer, memory.clock.second))
    listed_by_user = keys.list_access_keys(actor(memory, ALICE))

    assert listed_by_key == listed_by_user == [older, newer]


# ------------------------------------------------------------------------------ ownership

OPERATIONS: dict[str, Callable[[Principal, str], object]] = {
    "GetAccessKey": keys.get_access_key,
    "UpdateAccessKey": lambda principal, secret_id: keys.update_access_key(principal, secret_id, Status.ACTIVE),
    "DeleteAccessKey": keys.delete_access_key,
    "ListAccessRecords": records.list_access_records,
}


def _refusal(operation: Callable[[Principal, str], object], principal: Principal, secret_id: str) -> ServiceError:
    with pytest.raises(AccessKeyNotFound) as refused:
        operation(principal, secret_id)
    return refused.value


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-with-a-key", "signed-in-user"])
def test_another_accounts_key_is_reported_exactly_as_a_missing_one(
    memory: Memory, operation: Callable[[Principal, str], object], signed_in: bool
) -> None:
    bobs = disabled(memory, BOB)  # Inactive: a delete would succeed, were it allowed
    alice = actor(memory, ALICE) if signed_in else Caller(keys.create_access_key(ALICE).key, memory.clock.second)

    for_bobs = _refusal(operation, alice, bobs.secret_id)
    for_none = _refusal(operation, alice, NEVER_ISSUED)

    assert (type(for_bobs), for_bobs.code, for_bobs.message) == (type(for_none), for_none.code, for_none.message)
    assert memory.key_store.keys[bobs.secret_id] == bobs
    assert memory.record_store.listings_read == 0


def test_the_key_that_signed_the_request_is_not_read_again(memory: Memory) -> None:
    signing = keys.create_access_key(ALICE).key
    other = keys.create_access_key(ALICE).key
    caller = Caller(signing, memory.clock.second)
    reads_before = memory.key_store.reads

    own = keys.get_access_key(caller, signing.secret_id)
    reads_for_own = memory.key_store.reads - reads_before
    keys.get_access_key(caller, other.secret_id)

    assert own is signing
    assert reads_for_own == 0
    assert memory.key_store.reads - reads_before == 1  # another key of the account is read


# ------------------------------------------------------------------------------ update


def test_an_update_signed_before_the_last_status_change_is_refused_and_changes_nothing(memory: Memory) -> None:
    signing, target, now = signer_and_target(memory)
    keys.update_access_key(Caller(signing, now), target.secret_id, Status.INACTIVE)

    with pytest.raises(SignatureExpire):
        keys.update_access_key(Caller(signing, now - 1), target.secret_id, Status.ACTIVE)

    assert status_of(memory, target.secret_id) is Status.INACTIVE


def test_an_update_signed_in_the_same_second_as_the_last_change_is_applied(memory: Memory) -> None:
    signing, target, now = signer_and_target(memory)
    keys.update_access_key(Caller(signing, now), target.secret_id, Status.INACTIVE)

    updated = keys.update_access_key(Caller(signing, now), target.secret_id, Status.ACTIVE)

    assert updated == target  # Active again, all else as it was
    assert status_of(memory, target.secret_id) is Status.ACTIVE


def test_a_delayed_update_signed_after_the_last_change_still_applies(memory: Memory) -> None:
    signing, target, now = signer_and_target(memory)
    keys.update_access_key(Caller(signing, now - 100), target.secret_id, Status.INACTIVE)  # arrives late

    keys.update_access_key(Caller(signing, now - 50), target.secret_id, Status.ACTIVE)

    assert status_of(memory, target.secret_id) is Status.ACTIVE


def test_a_change_signed_ahead_of_the_server_clock_does_not_hold_off_the_next(memory: Memory) -> None:
    signing, target, now = signer_and_target(memory)
    keys.update_access_key(Caller(signing, now + 120), target.secret_id, Status.INACTIVE)
    dated = memory.key_store.status_changed_at[target.secret_id]
    memory.clock.advance(1000)

    keys.update_access_key(actor(memory, ALICE), target.secret_id, Status.ACTIVE)

    assert dated == now
    assert status_of(memory, target.secret_id) is Status.ACTIVE


def test_an_update_of_a_key_deleted_meanwhile_is_reported_as_not_found(memory: Memory) -> None:
    target = disabled(memory, ALICE)
    memory.key_store.meanwhile(lambda: keys.delete_access_key(actor(memory, ALICE), target.secret_id))

    with pytest.raises(AccessKeyNotFound):
        keys.update_access_key(actor(memory, ALICE), target.secret_id, Status.ACTIVE)

    assert target.secret_id not in memory.key_store.keys


def test_an_update_by_a_key_deleted_while_its_request_ran_is_reported_as_not_found(memory: Memory) -> None:
    # Verified while it was still Inactive-to-be: the request's own copy of the key is stale by the
    # time its write fails, so the answer comes from the table, not from that copy.
    signing = keys.create_access_key(ALICE).key
    caller = Caller(signing, memory.clock.second)
    session = actor(memory, ALICE)

    def disabled_and_deleted() -> None:
        keys.update_access_key(session, signing.secret_id, Status.INACTIVE)
        keys.delete_access_key(session, signing.secret_id)

    memory.key_store.meanwhile(disabled_and_deleted)

    with pytest.raises(AccessKeyNotFound):
        keys.update_access_key(caller, signing.secret_id, Status.ACTIVE)


# ------------------------------------------------------------------------------ delete


def test_deleting_an_active_key_is_refused_and_keeps_it(memory: Memory) -> None:
    active = keys.create_access_key(ALICE).key

    with pytest.raises(AccessKeyActive):
        keys.delete_access_key(actor(memory, ALICE), active.secret_id)

    assert keys.get_access_key(actor(memory, ALICE), active.secret_id) == active


def test_deleting_an_inactive_key_removes_it_for_good(memory: Memory) -> None:
    kept = keys.create_access_key(ALICE).key
    doomed = disabled(memory, ALICE)
    memory.clock.advance(5)

    keys.delete_access_key(actor(memory, ALICE), doomed.secret_id)

    with pytest.raises(AccessKeyNotFound):
        keys.get_access_key(actor(memory, ALICE), doomed.secret_id)
    assert keys.list_access_keys(actor(memory, ALICE)) == [kept]
    assert memory.key_store.tombstones[doomed.secret_id].deleted_at == memory.clock.now  # for the cleanup


def test_a_delete_that_meets_a_concurrent_enable_is_answered_as_active(memory: Memory) -> None:
    target = disabled(memory, ALICE)
    memory.key_store.meanwhile(
        lambda: keys.update_access_key(actor(memory, ALICE), target.secret_id, Status.ACTIVE),
    )

    with pytest.raises(AccessKeyActive):
        keys.delete_access_key(actor(memory, ALICE), target.secret_id)

    assert status_of(memory, target.secret_id) is Status.ACTIVE


def test_a_delete_that_meets_a_concurrent_delete_is_answered_as_not_found(memory: Memory) -> None:
    target = disabled(memory, ALICE)
    memory.key_store.meanwhile(lambda: keys.delete_access_key(actor(memory, ALICE), target.secret_id))

    with pytest.raises(AccessKeyNotFound):
        keys.delete_access_key(actor(memory, ALICE), target.secret_id)


def test_a_delete_the_account_item_keeps_refusing_is_an_internal_error(memory: Memory) -> None:
    target = disabled(memory, ALICE)
    del memory.key_store.accounts[ALICE]  # what no request can repair

    with pytest.raises(InternalError):
        keys.delete_access_key(actor(memory, ALICE), target.secret_id)

    assert target.secret_id in memory.key_store.keys
