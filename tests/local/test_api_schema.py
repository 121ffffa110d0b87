"""schemathesis sends what docs/openapi.yaml allows, and what it does not, to the local stack.

Every generated request is signed with a valid key (a requests auth hook signs the exact bytes
sent), or, on a session route, carries a valid ID token of a signed-in account, so the input gets
past authentication into the handlers. Required: no 5xx, and every
response conforms to the document (status, content type, headers, body schema).
SCHEMA_EXAMPLES sets the examples per operation and mode (default 10; `make reliability` more).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from figures import figure
from hypothesis import HealthCheck, given, settings
from running_stack import LocalStack
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import ignored_auth
from stack_process import unique_uin

from access_keys import signing
from access_keys_tools.client import AccessKeysClient

EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "10"))
cases_run: list[str] = []


class SignedWithTc3(requests.auth.AuthBase):
    """Signs the prepared request, over exactly the method, path, headers and body it sends.

    The generated Authorization and X-TC-Timestamp values are replaced by valid ones, so the
    input reaches the handlers. A negative case that leaves either header out keeps it out:
    that request must be refused, and is. A random X-Request-Nonce is signed too, as the
    project's client does: a state-changing signature is accepted once (API.md, "Single use"),
    and two generated cases with the same body in the same second would otherwise carry the
    same one, the second refused before its input reached the handler.
    """

    def __init__(self, secret_id: str, secret_key: str, id_token: str) -> None:
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._id_token = id_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url)
        if url.path.startswith("/v1/session/"):
            # A session route: the account's ID token, unless the case left Authorization out.
            if "Authorization" in request.headers:
                request.headers["Authorization"] = f"Bearer {self._id_token}"
            return request
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        timestamp = int(time.time())
        nonce = secrets.token_hex(16)
        request.headers["Content-Type"] = "application/json"
        request.headers["Host"] = url.netloc
        request.headers["X-Request-Nonce"] = nonce
        if "X-TC-Timestamp" in request.headers:
            request.headers["X-TC-Timestamp"] = str(timestamp)
        if "Authorization" not in request.headers:
            return request
        request.headers["Authorization"] = signing.sign(
            secret_id=self._secret_id,
            secret_key=self._secret_key,
            method=request.method or "GET",
            path=url.path,
            query=url.query,
            headers={"content-type": "application/json", "host": url.netloc, "x-request-nonce": nonce},
            body=body,
            timestamp=timestamp,
            signed_headers=("content-type", "host", "x-request-nonce"),
        )
        return request


@pytest.fixture(scope="module")
def signed_session(local_stack: LocalStack) -> Iterator[requests.Session]:
    uin = unique_uin()
    owner: AccessKeysClient = local_stack.bootstrap(uin, "schemathesis")
    signed_in = local_stack.sign_in(uin)  # ID tokens last 15 minutes: longer than this module runs
    session = requests.Session()
    session.auth = SignedWithTc3(owner.secret_id, owner._secret_key, signed_in["IdToken"])
    yield session
    session.close()
    figure(f"schemathesis: {len(cases_run)} generated requests")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
def test_generated_requests_get_documented_answers_and_never_a_5xx(
    mode: GenerationMode, api_schema: BaseSchema, local_stack: LocalStack, signed_session: requests.Session
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 14  # seven signed routes, and the same seven for a session

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def send(case: schemathesis.Case) -> None:
            response = case.call(base_url=local_stack.url, session=signed_session, timeout=30)
            cases_run.append(f"{mode.value} {case.method} {case.path}")

            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
            # Each case is signed afresh, with its own nonce: none is refused as another's replay.
            assert "already been used" not in response.text, f"{case.method} {case.formatted_path}"
            # ignored_auth assumes the case's own Authorization is invalid and expects a 401; here
            # the session replaces it with a valid signature, so that input reaches the handlers.
            # Unsigned and badly signed requests are covered by tests/integration/test_hostile_input.py.
            case.validate_response(response, excluded_checks=[ignored_auth])

        send()
