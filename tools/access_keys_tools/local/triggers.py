"""The non-HTTP triggers of template.yaml: DynamoDB stream event sources and schedules.

A stream trigger polls the table's stream as Lambda's event source mapping does: it keeps the
records that pass the mapping's FilterCriteria, batches them (BatchSize, or whatever arrived
within MaximumBatchingWindowInSeconds), and invokes the function. With ReportBatchItemFailures
the batch is retried from the first failed record; a function error bisects the batch when
BisectBatchOnFunctionError is set; after MaximumRetryAttempts the records are dropped with a
warning, where deployed they would go to the OnFailure destination.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from access_keys_tools.local import names
from access_keys_tools.local.functions import FunctionPool, InvocationError
from access_keys_tools.streams import StreamReader, filter_patterns, passes_filter

log = logging.getLogger("access_keys_tools.local")

POLL_SECONDS = 0.25  # DynamoDB Streams event sources poll each shard about four times a second


class StreamTrigger:
    """Feeds a table's stream to one function, from a thread of its own."""

    def __init__(
        self, pool: FunctionPool, event: dict[str, Any], reader: StreamReader, *, backoff_seconds: float = 0.1
    ) -> None:
        self._pool = pool
        self._backoff = backoff_seconds
        properties = event["Properties"]
        self._patterns = filter_patterns(pool.spec.logical_id)
        self._batch_size = int(properties.get("BatchSize", 100))
        self._window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        self._reports_item_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        self._bisect = bool(properties.get("BisectBatchOnFunctionError", False))
        retries = properties.get("MaximumRetryAttempts", -1)
        self._max_retries = None if retries == -1 else int(retries)
        self._reader = reader
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{pool.spec.short_name}-stream", daemon=True)
        self.delivered = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        first_seen = 0.0
        while not self._stopping.wait(POLL_SECONDS):
            try:
                arrived = [record for record in self._reader.read() if passes_filter(record, self._patterns)]
            except Exception:
                log.exception("reading the stream failed; retrying")
                continue
            if arrived and not pending:
                first_seen = time.monotonic()
            pending.extend(arrived)
            while pending and (len(pending) >= self._batch_size or time.monotonic() - first_seen >= self._window):
                batch, pending = pending[: self._batch_size], pending[self._batch_size :]
                self._deliver(batch)
                first_seen = time.monotonic()

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        attempts = 0
        while batch and not self._stopping.is_set():
            try:
                response = self._pool.invoke({"Records": batch})
            except InvocationError as error:
                log.warning("%s failed on a batch of %d: %s", self._pool.spec.logical_id, len(batch), error)
                if self._bisect and len(batch) > 1:
                    middle = len(batch) // 2
                    self._deliver(batch[:middle])
                    self._deliver(batch[middle:])
                    return
                first_failed = 0
            else:
                first_failed = self._first_failed(batch, response)
                if first_failed is None:
                    self.delivered += len(batch)
                    return
            self.delivered += first_failed
            batch = batch[first_failed:]
            attempts += 1
            if self._max_retries is not None and attempts > self._max_retries:
                log.warning(
                    "%s: dropping %d records after %d retries (deployed, they go to the OnFailure destination)",
                    self._pool.spec.logical_id,
                    len(batch),
                    self._max_retries,
                )
                return
            self._stopping.wait(min(self._backoff * 2**attempts, 2.0))

    def _first_failed(self, batch: list[dict[str, Any]], response: Any) -> int | None:
        """Where a retry starts: None when the batch succeeded, 0 when it must be retried whole."""
        if not self._reports_item_failures:
            return None
        failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return None
        positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
        indexes = [positions.get((failure or {}).get("itemIdentifier")) for failure in failures]
        if any(index is None for index in indexes):
            return 0  # an unknown or empty identifier fails the whole batch, as Lambda does
        return min(index for index in indexes if index is not None)


class ScheduleTrigger:
    """Invokes a function with an EventBridge scheduled event every `interval` seconds."""

    def __init__(self, pool: FunctionPool, rule_name: str, interval: float) -> None:
        self._pool = pool
        self._rule_arn = f"arn:aws:events:{names.REGION}:{names.ACCOUNT_ID}:rule/{names.STACK_NAME}-{rule_name}"
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{pool.spec.short_name}-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def scheduled_event(self) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": names.ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": names.REGION,
            "resources": [self._rule_arn],
            "detail": {},
        }

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self._pool.invoke(self.scheduled_event())
            except InvocationError as error:
                log.warning("%s failed: %s", self._pool.spec.logical_id, error)
