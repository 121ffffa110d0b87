"""`access-keys` client commands and AccessKeysClient against the local stack."""

from __future__ import annotations

import io
import json
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import LocalStack
from stack_process import free_port, unique_uin

from access_keys_tools.cli import main
from access_keys_tools.client import AccessKeysClient, ApiError, ClientError
from access_keys_tools.profiles import Profile, load_profile, profiles_path, save_profile


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


Cli = Callable[..., Run]


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


def test_records_show_failures_with_their_codes(owner: AccessKeysClient, access_keys: Cli, local_stack) -> None:
    forged = AccessKeysClient(owner.secret_id, "f" * 32, local_stack.url)
    with pytest.raises(ApiError, match=r"AuthFailure\.SignatureFailure"):
        forged.list_access_keys()

    result = access_keys("records", owner.secret_id)

    rows = [row.split() for row in result.stdout.splitlines()[2:]]
    assert rows[0][2:5] == ["ListAccessKeys", "Failure", "AuthFailure.SignatureFailure"]
    assert rows[0][5] == "127.0.0.1"
    assert rows[0][6] == "access-keys-client"


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
