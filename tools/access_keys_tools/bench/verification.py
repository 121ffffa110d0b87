"""Verification CPU: our verifier against Tencent Cloud's SDK signer, side by side in one process.

    python -m access_keys_tools.bench.verification [--rounds 7] [--number 2000]

Both work on the same signed request: a warm read on a REST route (GET of one key, no body), the
request most calls are. Ours runs `authentication.authenticate` whole, as a warm request does:
`key_store.get_key` stubbed to return the key item (no AWS), the derived signing key already in
key_material's cache (primed once through a stubbed KMS Decrypt), and a read on a REST route
spends no signature, so no guard write is made. The stubs count what they are asked: a timing
that needed a Decrypt, a guard or a failed-attempt count is refused.
The SDK computes the signature of the same request with `_get_tc3_signature`, which is the least a
verifier must do. Each is timed `--number` times per round, alternating, for `--rounds` rounds; the
figure is the ratio of the medians. Budget: at most 1.0x, no more than the SDK's own signing.

The budget was 0.5x until issue 18, and met at 0.49x, but only because `signing` then kept its
parses of the Authorization and X-TC-Timestamp headers in an lru_cache: the same request, timed
again and again, was parsed once. A real request carries a new signature each time, so the cache
served only replays, while it kept caller-chosen text between requests. Without it the figure was
1.20x; reading the SDKs' header layout with one regular expression (`signing.parse_authorization`)
brought it to about 0.9x. The rest is the canonical request's hash and the signature itself,
which no verifier can skip.

It also runs a whole warm request through the GetAccessKey handler, Powertools decorators
included, with the AWS calls stubbed the same way (the key's GetItem returns it, the record's
PutItem returns): the microseconds our code adds to a request, beside the AWS calls themselves.
A stack sampler splits that time between Powertools, pydantic and our own code; standard-library
time counts for whoever called it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
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
from access_keys.authentication import SignatureUse, SignedRequest, Verdict
from access_keys.domain import AccessKey, Status, StoredKey
from access_keys_tools.local.worker import LambdaContext
from access_keys_tools.template import PROJECT_ROOT

BUDGET = 1.0  # see the module's docstring for why not 0.5 any more
# A made-up key pair, used only here.
SECRET_ID = "AKIDq3Rv8mWZtY6pLc2NbX0sJd4HkE7uGa1F"  # noqa: S105
SECRET_KEY = "q8VbN3mZx4Lr7TcW1pYs6HdK0jFg2Ae5"  # noqa: S105
UIN = "100000000001"
HOST = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
PATH = f"/v1/access-keys/{SECRET_ID}"
CONTENT_TYPE = "application/json"
# GetAccessKey, as its route declares it: a read, its action named by the path.
READ = SignatureUse(action="GetAccessKey", changes_state=False)
# What a warm read may ask of the stubbed AWS while it is timed: nothing but the key's GetItem.
WARM_READ_CALLS: Counter[str] = Counter()


def _stored_key() -> StoredKey:
    key = AccessKey(secret_id=SECRET_ID, uin=UIN, status=Status.ACTIVE, create_time=0, description="")
    return StoredKey(key=key, encrypted_secret=b"ciphertext")


@contextlib.contextmanager
def stubbed_aws(stored: StoredKey) -> Iterator[Counter[str]]:
    """The AWS calls of a request, answered here: the key's GetItem returns `stored`, KMS Decrypt
    the SecretKey, the record's PutItem and the guard's conditional PutItem succeed, a refused
    request's read of the key's public attributes returns them, a failed attempt's UpdateItem
    returns. Yields the counts of all but the GetItem, which every request makes.

    The process is left as it was found: no signing key cached, and the service's settings (read
    once) read again from the environment a later step sets, if they had not been read before.
    """
    from access_keys import config
    from access_keys.dal import key_store, kms, record_store

    calls: Counter[str] = Counter()
    settings_were_read = config.settings.cache_info().currsize > 0

    def get_key(secret_id: str) -> StoredKey | None:
        return stored if secret_id == stored.key.secret_id else None

    def find_key(secret_id: str) -> AccessKey | None:
        calls["dynamodb:GetItem (a refused request's key)"] += 1
        return stored.key if secret_id == stored.key.secret_id else None

    def decrypt(ciphertext: bytes, context: dict[str, str]) -> str:
        calls["kms:Decrypt"] += 1
        return SECRET_KEY

    def put_record(record: Any, **_: Any) -> tuple[str, str]:
        calls["dynamodb:PutItem (access record)"] += 1
        return f"{record.secret_id}#00", f"{record.access_time:013d}#{record.request_id}"

    def use_signature(signature: str, **_: Any) -> bool:
        calls["dynamodb:PutItem (single-use guard)"] += 1
        return True

    def count_failed_attempt(secret_id: str, **_: Any) -> None:
        calls["dynamodb:UpdateItem (failed attempt)"] += 1

    stubs = (
        (key_store, "get_key", get_key),
        (key_store, "find_key", find_key),
        (kms, "decrypt", decrypt),
        (record_store, "put_record", put_record),
        (record_store, "use_signature", use_signature),
        (record_store, "count_failed_attempt", count_failed_attempt),
    )
    originals = [(module, name, getattr(module, name)) for module, name, _ in stubs]
    for module, name, stub in stubs:
        setattr(module, name, stub)
    try:
        yield calls
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
        key_material.forget_all()
        if not settings_were_read:
            config.settings.cache_clear()


def _warm(stored: StoredKey, timestamp: int, calls: Counter[str], service: str = signing.SERVICE) -> None:
    """As after a request's first Decrypt: the day's signing key for `service` in key_material's
    own cache, put there by its own code, whatever shape that cache has."""
    key_material.forget_all()
    key_material.signing_key_of(stored, signing.utc_date(timestamp), service)
    calls.clear()


def _signed_request(timestamp: int) -> SignedRequest:
    headers = {"content-type": CONTENT_TYPE, "host": HOST, "x-tc-timestamp": str(timestamp)}
    headers["authorization"] = signing.sign(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        method="GET",
        path=PATH,
        headers=headers,
        body=b"",
        timestamp=timestamp,
    )
    return SignedRequest(method="GET", path=PATH, query="", headers=headers, body=b"")


def _sdk_signer(timestamp: int) -> Callable[[], str]:
    from tencentcloud.common import abstract_client
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    class CamClient(abstract_client.AbstractClient):
        _service = "cam"
        _apiVersion = "2019-01-16"
        _default_content_type = CONTENT_TYPE

    client = CamClient(Credential(SECRET_ID, SECRET_KEY), "", ClientProfile(httpProfile=HttpProfile(endpoint=HOST)))
    request = RequestInternal(HOST, "GET", PATH)
    request.header["Content-Type"] = CONTENT_TYPE
    request.header["Host"] = HOST
    request.data = ""  # a GET's query string, which the SDK signs in its place: none here
    request.header["X-TC-Timestamp"] = str(timestamp)
    date = signing.utc_date(timestamp)
    return lambda: client._get_tc3_signature({}, request, date, "cam", SECRET_KEY)


def _median_seconds(work: Callable[[], object], number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        work()
    return (time.perf_counter() - started) / number


def measure(rounds: int, number: int) -> dict[str, float]:
    timestamp = int(time.time())
    request = _signed_request(timestamp)
    stored = _stored_key()
    sdk = _sdk_signer(timestamp)

    def ours() -> Verdict:
        return authentication.authenticate(request, READ, now=timestamp)

    with stubbed_aws(stored) as calls, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's utcfromtimestamp
        _warm(stored, timestamp, calls)
        verdict = ours()
        if verdict.caller is None or verdict.caller.key.secret_id != SECRET_ID:
            raise RuntimeError(f"our verifier refused the request: {verdict.refusal!r}")
        if sdk() != request.headers["authorization"].rsplit("Signature=", 1)[1]:
            raise RuntimeError("the two do not agree on the request's signature: nothing to compare")
        ours_times, sdk_times = [], []
        for _ in range(rounds):
            ours_times.append(_median_seconds(ours, number))
            sdk_times.append(_median_seconds(sdk, number))
        if calls != WARM_READ_CALLS or ours().caller is None:
            raise RuntimeError(f"not a warm read: while timed it made {dict(calls)}")
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


def _load_app(folder: str) -> Any:
    path = PROJECT_ROOT / "functions" / folder / "app.py"
    spec = importlib.util.spec_from_file_location(f"bench_{folder}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _context(function: str) -> LambdaContext:
    return LambdaContext(
        function_name=f"access-keys-{function}",
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:access-keys-{function}",
        memory_limit_in_mb=512,
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
        log_group_name=f"/aws/lambda/access-keys-{function}",
        log_stream_name="bench",
        deadline=time.time() + 900,
    )


def _time_handler(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    event: dict[str, Any],
    context: LambdaContext,
    *,
    accepted: Callable[[dict[str, Any]], bool],
    number: int,
) -> HandlerOverhead:
    """A warm request's time in `handler`, AWS stubbed, and where it goes; its calls checked."""
    timestamp = int(event.get("Timestamp") or event.get("headers", {}).get("x-tc-timestamp"))
    service = event.get("Service", signing.SERVICE)
    stored = _stored_key()
    requests = 0

    def handle() -> dict[str, Any]:
        nonlocal requests
        requests += 1
        return handler(event, context)

    # The metrics line Powertools prints per request is made, then dropped here.
    with stubbed_aws(stored) as calls, contextlib.redirect_stdout(io.StringIO()) as printed:
        _warm(stored, timestamp, calls, service)
        if not accepted(handle()):
            raise RuntimeError(f"the warm request was refused: {printed.getvalue()}")
        printed.seek(0)
        printed.truncate()
        handle()
        log_bytes = len(printed.getvalue().encode())
        times = []
        for _ in range(5):
            printed.seek(0)
            printed.truncate()
            times.append(_median_seconds(handle, number))
        with _sampling(threading.get_ident()) as samples:
            for _ in range(number):
                printed.seek(0)
                printed.truncate()
                handle()
    # A warm read: its record, and nothing else beside the key's GetItem.
    if calls != Counter({"dynamodb:PutItem (access record)": requests}):
        raise RuntimeError(f"not a warm read: {requests} requests made {dict(calls)}")
    counted = sum(count for owner, count in samples.items() if owner != "the benchmark loop") or 1
    shares = {owner: samples.get(owner, 0) / counted for owner in _OWNERS}
    return HandlerOverhead(statistics.median(times) * 1e6, shares, log_bytes)


def handler_overhead(number: int) -> HandlerOverhead:
    """A warm GetAccessKey request of the caller's own key, end to end in the handler, AWS stubbed."""
    from access_keys_tools.events import load_event, sign_event, with_path_secret_id

    event = sign_event(
        with_path_secret_id(load_event("GetAccessKey/get"), SECRET_ID),
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        timestamp=int(time.time()),
    )
    return _time_handler(
        _load_app("get_access_key").lambda_handler,
        event,
        _context("GetAccessKeyFunction"),
        accepted=lambda response: response["statusCode"] == 200,
        number=number,
    )


def verify_handler_overhead(number: int) -> HandlerOverhead:
    """A warm VerifyRequest of a read (ChangesState false), as another service sends it, AWS stubbed."""
    from access_keys_tools.events import load_event, sign_verify_event

    event = sign_verify_event(load_event("VerifyRequest/verify"), secret_id=SECRET_ID, secret_key=SECRET_KEY)
    return _time_handler(
        _load_app("verify_request").lambda_handler,
        event,
        _context("VerifyRequestFunction"),
        accepted=lambda answer: answer.get("Valid") is True,
        number=number,
    )


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
    verify = verify_handler_overhead(arguments.number)
    shares = ", ".join(f"{owner} {share:.0%}" for owner, share in verify.shares.items())
    print(f"warm VerifyRequest handler, AWS stubbed: {verify.microseconds:.0f} us per request ({shares})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
