"""The local stack (`python -m access_keys_tools.local`) started once for this folder's tests.

It runs on free ports, with a one-second cleanup schedule so that scheduled work is observable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from running_stack import CHROMIUM, LocalStack
from secret_ledger import LEDGER
from stack_process import StackProcess, free_port, stack_environment

from access_keys_tools.local import names


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
