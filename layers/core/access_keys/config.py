"""Settings read once from the environment that template.yaml sets for every function; the one
constant that must not vary between them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

# How many partitions one key's access records are spread over (see README, "Limits per key"):
# 10,000 records/s of one key put at most about 700/s on any one, under a partition's 1,000
# writes/s. Only ever raise it: records already written stay on the shards they landed on.
# Fixed, not read from the environment: every function must agree on it.
RECORD_SHARDS = 16


@dataclass(frozen=True, slots=True)
class Settings:
    keys_table_name: str
    records_table_name: str
    secrets_kms_key_id: str
    region: str | None


class ConfigurationError(RuntimeError):
    """A required environment variable is missing: the deployment, not the caller, is wrong."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


@cache
def settings() -> Settings:
    """The one Settings object of this process, read on first use."""
    return Settings(
        keys_table_name=_required("KEYS_TABLE_NAME"),
        records_table_name=_required("RECORDS_TABLE_NAME"),
        secrets_kms_key_id=_required("SECRETS_KMS_KEY_ID"),
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
    )
