"""What a copy of a request, a public SecretId or a flood of junk can do, tried over HTTP against
the local stack as an attacker would (issue 13's findings; API.md, "What the signature binds").

Each request here is built and sent by hand, byte for byte what a captured request would be, with
the stock SDKs' SignedHeaders (`content-type;host`) unless the test says otherwise.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from figures import figure
from running_stack import LocalStack
from secret_ledger import LEDGER

from access_keys import signing
from access_keys_tools.client import AccessKeysClient

CONCURRENT_REPLAYS = 20
FLOOD_REQUESTS = int(os.environ.get("FLOOD_REQUESTS", "60"))
STOCK_SDK_HEADERS = ("content-type", "host")


@dataclass
class Request:
    """A signed request as it travels: what an attacker on the path would capture."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def with_headers(self, **changed: str) -> Request:
        return Request(self.method, self.path, {**self.headers, **changed}, self.body)


@dataclass
class Answer:
    status: int
    document: dict[str, Any] = field(default_factory=dict)
    cache_control: str | None = None

    @property
    def code(self) -> str | None:
        error = self.document.get("Error") or self.document.get("Response", {}).get("Error")
        return error["Code"] if error else None


def signed(
    stack: LocalStack,
    key: AccessKeysClient,
    method: str,
    path: str,
    document: dict[str, Any] | None = None,
    *,
    timestamp: int | None = None,
    action: str | None = None,
    signed_headers: tuple[str, ...] = STOCK_SDK_HEADERS,
) -> Request:
    host = urlsplit(stack.url).netloc
    body = b"" if document is None else json.dumps(document).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {"content-type": "application/json", "host": host}
    if action is not None:
        headers.update({"x-tc-action": action, "x-tc-version": "2019-01-16"})
    headers["authorization"] = signing.sign(
        secret_id=key.secret_id,
        secret_key=key._secret_key,  # the key's owner signs; the attacker only ever copies the result
        method=method,
        path=path,
        headers=headers,
        body=body,
        timestamp=timestamp,
        signed_headers=signed_headers,
    )
    headers["x-tc-timestamp"] = str(timestamp)
    return Request(method, path, headers, body)


def send(stack: LocalStack, request: Request) -> Answer:
    outgoing = urllib.request.Request(  # noqa: S310 - the local stack's own http URL
        stack.url + request.path,
        data=request.body if request.method in ("POST", "PATCH", "DELETE") else None,
        method=request.method,
        headers={name: value for name, value in request.headers.items() if name != "host"},
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as response:  # noqa: S310
            raw, status, cache_control = response.read(), response.status, response.headers.get("Cache-Control")
    except urllib.error.HTTPError as error:
        raw, status, cache_control = error.read(), error.code, error.headers.get("Cache-Control")
    LEDGER.saw_response(raw.decode("utf-8"))
    return Answer(status, json.loads(raw) if raw else {}, cache_control)


def traces(owner: AccessKeysClient, secret_id: str) -> dict[str, Any]:
    return owner.list_access_records(secret_id)


def key_ids(owner: AccessKeysClient) -> list[str]:
    return [key["SecretId"] for key in owner.list_access_keys()["AccessKeys"]]


def status_of(owner: AccessKeysClient, secret_id: str) -> str:
    return owner.get_access_key(secret_id)["AccessKey"]["Status"]


def test_a_captured_read_resent_as_a_create_on_post_slash_makes_no_key(local_stack: LocalStack) -> None:
    # Given the owner's ListAccessKeys on POST /, signed as the stock SDKs sign (X-TC-Action not covered)
    owner = local_stack.bootstrap("100000000201", "victim")
    listed = signed(local_stack, owner, "POST", "/", {}, action="ListAccessKeys")
    assert "AccessKeys" in send(local_stack, listed).document["Response"]

    # When an attacker resends it within 300 s, naming another action
    forged = send(local_stack, listed.with_headers(**{"x-tc-action": "CreateAccessKey"}))

    # Then it is refused (Tencent's envelope: HTTP 200), and no key, let alone a SecretKey, came of it
    assert forged.code == "AuthFailure.SignatureFailure"
    assert "This signature has already been used" in forged.document["Response"]["Error"]["Message"]
    assert "SecretAccessKey" not in json.dumps(forged.document)
    assert key_ids(owner) == [owner.secret_id]
    # And the identical read stays repeatable
    assert "AccessKeys" in send(local_stack, listed).document["Response"]


def test_a_read_that_signs_x_tc_action_cannot_be_resent_as_another_action_and_costs_no_guard(
    local_stack: LocalStack,
) -> None:
    owner = local_stack.bootstrap("100000000202", "signs the action")
    listed = signed(
        local_stack,
        owner,
        "POST",
        "/",
        {},
        action="ListAccessKeys",
        signed_headers=("content-type", "host", "x-tc-action"),
    )
    assert "AccessKeys" in send(local_stack, listed).document["Response"]

    forged = send(local_stack, listed.with_headers(**{"x-tc-action": "CreateAccessKey"}))

    assert forged.code == "AuthFailure.SignatureFailure"  # the signature no longer matches
    assert key_ids(owner) == [owner.secret_id]


def test_a_captured_rest_create_resent_as_is_makes_no_second_key(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap("100000000203", "victim")
    create = signed(local_stack, owner, "POST", "/v1/access-keys", {"Description": "ci"})
    first = send(local_stack, create)
    assert first.status == 201

    replayed = send(local_stack, create)

    assert (replayed.status, replayed.code) == (401, "AuthFailure.SignatureFailure")
    assert replayed.document["Error"]["Message"] == "This signature has already been used; sign each request afresh."
    assert "SecretKey" not in json.dumps(replayed.document)
    assert sorted(key_ids(owner)) == sorted([owner.secret_id, first.document["AccessKey"]["SecretId"]])


def test_a_replayed_enable_cannot_undo_a_later_disable(local_stack: LocalStack) -> None:
    # Given a second key, re-enabled by a PATCH the attacker captured, and then disabled by its owner
    owner = local_stack.bootstrap("100000000204", "owner")
    second = owner.create_access_key("second")["AccessKey"]["SecretId"]
    owner.update_access_key(second, "Inactive")
    enable = signed(local_stack, owner, "PATCH", f"/v1/access-keys/{second}", {"Status": "Active"})
    assert send(local_stack, enable).status == 200
    owner.update_access_key(second, "Inactive")

    # When the captured enable is resent within its 300 s
    replayed = send(local_stack, enable)

    # Then it is refused and the key stays disabled
    assert (replayed.status, replayed.code) == (401, "AuthFailure.SignatureFailure")
    assert status_of(owner, second) == "Inactive"


def test_an_enable_signed_before_the_disable_and_withheld_is_refused(local_stack: LocalStack) -> None:
    # Given an enable the owner signed, that an attacker on the path withheld (so it was never spent)
    owner = local_stack.bootstrap("100000000205", "owner")
    second = owner.create_access_key("second")["AccessKey"]["SecretId"]
    withheld = signed(
        local_stack, owner, "PATCH", f"/v1/access-keys/{second}", {"Status": "Active"}, timestamp=int(time.time()) - 5
    )
    # And the owner's later disable
    owner.update_access_key(second, "Inactive")

    # When the attacker delivers it, inside its 300 s
    delivered = send(local_stack, withheld)

    # Then it is refused: it was signed before the key's last status change
    assert (delivered.status, delivered.code) == (401, "AuthFailure.SignatureExpire")
    assert status_of(owner, second) == "Inactive"


def test_a_request_signed_300_seconds_ahead_is_accepted_once_not_for_600_seconds(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap("100000000206", "owner")
    second = owner.create_access_key("second")["AccessKey"]["SecretId"]
    ahead = signed(
        local_stack,
        owner,
        "PATCH",
        f"/v1/access-keys/{second}",
        {"Status": "Inactive"},
        timestamp=int(time.time()) + 290,
    )

    assert send(local_stack, ahead).status == 200
    again = send(local_stack, ahead)

    assert (again.status, again.code) == (401, "AuthFailure.SignatureFailure")


def test_identical_reads_signed_in_the_same_second_both_succeed(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap("100000000207", "fleet")
    read = signed(local_stack, owner, "GET", "/v1/access-keys")
    same = signed(local_stack, owner, "GET", "/v1/access-keys", timestamp=int(read.headers["x-tc-timestamp"]))
    assert same.headers["authorization"] == read.headers["authorization"]  # one signature, two instances

    answers = [send(local_stack, read), send(local_stack, same)]

    assert [answer.status for answer in answers] == [200, 200]


def test_twenty_clients_sending_one_captured_create_at_once_make_exactly_one_key(local_stack: LocalStack) -> None:
    # Given one signed create, captured, and twenty clients ready to send it at the same moment
    owner = local_stack.bootstrap("100000000208", "owner")
    create = signed(local_stack, owner, "POST", "/v1/access-keys", {"Description": "once"})
    start = threading.Barrier(CONCURRENT_REPLAYS)
    answers: list[Answer] = []
    lock = threading.Lock()

    def fire() -> None:
        start.wait()
        answer = send(local_stack, create)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=fire) for _ in range(CONCURRENT_REPLAYS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one is accepted, every other one is told it was used, and one key was made
    accepted = [answer for answer in answers if answer.status == 201]
    refused = [answer for answer in answers if answer.code == "AuthFailure.SignatureFailure"]
    figure(
        f"one captured create sent by {CONCURRENT_REPLAYS} clients at once: {len(accepted)} accepted, "
        f"{len(refused)} refused as already used, {len(key_ids(owner)) - 1} key made"
    )
    assert (len(accepted), len(refused)) == (1, CONCURRENT_REPLAYS - 1)
    assert len(key_ids(owner)) == 2


def test_a_flood_of_unsigned_requests_naming_a_public_secret_id_changes_no_access_record(
    local_stack: LocalStack,
) -> None:
    # Given a key used once, and a never-used second key
    owner = local_stack.bootstrap("100000000209", "owner")
    unused = owner.create_access_key("never used")["AccessKey"]["SecretId"]
    before = traces(owner, owner.secret_id)["AccessRecords"]

    # When a stranger sends junk naming each SecretId, with an Action and User-Agent of their choosing
    junk = {"Authorization": "junk Credential={}/", "User-Agent": "\x1b[31mattacker", "X-TC-Action": "Fake"}
    for index in range(FLOOD_REQUESTS):
        secret_id = owner.secret_id if index % 2 else unused
        request = Request("GET", "/v1/access-keys", {**junk, "Authorization": f"junk Credential={secret_id}/"})
        assert send(local_stack, request).code == "AuthFailure.InvalidAuthorization"
    time.sleep(2)  # the stream's poller would have moved LastAccessTime by now

    # Then the owner's access records are the ones the owner made, and the never-used key is still unused
    after = traces(owner, owner.secret_id)
    shown = after["AccessRecords"]
    newer = shown[: len(shown) - len(before)]
    assert [record["RequestId"] for record in shown[len(newer) :]] == [record["RequestId"] for record in before]
    assert {record["Action"] for record in newer} == {"ListAccessRecords"}  # the owner's own reads only
    assert not any(record["UserAgent"].endswith("attacker") for record in shown)
    assert owner.get_access_key(unused)["AccessKey"]["LastAccessTime"] is None
    # And the flood is counted where it cannot push a real use out of view: one group per key
    groups = after["FailedAttempts"]
    assert [(group["Count"], group["ErrorCode"], group["UserAgent"]) for group in groups] == [
        (FLOOD_REQUESTS // 2, "AuthFailure.InvalidAuthorization", "\x1b[31mattacker")
    ]
    unused_groups = traces(owner, unused)["FailedAttempts"]
    assert [group["Count"] for group in unused_groups] == [FLOOD_REQUESTS - FLOOD_REQUESTS // 2]
    figure(
        f"flood: {FLOOD_REQUESTS} unsigned requests naming 2 SecretIds: 0 AccessRecords changed, "
        f"LastAccessTime of the never-used key still null, counted in {len(groups) + len(unused_groups)} "
        "failed-attempt groups"
    )


def test_a_temporary_credential_token_is_refused(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap("100000000210", "owner")
    request = signed(local_stack, owner, "GET", "/v1/access-keys").with_headers(**{"x-tc-token": "session-token"})

    answer = send(local_stack, request)

    assert (answer.status, answer.code) == (401, "AuthFailure.TokenFailure")


def test_every_answer_says_it_must_not_be_stored(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap("100000000211", "owner")
    create = signed(local_stack, owner, "POST", "/v1/access-keys", {"Description": "cached or not"})
    answers = {
        "the create, with its SecretKey": send(local_stack, create),
        "its replay, refused": send(local_stack, create),
        "a read": send(local_stack, signed(local_stack, owner, "GET", "/v1/access-keys")),
        "POST /": send(local_stack, signed(local_stack, owner, "POST", "/", {}, action="ListAccessKeys")),
        "junk": send(local_stack, Request("GET", "/v1/access-keys", {"Authorization": "junk"})),
    }

    assert answers["the create, with its SecretKey"].status == 201
    assert {name: answer.cache_control for name, answer in answers.items()} == dict.fromkeys(answers, "no-store")
