"""Verification CPU: our verifier against Tencent Cloud's SDK signer, side by side in one process.

    python -m access_keys_tools.bench.verification [--rounds 7] [--number 2000]

Both work on the same signed request (a POST with a JSON body). Ours runs `authentication.verify`
as a warm request does: the key item already read, the SecretKey's material in key_material's
cache, no AWS call.
The SDK computes the signature of the same request with `_get_tc3_signature`, which is the least a
verifier must do. Each is timed `--number` times per round, alternating, for `--rounds` rounds; the
figure is the ratio of the medians. Budget: at most 0.5x.

It also runs a whole warm request through the GetAccessKey handler, Powertools decorators
included, with the two AWS calls stubbed (the key's GetItem returns it, the record's PutItem
returns): the microseconds our code adds to a request, beside the AWS calls themselves. A stack
sampler splits that time between Powertools, pydantic and our own code; standard-library time
counts for whoever called it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import statistics
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from access_keys import authentication, key_material, signing
from access_keys.authentication import SignedRequest
from access_keys.domain import AccessKey, Status, StoredKey
from access_keys_tools.local.worker import LambdaContext
from access_keys_tools.template import PROJECT_ROOT

BUDGET = 0.5
# A made-up key pair, used only here.
SECRET_ID = "AKIDq3Rv8mWZtY6pLc2NbX0sJd4HkE7uGa1F"  # noqa: S105
SECRET_KEY = "q8VbN3mZx4Lr7TcW1pYs6HdK0jFg2Ae5"  # noqa: S105
HOST = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
PATH = "/v1/access-keys"
BODY = json.dumps({"Description": "ci deploy"}).encode()


def _signed_request(timestamp: int) -> SignedRequest:
    headers = {"content-type": "application/json", "host": HOST, "x-tc-timestamp": str(timestamp)}
    headers["authorization"] = signing.sign(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        method="POST",
        path=PATH,
        headers=headers,
        body=BODY,
        timestamp=timestamp,
    )
    return SignedRequest(method="POST", path=PATH, query="", headers=headers, body=BODY)


def _sdk_signer(timestamp: int) -> Callable[[], str]:
    from tencentcloud.common import abstract_client
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    class CamClient(abstract_client.AbstractClient):
        _service = "cam"
        _apiVersion = "2019-01-16"
        _default_content_type = "application/json"

    client = CamClient(Credential(SECRET_ID, SECRET_KEY), "", ClientProfile(httpProfile=HttpProfile(endpoint=HOST)))
    request = RequestInternal(HOST, "POST", PATH)
    request.header["Content-Type"] = "application/json"
    request.header["Host"] = HOST
    request.data = BODY.decode()
    request.header["X-TC-Timestamp"] = str(timestamp)
    date = signing.utc_date(timestamp)
    params = json.loads(BODY)
    return lambda: client._get_tc3_signature(params, request, date, "cam", SECRET_KEY)


def _median_seconds(work: Callable[[], object], number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        work()
    return (time.perf_counter() - started) / number


def measure(rounds: int, number: int) -> dict[str, float]:
    timestamp = int(time.time())
    request = _signed_request(timestamp)
    key = AccessKey(secret_id=SECRET_ID, uin="100000000001", status=Status.ACTIVE, create_time=0, description="")
    stored = StoredKey(key=key, encrypted_secret=b"ciphertext")
    sdk = _sdk_signer(timestamp)

    def ours() -> AccessKey:
        return authentication.verify(request, stored, now=timestamp)

    # Warm, as after a request's first Decrypt: the material is in key_material's own cache.
    date = signing.utc_date(timestamp)
    key_material._cache[(SECRET_ID, date)] = (
        stored.encrypted_secret,
        signing.keyed(signing.signing_key(SECRET_KEY, date)),
        time.monotonic() + 3600,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's utcfromtimestamp
        if ours().secret_id != SECRET_ID or sdk() != request.headers["authorization"].rsplit("Signature=", 1)[1]:
            raise RuntimeError("the two do not agree on the request's signature: nothing to compare")
        ours_times, sdk_times = [], []
        for _ in range(rounds):
            ours_times.append(_median_seconds(ours, number))
            sdk_times.append(_median_seconds(sdk, number))
    ours_us, sdk_us = statistics.median(ours_times) * 1e6, statistics.median(sdk_times) * 1e6
    return {"ours_us": ours_us, "sdk_us": sdk_us, "ratio": ours_us / sdk_us}


@dataclass(frozen=True)
class HandlerOverhead:
    microseconds: float  # per warm request, AWS calls stubbed
    shares: dict[str, float]  # owner -> share of the sampled time
    log_bytes: int  # what one request writes to its log (Powertools' metrics line)


_OWNERS = {
    "Powertools": f"{os.sep}aws_lambda_powertools{os.sep}",
    "pydantic": f"{os.sep}pydantic",
    "our code": f"{os.sep}access_keys{os.sep}",
}


def _owner(frame: FrameType | None) -> str:
    """Who a sample's time belongs to: the innermost frame of Powertools, pydantic or ours."""
    functions_dir = str(PROJECT_ROOT / "functions")
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(functions_dir):
            return "our code"
        for owner, marker in _OWNERS.items():
            if marker in filename:
                return owner
        frame = frame.f_back
    return "the benchmark loop"


@contextlib.contextmanager
def _sampling(thread_id: int, every: float = 0.0005) -> Iterator[Counter[str]]:
    samples: Counter[str] = Counter()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            samples[_owner(sys._current_frames().get(thread_id))] += 1

    sampler = threading.Thread(target=sample, daemon=True)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(every / 5)  # let the sampler in often enough
    sampler.start()
    try:
        yield samples
    finally:
        stop.set()
        sampler.join()
        sys.setswitchinterval(switch_interval)


def handler_overhead(number: int) -> HandlerOverhead:
    """A warm GetAccessKey request of the caller's own key, end to end in the handler, AWS stubbed."""
    from access_keys.dal import key_store, record_store
    from access_keys_tools.events import load_event, sign_event, with_path_secret_id

    timestamp = int(time.time())
    key = AccessKey(secret_id=SECRET_ID, uin="100000000001", status=Status.ACTIVE, create_time=0, description="")
    stored = StoredKey(key=key, encrypted_secret=b"ciphertext")
    date = signing.utc_date(timestamp)
    key_material._cache[(SECRET_ID, date)] = (
        stored.encrypted_secret,
        signing.keyed(signing.signing_key(SECRET_KEY, date)),
        time.monotonic() + 3600,
    )
    event = sign_event(
        with_path_secret_id(load_event("GetAccessKey/get"), SECRET_ID),
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        timestamp=timestamp,
    )
    path = PROJECT_ROOT / "functions" / "get_access_key" / "app.py"
    spec = importlib.util.spec_from_file_location("bench_get_access_key", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    context = LambdaContext(
        function_name="access-keys-GetAccessKeyFunction",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:access-keys-GetAccessKeyFunction",
        memory_limit_in_mb=512,
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
        log_group_name="/aws/lambda/access-keys-GetAccessKeyFunction",
        log_stream_name="bench",
        deadline=time.time() + 900,
    )

    def get_key(secret_id: str) -> StoredKey:
        return stored

    def put_record(record: Any) -> None:
        return None

    originals = (key_store.get_key, record_store.put_record)
    key_store.get_key, record_store.put_record = get_key, put_record
    try:
        # The metrics line Powertools prints per request is made, then dropped here.
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            if module.lambda_handler(event, context)["statusCode"] != 200:
                raise RuntimeError(f"the warm request was refused: {printed.getvalue()}")
            printed.seek(0)
            printed.truncate()
            module.lambda_handler(event, context)
            log_bytes = len(printed.getvalue().encode())
            times = []
            for _ in range(5):
                printed.seek(0)
                printed.truncate()
                times.append(_median_seconds(lambda: module.lambda_handler(event, context), number))
            with _sampling(threading.get_ident()) as samples:
                for _ in range(number):
                    printed.seek(0)
                    printed.truncate()
                    module.lambda_handler(event, context)
    finally:
        key_store.get_key, record_store.put_record = originals
    counted = sum(count for owner, count in samples.items() if owner != "the benchmark loop") or 1
    shares = {owner: samples.get(owner, 0) / counted for owner in _OWNERS}
    return HandlerOverhead(statistics.median(times) * 1e6, shares, log_bytes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    arguments = parser.parse_args()
    figures = measure(arguments.rounds, arguments.number)
    met = "met" if figures["ratio"] <= BUDGET else "NOT met"
    print(
        f"verification: ours {figures['ours_us']:.1f} us, SDK signer {figures['sdk_us']:.1f} us per request: "
        f"{figures['ratio']:.2f}x (budget <= {BUDGET}x: {met})"
    )
    overhead = handler_overhead(arguments.number)
    shares = ", ".join(f"{owner} {share:.0%}" for owner, share in overhead.shares.items())
    print(f"warm GetAccessKey handler, AWS stubbed: {overhead.microseconds:.0f} us per request ({shares})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
