"""The example platform service of examples/: Tencent's own SDK calls it, and it verifies every
request through the local stack's Invoke API (VerifyRequestFunction), as deployed it would through
Lambda's. Its template, its handler and its quickstart, as a service team and a newcomer use them.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import Result, StackProcess, free_port, run_shell, shell_commands, stack_environment, unique_uin
from tencentcloud.common import abstract_client
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.local import names
from access_keys_tools.local.functions import function_specs
from access_keys_tools.local.stack import local_outputs
from access_keys_tools.template import PROJECT_ROOT, load_template, resources_of_type

EXAMPLES = PROJECT_ROOT / "examples"
TEMPLATE = EXAMPLES / "instances" / "template.yaml"
CVM_VERSION = "2017-03-12"
INSTANCES = ["ins-1a2b3c4d", "ins-5e6f7a8b"]
SECRET_ID = re.compile(r"AKID[A-Za-z0-9]{32}")
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy")
# The SDK's own signer still calls datetime.utcfromtimestamp.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK honours the proxy variables; the local stack is on the loopback interface."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)


def cvm(stack: LocalStack, key: AccessKeysClient) -> CommonClient:
    """Tencent's SDK as a client of cvm builds it, pointed at the example's port."""
    http = HttpProfile(endpoint=stack.example_url.removeprefix("http://"), protocol="http")
    credential = Credential(key.secret_id, key._secret_key)
    return CommonClient("cvm", CVM_VERSION, credential, "", profile=ClientProfile(httpProfile=http))


def owner_and_caller(stack: LocalStack) -> tuple[AccessKeysClient, AccessKeysClient, str]:
    """An account's owner key, a second key of the account that calls cvm, and the account."""
    uin = unique_uin()
    owner = stack.bootstrap(uin, "owner")
    created = owner.create_access_key("calls cvm")["AccessKey"]
    return owner, AccessKeysClient(created["SecretId"], created["SecretKey"], stack.url), uin


def call(client: CommonClient, action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    answer = client.call_json(action, parameters)
    LEDGER.saw_response(json.dumps(answer))
    return answer["Response"]


def refusal(client: CommonClient, action: str, parameters: dict[str, Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as raised:
        client.call_json(action, parameters)
    return raised.value


def records(owner: AccessKeysClient, secret_id: str) -> list[tuple[str, str, str, str | None, str]]:
    """The key's access records, newest first: Service, Action, Result, ErrorCode, RequestId."""
    listed = owner.list_access_records(secret_id)
    assert listed["FailedAttempts"] == []
    fields = ("Service", "Action", "Result", "ErrorCode", "RequestId")
    return [tuple(record[field] for field in fields) for record in listed["AccessRecords"]]  # type: ignore[misc]


# ------------------------------------------------------------------------------ the SDK


def test_the_sdks_common_client_describes_instances_as_the_verified_caller(local_stack: LocalStack) -> None:
    owner, caller, uin = owner_and_caller(local_stack)

    described = call(cvm(local_stack, caller), "DescribeInstances", {})

    assert [instance["InstanceId"] for instance in described["InstanceSet"]] == INSTANCES
    assert described["TotalCount"] == len(INSTANCES)
    assert described["Caller"] == {"SecretId": caller.secret_id, "Uin": uin}
    # The call is in the key's records, under cvm's name and the action, with cvm's RequestId.
    assert records(owner, caller.secret_id) == [
        ("cvm", "DescribeInstances", "Success", None, described["RequestId"]),
    ]


def test_a_key_the_owner_disables_is_refused_by_the_example_on_the_next_call(local_stack: LocalStack) -> None:
    owner, caller, _ = owner_and_caller(local_stack)
    client = cvm(local_stack, caller)
    described = call(client, "DescribeInstances", {})

    owner.update_access_key(caller.secret_id, "Inactive")
    refused = refusal(client, "DescribeInstances", {})

    assert refused.code == "AuthFailure.SecretIdNotFound"
    assert refused.requestId
    assert records(owner, caller.secret_id) == [
        ("cvm", "DescribeInstances", "Failure", "AuthFailure.SecretIdNotFound", refused.requestId),
        ("cvm", "DescribeInstances", "Success", None, described["RequestId"]),
    ]


def test_a_reboot_the_example_refuses_fails_its_record_and_cannot_be_resent(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, caller, _ = owner_and_caller(local_stack)
    client = cvm(local_stack, caller)
    clock = [float(int(time.time()))]
    # The SDK's clock, frozen: the same parameters in the same second are the same signed request.
    monkeypatch.setattr(abstract_client, "time", SimpleNamespace(time=lambda: clock[0]))
    unknown = {"InstanceIds": ["ins-00000000"]}

    refused = refusal(client, "RebootInstances", unknown)
    resent = refusal(client, "RebootInstances", unknown)
    clock[0] += 1
    rebooted = call(client, "RebootInstances", {"InstanceIds": [INSTANCES[0]]})

    assert refused.code == "UnauthorizedOperation"
    assert "ins-00000000" in refused.message
    # RebootInstances changes state: its signature is spent by the first attempt, refused or not.
    assert resent.code == "AuthFailure.SignatureFailure"
    assert resent.message.startswith("This signature has already been used")
    assert set(rebooted) == {"RequestId"}
    assert records(owner, caller.secret_id) == [
        ("cvm", "RebootInstances", "Success", None, rebooted["RequestId"]),
        ("cvm", "RebootInstances", "Failure", "AuthFailure.SignatureFailure", resent.requestId),
        # Verified, then refused by cvm itself: ReportAccessOutcome made the record a failure.
        ("cvm", "RebootInstances", "Failure", "UnauthorizedOperation", refused.requestId),
    ]


def test_an_action_the_example_does_not_serve_is_invalid_action(local_stack: LocalStack) -> None:
    owner, caller, _ = owner_and_caller(local_stack)
    client = cvm(local_stack, caller)

    unknown = refusal(client, "TerminateInstances", {"InstanceIds": [INSTANCES[0]]})
    malformed = refusal(client, "RebootInstances", {"InstanceIds": "ins-1a2b3c4d"})

    assert unknown.code == "InvalidAction"
    assert "TerminateInstances" in unknown.message
    assert malformed.code == "InvalidParameterValue"
    assert records(owner, caller.secret_id) == [
        ("cvm", "RebootInstances", "Failure", "InvalidParameterValue", malformed.requestId),
        ("cvm", "TerminateInstances", "Failure", "InvalidAction", unknown.requestId),
    ]


def test_the_banner_names_the_example_service(local_stack: LocalStack) -> None:
    assert f"Example   {local_stack.example_url}   " in local_stack.process.banner
    assert "examples/instances/template.yaml" in local_stack.process.banner


# ------------------------------------------------------------------------------ the template


def test_the_example_template_passes_sam_validate_lint() -> None:
    sam = Path(sys.executable).with_name("sam")
    completed = subprocess.run(  # noqa: S603 - the project's own tool
        [str(sam), "validate", "--lint", "--template-file", str(TEMPLATE), "--region", "us-east-1"],
        cwd=PROJECT_ROOT,
        env={**stack_environment(), "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_example_function_takes_the_layer_and_may_only_invoke_the_verifier() -> None:
    template = load_template(TEMPLATE)
    (function,) = resources_of_type("AWS::Serverless::Function", template).values()
    properties = function["Properties"]
    (event,) = properties["Events"].values()

    assert set(template["Parameters"]) == {"VerifierLayerArn", "VerifyRequestFunctionArn"}
    # Both are outputs of the access-key stack, under the same names.
    assert set(template["Parameters"]) <= set(load_template()["Outputs"])
    assert (properties["Runtime"], properties["Architectures"]) == ("python3.13", ["arm64"])
    assert properties["Layers"] == [{"Ref": "VerifierLayerArn"}]
    assert properties["Environment"]["Variables"] == {
        "ACCESS_KEYS_VERIFY_FUNCTION": {"Ref": "VerifyRequestFunctionArn"}
    }
    assert properties["Policies"] == [
        {
            "Statement": [
                {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Ref": "VerifyRequestFunctionArn"}}
            ]
        }
    ]
    assert event["Type"] == "HttpApi"
    assert {name: event["Properties"][name] for name in ("Path", "Method", "PayloadFormatVersion")} == {
        "Path": "/",
        "Method": "POST",
        "PayloadFormatVersion": "2.0",
    }
    (log_group,) = resources_of_type("AWS::Logs::LogGroup", template).values()
    assert log_group["Properties"]["RetentionInDays"] > 0


def test_locally_the_parameters_are_the_stacks_own_layer_and_verifier() -> None:
    functions = resources_of_type("AWS::Serverless::Function")
    outputs = local_outputs(names.pseudo_parameters(), functions)

    (spec,) = function_specs(outputs, template_path=TEMPLATE, stack_name="instances-local").values()

    assert {name: outputs[name] for name in ("VerifierLayerArn", "VerifyRequestFunctionArn")} == {
        "VerifierLayerArn": "VerifierLayer",
        "VerifyRequestFunctionArn": "VerifyRequestFunction",
    }
    # The layer's own folder, the one `sam build` packages, not only the venv's editable install.
    assert spec.layer_dirs == (PROJECT_ROOT / "verifier",)
    assert spec.code_dir == TEMPLATE.parent
    assert spec.environment == {"ACCESS_KEYS_VERIFY_FUNCTION": "VerifyRequestFunction"}
    assert spec.function_name == "instances-local-InstancesFunction"


# ------------------------------------------------------------------------------ the quickstart


def quickstart() -> str:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    return text[text.index("<!-- quickstart -->") : text.index("<!-- /quickstart -->")]


def blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_shows_the_client_it_runs() -> None:
    (client,) = blocks(quickstart(), "python")

    assert client == (EXAMPLES / "call_cvm.py").read_text(encoding="utf-8")


def test_the_example_quickstart_works_as_written_against_make_run(tmp_path: Path) -> None:
    start_block, client_block = (shell_commands(block) for block in blocks(quickstart(), "sh"))
    assert start_block == ["make run"]
    port, aws_port, example_port = free_port(), free_port(), free_port()
    stack = StackProcess(
        ["make", "run"],
        env=stack_environment(PORT=str(port), MOTO_PORT=str(aws_port), EXAMPLE_PORT=str(example_port)),
        log_path=tmp_path / "make-run.log",
    )
    try:
        assert f"Example   {names.api_url(example_port)}   " in stack.banner
        walk_the_quickstart(client_block, aws_port, port, example_port, tmp_path)
    except BaseException:
        stack.kill()
        raise
    exit_code, rest, left = stack.interrupt()

    assert exit_code in (0, -signal.SIGINT), rest
    assert "Stopped." in rest
    assert left == [], f"processes left after Ctrl-C: {left}"


def walk_the_quickstart(lines: list[str], aws_port: int, port: int, example_port: int, tmp_path: Path) -> None:
    environment = {
        name: value
        for name, value in stack_environment(
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            # What the README says for ports other than the defaults, which this test needs.
            ACCESS_KEYS_ENDPOINT=names.api_url(port),
            CVM_ENDPOINT=f"127.0.0.1:{example_port}",
        ).items()
        if name not in PROXIES
    }
    caller: list[str] = []

    def check_described(result: Result) -> None:
        assert result.exit_code == 0, result.stderr
        described = json.loads(result.stdout)
        assert [instance["InstanceId"] for instance in described["InstanceSet"]] == INSTANCES
        assert described["Caller"] == {"SecretId": caller[0], "Uin": "100000000002"}

    describe = "python examples/call_cvm.py DescribeInstances"
    reboot = """python examples/call_cvm.py RebootInstances '{"InstanceIds": ["ins-00000000"]}'"""
    # The key's access records, newest first: Service, Action, Result, Error.
    described = ("cvm", "DescribeInstances", "Success", "-")
    reboot_refused = ("cvm", "RebootInstances", "Failure", "UnauthorizedOperation")
    disabled = ("cvm", "DescribeInstances", "Failure", "AuthFailure.SecretIdNotFound")
    steps: list[tuple[str, Callable[[Result], None]]] = [
        ('export PATH="$PWD/.venv/bin:$PATH"', lambda _: None),
        ("access-keys admin create-key --local --uin 100000000002 --save-profile default", check_bootstrap),
        ('access-keys create --description "calls cvm" --save-profile cvm', check_create),
        ("CVM=AKID...", lambda _: None),
        (describe, check_described),
        (reboot, lambda result: check_refused(result, "RebootInstances", "UnauthorizedOperation")),
        ("access-keys records $CVM", lambda result: check_records(result, [reboot_refused, described])),
        ("access-keys disable $CVM", check_disabled),
        (describe, lambda result: check_refused(result, "DescribeInstances", "AuthFailure.SecretIdNotFound")),
        ("access-keys records $CVM", lambda result: check_records(result, [disabled, reboot_refused, described])),
    ]
    assert lines == [command for command, _ in steps], "examples/README.md's quickstart and this test differ"

    created: Result | None = None
    for command, check in steps:
        if command.startswith("export PATH="):
            environment["PATH"] = f"{PROJECT_ROOT / '.venv' / 'bin'}:{environment['PATH']}"
            continue
        if command.startswith("CVM="):
            assert created is not None
            found = SECRET_ID.search(created.stdout)
            assert found
            caller.append(found[0])
            environment["CVM"] = found[0]
            continue
        # The README's --local means the default moto port; this stack's is another.
        to_run = command.replace(" --local ", f" --local {names.aws_url(aws_port)} ")
        result = run_shell(to_run, environment)
        if command.startswith("access-keys create"):
            created = result
        check(result)


def check_bootstrap(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert '"SecretKey"' in result.stdout
    assert "Saved as profile 'default'" in result.stderr


def check_create(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^SecretKey\s+[A-Za-z0-9]{32}$", result.stdout, flags=re.MULTILINE)
    assert "Saved as profile 'cvm'" in result.stderr


def check_disabled(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^Status\s+Inactive$", result.stdout, flags=re.MULTILINE)


def check_refused(result: Result, action: str, code: str) -> None:
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"cvm refused {action}: {code}: "), result.stderr


def check_records(result: Result, expected: list[tuple[str, str, str, str]]) -> None:
    assert result.exit_code == 0, result.stderr
    access_records, failed_attempts = result.stdout.split("\n\n")
    header, _, *rows = access_records.splitlines()
    assert header.split()[:6] == ["Time", "(UTC)", "Service", "Action", "Result", "Error"]
    # Time (UTC) is two fields, date and time; then Service, Action, Result, Error.
    assert [tuple(row.split()[2:6]) for row in rows] == expected
    assert failed_attempts == "No failed attempts in the past 90 days.\n"


def test_the_main_readme_shows_the_same_example_quickstart() -> None:
    # The main README's "Verify requests in your own service" repeats these very lines, so the
    # test above, which runs them, covers what a newcomer reads there too.
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Try it with the example service.**") :]

    (shown,) = blocks(section, "sh")[:1]
    (tested,) = [block for block in blocks(quickstart(), "sh") if "admin create-key" in block]
    assert shell_commands(shown) == shell_commands(tested)
