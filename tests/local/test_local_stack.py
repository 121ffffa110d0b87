"""The local stack over real HTTP: template.yaml's routes, handlers, stream and schedule."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from running_stack import ACCESS_KEYS, LocalStack
from stack_process import StackProcess, free_port, stack_environment, unique_uin

from access_keys import signing
from access_keys_tools.client import AccessKeysClient, ApiError
from access_keys_tools.template import PROJECT_ROOT, resources_of_type

LAST_ACCESS_WITHIN_SECONDS = 2.0
REST_ROUTES = {
    ("POST", "/v1/access-keys"),
    ("GET", "/v1/access-keys"),
    ("GET", "/v1/access-keys/{SecretId}"),
    ("PATCH", "/v1/access-keys/{SecretId}"),
    ("DELETE", "/v1/access-keys/{SecretId}"),
    ("GET", "/v1/access-keys/{SecretId}/access-records"),
}


def raw_request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - loopback test URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_every_route_of_the_template_answers_through_its_function(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")

    created = owner.create_access_key("second")["AccessKey"]
    second = created["SecretId"]
    listed = owner.list_access_keys()
    fetched = owner.get_access_key(second)["AccessKey"]
    disabled = owner.update_access_key(second, "Inactive")["AccessKey"]
    records = owner.list_access_records(owner.secret_id)["AccessRecords"]
    deleted = owner.delete_access_key(second)

    assert re.fullmatch(r"[A-Za-z0-9]{32}", created["SecretKey"])
    assert [key["Description"] for key in listed["AccessKeys"]] == ["first", "second"]
    assert "SecretKey" not in fetched
    assert disabled["Status"] == "Inactive"
    assert [record["Action"] for record in records] == [
        "UpdateAccessKey",
        "GetAccessKey",
        "ListAccessKeys",
        "CreateAccessKey",
    ]
    assert set(deleted) == {"RequestId"}
    routes = {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for function in resources_of_type("AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    # The six calls above, one per REST route; POST / and GET / are Tencent's SDKs' (test_tencent_sdk.py,
    # test_node_sdk.py), the console page's two are the browser's (test_console.py), and the account's
    # activity and the session routes are test_sessions_http.py's.
    session_routes = {(method, path.replace("/v1/", "/v1/session/", 1)) for method, path in REST_ROUTES}
    assert routes == {
        *REST_ROUTES,
        *session_routes,
        ("GET", "/v1/activity"),
        ("GET", "/v1/session/activity"),
        ("POST", "/"),
        ("GET", "/"),
        ("GET", "/console"),
        ("GET", "/console/{asset}"),
    }


def test_a_route_that_does_not_exist_gets_api_gateways_404(local_stack: LocalStack) -> None:
    for method, path in (("PUT", "/"), ("GET", "/v1/access-keys/"), ("PUT", "/v1/access-keys"), ("GET", "/v2/x")):
        status, headers, body = raw_request(local_stack.url + path, method)

        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, path)
        assert "apigw-requestid" in {name.lower() for name in headers}


def test_an_unsigned_request_reaches_the_handler_and_gets_the_apis_error(local_stack: LocalStack) -> None:
    status, headers, body = raw_request(local_stack.url + "/v1/access-keys")

    document = json.loads(body)
    assert status == 401
    assert document["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert headers["X-Request-Id"] == document["RequestId"] == headers["apigw-requestid"]
    assert headers["Cache-Control"] == "no-store"


def test_every_function_answers_with_cache_control_no_store(local_stack: LocalStack) -> None:
    # API.md: every response carries it. A create's answer holds a SecretKey, on either API.
    unknown = "AKID" + "0" * 32
    routes = [(method, path.replace("{SecretId}", unknown)) for method, path in sorted(REST_ROUTES)]
    routes += [("POST", "/"), ("GET", "/console"), ("GET", "/console/console.js")]
    answers = {}
    for method, path in routes:
        status, headers, _ = raw_request(local_stack.url + path, method, b"{}" if method in ("POST", "PATCH") else None)
        answers[(method, path)] = (
            status,
            {name.lower(): value for name, value in headers.items()}.get("cache-control"),
        )

    # Every one reached its function (no gateway 404), unsigned as it is, and was told not to cache.
    assert {route: cache_control for route, (_, cache_control) in answers.items()} == dict.fromkeys(
        routes, "no-store"
    ), answers
    assert all(status != 404 for status, _ in answers.values()), answers


def test_a_disable_refuses_the_very_next_request_over_http(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())
    key = owner.create_access_key()["AccessKey"]
    second = AccessKeysClient(key["SecretId"], key["SecretKey"], local_stack.url)
    second.list_access_keys()

    owner.update_access_key(second.secret_id, "Inactive")
    with pytest.raises(ApiError) as refused:
        second.list_access_keys()

    assert (refused.value.status, refused.value.code) == (401, "AuthFailure.SecretIdNotFound")


def test_another_accounts_key_cannot_change_a_key_over_http_and_learns_nothing(local_stack: LocalStack) -> None:
    # Ownership is decided in one place (keys.owned_key) before any write: a SecretId is public,
    # so Bob knows Alice's, and signs valid requests with his own key naming it.
    alice = local_stack.bootstrap(unique_uin())
    bob = local_stack.bootstrap(unique_uin())
    target = alice.create_access_key("alice second")["AccessKey"]["SecretId"]
    never_issued = "AKID" + "0" * 32
    attempts = [
        lambda secret_id: bob.update_access_key(secret_id, "Inactive"),
        bob.delete_access_key,
        lambda secret_id: bob.call_action("UpdateAccessKey", {"AccessKeyId": secret_id, "Status": "Inactive"}),
        lambda secret_id: bob.call_action("DeleteAccessKey", {"AccessKeyId": secret_id}),
    ]

    answers = []
    for attempt in attempts:
        for secret_id in (target, never_issued):
            with pytest.raises(ApiError) as refused:
                attempt(secret_id)
            answers.append((secret_id == target, refused.value.status, refused.value.code, refused.value.message))

    # Alice's key is answered exactly as one that was never issued, and nothing changed.
    for index in range(0, len(answers), 2):
        assert answers[index][1:] == answers[index + 1][1:], answers[index : index + 2]
    assert {answer[2] for answer in answers} == {"ResourceNotFound.AccessKey", "ResourceNotFound.SecretNotExist"}
    assert alice.get_access_key(target)["AccessKey"]["Status"] == "Active"


def test_concurrent_creates_over_http_keep_the_quota_of_two(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())

    def create(_: int) -> str:
        try:
            owner.create_access_key()
        except ApiError as error:
            return error.code
        return "created"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(create, range(10)))

    assert sorted(outcomes) == ["OperationDenied.AccessKeyOverLimit"] * 9 + ["created"]
    assert owner.list_access_keys()["TotalCount"] == 2


def test_eight_concurrent_clients_are_all_served(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())
    errors: list[BaseException] = []

    def client_loop() -> None:
        try:
            for _ in range(10):
                assert owner.get_access_key(owner.secret_id)["AccessKey"]["Status"] == "Active"
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=client_loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    records = owner.list_access_records(owner.secret_id)["AccessRecords"]
    assert len(records) == 20  # the latest 20 of the 80 reads


def test_last_access_follows_the_stream_within_two_seconds(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())
    owner.list_access_keys()
    called = time.monotonic()  # that call's record was written before its response
    target = owner.list_access_records(owner.secret_id)["AccessRecords"][0]["AccessTime"]

    last_access = None
    while time.monotonic() - called < 10:
        last_access = owner.get_access_key(owner.secret_id)["AccessKey"]["LastAccessTime"]
        if last_access is not None and last_access >= target:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - called
    # Every call above is recorded too, so LastAccessTime may already be a later call's time:
    # it must be the time of one of the key's own records.
    recorded = {record["AccessTime"] for record in owner.list_access_records(owner.secret_id)["AccessRecords"]}

    assert last_access is not None
    assert last_access >= target
    assert last_access in recorded
    print(f"last access visible {elapsed:.2f} s after the call")
    assert elapsed < LAST_ACCESS_WITHIN_SECONDS


def test_the_scheduled_cleanup_removes_a_deleted_keys_records(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())
    key = owner.create_access_key()["AccessKey"]
    doomed = AccessKeysClient(key["SecretId"], key["SecretKey"], local_stack.url)
    doomed.list_access_keys()
    doomed.list_access_keys()
    with pytest.raises(ApiError, match=r"AuthFailure\.SignatureFailure"):
        AccessKeysClient(doomed.secret_id, "f" * 32, local_stack.url).list_access_keys()
    owner.update_access_key(doomed.secret_id, "Inactive")
    dynamodb = local_stack.aws("dynamodb")

    def traces_of_doomed() -> list[str]:
        """The partitions of the doomed key's items: `<SecretId>#<shard>` for an access record,
        `<SecretId>#F` for a group of failed attempts. The signatures already used (USED#...)
        carry no SecretId."""
        pages = dynamodb.get_paginator("scan").paginate(TableName=local_stack.records_table())  # type: ignore[attr-defined]
        items = [item for page in pages for item in page["Items"]]
        return sorted(
            "failed attempts" if item["SecretIdShard"]["S"].endswith("#F") else "access record"
            for item in items
            if item.get("SecretId", {}).get("S") == doomed.secret_id
        )

    assert traces_of_doomed() == ["access record", "access record", "failed attempts"]
    owner.delete_access_key(doomed.secret_id)
    deadline = time.monotonic() + 20  # CLEANUP_INTERVAL=1 in this folder's stack
    while traces_of_doomed() and time.monotonic() < deadline:
        time.sleep(0.25)

    assert traces_of_doomed() == []
    assert owner.get_access_key(owner.secret_id)["AccessKey"]["Status"] == "Active"


def test_a_second_stack_on_a_port_in_use_says_so_in_one_line(local_stack: LocalStack, tmp_path) -> None:
    port = local_stack.url.rsplit(":", 1)[1]
    aws_port = local_stack.aws_url.rsplit(":", 1)[1]

    with pytest.raises(AssertionError, match="exited before its banner"):
        StackProcess(
            [sys.executable, "-m", "access_keys_tools.local"],
            env=stack_environment(PORT=port, MOTO_PORT=str(int(aws_port))),
            log_path=tmp_path / "second.log",
            timeout=60,
        )
    message = (tmp_path / "second.log").read_text().strip()

    assert message.count("\n") == 0
    assert f"127.0.0.1:{aws_port} is already in use" in message
    assert "MOTO_PORT=" in message


def test_make_run_without_python_313_says_what_to_do_in_one_line(tmp_path) -> None:
    result = subprocess.run(  # noqa: S603 - the README's own command
        ["make", "-s", "run", f"VENV={tmp_path / 'venv'}", "PYTHON313="],  # noqa: S607 - make from PATH
        cwd=PROJECT_ROOT,
        env=stack_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Python 3.13 was not found" in result.stderr
    assert "make PYTHON313=/path/to/python3.13 run" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_admin_create_key_local_without_a_stack_says_to_start_it() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    result = subprocess.run(  # noqa: S603 - the project's own command
        [ACCESS_KEYS, "admin", "create-key", "--local", nowhere, "--uin", "100000000001"],
        cwd=PROJECT_ROOT,
        env=stack_environment(AWS_MAX_ATTEMPTS="1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"access-keys: no local stack answers at {nowhere}: start it with `make run`"


def test_a_chunked_body_reaches_the_function_whole_and_a_broken_one_gets_400(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin())
    body = json.dumps({"Description": "sent in chunks"}).encode()
    host = local_stack.url.removeprefix("http://")
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "host": host}
    authorization = signing.sign(
        secret_id=owner.secret_id,
        secret_key=owner._secret_key,
        method="POST",
        path="/v1/access-keys",
        headers=headers,
        body=body,
        timestamp=timestamp,
    )
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request(
        "POST",
        "/v1/access-keys",
        body=iter([body[:7], body[7:]]),
        headers={**headers, "Authorization": authorization, "X-TC-Timestamp": str(timestamp)},
        encode_chunked=True,
    )
    created = connection.getresponse()
    document = json.loads(created.read())
    connection.close()

    with socket.create_connection(("127.0.0.1", int(host.rsplit(":", 1)[1])), timeout=10) as raw:
        raw.sendall(b"POST /v1/access-keys HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        received = b""
        while chunk := raw.recv(4096):  # the gateway closes the connection after a 400
            received += chunk
        broken = received.decode()

    assert created.status == 201
    assert document["AccessKey"]["Description"] == "sent in chunks"
    assert broken.startswith("HTTP/1.1 400 ")
    assert broken.endswith('{"message": "Bad Request"}')
