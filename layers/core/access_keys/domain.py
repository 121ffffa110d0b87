"""The service's nouns, free of HTTP and of DynamoDB: their JSON is the REST dialect's (`access_keys.rest`)
or CAM's (`access_keys.cloud_api`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_KEYS_PER_ACCOUNT = 2
RECORD_RETENTION_DAYS = 90
RECORDS_SHOWN = 20
# The operations whose signature is accepted once (API.md, "Single use").
STATE_CHANGING_ACTIONS = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"})
# The service name access records carry for this API's own routes; other services verify here too.
OWN_SERVICE = "cam"
# A key not used for this long is reported as unused, as AWS IAM Access Analyzer reports them.
UNUSED_AFTER_DAYS = 90
# An account's activity (what its signed-in users and the operators did) is kept and shown like this.
ACTIVITY_RETENTION_DAYS = 90
ACTIVITY_SHOWN = 50


class Status(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class Result(StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A key as its owner sees it. The SecretKey is not part of it: it exists only at creation."""

    secret_id: str
    uin: str
    status: Status
    create_time: int
    description: str
    last_access_time: int | None = None


@dataclass(slots=True)  # not frozen: one is made per verified request, and frozen init costs 3x
class Caller:
    """Who signed a request that passed authentication: the key, and when it says it signed.

    `signed_at` is the request's X-TC-Timestamp, proven by the signature and within the allowed
    skew; it orders status changes (`keys.update_access_key`).
    """

    key: AccessKey
    signed_at: int

    @property
    def uin(self) -> str:
        return self.key.uin

    @property
    def secret_id(self) -> str:
        return self.key.secret_id


@dataclass(frozen=True, slots=True)
class AccountActor:
    """Someone acting for an account without one of its keys: a user signed in to the account (the
    console's session), or an operator with the stack's AWS credentials. What they do is recorded in
    the account's activity, not in a key's access records: no key signed it.

    It stands where a `Caller` does in `keys` and `records`, so every rule is the same for both.
    `signed_at` is the server's second, which orders its status changes among signed ones.
    """

    uin: str
    actor: str  # who, as the activity shows it: "user:<email>" or "operator:<AWS principal ARN>"
    signed_at: int
    key: None = None
    secret_id: None = None


# Whoever a request's operation runs for: a verified key, or a signed-in user or operator.
Principal = Caller | AccountActor


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One thing done to an account by a signed-in user or an operator, whatever its outcome."""

    uin: str
    time: int
    actor: str
    action: str
    secret_id: str | None
    source_ip: str
    result: Result
    error_code: str | None
    request_id: str


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key as the verifier reads it: the public part and the KMS-encrypted SecretKey."""

    key: AccessKey
    encrypted_secret: bytes


@dataclass(frozen=True, slots=True)
class DeletedKey:
    """A key deleted by its owner, whose access records the cleanup has yet to remove."""

    secret_id: str
    uin: str
    deleted_at: int


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One request signed with the key's SecretKey, whatever its outcome."""

    secret_id: str
    uin: str
    access_time: int
    service: str
    action: str
    result: Result
    error_code: str | None
    source_ip: str
    user_agent: str
    request_id: str


@dataclass(frozen=True, slots=True)
class FailedAttempts:
    """Requests that named the key but were not signed with its SecretKey, from one source IP,
    with one error code, in one UTC hour. A SecretId is public, so anyone can make these: they are
    counted apart from the AccessRecords, which only the SecretKey can make."""

    secret_id: str
    hour: int  # Unix ms of the UTC hour's start
    source_ip: str
    error_code: str
    first_time: int
    last_time: int
    count: int
    user_agent: str
