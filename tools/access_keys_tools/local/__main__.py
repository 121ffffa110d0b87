"""`python -m access_keys_tools.local`: run the local stack in the foreground until Ctrl-C.

Settings come from the environment, so that `make run PORT=3005` works:

    PORT               the API's port on 127.0.0.1 (default 3000)
    LAMBDA_PORT        the Lambda Invoke API of every function on 127.0.0.1, as `sam local start-lambda`
                       (default 3001, that command's default)
    MOTO_PORT          moto's port on 127.0.0.1: DynamoDB, DynamoDB Streams, KMS, Cognito (default 3002)
    HTTPS_PORT         the same API over HTTPS, self-signed, for HTTPS-only clients (default 3443)
    EXAMPLE_PORT       the example platform service of examples/instances/template.yaml, which verifies
                       its requests through the Invoke API (default 3010)
    CLEANUP_INTERVAL   seconds between runs of the scheduled functions (default 300; deployed: daily)
    FUNCTION_CONCURRENCY  most execution environments per function (default 4)
    LOG_LEVEL          the functions' LogLevel parameter (default: template.yaml's)
    BUILD_DIR          run the functions from what `make build` (sam build) wrote, e.g. .aws-sam/build,
                       instead of from the source folders (default: the sources)
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from access_keys_tools.local import names

EXIT_FAILED = 1


def _settings() -> dict[str, int | float | str | Path | tuple[names.ServiceTemplate, ...] | None]:
    interval = os.environ.get("CLEANUP_INTERVAL", "").strip() or "300"
    concurrency = os.environ.get("FUNCTION_CONCURRENCY", "").strip() or "4"
    try:
        seconds = float(interval)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ValueError(f"CLEANUP_INTERVAL={interval!r} is not a positive number of seconds")
    if not concurrency.isdigit() or int(concurrency) < 1:
        raise ValueError(f"FUNCTION_CONCURRENCY={concurrency!r} is not a positive whole number")
    build_dir = os.environ.get("BUILD_DIR", "").strip()
    if build_dir and not (Path(build_dir) / "template.yaml").is_file():
        raise ValueError(f"BUILD_DIR={build_dir!r} holds no sam build output: run `make build` first")
    return {
        "port": names.port_from_environment("PORT", names.DEFAULT_PORT),
        "aws_port": names.port_from_environment("MOTO_PORT", names.DEFAULT_AWS_PORT),
        "https_port": names.port_from_environment("HTTPS_PORT", names.DEFAULT_HTTPS_PORT),
        "lambda_port": names.port_from_environment("LAMBDA_PORT", names.DEFAULT_LAMBDA_PORT),
        "cleanup_interval": seconds,
        "concurrency": int(concurrency),
        "log_level": os.environ.get("LOG_LEVEL", "").strip().upper() or None,
        "build_dir": Path(build_dir).resolve() if build_dir else None,
        "services": (names.example_service(),),
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own request log
    try:
        settings = _settings()
    except ValueError as error:
        print(f"access-keys local: {error}", file=sys.stderr)
        return EXIT_FAILED

    from access_keys_tools.local.stack import LocalStack, PortInUse

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.perf_counter()
    try:
        stack = LocalStack(**settings)  # type: ignore[arg-type]
    except PortInUse as error:
        print(
            f"access-keys local: {names.HOST}:{error.port} is already in use (another `make run`?). "
            f"Stop what uses it, or pick another port: make run {error.variable}={error.port + 10}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        stack.start()
        print(stack.banner(time.perf_counter() - started), flush=True)
        stack.warm_up()
        # Linux may hand Ctrl-C to any thread, and then a wait without a timeout never wakes; the
        # handler runs on the main thread at its next step, so it steps four times a second.
        while not stopping.wait(0.25):
            pass
        print(
            "\nStopping: the APIs and the Invoke API, the triggers, the functions, then moto (its data goes with it).",
            flush=True,
        )
    finally:
        stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as error:
        if error.errno == errno.EADDRINUSE:  # pragma: no cover - PortInUse covers the known ports
            print(f"access-keys local: {error}", file=sys.stderr)
            sys.exit(EXIT_FAILED)
        raise
