"""What `sam build` makes is what runs: the trimmed layer with its bytecode, served by the local stack.

layers/core/Makefile deletes what the service does not import (most of botocore's models, most
of Powertools) and compiles every module. These tests build the project as `sam build` does for
a deploy, then check the artifacts and run every route, the stream and the schedule from them
alone: the workers get the artifacts and the standard library, no site-packages (`BUILD_DIR`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import StackProcess, free_port, stack_environment, unique_uin

from access_keys_tools.client import AccessKeysClient, ApiError
from access_keys_tools.local import names
from access_keys_tools.template import PROJECT_ROOT, resources_of_type

SAM = Path(sys.executable).with_name("sam")
LAYER_BUDGET_BYTES = 15_000_000
ELF_MACHINE_AARCH64 = 0xB7
UNCHECKED_HASH_PYC = 0b01  # PEP 552 flags: hash-based, source not checked


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("sam-build") / "build"
    environment = {**stack_environment(), "SAM_CLI_TELEMETRY": "0"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(  # noqa: S603 - the project's own sam
        [str(SAM), "build", "--build-dir", str(target)],
        cwd=PROJECT_ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return target


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_every_module_of_every_artifact_ships_bytecode_that_is_used_as_is(build_dir: Path) -> None:
    artifacts = ["ServiceLayer", *resources_of_type("AWS::Serverless::Function")]
    for artifact in artifacts:
        sources = [path for path in (build_dir / artifact).rglob("*.py") if "__pycache__" not in path.parts]
        assert sources, artifact
        for source in sources:
            compiled = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
            header = compiled.read_bytes()[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER, source
            assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH_PYC, source


def test_the_layer_holds_only_what_runs_within_its_size_budget(build_dir: Path) -> None:
    layer = build_dir / "ServiceLayer" / "python"

    assert _size(layer) <= LAYER_BUDGET_BYTES
    assert sorted(path.name for path in (layer / "botocore" / "data").iterdir() if path.is_dir()) == [
        "dynamodb",
        "kms",
    ]
    assert not (layer / "aws_xray_sdk").exists()
    assert not (layer / "aws_lambda_powertools" / "event_handler").exists()
    assert not (layer / "aws_lambda_powertools" / "middleware_factory").exists()
    utilities = layer / "aws_lambda_powertools" / "utilities"
    assert sorted(path.name for path in utilities.iterdir() if path.name != "__pycache__") == [
        "__init__.py",
        "jmespath_utils",
    ]
    # Native code, if a dependency ever brings some, must be for the functions' arm64.
    for library in layer.rglob("*.so*"):
        assert int.from_bytes(library.read_bytes()[18:20], "little") == ELF_MACHINE_AARCH64, library


@pytest.fixture(scope="module")
def built_stack(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    port, aws_port = free_port(), free_port()
    process = StackProcess(
        [sys.executable, "-m", "access_keys_tools.local"],
        env=stack_environment(PORT=str(port), MOTO_PORT=str(aws_port), CLEANUP_INTERVAL="1", BUILD_DIR=str(build_dir)),
        log_path=tmp_path_factory.mktemp("built-stack") / "stack.log",
        timeout=60,
    )
    LEDGER.watch_log_file(process.log_path)
    stack = LocalStack(names.api_url(port), names.aws_url(aws_port), process)
    try:
        yield stack
        dynamodb = stack.aws("dynamodb")
        for table in (names.table_name("KeysTable"), stack.records_table()):
            items = dynamodb.scan(TableName=table)["Items"]  # type: ignore[attr-defined]
            LEDGER.saw_items(table, items)
    finally:
        process.kill()


def test_every_operation_runs_from_the_built_artifacts_alone(built_stack: LocalStack, build_dir: Path) -> None:
    assert f"the artifacts of `sam build` in {build_dir}" in built_stack.process.banner
    owner = built_stack.bootstrap(unique_uin(), "first")

    created = owner.create_access_key("second")["AccessKey"]
    second = AccessKeysClient(created["SecretId"], created["SecretKey"], built_stack.url)
    listed = second.list_access_keys()["AccessKeys"]
    owner.get_access_key(second.secret_id)
    owner.update_access_key(second.secret_id, "Inactive")
    with pytest.raises(ApiError) as refused:
        owner.create_access_key("third")
    owner.delete_access_key(second.secret_id)
    records = owner.list_access_records(owner.secret_id)["AccessRecords"]

    assert [key["Description"] for key in listed] == ["first", "second"]
    assert refused.value.code == "OperationDenied.AccessKeyOverLimit"
    assert [record["Action"] for record in records][:3] == ["DeleteAccessKey", "CreateAccessKey", "UpdateAccessKey"]
    assert records[1]["ErrorCode"] == "OperationDenied.AccessKeyOverLimit"
    # The stream function, built too, keeps the last access time.
    deadline = time.monotonic() + 10
    while owner.get_access_key(owner.secret_id)["AccessKey"]["LastAccessTime"] is None:
        assert time.monotonic() < deadline, "LastAccessTime never followed the stream"
        time.sleep(0.2)
    # The scheduled cleanup, built too and run every second here, removes the deleted key's record.
    # (The table also holds the signatures already used, under USED#<Signature>, with no SecretId.)
    dynamodb = built_stack.aws("dynamodb")
    deadline = time.monotonic() + 20
    while any(
        item.get("SecretId", {}).get("S") == second.secret_id
        for item in dynamodb.scan(TableName=built_stack.records_table())["Items"]  # type: ignore[attr-defined]
    ):
        assert time.monotonic() < deadline, "the cleanup never removed the deleted key's records"
        time.sleep(0.25)
    assert "Traceback" not in built_stack.process.logs()
