"""Measure what the running local stack serves: `python -m access_keys_tools.local.load`.

    python -m access_keys_tools.local.load [--clients 8] [--seconds 10] [--endpoint URL] [--aws URL]

It bootstraps a key of its own (as `access-keys admin create-key --local` does), then keeps
`--clients` threads sending signed GetAccessKey requests for `--seconds`, after a short warm-up,
and prints the requests per second and latency percentiles. A figure, not a gate: it depends on
the machine, and the stack and this process share its cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass

from access_keys_tools.local import names


@dataclass(frozen=True)
class LoadFigures:
    clients: int
    seconds: float
    requests: int
    refused: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def __str__(self) -> str:
        return (
            f"{self.clients} clients, {self.seconds:.1f} s: {self.requests} signed GetAccessKey requests, "
            f"{self.per_second:.0f} req/s, latency p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, "
            f"p99 {self.p99_ms:.0f} ms, {self.refused} refused"
        )


def measure(endpoint: str, aws_url: str, *, clients: int, seconds: float, warm_up: float) -> LoadFigures:
    """Load the stack at `endpoint` (its moto at `aws_url`) with `clients` threads of signed requests."""
    os.environ.update(names.service_environment(aws_url))
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # its own bootstrap is not news
    from access_keys import keys
    from access_keys_tools.client import AccessKeysClient, ApiError

    created = keys.create_access_key(f"load-{uuid.uuid4().hex[:12]}", "load test")
    client = AccessKeysClient(created.key.secret_id, created.secret_key, endpoint)

    measuring = threading.Event()
    stopping = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        while not stopping.is_set():
            started = time.perf_counter()
            try:
                client.get_access_key(client.secret_id)
                failure = None
            except ApiError as error:
                failure = error.code
            elapsed = time.perf_counter() - started
            if measuring.is_set():
                with lock:
                    latencies.append(elapsed)
                    if failure:
                        failures.append(failure)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(warm_up)
    measuring.set()
    began = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    duration = time.perf_counter() - began
    stopping.set()
    for thread in threads:
        thread.join()
    if len(latencies) < 2:
        raise RuntimeError("fewer than two requests completed: is the stack up?")
    cuts = statistics.quantiles(latencies, n=100)
    return LoadFigures(
        clients, duration, len(latencies), len(failures), cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m access_keys_tools.local.load", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--endpoint", default=names.api_url())
    parser.add_argument("--aws", default=names.aws_url(), help="the local stack's moto URL")
    arguments = parser.parse_args()
    try:
        figures = measure(
            arguments.endpoint,
            arguments.aws,
            clients=arguments.clients,
            seconds=arguments.seconds,
            warm_up=arguments.warm_up,
        )
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(figures)
    return 0 if not figures.refused else 1


if __name__ == "__main__":
    sys.exit(main())
