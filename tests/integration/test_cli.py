"""`access-keys admin create-key`, the operator's bootstrap of an account's first key; and what the
client commands print of the API's documents, which may hold text an attacker chose."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from harness import Credentials, scan_table
from moto.server import ThreadedMotoServer
from secret_ledger import LEDGER

from access_keys.config import settings
from access_keys.observability import logger
from access_keys_tools.cli import main
from access_keys_tools.client import AccessKeysClient, ApiError
from access_keys_tools.template import PROJECT_ROOT, create_tables

SECRET_ID = re.compile(r"AKID[A-Za-z0-9]{32}")
SECRET_KEY = re.compile(r"[A-Za-z0-9]{32}")
RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
# Anyone can put this in a key's failed attempts: the User-Agent of a request naming its public SecretId.
HOSTILE = "\x1b[2J\x1b[31mevil\u202eabc\x07"
HOSTILE_SHOWN = "[2J[31mevilabc"
HOSTILE_CHARACTERS = ("\x1b", "\u202e", "\x07")


@dataclass(frozen=True)
class Run:
    exit_code: int | str | None
    stdout: str
    stderr: str


Cli = Callable[..., Run]


def in_process(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs the command in this process and returns what the operator's terminal would show."""

    def run(*arguments: str) -> Run:
        capsys.readouterr()
        try:
            exit_code: int | str | None = main(list(arguments))
        except SystemExit as stop:  # argparse's way out, as the console script would exit
            exit_code = stop.code
        captured = capsys.readouterr()
        # What a test reads here is no longer in pytest's captured output: the secret scan gets it
        # instead, and learns the pair `admin create-key` prints.
        LEDGER.saw_response(captured.out)
        LEDGER.saw_log(f"access-keys {shlex.join(arguments)} (stderr)", captured.err)
        return Run(exit_code, captured.out, captured.err)

    return run


@pytest.fixture
def access_keys(aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    # main() points the service's process-wide log handler at this test's stderr; restore it afterwards.
    handler = logger.registered_handler
    monkeypatch.setattr(handler, "stream", handler.stream)
    return in_process(capsys)


@dataclass
class CannedApi:
    """The API's side of the client commands: `answer` is the document every request gets, or the
    ApiError it raises. The commands run unchanged down to AccessKeysClient.request."""

    answer: dict[str, Any] | ApiError = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def request(self, method: str, path: str) -> dict[str, Any]:
        self.requests.append((method, path))
        if isinstance(self.answer, ApiError):
            raise self.answer
        return copy.deepcopy(self.answer)


@pytest.fixture
def canned_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CannedApi:
    canned = CannedApi()
    monkeypatch.setattr(
        AccessKeysClient, "request", lambda _client, method, path, document=None: canned.request(method, path)
    )
    for name in ("ACCESS_KEYS_PROFILE", "ACCESS_KEYS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("ACCESS_KEYS_SECRET_ID", "AKID" + "a" * 32)
    monkeypatch.setenv("ACCESS_KEYS_SECRET_KEY", "b" * 32)
    return canned


@pytest.fixture
def client_command(canned_api: CannedApi, capsys: pytest.CaptureFixture[str]) -> Cli:
    return in_process(capsys)


# ---------------------------------------------------------------------------------- in process


def test_create_key_prints_the_new_pair_once_as_json_and_the_pair_works(api, access_keys):
    result = access_keys("admin", "create-key", "--uin", "100000000009", "--description", "first key")

    assert result.exit_code == 0
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document, no log lines
    assert list(document) == ["AccessKey"]
    key = document["AccessKey"]
    assert set(key) == {"SecretId", "SecretKey", "Status", "CreateTime", "Description"}
    assert SECRET_ID.fullmatch(key["SecretId"])
    assert SECRET_KEY.fullmatch(key["SecretKey"])
    assert key["Status"] == "Active"
    assert RFC3339_MS.fullmatch(key["CreateTime"])
    assert key["Description"] == "first key"
    # The service's log line went to stderr, and without the secret.
    assert "access key created" in result.stderr
    assert key["SecretKey"] not in result.stderr

    listed = api.call("ListAccessKeys/list", Credentials.of(key))

    assert listed.status == 200
    assert listed.body["TotalCount"] == 1
    assert listed.body["AccessKeys"] == [
        {
            "SecretId": key["SecretId"],
            "Status": "Active",
            "CreateTime": key["CreateTime"],
            "Description": "first key",
            "LastAccessTime": None,
        }
    ]
    assert key["SecretKey"] not in listed.raw_body


def test_a_third_key_for_the_same_account_is_refused(api, access_keys):
    created = [access_keys("admin", "create-key", "--uin", "100000000009") for _ in range(2)]
    assert [run.exit_code for run in created] == [0, 0]

    refused = access_keys("admin", "create-key", "--uin", "100000000009", "--description", "one too many")

    assert refused.exit_code == 1
    assert "OperationDenied.AccessKeyOverLimit" in refused.stderr
    assert refused.stdout == ""
    first = json.loads(created[0].stdout)["AccessKey"]
    listed = api.call("ListAccessKeys/list", Credentials.of(first))
    assert listed.body["TotalCount"] == 2
    assert all(key["Description"] != "one too many" for key in listed.body["AccessKeys"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["admin", "create-key"], "the following arguments are required: --uin", id="missing-uin"),
        pytest.param(["admin", "create-key", "--uin", "bad uin!"], "Uin must be 1 to 64 letters", id="bad-uin"),
        pytest.param(
            ["admin", "create-key", "--uin", "42", "--description", "first <key>;"],
            "Description may hold only letters, digits, spaces",
            id="bad-description",
        ),
        pytest.param(["admin", "rotate-key", "--uin", "42"], "invalid choice: 'rotate-key'", id="unknown-action"),
        pytest.param(["rotate-key"], "invalid choice: 'rotate-key'", id="unknown-command"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason_and_create_nothing(access_keys, arguments, message):
    result = access_keys(*arguments)

    assert result.exit_code == 2
    assert message in result.stderr
    assert "error:" in result.stderr
    assert result.stdout == ""
    assert scan_table(settings().keys_table_name) == []


# ------------------------------------------------------------------------- API text on a terminal
OWNER = "AKID" + "o" * 32


def access_record(**fields: Any) -> dict[str, Any]:
    return {
        "AccessTime": "2026-11-26T19:31:02.004Z",
        "Service": "cam",
        "Action": "ListAccessKeys",
        "Result": "Success",
        "ErrorCode": None,
        "SourceIp": "203.0.113.7",
        "UserAgent": "curl/8.5.0",
        "RequestId": "9f0c2d1e-0000-4000-8000-000000000001",
        **fields,
    }


def failed_attempt(**fields: Any) -> dict[str, Any]:
    return {
        "FirstTime": "2026-11-26T19:00:03.120Z",
        "LastTime": "2026-11-26T19:42:10.981Z",
        "Count": 412,
        "SourceIp": "198.51.100.9",
        "ErrorCode": "AuthFailure.SignatureFailure",
        "UserAgent": "python-requests/2.32",
        **fields,
    }


def records_document(access_records: list[dict[str, Any]], failed_attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"AccessRecords": access_records, "FailedAttempts": failed_attempts, "RequestId": "r-1"}


def hostile_key() -> dict[str, Any]:
    return {
        "SecretId": OWNER,
        "Status": "Active" + HOSTILE,
        "CreateTime": "2026-11-26T19:30:44.123Z",
        "Description": HOSTILE,
        "LastAccessTime": None,
    }


@pytest.mark.parametrize(
    ("arguments", "document"),
    [
        pytest.param(
            ["records", OWNER],
            records_document(
                [access_record(Action=HOSTILE, UserAgent=HOSTILE, Service=HOSTILE)],
                [failed_attempt(UserAgent=HOSTILE, ErrorCode=HOSTILE)],
            ),
            id="records",
        ),
        pytest.param(["list"], {"AccessKeys": [hostile_key()], "TotalCount": 1, "RequestId": "r-1"}, id="list"),
        pytest.param(["get", OWNER], {"AccessKey": hostile_key(), "RequestId": "r-1"}, id="get"),
    ],
)
def test_hostile_api_text_is_shown_without_its_control_characters(
    canned_api: CannedApi, client_command: Cli, arguments: list[str], document: dict[str, Any]
) -> None:
    canned_api.answer = document

    result = client_command(*arguments)

    assert result.exit_code == 0, result.stderr
    assert not [character for character in HOSTILE_CHARACTERS if character in result.stdout]
    assert HOSTILE_SHOWN in result.stdout


def test_records_print_both_lists_with_the_hostile_text_stripped(canned_api: CannedApi, client_command: Cli) -> None:
    canned_api.answer = records_document(
        [access_record(Action=HOSTILE, UserAgent=HOSTILE), access_record(Result="Failure", ErrorCode="Throttled")],
        [failed_attempt(UserAgent=HOSTILE)],
    )

    result = client_command("records", OWNER)

    assert canned_api.requests == [("GET", f"/v1/access-keys/{OWNER}/access-records")]
    assert result.stdout.splitlines() == [
        "Time (UTC)           Service  Action          Result   Error      Source IP    User Agent",
        "-------------------  -------  --------------  -------  ---------  -----------  --------------",
        f"2026-11-26 19:31:02  cam      {HOSTILE_SHOWN}  Success  -          203.0.113.7  {HOSTILE_SHOWN}",
        "2026-11-26 19:31:02  cam      ListAccessKeys  Failure  Throttled  203.0.113.7  curl/8.5.0",
        "",
        "Failed attempts (not signed with this key's SecretKey), per source IP, code and hour:",
        "First (UTC)          Last (UTC)           Count  Source IP     Error code                    User agent",
        "-------------------  -------------------  -----  ------------  ----------------------------  --------------",
        f"2026-11-26 19:00:03  2026-11-26 19:42:10  412    198.51.100.9  AuthFailure.SignatureFailure  {HOSTILE_SHOWN}",
    ]


def test_records_as_json_are_the_api_document_exactly(canned_api: CannedApi, client_command: Cli) -> None:
    canned_api.answer = records_document(
        [access_record(Action=HOSTILE, UserAgent=HOSTILE)], [failed_attempt(UserAgent=HOSTILE)]
    )

    result = client_command("records", OWNER, "--output", "json")

    assert json.loads(result.stdout) == canned_api.answer
    assert not [character for character in HOSTILE_CHARACTERS if character in result.stdout]
    assert result.stdout.count(json.dumps(HOSTILE)) == 3  # escaped, as the API sent it
    assert '"UserAgent": "\\u001b[2J\\u001b[31mevil\\u202eabc\\u0007"' in result.stdout


def test_records_say_so_when_both_lists_are_empty(canned_api: CannedApi, client_command: Cli) -> None:
    canned_api.answer = records_document([], [])

    result = client_command("records", OWNER)

    assert result.stdout == "No access records in the past 90 days.\n\nNo failed attempts in the past 90 days.\n"


def test_records_of_a_server_without_failed_attempts_show_none(canned_api: CannedApi, client_command: Cli) -> None:
    canned_api.answer = {"AccessRecords": [access_record()], "RequestId": "r-1"}

    result = client_command("records", OWNER)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2].split()[2:] == [
        "cam",
        "ListAccessKeys",
        "Success",
        "-",
        "203.0.113.7",
        "curl/8.5.0",
    ]
    assert result.stdout.endswith("\n\nNo failed attempts in the past 90 days.\n")


def test_an_api_error_is_printed_without_its_control_characters(canned_api: CannedApi, client_command: Cli) -> None:
    canned_api.answer = ApiError(401, "AuthFailure" + HOSTILE, "refused " + HOSTILE, "r-1" + HOSTILE)

    result = client_command("records", OWNER)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"access-keys: AuthFailure{HOSTILE_SHOWN}: refused {HOSTILE_SHOWN} (RequestId r-1{HOSTILE_SHOWN})\n"
    )


# ------------------------------------------------------------------------------ out of process


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A moto server on a free local port, as a stand-in for the AWS endpoint of a deployment."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_console_command_uses_the_endpoint_of_aws_endpoint_url(moto_server):
    # Names of our own: the server shares this process's moto backends with the in-process tests.
    suffix = uuid.uuid4().hex[:12]
    keys_table, records_table = f"cli-keys-{suffix}", f"cli-records-{suffix}"
    alias = f"alias/cli-secrets-{suffix}"
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_server)
    kms = boto3.client("kms", endpoint_url=moto_server)
    create_tables(dynamodb, {"KeysTable": keys_table, "AccessRecordsTable": records_table})
    kms.create_alias(AliasName=alias, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    import_path = [str(PROJECT_ROOT / "layers" / "core"), str(PROJECT_ROOT / "tools")]
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_server,
        "KEYS_TABLE_NAME": keys_table,
        "RECORDS_TABLE_NAME": records_table,
        "SECRETS_KMS_KEY_ID": alias,
        "PYTHONPATH": os.pathsep.join([*import_path, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }

    completed = subprocess.run(
        [sys.executable, "-m", "access_keys_tools.cli", "admin", "create-key", "--uin", "42"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    LEDGER.saw_response(completed.stdout)
    LEDGER.saw_log("access-keys admin create-key, out of process (stderr)", completed.stderr)
    assert completed.returncode == 0, completed.stderr
    key = json.loads(completed.stdout)["AccessKey"]
    assert SECRET_ID.fullmatch(key["SecretId"])
    assert SECRET_KEY.fullmatch(key["SecretKey"])
    assert key["SecretKey"] not in completed.stderr
    item = dynamodb.get_item(TableName=keys_table, Key={"SecretId": {"S": key["SecretId"]}}, ConsistentRead=True)
    stored = item["Item"]
    assert stored["Uin"] == {"S": "42"}
    assert stored["Status"] == {"S": "Active"}
    ciphertext = stored["EncryptedSecretKey"]["B"]
    assert key["SecretKey"].encode() not in ciphertext
    decrypted = kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"SecretId": key["SecretId"], "Uin": "42"})
    assert decrypted["Plaintext"] == key["SecretKey"].encode()
