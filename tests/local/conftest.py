"""The local stack (`python -m access_keys_tools.local`) started once for this folder's tests.

It runs on free ports, with a one-second cleanup schedule so that scheduled work is observable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from secret_ledger import LEDGER
from stack_process import StackProcess, free_port, stack_environment

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.local import names
from access_keys_tools.template import PROJECT_ROOT

ACCESS_KEYS = str(Path(sys.executable).with_name("access-keys"))
# The console's browser tests drive Debian's chromium with Playwright (which downloads no browser).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None,
    reason="the console test needs Chromium: on Debian or Ubuntu, `sudo apt-get install chromium`",
)


@dataclass
class LocalStack:
    url: str
    aws_url: str
    process: StackProcess
    https_url: str = ""
    lambda_url: str = ""  # the Lambda Invoke API of every function (LAMBDA_PORT)
    example_url: str = ""  # the example service of examples/instances/ (EXAMPLE_PORT)

    def aws(self, service: str) -> object:
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=names.REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # moto's, not a secret
        )

    def admin(self, *arguments: str) -> str:
        """`access-keys admin ...` against this stack, as the banner shows it; its stdout."""
        output = subprocess.run(  # noqa: S603 - the project's own command
            [ACCESS_KEYS, "admin", arguments[0], "--local", self.aws_url, *arguments[1:]],
            env=stack_environment(),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        LEDGER.saw_response(output)
        return output

    def bootstrap(self, uin: str, description: str = "") -> AccessKeysClient:
        """An account's first key, made as the banner says: `access-keys admin create-key --local`."""
        key = json.loads(self.admin("create-key", "--uin", uin, "--description", description))["AccessKey"]
        return AccessKeysClient(key["SecretId"], key["SecretKey"], self.url)

    def create_account(self, uin: str, email: str) -> dict:
        """An account's sign-in, made as the banner says: `access-keys admin create-account --local`."""
        return json.loads(self.admin("create-account", "--uin", uin, "--email", email, "--output", "json"))

    def sign_in(self, uin: str) -> dict:
        """An account made with the CLI, then its first sign-in as the console does it, with SRP
        (pycognito's client, independent of ours), a new password and TOTP set up: its tokens."""
        from accounts import NEW_PASSWORD, totp
        from pycognito.aws_srp import AWSSRP

        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        account = self.create_account(uin, email)
        config = json.loads(urllib.request.urlopen(f"{self.url}/console/config.json", timeout=10).read())  # noqa: S310
        cognito: Any = self.aws("cognito-idp")
        client_id = config["ClientId"]
        srp = AWSSRP(email, account["TemporaryPassword"], config["UserPoolId"], client_id, client=cognito)
        started = cognito.initiate_auth(
            AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params(), ClientId=client_id
        )
        claim = srp.process_challenge(started["ChallengeParameters"], srp.get_auth_params())
        step = cognito.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=claim
        )
        step = cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=step["Session"],
            ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": NEW_PASSWORD},
        )
        secret = cognito.associate_software_token(Session=step["Session"])
        verified = cognito.verify_software_token(Session=secret["Session"], UserCode=totp(secret["SecretCode"]))
        step = cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="MFA_SETUP",
            Session=verified["Session"],
            ChallengeResponses={"USERNAME": email},
        )
        return {**step["AuthenticationResult"], "Email": email}

    def records_table(self) -> str:
        return names.table_name("AccessRecordsTable")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    port, aws_port, https_port, lambda_port, example_port = (free_port() for _ in range(5))
    process = StackProcess(
        [sys.executable, "-m", "access_keys_tools.local"],
        env=stack_environment(
            PORT=str(port),
            MOTO_PORT=str(aws_port),
            HTTPS_PORT=str(https_port),
            LAMBDA_PORT=str(lambda_port),
            EXAMPLE_PORT=str(example_port),
            CLEANUP_INTERVAL="1",
        ),
        log_path=tmp_path_factory.mktemp("local-stack") / "stack.log",
        timeout=60,
    )
    stack = LocalStack(
        names.api_url(port),
        names.aws_url(aws_port),
        process,
        names.https_url(https_port),
        names.lambda_url(lambda_port),
        names.api_url(example_port),
    )
    LEDGER.watch_log_file(process.log_path)
    try:
        yield stack
        dynamodb = stack.aws("dynamodb")
        for table in (names.table_name("KeysTable"), stack.records_table()):
            pages = dynamodb.get_paginator("scan").paginate(TableName=table)  # type: ignore[attr-defined]
            LEDGER.saw_items(table, [item for page in pages for item in page["Items"]])
    finally:
        process.kill()


@pytest.fixture(autouse=True, scope="session")
def _responses_to_the_ledger() -> Iterator[None]:
    """Every response the client reads goes to the secret ledger."""
    from access_keys_tools import client

    document = client._document
    api_error = client._api_error

    def seen_document(status: int, raw: bytes) -> dict:
        LEDGER.saw_response(raw.decode("utf-8", "replace"))
        return document(status, raw)

    def seen_error(status: int, raw: bytes) -> client.ApiError:
        LEDGER.saw_response(raw.decode("utf-8", "replace"))
        return api_error(status, raw)

    client._document, client._api_error = seen_document, seen_error
    yield
    client._document, client._api_error = document, api_error


@pytest.fixture(scope="session")
def api_schema(local_stack: LocalStack) -> object:
    """docs/openapi.yaml as the local stack serves it, for schemathesis."""
    import schemathesis

    return schemathesis.openapi.from_url(f"{local_stack.url}/openapi.yaml")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless chromium, once for the session."""
    from playwright.sync_api import expect, sync_playwright

    # Under the whole suite the stack is busy (the stream and cleanup triggers catch up on earlier
    # tests' load, and moto serves one request at a time), so a page's round trip to Cognito and
    # the API may take longer than Playwright's default 5 s wait; a failure only shows later.
    expect.set_options(timeout=20_000)

    with sync_playwright() as playwright:
        # Root (as in CI) cannot use Chromium's sandbox; nothing but this project's page is loaded.
        arguments = ["--disable-dev-shm-usage", *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=arguments)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any, local_stack: LocalStack) -> Iterator[Callable[[int, int], Any]]:
    """Opens a fresh page on the stack (a context of its own: no storage shared), with the
    clipboard allowed and Playwright's clock installed; closed after the test."""
    contexts: list[Any] = []

    def open_one(width: int, height: int) -> Any:
        context = browser.new_context(base_url=local_stack.url, viewport={"width": width, "height": height})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=local_stack.url)
        contexts.append(context)
        opened = context.new_page()
        opened.clock.install()
        return opened

    yield open_one
    for context in contexts:
        context.close()
