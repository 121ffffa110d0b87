"""Fixtures of the end-to-end tests: a fresh moto account per test, with the template's tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Api, AwsCalls, Credentials, StreamPump, bootstrap_key, fresh_service


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh moto account with the template's tables and the secrets KMS key."""
    with fresh_service():
        yield


@pytest.fixture
def api(aws: None) -> Api:
    return Api()


@pytest.fixture
def alice(aws: None) -> Credentials:
    return bootstrap_key("100000000001", "alice bootstrap")


@pytest.fixture
def bob(aws: None) -> Credentials:
    return bootstrap_key("100000000002", "bob bootstrap")


@pytest.fixture
def aws_calls(aws: None) -> Iterator[AwsCalls]:
    recorder = AwsCalls()
    yield recorder
    recorder.close()


@pytest.fixture
def stream(aws: None) -> StreamPump:
    return StreamPump()
