"""The service's nouns, free of HTTP and of DynamoDB."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from access_keys.clock import format_time

MAX_KEYS_PER_ACCOUNT = 2
RECORD_RETENTION_DAYS = 90
RECORDS_SHOWN = 20
# A key not used for this long is reported as unused, as AWS IAM Access Analyzer reports them.
UNUSED_AFTER_DAYS = 90


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

    def to_json(self) -> dict[str, Any]:
        return {
            "SecretId": self.secret_id,
            "Status": str(self.status),
            "CreateTime": format_time(self.create_time),
            "Description": self.description,
            "LastAccessTime": None if self.last_access_time is None else format_time(self.last_access_time),
        }


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
    """One attempt to use a key, whatever its outcome."""

    secret_id: str
    uin: str
    access_time: int
    action: str
    result: Result
    error_code: str | None
    source_ip: str
    user_agent: str
    request_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "AccessTime": format_time(self.access_time),
            "Action": self.action,
            "Result": str(self.result),
            "ErrorCode": self.error_code,
            "SourceIp": self.source_ip,
            "UserAgent": self.user_agent,
            "RequestId": self.request_id,
        }
