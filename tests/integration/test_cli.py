"""`access-keys admin create-key`: the operator's bootstrap of an account's first key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from harness import Credentials, scan_table
from moto.server import ThreadedMotoServer

from access_keys.config import settings
from access_keys.observability import logger
from access_keys_tools.cli import main
from access_keys_tools.template import PROJECT_ROOT, create_tables

SECRET_ID = re.compile(r"AKID[A-Za-z0-9]{32}")
SECRET_KEY = re.compile(r"[A-Za-z0-9]{32}")
RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@dataclass(frozen=True)
class Run:
    exit_code: int | str | None
    stdout: str
    stderr: str


Cli = Callable[..., Run]


@pytest.fixture
def access_keys(aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Runs the command in this process and returns what the operator's terminal would show."""
    # main() points the service's process-wide log handler at this test's stderr; restore it afterwards.
    handler = logger.registered_handler
    monkeypatch.setattr(handler, "stream", handler.stream)

    def run(*arguments: str) -> Run:
        capsys.readouterr()
        try:
            exit_code: int | str | None = main(list(arguments))
        except SystemExit as stop:  # argparse's way out, as the console script would exit
            exit_code = stop.code
        captured = capsys.readouterr()
        return Run(exit_code, captured.out, captured.err)

    return run


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

    listed = api.call("ListAccessKeys/list", Credentials(key["SecretId"], key["SecretKey"]))

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
    listed = api.call("ListAccessKeys/list", Credentials(first["SecretId"], first["SecretKey"]))
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
