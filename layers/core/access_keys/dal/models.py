"""pynamodb models of the two tables that template.yaml defines.

template.yaml is the source of truth; tests/unit/test_models_match_template.py keeps these in step.
Table names come from the environment, bound on first use by `bind_tables`, never at import.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE, STREAM_NEW_IMAGE
from pynamodb.models import Model

from access_keys.config import RECORD_SHARDS, settings
from access_keys.dal import aws

ACCOUNT_PREFIX = "ACCOUNT#"
TOMBSTONE_PREFIX = "DELETED#"
CLEANUP_STATE_ID = "CLEANUP#STATE"
FAILED_ATTEMPTS_SUFFIX = "F"
USED_PREFIX = "USED#"
USED_SORT_KEY = "USED"
ACTIVITY_PREFIX = "ACTIVITY#"


class KeyItem(Model):
    """One access key. Keyed by SecretId, so verification is a single consistent GetItem."""

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    secret_id = UnicodeAttribute(hash_key=True, attr_name="SecretId")
    uin = UnicodeAttribute(attr_name="Uin")
    status = UnicodeAttribute(attr_name="Status")
    create_time = NumberAttribute(attr_name="CreateTime")
    description = UnicodeAttribute(attr_name="Description")
    # KMS ciphertext of the SecretKey, bound by encryption context to SecretId and Uin.
    encrypted_secret = BinaryAttribute(attr_name="EncryptedSecretKey", legacy_encoding=False)
    # Set only by the stream-fed RecordLastAccess function; the request path never writes it.
    last_access_time = NumberAttribute(attr_name="LastAccessTime", null=True)
    # Unix seconds: when the last UpdateAccessKey was signed (never later than it was applied).
    # An update signed earlier is refused, so no delayed request can undo a later status change.
    status_changed_at = NumberAttribute(attr_name="StatusChangedAt", null=True)


class AccountItem(Model):
    """One per owner, in the keys table under `ACCOUNT#<Uin>`: the owner's SecretIds.

    Reading it is a consistent listing right after a create, and the quota of two is a
    condition on it inside the same transaction that puts the key.
    """

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    account_id = UnicodeAttribute(hash_key=True, attr_name="SecretId")
    uin = UnicodeAttribute(attr_name="Uin")
    secret_ids = UnicodeSetAttribute(attr_name="SecretIds", null=True)
    # The email of the account's sign-in (its Cognito user), set once by `admin create-account`:
    # the condition that no Uin gets two sign-ins.
    owner_email = UnicodeAttribute(attr_name="OwnerEmail", null=True)

    @staticmethod
    def id_for(uin: str) -> str:
        return f"{ACCOUNT_PREFIX}{uin}"


class DeletedKeyItem(Model):
    """What a deleted key leaves behind, in the keys table under `DELETED#<SecretId>`.

    The cleanup finds deleted keys through these, removes their access records by querying
    the key's own partitions (never scanning the records table), then removes the tombstone.
    Its partition key differs from the key's, so nothing can mistake it for a live key.
    """

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    tombstone_id = UnicodeAttribute(hash_key=True, attr_name="SecretId")
    secret_id = UnicodeAttribute(attr_name="DeletedSecretId")
    uin = UnicodeAttribute(attr_name="Uin")
    deleted_at = NumberAttribute(attr_name="DeletedAt")

    @staticmethod
    def id_for(secret_id: str) -> str:
        return f"{TOMBSTONE_PREFIX}{secret_id}"


class CleanupStateItem(Model):
    """The cleanup's progress through the keys table, and the lease that keeps runs from overlapping."""

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    state_id = UnicodeAttribute(hash_key=True, attr_name="SecretId")
    lease_owner = UnicodeAttribute(attr_name="LeaseOwner", null=True)
    lease_until = NumberAttribute(attr_name="LeaseUntil", null=True)
    # The SecretId (partition key) of the last keys-table item fully processed in this pass.
    cursor = UnicodeAttribute(attr_name="Cursor", null=True)
    pass_started_at = NumberAttribute(attr_name="PassStartedAt", null=True)
    last_pass_completed_at = NumberAttribute(attr_name="LastPassCompletedAt", null=True)
    keys_seen = NumberAttribute(attr_name="KeysSeen", default=0)
    unused_keys = NumberAttribute(attr_name="UnusedKeys", default=0)
    never_used_keys = NumberAttribute(attr_name="NeverUsedKeys", default=0)
    expired_records_deleted = NumberAttribute(attr_name="ExpiredRecordsDeleted", default=0)
    deleted_key_records_deleted = NumberAttribute(attr_name="DeletedKeyRecordsDeleted", default=0)
    deleted_keys_purged = NumberAttribute(attr_name="DeletedKeysPurged", default=0)


class AccessRecordItem(Model):
    """One attempt to use a key.

    The partition is `<SecretId>#<shard>`, so one busy key spreads its writes over several
    partitions; the sort key `<AccessTime, 13 digits>#<RequestId>` orders a shard newest-last
    and never collides for two requests in the same millisecond.
    """

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE
        stream_view_type = STREAM_NEW_IMAGE

    secret_id_shard = UnicodeAttribute(hash_key=True, attr_name="SecretIdShard")
    access_time_request_id = UnicodeAttribute(range_key=True, attr_name="AccessTimeRequestId")
    secret_id = UnicodeAttribute(attr_name="SecretId")
    uin = UnicodeAttribute(attr_name="Uin")
    access_time = NumberAttribute(attr_name="AccessTime")
    # `cam` for this API's routes; records from before services verified here carry none.
    service = UnicodeAttribute(attr_name="Service", null=True)
    action = UnicodeAttribute(attr_name="Action")
    result = UnicodeAttribute(attr_name="Result")
    error_code = UnicodeAttribute(attr_name="ErrorCode", null=True)
    source_ip = UnicodeAttribute(attr_name="SourceIp")
    user_agent = UnicodeAttribute(attr_name="UserAgent")
    request_id = UnicodeAttribute(attr_name="RequestId")
    expires_at = TTLAttribute(attr_name="ExpiresAt")

    @staticmethod
    def partition(secret_id: str, shard: int) -> str:
        return f"{secret_id}#{shard:02d}"

    @staticmethod
    def sort_key(access_time: int, request_id: str) -> str:
        return f"{access_time:013d}#{request_id}"


class FailedAttemptsItem(Model):
    """The requests that named a key without its SecretKey's signature, counted per UTC hour, error
    code and source IP, in the records table under `<SecretId>#F`.

    A partition apart from the key's record shards: a flood of them contends only with itself, and
    can never push an AccessRecord out of view. Its items have no `Result`, so the stream's filter
    (template.yaml) never hands them to RecordLastAccess.
    """

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE
        stream_view_type = STREAM_NEW_IMAGE

    secret_id_shard = UnicodeAttribute(hash_key=True, attr_name="SecretIdShard")
    hour_code_ip = UnicodeAttribute(range_key=True, attr_name="AccessTimeRequestId")
    secret_id = UnicodeAttribute(attr_name="SecretId")
    hour = NumberAttribute(attr_name="Hour")
    error_code = UnicodeAttribute(attr_name="ErrorCode")
    source_ip = UnicodeAttribute(attr_name="SourceIp")
    first_time = NumberAttribute(attr_name="FirstTime")
    last_time = NumberAttribute(attr_name="LastTime")
    attempts = NumberAttribute(attr_name="Count")  # not `count`: that is Model.count(), the query
    user_agent = UnicodeAttribute(attr_name="UserAgent")
    expires_at = TTLAttribute(attr_name="ExpiresAt")

    @staticmethod
    def partition(secret_id: str) -> str:
        return f"{secret_id}#{FAILED_ATTEMPTS_SUFFIX}"

    @staticmethod
    def sort_key(hour: int, error_code: str, source_ip: str) -> str:
        return f"{hour:013d}#{error_code}#{source_ip}"


class UsedSignatureItem(Model):
    """A signature that has passed authentication and may not serve again, in the records table
    under `USED#<Signature>`, until its TTL: long after the 300 s in which it could be accepted.

    `Reusable` marks a read on `POST /` whose X-TC-Action was not signed: identical reads stay
    repeatable, but the signature is bound to `Action` and can never serve another action.
    """

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE
        stream_view_type = STREAM_NEW_IMAGE

    signature_id = UnicodeAttribute(hash_key=True, attr_name="SecretIdShard")
    sort = UnicodeAttribute(range_key=True, attr_name="AccessTimeRequestId", default=USED_SORT_KEY)
    action = UnicodeAttribute(attr_name="Action")
    reusable = BooleanAttribute(attr_name="Reusable")
    expires_at = TTLAttribute(attr_name="ExpiresAt")

    @staticmethod
    def id_for(signature: str) -> str:
        return f"{USED_PREFIX}{signature}"


class ActivityItem(Model):
    """One entry of an account's activity, in the records table under `ACTIVITY#<Uin>`, sorted by
    `<Time, 13 digits>#<RequestId>`: one Query, newest first, reads the latest. Its outcome is
    `Outcome`, not `Result`, so the stream's filter never hands it to RecordLastAccess.
    """

    class Meta:
        table_name: str | None = None
        billing_mode = PAY_PER_REQUEST_BILLING_MODE
        stream_view_type = STREAM_NEW_IMAGE

    partition = UnicodeAttribute(hash_key=True, attr_name="SecretIdShard")
    time_request_id = UnicodeAttribute(range_key=True, attr_name="AccessTimeRequestId")
    uin = UnicodeAttribute(attr_name="Uin")
    time = NumberAttribute(attr_name="Time")
    actor = UnicodeAttribute(attr_name="Actor")
    action = UnicodeAttribute(attr_name="Action")
    secret_id = UnicodeAttribute(attr_name="SecretId", null=True)
    source_ip = UnicodeAttribute(attr_name="SourceIp")
    outcome = UnicodeAttribute(attr_name="Outcome")
    error_code = UnicodeAttribute(attr_name="ErrorCode", null=True)
    request_id = UnicodeAttribute(attr_name="RequestId")
    expires_at = TTLAttribute(attr_name="ExpiresAt")

    @staticmethod
    def partition_for(uin: str) -> str:
        return f"{ACTIVITY_PREFIX}{uin}"


@cache
def bind_tables() -> None:
    """Point the models at the tables of this deployment, once per process, all through one client.

    pynamodb gives each model class a connection with a botocore session and client of its own.
    Each new session parses AWS's model files again (about 45 ms a client on a cold start), and
    each client opens its own HTTPS connection. So the models share one client, made from the
    process's one session (`aws.session`): one parse, and one warm connection for both tables.
    """
    config = settings()
    client = None
    for model, table_name in (
        (KeyItem, config.keys_table_name),
        (AccountItem, config.keys_table_name),
        (DeletedKeyItem, config.keys_table_name),
        (CleanupStateItem, config.keys_table_name),
        (AccessRecordItem, config.records_table_name),
        (FailedAttemptsItem, config.records_table_name),
        (UsedSignatureItem, config.records_table_name),
        (ActivityItem, config.records_table_name),
    ):
        meta: Any = model.Meta  # pynamodb reads these off Meta when it first connects
        meta.table_name = table_name
        # One ListAccessRecords sends a Query per record shard and one more, all at once.
        meta.max_pool_connections = RECORD_SHARDS + 1
        if config.region:
            meta.region = config.region
        connection = model._get_connection().connection
        if client is None:
            # pynamodb 6 has no setting for either; tests/unit/test_aws_clients.py pins this down.
            connection._local.session = aws.session()
            client = connection.client
        else:
            connection._client = client
