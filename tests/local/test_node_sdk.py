"""Tencent Cloud's official Node.js SDK, unmodified, against the local stack over HTTP.

tests/node/steps.mjs runs CAM's five access-key actions and the refusals a user meets (wrong
secret, disabled key, third key, unknown action, wrong version) through the SDK's cam client and
its CommonClient, and prints one JSON line per step. Here it runs with `reqMethod` POST and GET,
at `127.0.0.1:<port>` (the SDK then signs `127` as the service) and at the custom-domain style
`cam.localhost:<port>`. The SDK is `tencentcloud-sdk-nodejs`, pinned by tests/node/package-lock.json
and installed by `npm ci` on first use; Node.js comes from the OS packages. Without node or npm
the tests are skipped, saying what to install; CI installs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import unique_uin

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.template import PROJECT_ROOT

NODE = shutil.which("node")
NPM = shutil.which("npm")
NODE_DIR = PROJECT_ROOT / "tests" / "node"
SDK = NODE_DIR / "node_modules" / "tencentcloud-sdk-nodejs"
NPM_CI_TIMEOUT = 300
STEPS_TIMEOUT = 120
# The SDK sends no User-Agent of its own: node-fetch's is its mark.
USER_AGENT_PREFIX = "node-fetch/"

# Each step of steps.mjs, in order, with the code it must get (None: a success).
STEPS = [
    ("resolve", None),
    ("ListAccessKeys", None),
    ("GetSecurityLastUsed", None),
    ("third key", "OperationDenied.AccessKeyOverLimit"),
    ("wrong secret", "AuthFailure.SignatureFailure"),
    ("UpdateAccessKey", None),
    ("disabled key", "AuthFailure.SecretIdNotFound"),
    ("DeleteAccessKey", None),
    ("CreateAccessKey", None),
    ("ListAccessKeys by the new key", None),
    ("unknown action", "InvalidAction"),
    ("wrong version", "NoSuchVersion"),
]
# The first key's access records those steps leave, newest first: (Action, ErrorCode, step).
# The wrong secret is no use of the key (a failed attempt); the disabled key's refusal is the
# second key's record; the new key's list is the new key's.
RECORDS = [
    ("ListAccessKeys", "NoSuchVersion", "wrong version"),
    ("InvalidAction", "InvalidAction", "unknown action"),
    ("CreateAccessKey", None, "CreateAccessKey"),
    ("DeleteAccessKey", None, "DeleteAccessKey"),
    ("UpdateAccessKey", None, "UpdateAccessKey"),
    ("CreateAccessKey", "OperationDenied.AccessKeyOverLimit", "third key"),
    ("GetSecurityLastUsed", None, "GetSecurityLastUsed"),
    ("ListAccessKeys", None, "ListAccessKeys"),
]

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None, reason="Node.js is not installed: sudo apt-get install nodejs npm"
)


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    """tests/node/node_modules, as package-lock.json pins it: `npm ci` when it is missing."""
    if not SDK.is_dir():
        try:
            installed = subprocess.run(  # noqa: S603 - npm, on the project's own lockfile
                [str(NPM), "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"`npm ci` in {NODE_DIR} did not finish within {NPM_CI_TIMEOUT} s: is the npm registry reachable?"
            )
        if installed.returncode != 0:
            pytest.fail(f"`npm ci` in {NODE_DIR} failed ({installed.returncode}):\n{installed.stderr[-3000:]}")
    return NODE_DIR


def run_steps(
    endpoint: str, method: str, first: AccessKeysClient, second: AccessKeysClient, responses: Path
) -> tuple[list[dict], str]:
    """steps.mjs's JSON lines and its stderr. Every response body the SDK returned goes to the secret scan."""
    environment = {
        # Only what node needs: no proxy variable (the SDK honours http_proxy; the stack is on loopback).
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ENDPOINT": endpoint,
        "PROTOCOL": "http://",
        "REQ_METHOD": method,
        "FIRST_SECRET_ID": first.secret_id,
        "FIRST_SECRET_KEY": first._secret_key,
        "SECOND_SECRET_ID": second.secret_id,
        "SECOND_SECRET_KEY": second._secret_key,
        "RESPONSES_FILE": str(responses),
    }
    try:
        run = subprocess.run(  # noqa: S603 - the project's own script
            [str(NODE), "steps.mjs"],
            cwd=NODE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=STEPS_TIMEOUT,
            check=False,
        )
    finally:
        if responses.exists():
            for body in responses.read_text(encoding="utf-8").splitlines():
                LEDGER.saw_response(body)
            responses.unlink()
    steps = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    # Exit 0 exactly when every step printed ok, 1 otherwise (2: a variable missing, which must not happen).
    assert run.returncode == (0 if steps and all(step["ok"] for step in steps) else 1), run.stderr[-3000:]
    return steps, run.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "cam.localhost"])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_node_sdks_steps(local_stack: LocalStack, node_sdk: Path, tmp_path: Path, method: str, host: str) -> None:
    uin = unique_uin()
    first = local_stack.bootstrap(uin, "first")
    second = local_stack.bootstrap(uin, "second")
    endpoint = f"{host}:{urlsplit(local_stack.url).port}"

    steps, stderr = run_steps(endpoint, method, first, second, tmp_path / "responses.jsonl")

    by_name = {step["step"]: step for step in steps}
    failures = "\n".join(json.dumps(step) for step in steps if not step["ok"]) + f"\n{stderr[-2000:]}"
    assert [(step["step"], step["ok"], step["code"]) for step in steps] == [
        (name, True, code) for name, code in STEPS
    ], failures
    assert (by_name["resolve"]["detail"]["endpoint"], by_name["resolve"]["detail"]["reqMethod"]) == (endpoint, method)
    assert by_name["ListAccessKeys"]["detail"]["AccessKeyIds"] == [first.secret_id, second.secret_id]
    assert by_name["GetSecurityLastUsed"]["detail"]["SecretIds"] == [first.secret_id, second.secret_id]
    created = by_name["CreateAccessKey"]["detail"]
    assert (created["Status"], created["Description"], created["SecretAccessKeyLength"]) == (
        "Active",
        "made by the Node SDK",
        32,
    )
    assert by_name["ListAccessKeys by the new key"]["detail"]["AccessKeyIds"] == [
        first.secret_id,
        created["AccessKeyId"],
    ]
    assert "ListUsers" in by_name["unknown action"]["detail"]["Message"]
    assert all(step["detail"]["RequestId"] for step in steps[1:])

    # The first key's traces: each of its calls under its action, with the RequestId the SDK got,
    # from node-fetch, the SDK's HTTP client; the wrong secret apart, as a failed attempt.
    traces = first.list_access_records(first.secret_id)
    assert [(record["Action"], record["ErrorCode"], record["RequestId"]) for record in traces["AccessRecords"]] == [
        (action, code, by_name[step]["detail"]["RequestId"]) for action, code, step in RECORDS
    ]
    assert all(record["Service"] == "cam" for record in traces["AccessRecords"])
    assert all(record["UserAgent"].startswith(USER_AGENT_PREFIX) for record in traces["AccessRecords"])
    assert [(a["Count"], a["ErrorCode"], a["SourceIp"]) for a in traces["FailedAttempts"]] == [
        (1, "AuthFailure.SignatureFailure", "127.0.0.1")
    ]
    assert traces["FailedAttempts"][0]["UserAgent"].startswith(USER_AGENT_PREFIX)
