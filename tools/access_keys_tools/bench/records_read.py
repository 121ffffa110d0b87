"""One ListAccessRecords read, its Queries one after another (as before) and all at once, side by side.

    python -m access_keys_tools.bench.records_read [--rounds 15] [--latency-ms 5]

The read is `record_store.latest_traces` of one key with records on every shard and failed
attempts, sequential and concurrent in alternation, `--rounds` of each; the figure is the ratio
of the medians. Budget: concurrent <= 0.5x.

Each DynamoDB call takes `--latency-ms` of waiting, slept in a botocore `before-send` hook, when
it would go on the wire: about what one deployed Query takes. Its answer is moto's, to the very
same request, recorded once in-process beforehand and replayed by the hook: moto's own work is
CPU under this process's GIL (tens of ms a call on this machine), which no concurrency of ours
can overlap, while DynamoDB's is done elsewhere. So what is timed is the service's side of each
call (signing, sending, parsing, pynamodb's items) and the waiting. The same hook counts the calls
in flight at once. Before it is timed, the concurrent read's answer is checked against the
sequential one's on moto itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse

# Not 0.3x: this client's own work per call (signing, parsing, pynamodb's items: about 7 ms a
# Query on this shared machine) holds the GIL and cannot overlap, and the pool allows 10 at once.
BUDGET = 0.5
SECRET_ID = "AKIDbenchRecordsRead0000000000000000"  # noqa: S105 - a made-up SecretId
RECORDS = 400
LATENCY_MS = 5.0
FAILED_GROUPS = 30
# 2026-01-01T00:00:00Z: the records' times count from here, within the 90 days shown.
START_MS = 1_767_225_600_000


class _RawBody(io.BytesIO):
    """A recorded body, as botocore reads one from urllib3."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class InjectedLatency:
    """Sleeps `seconds` before each DynamoDB call goes out, and counts the calls in flight at once.

    With `replay` (request body: status, headers, body) it also answers each call from there,
    so that no call reaches moto or AWS; a request it has no answer for fails.
    """

    def __init__(self, client: Any, seconds: float, replay: dict[bytes, tuple[int, dict, bytes]] | None = None) -> None:
        self.seconds = seconds
        self.calls = 0
        self.most_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._client = client
        self._replay = replay

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            self.calls += 1
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            time.sleep(self.seconds)
        finally:
            with self._lock:
                self._in_flight -= 1
        if self._replay is None:
            return None
        status, headers, body = self._replay[request.body]
        return AWSResponse(request.url, status, headers, _RawBody(body))

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.most_in_flight = 0

    @contextmanager
    def installed(self) -> Iterator[InjectedLatency]:
        # First, so that its answer is the one botocore takes.
        self._client.meta.events.register_first("before-send.dynamodb", self._before_send)
        try:
            yield self
        finally:
            self._client.meta.events.unregister("before-send.dynamodb", self._before_send)


@contextmanager
def recorded_answers(client: Any) -> Iterator[dict[bytes, tuple[int, dict, bytes]]]:
    """The raw answers to the DynamoDB calls made meanwhile (one at a time), by request body."""
    answers: dict[bytes, tuple[int, dict, bytes]] = {}
    sent: list[bytes] = []

    def before_send(request: Any, **_: Any) -> None:
        sent.append(request.body)

    def response_received(response_dict: dict[str, Any] | None, **_: Any) -> None:
        if response_dict is not None:
            answers[sent[-1]] = (response_dict["status_code"], dict(response_dict["headers"]), response_dict["body"])

    client.meta.events.register("before-send.dynamodb", before_send)
    client.meta.events.register("response-received.dynamodb", response_received)
    try:
        yield answers
    finally:
        client.meta.events.unregister("before-send.dynamodb", before_send)
        client.meta.events.unregister("response-received.dynamodb", response_received)


def records_client() -> Any:
    """The one botocore client every table model shares (`bind_tables`)."""
    from access_keys.dal.models import AccessRecordItem, bind_tables

    bind_tables()
    return AccessRecordItem._get_connection().connection.client


def write_traces(secret_id: str, *, records: int, failed_groups: int, start_ms: int) -> None:
    """`records` access records one second apart, which land on every shard, and `failed_groups`
    failed-attempt groups (one source IP each) an hour apart, all through the service's writers."""
    from access_keys.dal import record_store
    from access_keys.domain import AccessRecord, Result

    for index in range(records):
        record_store.put_record(
            AccessRecord(
                secret_id=secret_id,
                uin="100000000001",
                access_time=start_ms + index * 1000,
                service="cam",
                action="GetAccessKey",
                result=Result.FAILURE if index % 7 == 0 else Result.SUCCESS,
                error_code="AuthFailure.SignatureExpire" if index % 7 == 0 else None,
                source_ip="198.51.100.7",
                user_agent="bench",
                request_id=f"request-{index:05d}",
            )
        )
    hour_ms = 3_600_000
    for index in range(failed_groups):
        access_time = start_ms + index * hour_ms + 60_000
        record_store.count_failed_attempt(
            secret_id,
            error_code="AuthFailure.SignatureFailure",
            source_ip=f"203.0.113.{index}",
            user_agent="bench",
            access_time=access_time,
            hour=access_time - access_time % hour_ms,
        )


@dataclass(frozen=True)
class ReadFigures:
    latency_ms: float
    queries: int
    sequential_ms: float
    concurrent_ms: float
    most_in_flight: int

    @property
    def ratio(self) -> float:
        return self.concurrent_ms / self.sequential_ms


def measure_apart(latency_ms: float = LATENCY_MS) -> ReadFigures:
    """`measure`, in a process of its own: it binds the service's tables and settings to moto's
    mock, which the process it ran in would keep (`make bench` runs the local stack after it)."""
    answer = subprocess.run(  # noqa: S603 - this very module, by this interpreter
        [sys.executable, "-m", "access_keys_tools.bench.records_read", "--json", "--latency-ms", str(latency_ms)],
        check=True,
        capture_output=True,
        text=True,
    )
    return ReadFigures(**json.loads(answer.stdout.strip().splitlines()[-1]))


def measure(rounds: int = 15, latency_ms: float = LATENCY_MS) -> ReadFigures:
    """Sequential and concurrent reads of one key, alternating, answered as moto answered them."""
    import boto3
    from moto import mock_aws

    from access_keys.config import settings
    from access_keys.dal import record_store
    from access_keys_tools.template import create_tables

    with mock_aws():
        # Made inside the mock, so that it has the mock's credentials: pynamodb replaces a client
        # without any on each use.
        client = records_client()
        config = settings()
        create_tables(
            boto3.client("dynamodb", region_name=config.region),
            {"KeysTable": config.keys_table_name, "AccessRecordsTable": config.records_table_name},
        )
        write_traces(SECRET_ID, records=RECORDS, failed_groups=FAILED_GROUPS, start_ms=START_MS)
        with recorded_answers(client) as replay:
            expected = record_store.latest_traces(SECRET_ID, since=START_MS, limit=20, concurrent=False)
        if record_store.latest_traces(SECRET_ID, since=START_MS, limit=20) != expected:
            raise SystemExit("the concurrent read answered otherwise than the sequential one")
    timings: dict[bool, list[float]] = {False: [], True: []}
    latency = InjectedLatency(client, latency_ms / 1000, replay)
    with latency.installed():
        record_store.latest_traces(SECRET_ID, since=START_MS, limit=20)  # its threads and connections made
        queries = latency.calls
        latency.reset()
        for _ in range(rounds):
            for concurrent in (False, True):
                started = time.perf_counter()
                answer = record_store.latest_traces(SECRET_ID, since=START_MS, limit=20, concurrent=concurrent)
                timings[concurrent].append((time.perf_counter() - started) * 1000)
                if answer != expected:
                    raise SystemExit("a replayed read answered otherwise than moto")
    return ReadFigures(
        latency_ms=latency_ms,
        queries=queries,
        sequential_ms=statistics.median(timings[False]),
        concurrent_ms=statistics.median(timings[True]),
        most_in_flight=latency.most_in_flight,
    )


def describe(figures: ReadFigures) -> str:
    return (
        f"{figures.queries} Queries, {figures.latency_ms:g} ms injected per call: sequential (before) "
        f"{figures.sequential_ms:.1f} ms, concurrent {figures.concurrent_ms:.1f} ms = {figures.ratio:.2f}x, "
        f"at most {figures.most_in_flight} calls in flight"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    arguments = parser.parse_args()
    figures = measure(arguments.rounds, arguments.latency_ms)
    if arguments.json:
        print(json.dumps(dataclasses.asdict(figures)))
        return 0
    met = figures.ratio <= BUDGET
    print(f"ListAccessRecords read: {describe(figures)}  (budget: <= {BUDGET}x)  [{'met' if met else 'NOT MET'}]")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
