"""DynamoDB stream records as Lambda receives them, for tests and local runs on moto.

moto's stream records differ from what Lambda delivers: they lack `eventSourceARN`, and their
`ApproximateCreationDateTime` is a datetime rather than epoch seconds. Lambda also applies the
event source mapping's FilterCriteria before invoking; `passes_filter` applies the template's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from access_keys_tools.template import resources_of_type


class StreamReader:
    """Reads a table's stream from its start, shard by shard, remembering where it stopped."""

    def __init__(self, streams_client: Any, stream_arn: str) -> None:
        self._client = streams_client
        self.stream_arn = stream_arn
        self._iterators: dict[str, str | None] = {}

    def read(self) -> list[dict[str, Any]]:
        """The records written since the last read, in stream order."""
        description = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        records: list[dict[str, Any]] = []
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            while iterator:
                page = self._client.get_records(ShardIterator=iterator, Limit=1000)
                records.extend(page["Records"])
                iterator = page.get("NextShardIterator")
                if not page["Records"]:
                    break
            self._iterators[shard_id] = iterator
        return [as_lambda_record(record, self.stream_arn) for record in records]


def as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record in the shape Lambda delivers it."""
    lambda_record = json.loads(json.dumps(record, default=_epoch_seconds))
    lambda_record["eventSourceARN"] = stream_arn
    lambda_record.setdefault("eventVersion", "1.1")
    return lambda_record


def _epoch_seconds(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    raise TypeError(f"cannot serialise {type(value).__name__}")


def filter_patterns(function_logical_id: str) -> list[dict[str, Any]]:
    """The FilterCriteria patterns of the function's stream event in template.yaml."""
    function = resources_of_type("AWS::Serverless::Function")[function_logical_id]
    patterns = []
    for event in function["Properties"].get("Events", {}).values():
        if event["Type"] == "DynamoDB":
            for rule in event["Properties"].get("FilterCriteria", {}).get("Filters", []):
                patterns.append(json.loads(rule["Pattern"]))
    return patterns


def passes_filter(record: dict[str, Any], patterns: list[dict[str, Any]]) -> bool:
    """Lambda's event filtering: a record passes when it matches any pattern (no patterns: all pass)."""
    return not patterns or any(_matches(pattern, record) for pattern in patterns)


def _matches(pattern: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for field, expected in pattern.items():
        if field not in value:
            return False
        if isinstance(expected, dict):
            if not _matches(expected, value[field]):
                return False
        elif isinstance(expected, list):
            if any(isinstance(option, dict) for option in expected):
                raise NotImplementedError(f"filter operator in {expected!r} is not supported here")
            if value[field] not in expected:
                return False
        else:
            raise ValueError(f"a filter pattern's leaf must be a list, not {expected!r}")
    return True


def lambda_batches(
    records: list[dict[str, Any]], *, function_logical_id: str, batch_size: int = 100
) -> Iterator[dict[str, Any]]:
    """The events Lambda would invoke the function with: filtered, then batched."""
    patterns = filter_patterns(function_logical_id)
    kept = [record for record in records if passes_filter(record, patterns)]
    for start in range(0, len(kept), batch_size):
        yield {"Records": kept[start : start + batch_size]}
