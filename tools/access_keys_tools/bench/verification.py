"""Verification CPU: our verifier against Tencent Cloud's SDK signer, side by side in one process.

    python -m access_keys_tools.bench.verification [--rounds 7] [--number 2000]

Both work on the same signed request (a POST with a JSON body). Ours runs `authentication.verify`
as a warm request does: the key item already read, the SecretKey's material in key_material's
cache, no AWS call.
The SDK computes the signature of the same request with `_get_tc3_signature`, which is the least a
verifier must do. Each is timed `--number` times per round, alternating, for `--rounds` rounds; the
figure is the ratio of the medians. Budget: at most 0.5x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable

from access_keys import authentication, key_material, signing
from access_keys.authentication import SignedRequest
from access_keys.domain import AccessKey, Status, StoredKey

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
