"""`access-keys` client commands and AccessKeysClient against the local stack."""

from __future__ import annotations

import io
import json
import re
import stat
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import free_port, unique_uin

from access_keys import signing
from access_keys_tools import client as client_module
from access_keys_tools.cli import main
from access_keys_tools.client import AccessKeysClient, ApiError, ClientError
from access_keys_tools.profiles import Profile, load_profile, profiles_path, save_profile


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


Cli = Callable[..., Run]
FAILED_ATTEMPTS_HEADING = "Failed attempts (not signed with this key's SecretKey), per source IP, code and hour:\n"


def cam_time(rfc3339: str) -> str:
    """The REST API's 2026-11-26T19:30:44.123Z as CAM writes it: 2026-11-26 19:30:44 (UTC)."""
    return rfc3339[:19].replace("T", " ")


@pytest.fixture
def access_keys(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """Runs `access-keys ARGS` in this process, with a config dir of its own and no key in the environment."""
    for name in ("ACCESS_KEYS_SECRET_ID", "ACCESS_KEYS_SECRET_KEY", "ACCESS_KEYS_PROFILE", "ACCESS_KEYS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    def run(*arguments: str, stdin: str = "") -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(arguments))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def owner(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, access_keys: Cli) -> AccessKeysClient:
    """A bootstrapped key, given to the commands through the environment."""
    client = local_stack.bootstrap(unique_uin(), "owner")
    monkeypatch.setenv("ACCESS_KEYS_SECRET_ID", client.secret_id)
    monkeypatch.setenv("ACCESS_KEYS_SECRET_KEY", client._secret_key)
    monkeypatch.setenv("ACCESS_KEYS_ENDPOINT", local_stack.url)
    return client


def test_list_prints_a_table_and_json_on_request(owner: AccessKeysClient, access_keys: Cli) -> None:
    table = access_keys("list")
    as_json = access_keys("list", "--output", "json")
    before_command = access_keys("--output", "json", "list")

    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "SecretId",
        "Status",
        "Created",
        "(UTC)",
        "Last",
        "Access",
        "(UTC)",
        "Description",
    ]
    assert table.stdout.splitlines()[2].startswith(f"{owner.secret_id}  Active  ")
    document = json.loads(as_json.stdout)
    assert [key["SecretId"] for key in document["AccessKeys"]] == [owner.secret_id]
    assert set(document) == {"AccessKeys", "TotalCount", "RequestId"}
    assert json.loads(before_command.stdout)["TotalCount"] == 1


def test_create_shows_the_secret_key_once_with_a_warning(owner: AccessKeysClient, access_keys: Cli) -> None:
    created = access_keys("create", "--description", "ci", "--output", "json")

    key = json.loads(created.stdout)["AccessKey"]
    assert created.exit_code == 0
    assert created.stdout.count(key["SecretKey"]) == 1
    assert "shown this once and can never be shown again" in created.stderr
    assert key["SecretKey"] not in created.stderr
    shown_later = access_keys("get", key["SecretId"], "--output", "json").stdout + access_keys("list").stdout
    assert key["SecretKey"] not in shown_later


def test_an_api_error_prints_its_code_and_message_and_exits_1(owner: AccessKeysClient, access_keys: Cli) -> None:
    unknown = "AKID" + "x" * 32

    result = access_keys("get", unknown)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("access-keys: ResourceNotFound.AccessKey: The access key does not exist.")
    assert "(RequestId " in result.stderr


@pytest.mark.parametrize(
    "arguments", [("get",), ("disable",), ("nonsense",), ("list", "--output", "yaml"), ("create", "--bogus")]
)
def test_a_usage_error_exits_2(owner: AccessKeysClient, access_keys: Cli, arguments: tuple[str, ...]) -> None:
    result = access_keys(*arguments)

    assert result.exit_code == 2
    assert "usage: access-keys" in result.stderr


def test_without_credentials_it_says_how_to_give_them(access_keys: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = access_keys("list")
    monkeypatch.setenv("ACCESS_KEYS_SECRET_ID", "AKID" + "a" * 32)
    half = access_keys("list")

    assert missing.exit_code == half.exit_code == 2
    assert "no credentials: set ACCESS_KEYS_SECRET_ID and ACCESS_KEYS_SECRET_KEY" in missing.stderr
    assert "set both ACCESS_KEYS_SECRET_ID and ACCESS_KEYS_SECRET_KEY" in half.stderr


def test_delete_without_a_terminal_needs_yes(owner: AccessKeysClient, access_keys: Cli) -> None:
    key = owner.create_access_key()["AccessKey"]["SecretId"]
    access_keys("disable", key)

    refused = access_keys("delete", key)
    kept = owner.get_access_key(key)["AccessKey"]["Status"]
    deleted = access_keys("delete", key, "--yes")

    assert refused.exit_code == 2
    assert "delete is final: add --yes" in refused.stderr
    assert kept == "Inactive"
    assert (deleted.exit_code, deleted.stdout) == (0, f"Deleted {key}.\n")
    with pytest.raises(ApiError, match=r"ResourceNotFound\.AccessKey"):
        owner.get_access_key(key)


def test_records_show_failures_with_their_codes_and_no_control_characters(
    owner: AccessKeysClient, access_keys: Cli, local_stack: LocalStack
) -> None:
    # ESC, C1's one-character CSI and BEL: what HTTP can carry in a header (Latin-1).
    user_agent = "agent/1.0 \x1b[2J\x1b[31mred\x9b0m\x07"
    signed_by_owner = AccessKeysClient(owner.secret_id, owner._secret_key, local_stack.url, user_agent=user_agent)
    with pytest.raises(ApiError, match=r"ResourceNotFound\.AccessKey"):
        signed_by_owner.get_access_key("AKID" + "x" * 32)

    table = access_keys("records", owner.secret_id)
    as_json = access_keys("records", owner.secret_id, "--output", "json")

    rows = [row.split() for row in table.stdout.splitlines()[2:]]
    assert rows[0][2:] == [
        "cam",
        "GetAccessKey",
        "Failure",
        "ResourceNotFound.AccessKey",
        "127.0.0.1",
        "agent/1.0",
        "[2J[31mred0m",
    ]
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", table.stdout)
    records = json.loads(as_json.stdout)["AccessRecords"]
    assert [record["UserAgent"] for record in records if record["Action"] == "GetAccessKey"] == [user_agent]


def test_records_show_a_request_not_signed_with_the_key_under_failed_attempts(
    owner: AccessKeysClient, access_keys: Cli, local_stack: LocalStack
) -> None:
    # Needs the server's FailedAttempts (API.md, ListAccessRecords): anyone who knows the public
    # SecretId can send this, and choose its User-Agent.
    marker = f"scanner-{uuid.uuid4().hex[:8]}"
    timestamp = int(time.time())
    scope = f"{signing.utc_date(timestamp)}/cam/tc3_request"
    forged = urllib.request.Request(  # noqa: S310 - the local stack's http:// URL
        f"{local_stack.url}/v1/access-keys",
        method="GET",
        headers={
            "Authorization": f"TC3-HMAC-SHA256 Credential={owner.secret_id}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={'0' * 64}",
            "Content-Type": "application/json",
            "X-TC-Timestamp": str(timestamp),
            "User-Agent": f"{marker} \x1b[31mred",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)  # noqa: S310
    refusal = refused.value.read().decode()
    LEDGER.saw_response(refusal)
    assert (refused.value.code, json.loads(refusal)["Error"]["Code"]) == (401, "AuthFailure.SignatureFailure")

    result = access_keys("records", owner.secret_id)

    assert result.exit_code == 0, result.stderr
    access_records, heading, failed_attempts = result.stdout.partition(FAILED_ATTEMPTS_HEADING)
    assert heading == FAILED_ATTEMPTS_HEADING, result.stdout
    assert access_records == "No access records in the past 90 days.\n\n"  # a forgery is never a use of the key
    rows = failed_attempts.splitlines()[2:]
    assert [row.split()[4:] for row in rows] == [["1", "127.0.0.1", "AuthFailure.SignatureFailure", marker, "[31mred"]]
    assert "\x1b" not in result.stdout


def test_call_action_signs_x_tc_action_so_a_read_and_a_create_can_share_a_second(
    owner: AccessKeysClient, local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[urllib.request.Request] = []
    urlopen = urllib.request.urlopen

    def recording_urlopen(request: urllib.request.Request, *arguments: object, **keywords: object) -> object:
        sent.append(request)
        return urlopen(request, *arguments, **keywords)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib.request, "urlopen", recording_urlopen)
    # One second for both calls: with the stock SDKs' content-type;host, the create would carry
    # the list's very signature and be refused as already used (API.md, "Single use").
    second = float(int(time.time()))
    monkeypatch.setattr(client_module, "time", SimpleNamespace(time=lambda: second))

    listed = owner.call_action("ListAccessKeys", {})
    created = owner.call_action("CreateAccessKey", {})

    assert set(listed) == {"AccessKeys", "RequestId"}
    assert listed["AccessKeys"] == [
        {
            "AccessKeyId": owner.secret_id,
            "Status": "Active",
            "CreateTime": cam_time(owner.get_access_key(owner.secret_id)["AccessKey"]["CreateTime"]),
            "Description": "owner",
        }
    ]
    assert created["AccessKey"]["Status"] == "Active"
    list_request, create_request = sent[:2]
    assert (list_request.get_method(), list_request.full_url) == ("POST", f"{local_stack.url}/")
    assert list_request.get_header("X-tc-version") == "2019-01-16"
    assert [request.get_header("X-tc-action") for request in (list_request, create_request)] == [
        "ListAccessKeys",
        "CreateAccessKey",
    ]
    assert list_request.get_header("X-tc-timestamp") == create_request.get_header("X-tc-timestamp")
    authorization = signing.parse_authorization(list_request.get_header("Authorization"))
    assert authorization.signed_headers == ("content-type", "host", "x-request-nonce", "x-tc-action")


def test_call_action_raises_the_tencent_error_code(owner: AccessKeysClient) -> None:
    with pytest.raises(ApiError) as raised:
        owner.call_action("UpdateAccessKey", {"AccessKeyId": "AKID" + "x" * 32, "Status": "Inactive"})

    assert raised.value.code == "ResourceNotFound.SecretNotExist"
    assert raised.value.request_id


def test_a_profile_is_saved_owner_only_and_used(local_stack: LocalStack, access_keys: Cli) -> None:
    client = local_stack.bootstrap(unique_uin())

    configured = access_keys(
        "configure",
        "--profile",
        "ops",
        "--endpoint",
        local_stack.url,
        stdin=f"{client.secret_id}\n{client._secret_key}\n",
    )
    listed = access_keys("--profile", "ops", "list", "--output", "json")

    path = profiles_path()
    assert configured.exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert client._secret_key not in configured.stdout + configured.stderr
    assert json.loads(listed.stdout)["AccessKeys"][0]["SecretId"] == client.secret_id
    assert load_profile("ops") == Profile("ops", client.secret_id, client._secret_key, local_stack.url)
    assert client._secret_key not in repr(load_profile("ops")) + repr(client)


def test_a_profile_others_can_read_is_refused(local_stack: LocalStack, access_keys: Cli) -> None:
    path = save_profile(Profile("default", "AKID" + "a" * 32, "b" * 32))
    path.chmod(0o640)

    result = access_keys("list")

    assert result.exit_code == 1
    assert result.stderr.strip() == f"access-keys: {path} can be read by other users; run: chmod 600 {path}"


def test_the_endpoint_flag_wins_over_the_environment(
    owner: AccessKeysClient, access_keys: Cli, local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ACCESS_KEYS_ENDPOINT", nowhere)

    unreachable = access_keys("list")
    flagged = access_keys("list", "--endpoint", local_stack.url)

    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith(f"access-keys: cannot reach {nowhere}: ")
    assert flagged.exit_code == 0


def test_the_client_rejects_an_endpoint_with_a_path_and_reports_unreachable_hosts() -> None:
    with pytest.raises(ValueError, match="no path"):
        AccessKeysClient("AKID" + "a" * 32, "b" * 32, "https://example.com/prod")
    client = AccessKeysClient("AKID" + "a" * 32, "b" * 32, f"http://127.0.0.1:{free_port()}", timeout=2)

    with pytest.raises(ClientError, match="cannot reach"):
        client.list_access_keys()
