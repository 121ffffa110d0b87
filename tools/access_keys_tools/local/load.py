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

from access_keys_tools.local import names


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m access_keys_tools.local.load", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--endpoint", default=names.api_url())
    parser.add_argument("--aws", default=names.aws_url(), help="the local stack's moto URL")
    arguments = parser.parse_args()

    os.environ.update(names.service_environment(arguments.aws))
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # its own bootstrap is not news
    from access_keys import keys
    from access_keys_tools.client import AccessKeysClient, ApiError

    created = keys.create_access_key(f"load-{uuid.uuid4().hex[:12]}", "load test")
    client = AccessKeysClient(created.key.secret_id, created.secret_key, arguments.endpoint)

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

    threads = [threading.Thread(target=run, daemon=True) for _ in range(arguments.clients)]
    for thread in threads:
        thread.start()
    time.sleep(arguments.warm_up)
    measuring.set()
    began = time.perf_counter()
    time.sleep(arguments.seconds)
    measuring.clear()
    duration = time.perf_counter() - began
    stopping.set()
    for thread in threads:
        thread.join()

    if not latencies:
        print("no request completed", file=sys.stderr)
        return 1
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{arguments.clients} clients, {duration:.1f} s: {len(latencies)} signed GetAccessKey requests, "
        f"{len(latencies) / duration:.0f} req/s, latency p50 {cuts[49] * 1000:.0f} ms, "
        f"p95 {cuts[94] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, {len(failures)} refused"
    )
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
