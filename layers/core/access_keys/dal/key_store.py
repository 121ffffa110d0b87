"""The keys table: key items and the per-owner account item.

Each function reports what happened (a value, None, False) and leaves the rules to its caller
(`access_keys.keys`): which account owns a key, and what to tell a caller who may not see it.
AWS's throttling comes out as `Throttled`.
"""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.constants import NONE
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from access_keys.dal.models import TOMBSTONE_PREFIX, AccountItem, DeletedKeyItem, KeyItem, bind_tables
from access_keys.dal.throttling import Throttled, reporting_throttling
from access_keys.domain import AccessKey, DeletedKey, Status, StoredKey

# DynamoDB cancels a transaction that meets another one in flight on the same item, or
# that is throttled; both are worth a quick retry before the caller is told to back off.
_TRANSACTION_ATTEMPTS = 3
_RETRYABLE_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError"})


def _transact(write: Callable[[TransactWrite], None]) -> bool:
    """Commit the writes `write` adds, in one transaction on the keys table.

    Returns False when one of their conditions failed. A transaction cancelled by a conflict
    or throttling is retried; after the last attempt it is reported as `Throttled`.
    """
    for _ in range(_TRANSACTION_ATTEMPTS):
        try:
            with (
                reporting_throttling(),
                TransactWrite(connection=KeyItem._get_connection().connection) as transaction,
            ):
                write(transaction)
            return True
        except TransactWriteError as error:
            codes = {reason.code for reason in error.cancellation_reasons if reason}
            if "ConditionalCheckFailed" in codes:
                return False
            if not _RETRYABLE_CANCELLATIONS & codes:
                raise
    raise Throttled("Another change to this account was in progress. Retry the request.")


def _to_domain(item: KeyItem) -> AccessKey:
    return AccessKey(
        secret_id=item.secret_id,
        uin=item.uin,
        status=Status(item.status),
        create_time=int(item.create_time),
        description=item.description,
        last_access_time=None if item.last_access_time is None else int(item.last_access_time),
    )


def get_key(secret_id: str) -> StoredKey | None:
    """One strongly consistent GetItem, so a disable is seen by the very next request."""
    bind_tables()
    with reporting_throttling():
        try:
            item = KeyItem.get(secret_id, consistent_read=True)
        except KeyItem.DoesNotExist:
            return None
    return StoredKey(key=_to_domain(item), encrypted_secret=bytes(item.encrypted_secret))


# A key's public attributes: what a refused request needs to find its owner, without the ciphertext.
_PUBLIC_ATTRIBUTES = ["SecretId", "Uin", "Status", "CreateTime", "Description", "LastAccessTime"]


def find_key(secret_id: str) -> AccessKey | None:
    """The key, without its encrypted SecretKey: one consistent GetItem that reads no key material."""
    bind_tables()
    with reporting_throttling():
        try:
            item = KeyItem.get(secret_id, consistent_read=True, attributes_to_get=_PUBLIC_ATTRIBUTES)
        except KeyItem.DoesNotExist:
            return None
    return _to_domain(item)


def create_key(key: AccessKey, encrypted_secret: bytes, *, max_keys: int) -> bool:
    """Put the key and add it to its owner's account item, in one transaction; False, writing
    nothing, when the owner holds `max_keys` keys already.

    The account item's condition makes the quota atomic: however creates interleave,
    an owner never holds more than `max_keys` keys.
    """
    bind_tables()
    account = AccountItem(AccountItem.id_for(key.uin))
    item = KeyItem(
        key.secret_id,
        uin=key.uin,
        status=str(key.status),
        create_time=key.create_time,
        description=key.description,
        encrypted_secret=encrypted_secret,
    )

    def write(transaction: TransactWrite) -> None:
        transaction.update(
            account,
            actions=[AccountItem.uin.set(key.uin), AccountItem.secret_ids.add({key.secret_id})],
            condition=AccountItem.secret_ids.does_not_exist() | (size(AccountItem.secret_ids) < max_keys),  # type: ignore[no-untyped-call]
        )
        transaction.save(item, condition=KeyItem.secret_id.does_not_exist())

    # The put's own condition fails only if a random SecretId repeats (1 in 62^32),
    # so a failed condition is the quota's.
    return _transact(write)


def list_keys(uin: str) -> list[AccessKey]:
    """The owner's keys, oldest first, read consistently (a key is listed as soon as it is created)."""
    bind_tables()
    with reporting_throttling():
        try:
            account = AccountItem.get(AccountItem.id_for(uin), consistent_read=True)
        except AccountItem.DoesNotExist:
            return []
        secret_ids = sorted(account.secret_ids or ())
        items = list(KeyItem.batch_get(secret_ids, consistent_read=True)) if secret_ids else []
    keys = [_to_domain(item) for item in items if item.uin == uin]
    return sorted(keys, key=lambda key: (key.create_time, key.secret_id))


def set_status(secret_id: str, status: Status, *, signed_at: int, changed_at: int) -> AccessKey | None:
    """Set a key's status, if it still exists and was not changed by a request signed after
    `signed_at`. Returns the key as updated, or None when either does not hold.

    `changed_at` (never later than `signed_at`) is what later updates are ordered against.
    """
    bind_tables()
    item = KeyItem(secret_id)
    try:
        with reporting_throttling():
            item.update(
                actions=[KeyItem.status.set(str(status)), KeyItem.status_changed_at.set(changed_at)],
                condition=KeyItem.secret_id.exists()
                & (KeyItem.status_changed_at.does_not_exist() | (KeyItem.status_changed_at <= signed_at)),
            )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return _to_domain(item)


def delete_inactive_key(uin: str, secret_id: str, *, deleted_at: int) -> bool:
    """Delete the key and free its slot in `uin`'s account item, only if it is still Inactive.

    The same transaction leaves a tombstone through which the cleanup later removes the key's
    access records. Returns False when the condition no longer holds, so the caller can say why.
    The key must be `uin`'s (`keys.owned_key`): the condition on Uin only keeps the key and the
    account item it is taken from in step.
    """
    bind_tables()

    def write(transaction: TransactWrite) -> None:
        transaction.delete(
            KeyItem(secret_id),
            condition=(KeyItem.uin == uin) & (KeyItem.status == str(Status.INACTIVE)),
        )
        transaction.update(
            AccountItem(AccountItem.id_for(uin)),
            actions=[AccountItem.secret_ids.delete({secret_id})],
            condition=AccountItem.account_id.exists(),
        )
        transaction.save(
            DeletedKeyItem(DeletedKeyItem.id_for(secret_id), secret_id=secret_id, uin=uin, deleted_at=deleted_at)
        )

    return _transact(write)


def advance_last_access(secret_id: str, access_time: int) -> bool:
    """Set the key's LastAccessTime to `access_time` if that moves it forward.

    Returns False, changing nothing, when the time is not newer (an older or replayed batch)
    or the key no longer exists: the update never re-creates a deleted key. It names only
    SecretId and LastAccessTime and asks for nothing back, as the role's `dynamodb:Attributes`
    and `dynamodb:ReturnValues` conditions require.
    """
    bind_tables()
    try:
        with reporting_throttling():
            KeyItem._get_connection().update_item(
                secret_id,
                actions=[KeyItem.last_access_time.set(access_time)],
                condition=KeyItem.secret_id.exists()
                & (KeyItem.last_access_time.does_not_exist() | (KeyItem.last_access_time < access_time)),
                return_values=NONE,
            )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def scan_page(after: str | None, *, limit: int) -> tuple[list[tuple[str, AccessKey | DeletedKey | None]], bool]:
    """One page of the keys table in scan order, and whether the scan is complete.

    Each item comes as its partition key and what it is: a key, a tombstone, or None for the
    items the caller has no use for (account and state items). `after` is the partition key of
    the last item already processed, so a scan resumes from any item, not only a page boundary.
    """
    bind_tables()
    start = {"SecretId": {"S": after}} if after else None
    with reporting_throttling():
        # pynamodb's hint says str; DynamoDB takes the key's attribute map, which pynamodb passes on.
        page = KeyItem._get_connection().scan(limit=limit, exclusive_start_key=start)  # type: ignore[arg-type]
    entries: list[tuple[str, AccessKey | DeletedKey | None]] = []
    for raw in page.get("Items", []):
        partition = raw["SecretId"]["S"]
        entry: AccessKey | DeletedKey | None = None
        if partition.startswith("AKID"):
            entry = _to_domain(KeyItem.from_raw_data(raw))
        elif partition.startswith(TOMBSTONE_PREFIX):
            tombstone = DeletedKeyItem.from_raw_data(raw)
            entry = DeletedKey(tombstone.secret_id, tombstone.uin, int(tombstone.deleted_at))
        entries.append((partition, entry))
    return entries, "LastEvaluatedKey" not in page


def forget_deleted_key(secret_id: str) -> None:
    """Remove a deleted key's tombstone, once its records are gone."""
    bind_tables()
    with reporting_throttling():
        DeletedKeyItem(DeletedKeyItem.id_for(secret_id)).delete()


def claim_account(uin: str, email: str) -> bool:
    """Mark the account as having a sign-in for `email`: one conditional UpdateItem. False, changing
    nothing, if it has one already."""
    bind_tables()
    try:
        with reporting_throttling():
            AccountItem(AccountItem.id_for(uin)).update(
                actions=[AccountItem.uin.set(uin), AccountItem.owner_email.set(email)],
                condition=AccountItem.owner_email.does_not_exist(),
            )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def account_owner(uin: str) -> str | None:
    """The email of the account's sign-in (`claim_account`), or None: one consistent GetItem."""
    bind_tables()
    with reporting_throttling():
        try:
            return AccountItem.get(AccountItem.id_for(uin), consistent_read=True).owner_email
        except AccountItem.DoesNotExist:
            return None


def release_account(uin: str, email: str) -> None:
    """Undo `claim_account` for `email`, when its sign-in could not be made after all."""
    bind_tables()
    try:
        with reporting_throttling():
            AccountItem(AccountItem.id_for(uin)).update(
                actions=[AccountItem.owner_email.remove()], condition=AccountItem.owner_email == email
            )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
