"""template.yaml deployed on moto's CloudFormation, then bootstrapped as the README says.

The template goes through aws-sam-translator, the transform CloudFormation runs for `sam deploy`
(tests/unit/sam_transform.py), has its code locations filled with zips of the real function folders
and layer packages, and is created as a stack on moto: with default parameters, and as production.
The checks read the stack through the AWS APIs, each against what the transformed template
declares: tables, KMS key and alias, functions, layers, roles, queue, log groups, schedule, stream
trigger, invoke permissions, user pool and client, outputs. Last, the operator block of the README
("Accounts and operators on AWS") runs as an operator's shell would run it: its exports, made from
the stack's outputs by its own `outputs()` query, then each of its commands that needs no value
from an earlier one; what they made is looked for in the stack's own resources.

moto falls short in two ways. Each shortfall is listed below with how it is covered instead, and
each list is checked against moto itself, so that neither outlives the shortfall it names:

- NOT_CREATED_BY_MOTO: resource types its CloudFormation cannot create. They are left out of the
  stack, and so is whatever refers to them (LEFT_OUT_ALONG), except what STOOD_IN says: references
  to an alias are pointed at its function, and the user pool and its client are made beforehand
  through Cognito's own API, from the properties the template gives them.
- DROPPED_BY_MOTO: what its CloudFormation accepts and then ignores.

Nor does moto evaluate IAM policies, or of a key policy more than a Deny of DescribeKey: that each
role can do exactly what it needs is tests/integration/test_least_privilege.py's subject, who may use
the secrets key tests/unit/test_secrets_key_policy.py's.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import io
import json
import re
import shlex
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import jmespath
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.cloudformation.parsing import get_model_map
from secret_ledger import LEDGER

from access_keys import key_material
from access_keys.config import settings
from access_keys.dal import kms
from access_keys.dal.models import bind_tables
from access_keys.observability import logger
from access_keys_tools import admin, cli
from access_keys_tools.template import PROJECT_ROOT, condition_values, resolve, resources_of_type

# ------------------------------------------------------------------------- what moto lacks
# Resource types moto's CloudFormation cannot create, and how each is covered instead.
NOT_CREATED_BY_MOTO = {
    "AWS::ApiGatewayV2::Api": (
        "The HTTP API: routes, integrations, JWT authorizer, throttling, access log. Routes and authorizer: "
        "tests/unit/test_template.py and test_openapi.py on the template; served over HTTP by the local "
        "gateway, which takes its routes from template.yaml (tests/local, tests/unit/test_local_gateway.py, "
        "test_jwt_authorizer.py). Throttling and the access log's format: `sam validate --lint` only."
    ),
    "AWS::ApiGatewayV2::Stage": "The API's $default stage: as for the API.",
    "AWS::ApiGatewayV2::DomainName": "cam.<DomainName>: tests/unit/test_custom_domain.py, on the transformed template.",
    "AWS::ApiGatewayV2::ApiMapping": "The custom domain's mapping: tests/unit/test_custom_domain.py.",
    "AWS::CloudWatch::Alarm": (
        "tests/unit/test_operations_template.py and test_template.py, on the template: one alarm per figure "
        "docs/operations.md names, each notifying AlarmTopicArn, on metrics the service emits with the "
        "dimensions the alarm names. That any of them goes off is tested nowhere."
    ),
    "AWS::CodeDeploy::Application": (
        "The canary deploys of DeploymentPreference: tests/unit/test_operations_template.py, on the template "
        "(canary in prod, the three alarms that roll it back). No deploy runs before production."
    ),
    "AWS::CodeDeploy::DeploymentGroup": "As for the CodeDeploy application.",
    "AWS::Cognito::UserPool": (
        "Stood in: made through Cognito's API (moto's) from the template's properties, its conditions "
        "evaluated for the stage, before the stack, which then refers to it by its ID. That shows Cognito "
        "takes these settings and that create-account works on such a pool, not CloudFormation's handler. "
        "Signing in to a pool made so: tests/local, on moto's Cognito made strict "
        "(tools/access_keys_tools/local/cognito.py)."
    ),
    "AWS::Cognito::UserPoolClient": "Stood in, as the user pool.",
    "AWS::IAM::RolePolicy": (
        "RecordLastAccess's own-logs policy: tests/integration/test_least_privilege.py counts it among the "
        "role's grants; tests/unit/test_template.py checks it names the function's own log group."
    ),
    "AWS::Lambda::Alias": (
        "Stood in: what refers to the alias `live` (stream trigger, schedule, invoke permissions, the "
        "VerifyRequestFunctionArn output) is pointed at its function, so moto shows each wired to the right "
        "function but not to its alias; the version the alias would point at is checked here. That every "
        "entry point is at the alias: tests/unit/test_operations_template.py."
    ),
    "AWS::Lambda::LayerVersionPermission": (
        "The verifier layer shared with PlatformServiceAccounts: tests/unit/test_verify_invokers.py."
    ),
}
# Types moto can create, whose resources are left out because they refer to one it cannot.
LEFT_OUT_ALONG = {
    "AWS::Lambda::Permission": "API Gateway's permission to invoke each function: its SourceArn names the API.",
    "AWS::CloudWatch::Dashboard": "Its widgets name the API: tests/unit/test_operations_template.py.",
}
STOOD_IN = {"AWS::Lambda::Alias", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"}
# The types the checks below read: none of their resources may be left out.
CHECKED = (
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::Lambda::Function",
    "AWS::Lambda::LayerVersion",
    "AWS::IAM::Role",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::Events::Rule",
    "AWS::Lambda::EventSourceMapping",
)


@dataclass(frozen=True)
class Dropped:
    covered_by: str
    # What the AWS APIs show of the property on a resource (by logical ID), in the template's form.
    shown: Callable[[Stack, str], Any]


def _function(stack: Stack, name: str) -> dict[str, Any]:
    return stack.client("lambda").get_function_configuration(FunctionName=stack.physical[name])


def _layer_version(stack: Stack, name: str) -> dict[str, Any]:
    """The version a LayerVersion resource made (moto has no GetLayerVersionByArn)."""
    *_, layer_name, number = stack.physical[name].split(":")
    return stack.client("lambda").get_layer_version(LayerName=layer_name, VersionNumber=int(number))


def _time_to_live(stack: Stack, name: str) -> dict[str, Any] | None:
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=stack.physical[name])["TimeToLiveDescription"]
    return {"AttributeName": ttl["AttributeName"], "Enabled": True} if ttl["TimeToLiveStatus"] == "ENABLED" else None


def _recovery(stack: Stack, name: str) -> dict[str, bool]:
    backups = stack.client("dynamodb").describe_continuous_backups(TableName=stack.physical[name])
    status = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    return {"PointInTimeRecoveryEnabled": status == "ENABLED"}


def _encryption(stack: Stack, name: str) -> dict[str, bool]:
    table = stack.client("dynamodb").describe_table(TableName=stack.physical[name])["Table"]
    return {"SSEEnabled": table.get("SSEDescription", {}).get("Status") == "ENABLED"}


def _managed_policies(stack: Stack, name: str) -> list[str]:
    attached = stack.client("iam").list_attached_role_policies(RoleName=stack.physical[name])["AttachedPolicies"]
    return [policy["PolicyArn"] for policy in attached]


# (resource type, property) -> how it is covered instead; "Ref" is what a Ref of the resource gives.
DROPPED_BY_MOTO = {
    ("AWS::Lambda::Function", "Architectures"): Dropped(
        "tests/unit/test_template.py (arm64); layers/core/Makefile installs the aarch64 wheels, which "
        "tests/local/test_built_artifacts.py builds",
        lambda stack, name: _function(stack, name)["Architectures"],
    ),
    ("AWS::Lambda::Function", "Layers"): Dropped(
        "tests/unit/test_template.py (every function has the service layer); tests/local/test_built_artifacts.py "
        "runs every route from the built layer alone",
        lambda stack, name: [layer["Arn"] for layer in _function(stack, name).get("Layers", [])],
    ),
    ("AWS::Lambda::Function", "TracingConfig"): Dropped(
        "tests/unit/test_template.py (which functions trace); X-Ray itself is tested nowhere",
        lambda stack, name: _function(stack, name)["TracingConfig"],
    ),
    ("AWS::Lambda::LayerVersion", "CompatibleArchitectures"): Dropped(
        "tests/unit/test_template.py", lambda stack, name: _layer_version(stack, name).get("CompatibleArchitectures")
    ),
    ("AWS::Lambda::LayerVersion", "LayerName"): Dropped(
        "tests/unit/test_operations_template.py (a layer per stage); moto names each layer after its logical ID",
        lambda stack, name: stack.physical[name].split(":")[-2],
    ),
    ("AWS::Lambda::LayerVersion", "Ref"): Dropped(
        "moto's Ref of a layer version is no ARN, nor so the VerifierLayerArn output; the layers are found "
        "here by their content instead. That output's value is checked nowhere else either",
        lambda stack, name: stack.reported[name],
    ),
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"): Dropped(
        "tests/unit/test_template.py; the integration tests' tables get it from template.yaml "
        "(access_keys_tools.template.create_tables). TTL's deletions themselves are tested nowhere",
        _time_to_live,
    ),
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"): Dropped(
        "tests/unit/test_template.py (both tables)", _recovery
    ),
    ("AWS::DynamoDB::Table", "SSESpecification"): Dropped(
        "nowhere else (DynamoDB encrypts every table at rest; SSEEnabled picks the AWS managed key, and "
        ".checkov.yaml says why not a customer managed one). moto reads the API's `Enabled` for it",
        _encryption,
    ),
    ("AWS::IAM::Role", "ManagedPolicyArns"): Dropped(
        "SAM's AWS-managed logging and X-Ray policies: tests/integration/test_least_privilege.py names them as "
        "what it cannot see",
        _managed_policies,
    ),
}

# Each stage's parameters beyond the defaults, for a stack in `region`.
STAGES: dict[str, Callable[[str], dict[str, str]]] = {
    "dev": lambda region: {},
    "prod": lambda region: {
        "Stage": "prod",
        "AlarmTopicArn": f"arn:aws:sns:{region}:123456789012:access-keys-alarms",
        "PlatformServiceAccounts": "111111111111",
        "KeyCreatorArns": "arn:aws:iam::123456789012:role/operators/key-creator",
    },
}


# ------------------------------------------------------------------------------ the README
@dataclass(frozen=True)
class Bootstrap:
    """The README's operator block."""

    stack_name: str
    output_query: str  # `outputs()`'s --query, with $1 where the output's key goes
    exports: dict[str, str]  # each `export NAME=value` with a value of its own
    exports_of_outputs: dict[str, str]  # each `export NAME=$(outputs KEY)`: NAME -> KEY
    commands: list[list[str]]  # the arguments of each `access-keys` command that needs no earlier result

    @property
    def region(self) -> str:
        return self.exports["AWS_REGION"]


def _found(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text, re.DOTALL)
    assert match, f"README.md's operator block has nothing like {pattern!r}"
    return match


@cache
def readme_bootstrap() -> Bootstrap:
    section = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split("## Accounts and operators on AWS")[1]
    block = _found(r"```sh\n(.*?)```", section).group(1).replace("\\\n", " ")
    lines = [line.split(" #", 1)[0].strip() for line in block.splitlines()]
    outputs = next(line for line in lines if line.startswith("outputs()"))
    exports = [match for line in lines if (match := re.fullmatch(r"export (\w+)=(.+)", line))]
    return Bootstrap(
        stack_name=_found(r"--stack-name (\S+)", outputs).group(1),
        output_query=_found(r'--query "([^"]+)"', outputs).group(1),
        exports={match[1]: match[2] for match in exports if not match[2].startswith("$(")},
        exports_of_outputs={
            match[1]: _found(r"^\$\(outputs (\w+)\)$", match[2]).group(1)
            for match in exports
            if match[2].startswith("$(")
        },
        # `disable-key AKID...` and the like name what an earlier command printed.
        commands=[
            shlex.split(line)[1:] for line in lines if line.startswith(".venv/bin/access-keys ") and "..." not in line
        ],
    )


# --------------------------------------------------------------------------- the template
@cache
def _sam_transform() -> ModuleType:
    """tests/unit/sam_transform.py, loaded from its file: pytest puts tests/unit on the import path
    for the unit tests only."""
    spec = importlib.util.spec_from_file_location("sam_transform", PROJECT_ROOT / "tests/unit/sam_transform.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _referenced(node: Any) -> set[str]:
    """The logical IDs a template node names, by Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(node, list):
        return set().union(*(_referenced(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0] if isinstance(value, list) else value.split(".")[0])
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else value
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)} - set(variables)
            found |= _referenced(variables)
        else:
            found |= _referenced(value)
    return found


def _depends_on(resource: dict[str, Any]) -> set[str]:
    depends = resource.get("DependsOn", [])
    return {depends} if isinstance(depends, str) else set(depends)


def _pointed(node: Any, stand_ins: dict[str, dict[str, Any]]) -> Any:
    """`node` with each Ref and Fn::GetAtt of a stood-in resource replaced by its stand-in's value;
    `stand_ins` maps a logical ID to {"Ref": value, <attribute>: value, ...}."""
    if isinstance(node, list):
        return [_pointed(item, stand_ins) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref" and value in stand_ins:
            return stand_ins[value]["Ref"]
        if key == "Fn::GetAtt" and isinstance(value, list) and value[1] in stand_ins.get(value[0], {}):
            return stand_ins[value[0]][value[1]]
    return {key: _pointed(value, stand_ins) for key, value in node.items()}


def on_moto(template: dict[str, Any], stand_ins: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The template as moto can create it: the types it lacks left out, references to stand-ins
    pointed at them, and whatever still refers to something left out left out as well. Returns it,
    and what was left out along (logical ID -> type)."""
    template = _pointed(template, stand_ins)
    resources, outputs = template["Resources"], template.get("Outputs", {})
    gone = {name for name, resource in resources.items() if resource["Type"] in NOT_CREATED_BY_MOTO}
    along: dict[str, str] = {}
    while referring := {
        name
        for name, resource in resources.items()
        if name not in gone and (_referenced(resource) | _depends_on(resource)) & gone
    }:
        along |= {name: resources[name]["Type"] for name in referring}
        gone |= referring
    template["Resources"] = {name: resource for name, resource in resources.items() if name not in gone}
    template["Outputs"] = {key: output for key, output in outputs.items() if not _referenced(output) & gone}
    return template, along


def _zip(files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            archive.write(path, name)
    return buffer.getvalue()


def _files(folder: Path, prefix: str = "") -> dict[str, Path]:
    return {
        prefix + path.relative_to(folder).as_posix(): path
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.name != "Makefile"
    }


def build_artifacts() -> dict[str, bytes]:
    """The zips to upload, under the keys tests/unit/sam_transform.py gives the code locations: each
    function's folder, and each layer's packages under python/ (without the layer's pinned wheels:
    moto keeps the code and never runs it here)."""
    artifacts = {}
    for name, function in resources_of_type("AWS::Serverless::Function").items():
        artifacts[f"{name}.zip"] = _zip(_files(PROJECT_ROOT / function["Properties"]["CodeUri"]))
    for name, layer in resources_of_type("AWS::Serverless::LayerVersion").items():
        packages = [path.parent for path in (PROJECT_ROOT / layer["Properties"]["ContentUri"]).glob("*/__init__.py")]
        artifacts[f"{name}.zip"] = _zip({k: v for p in packages for k, v in _files(p, f"python/{p.name}/").items()})
    return artifacts


def _code_locations(template: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (code["S3Bucket"], code["S3Key"])
        for resource in template["Resources"].values()
        if "S3Key" in (code := resource["Properties"].get("Code") or resource["Properties"].get("Content") or {})
    }


def sha256(content: bytes) -> str:
    """As Lambda gives a code's CodeSha256."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


# ------------------------------------------------------------------------------ the stack
@dataclass
class Stack:
    name: str
    region: str
    parameters: dict[str, str]
    transformed: dict[str, Any]  # what SAM's transform makes of template.yaml
    artifacts: dict[str, bytes]  # S3 key -> the zip uploaded there
    deployed: dict[str, Any] = field(default_factory=dict)  # what moto was given
    left_out_along: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)  # logical ID -> physical ID
    reported: dict[str, str] = field(default_factory=dict)  # the physical IDs as moto reports them
    values: dict[str, Any] = field(default_factory=dict)  # what each reference resolves to (`value`)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)

    def value(self, node: Any) -> Any:
        """`node` as CloudFormation resolves it in this stack."""
        return resolve(node, self.values)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return resources_of_type(resource_type, self.deployed)

    def created(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The resources of this type whose condition holds."""
        return {name: resource for name, resource in self.resources(resource_type).items() if name in self.physical}


def _parameters_and_conditions(stack: Stack, account: str) -> dict[str, Any]:
    defaults = {name: str(spec.get("Default", "")) for name, spec in stack.transformed["Parameters"].items()}
    return {
        **defaults,
        **stack.parameters,
        "AWS::StackName": stack.name,
        "AWS::Region": stack.region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        **condition_values(stack.parameters, stack.transformed),
    }


# CloudFormation's names of the user pool's properties that CreateUserPool names otherwise, and the
# one CloudFormation sets by SetUserPoolMfaConfig instead.
_POOL_RENAMED = {"UserPoolName": "PoolName"}
_POOL_MFAS = "EnabledMfas"


def stand_in_accounts(stack: Stack) -> dict[str, dict[str, Any]]:
    """Each user pool and app client of the template, made through Cognito's API from its properties.
    A property CreateUserPool does not know fails here, rather than being dropped."""
    cognito = stack.client("cognito-idp")
    stand_ins: dict[str, dict[str, Any]] = {}
    for name, resource in resources_of_type("AWS::Cognito::UserPool", stack.transformed).items():
        properties = stack.value(resource["Properties"])
        request = {_POOL_RENAMED.get(key, key): value for key, value in properties.items() if key != _POOL_MFAS}
        pool = cognito.create_user_pool(**request)["UserPool"]
        if _POOL_MFAS in properties:
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                MfaConfiguration=properties["MfaConfiguration"],
                SoftwareTokenMfaConfiguration={"Enabled": "SOFTWARE_TOKEN_MFA" in properties[_POOL_MFAS]},
            )
        stand_ins[name] = {"Ref": pool["Id"], "Arn": pool["Arn"]}
        stack.values |= {name: pool["Id"], f"{name}.Arn": pool["Arn"]}
    for name, resource in resources_of_type("AWS::Cognito::UserPoolClient", stack.transformed).items():
        client = cognito.create_user_pool_client(**stack.value(resource["Properties"]))["UserPoolClient"]
        stand_ins[name] = {"Ref": client["ClientId"]}
        stack.values[name] = client["ClientId"]
    return stand_ins


def stand_in_aliases(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each alias, as its function's ARN."""
    return {
        name: {"Ref": {"Fn::GetAtt": [alias["Properties"]["FunctionName"]["Ref"], "Arn"]}}
        for name, alias in resources_of_type("AWS::Lambda::Alias", template).items()
    }


def _table(stack: Stack, name: str) -> dict[str, str]:
    table = stack.client("dynamodb").describe_table(TableName=name)["Table"]
    return {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn", "")}


def _queue(stack: Stack, url: str) -> dict[str, str]:
    queue = stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return {"Arn": queue["QueueArn"], "QueueName": url.rsplit("/", 1)[1]}


def _log_group(stack: Stack, name: str) -> dict[str, str]:
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return {"Arn": next(group["arn"] for group in groups if group["logGroupName"] == name)}


# The attributes the template reads of each type (Fn::GetAtt), from the AWS APIs, by physical ID.
_ATTRIBUTES: dict[str, Callable[[Stack, str], dict[str, str]]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::KMS::Key": lambda stack, key_id: {
        "Arn": next(key["KeyArn"] for key in stack.client("kms").list_keys()["Keys"] if key["KeyId"] == key_id)
    },
    "AWS::IAM::Role": lambda stack, name: {"Arn": stack.client("iam").get_role(RoleName=name)["Role"]["Arn"]},
    "AWS::Lambda::Function": lambda stack, name: {
        "Arn": stack.client("lambda").get_function_configuration(FunctionName=name)["FunctionArn"]
    },
    "AWS::Events::Rule": lambda stack, name: {"Arn": stack.client("events").describe_rule(Name=name)["Arn"]},
}


def _layer_versions_by_content(stack: Stack) -> dict[str, str]:
    """Each layer version's ARN, by the CodeSha256 of its content."""
    lambda_ = stack.client("lambda")
    return {
        lambda_.get_layer_version(LayerName=layer["LayerName"], VersionNumber=version["Version"])["Content"][
            "CodeSha256"
        ]: version["LayerVersionArn"]
        for layer in lambda_.list_layers()["Layers"]
        for version in lambda_.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]
    }


def _record(stack: Stack) -> None:
    """What was created, and what each reference to it resolves to."""
    summaries = stack.client("cloudformation").list_stack_resources(StackName=stack.name)["StackResourceSummaries"]
    assert {summary["ResourceStatus"] for summary in summaries} == {"CREATE_COMPLETE"}
    layers = _layer_versions_by_content(stack)
    for summary in summaries:
        name, resource_type = summary["LogicalResourceId"], summary["ResourceType"]
        physical = stack.reported[name] = summary["PhysicalResourceId"]
        if resource_type == "AWS::Lambda::LayerVersion":  # DROPPED_BY_MOTO: its Ref
            physical = layers[
                sha256(stack.artifacts[stack.deployed["Resources"][name]["Properties"]["Content"]["S3Key"]])
            ]
        stack.physical[name] = stack.values[name] = physical
        attributes = _ATTRIBUTES.get(resource_type, lambda *_: {})(stack, physical)
        stack.values |= {f"{name}.{attribute}": value for attribute, value in attributes.items()}


def create_stack(stage: str) -> Stack:
    """The stack `sam deploy` would make of template.yaml for this stage, on moto, as the README names it."""
    bootstrap = readme_bootstrap()
    parameters = STAGES[stage](bootstrap.region)
    transformed = _sam_transform().transformed(parameters)
    stack = Stack(bootstrap.stack_name, bootstrap.region, parameters, transformed, build_artifacts())
    stack.values = _parameters_and_conditions(stack, stack.client("sts").get_caller_identity()["Account"])
    stand_ins = stand_in_aliases(transformed) | stand_in_accounts(stack)
    stack.deployed, stack.left_out_along = on_moto(transformed, stand_ins)

    s3 = stack.client("s3")
    locations = _code_locations(transformed)
    assert {key for _, key in locations} == set(stack.artifacts)  # a zip for each code location, and no other
    for bucket in {bucket for bucket, _ in locations}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": stack.region})
    for bucket, key in locations:
        s3.put_object(Bucket=bucket, Key=key, Body=stack.artifacts[key])

    cloudformation = stack.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack.name,
        TemplateBody=json.dumps(stack.deployed),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(StackName=stack.name, WaiterConfig={"Delay": 0})
    _record(stack)
    return stack


@pytest.fixture(scope="module", params=sorted(STAGES))
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with mock_aws():
        yield create_stack(request.param)


# ----------------------------------------------------------------------- the lists hold
def test_moto_lacks_exactly_the_types_listed_and_nothing_checked_is_left_out(stack: Stack) -> None:
    types = {resource["Type"] for resource in stack.transformed["Resources"].values()}

    assert types - set(get_model_map()) == set(NOT_CREATED_BY_MOTO)
    assert set(NOT_CREATED_BY_MOTO) >= STOOD_IN
    assert set(stack.left_out_along.values()) == set(LEFT_OUT_ALONG)
    for resource_type in CHECKED:
        assert set(stack.resources(resource_type)) == set(resources_of_type(resource_type, stack.transformed))


def test_moto_still_drops_what_it_is_listed_to_drop(stack: Stack) -> None:
    for (resource_type, name), dropped in DROPPED_BY_MOTO.items():
        declared = {
            logical: stack.value({"Ref": logical} if name == "Ref" else resource["Properties"][name])
            for logical, resource in stack.created(resource_type).items()
            if name == "Ref" or name in resource["Properties"]
        }
        assert declared, f"nothing sets {resource_type} {name} any more: take it out of DROPPED_BY_MOTO"
        for logical, value in declared.items():
            assert dropped.shown(stack, logical) != value, (
                f"moto now carries {resource_type} {name} ({logical}): check it here, out of DROPPED_BY_MOTO"
            )


# ----------------------------------------------------------------------------- the resources
def test_the_stack_is_complete_with_each_output(stack: Stack) -> None:
    (described,) = stack.client("cloudformation").describe_stacks(StackName=stack.name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}
    declared = {
        key: output
        for key, output in stack.deployed["Outputs"].items()
        if "Condition" not in output or stack.values[f"Condition:{output['Condition']}"]
    }

    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert set(outputs) == set(declared)
    layers = set(stack.resources("AWS::Lambda::LayerVersion"))
    for key, output in declared.items():
        if not _referenced(output) & layers:  # DROPPED_BY_MOTO: a layer version's Ref
            assert outputs[key] == stack.value(output["Value"]), key


def test_the_tables_have_their_keys_billing_protection_and_stream(stack: Stack) -> None:
    tables = stack.created("AWS::DynamoDB::Table")

    assert set(tables) == {"KeysTable", "AccessRecordsTable"}
    for name, resource in tables.items():
        properties = stack.value(resource["Properties"])
        table = stack.client("dynamodb").describe_table(TableName=stack.physical[name])["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == properties["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(properties["AttributeDefinitions"], key=str)
        assert table["BillingModeSummary"]["BillingMode"] == properties["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionProtectionEnabled"] is properties["DeletionProtectionEnabled"]
        assert table["DeletionProtectionEnabled"] is (stack.values["Stage"] == "prod")
        stream = properties.get("StreamSpecification")
        assert table.get("StreamSpecification") == ({"StreamEnabled": True, **stream} if stream else None)
    assert tables["AccessRecordsTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_the_secrets_key_rotates_under_its_policy_and_alias(stack: Stack) -> None:
    kms_client = stack.client("kms")
    ((name, key),) = stack.created("AWS::KMS::Key").items()
    ((alias_name, alias),) = stack.created("AWS::KMS::Alias").items()
    key_id = stack.physical[name]

    assert key["Properties"]["EnableKeyRotation"] is True
    assert kms_client.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    policy = kms_client.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    policy = json.loads(policy) if isinstance(policy, str) else policy  # moto keeps a template's policy unserialised
    sids = [statement["Sid"] for statement in policy["Statement"]]
    assert sids == [statement["Sid"] for statement in key["Properties"]["KeyPolicy"]["Statement"]]
    aliases = [entry["AliasName"] for entry in kms_client.list_aliases(KeyId=key_id)["Aliases"]]
    assert aliases == [stack.value(alias["Properties"]["AliasName"])] == [f"alias/{stack.name}-secrets"]
    assert stack.physical[alias_name] == aliases[0]


def test_every_function_runs_its_own_code_with_the_template_settings(stack: Stack) -> None:
    lambda_ = stack.client("lambda")
    functions = stack.created("AWS::Lambda::Function")

    assert set(functions) == set(resources_of_type("AWS::Serverless::Function"))
    for name, resource in functions.items():
        properties = resource["Properties"]
        config = lambda_.get_function_configuration(FunctionName=stack.physical[name])
        assert config["Runtime"] == properties["Runtime"] == "python3.13"
        assert config["Handler"] == properties["Handler"] == "app.lambda_handler"
        for setting in ("MemorySize", "Timeout", "Description", "Role"):
            assert config[setting] == stack.value(properties[setting]), (name, setting)
        assert config["CodeSha256"] == sha256(stack.artifacts[properties["Code"]["S3Key"]]), name
        assert config["Environment"]["Variables"] == stack.value(properties["Environment"]["Variables"]), name
        if "ReservedConcurrentExecutions" in properties:
            reserved = lambda_.get_function_concurrency(FunctionName=stack.physical[name])
            assert reserved["ReservedConcurrentExecutions"] == properties["ReservedConcurrentExecutions"], name
        # The version the alias `live` would point at (STOOD_IN) is published.
        versions = lambda_.list_versions_by_function(FunctionName=stack.physical[name])["Versions"]
        assert [version["Version"] for version in versions] == ["$LATEST", "1"], name


def test_the_functions_are_set_to_the_stacks_own_tables_and_key(stack: Stack) -> None:
    key_ids = {key["KeyId"] for key in stack.client("kms").list_keys()["Keys"]}

    for name in stack.created("AWS::Lambda::Function"):
        variables = _function(stack, name)["Environment"]["Variables"]
        assert variables["KEYS_TABLE_NAME"] == stack.physical["KeysTable"], name
        assert variables["RECORDS_TABLE_NAME"] == stack.physical["AccessRecordsTable"], name
        assert variables["SECRETS_KMS_KEY_ID"] == stack.physical["SecretsKey"], name
        for table in (variables["KEYS_TABLE_NAME"], variables["RECORDS_TABLE_NAME"]):
            assert stack.client("dynamodb").describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
        assert variables["SECRETS_KMS_KEY_ID"] in key_ids


def test_the_layers_hold_their_packages_for_python_3_13(stack: Stack) -> None:
    layers = stack.created("AWS::Lambda::LayerVersion")

    assert len(layers) == len(resources_of_type("AWS::Serverless::LayerVersion"))
    for name, resource in layers.items():
        properties = resource["Properties"]
        version = _layer_version(stack, name)
        assert version["Content"]["CodeSha256"] == sha256(stack.artifacts[properties["Content"]["S3Key"]]), name
        assert version["CompatibleRuntimes"] == properties["CompatibleRuntimes"] == ["python3.13"], name
        assert version["Description"] == properties["Description"], name


def test_the_roles_have_their_paths_trust_and_inline_policies(stack: Stack) -> None:
    iam = stack.client("iam")
    roles = stack.created("AWS::IAM::Role")
    functions = stack.created("AWS::Lambda::Function").values()

    assert {stack.value(function["Properties"]["Role"]) for function in functions} <= {
        stack.values[f"{name}.Arn"] for name in roles
    }
    for name, resource in roles.items():
        properties = stack.value(resource["Properties"])
        role = iam.get_role(RoleName=stack.physical[name])["Role"]
        assert role["Path"] == properties.get("Path", "/"), name
        trusted = [statement["Principal"] for statement in role["AssumeRolePolicyDocument"]["Statement"]]
        assert trusted == [statement["Principal"] for statement in properties["AssumeRolePolicyDocument"]["Statement"]]
        policies = {policy["PolicyName"]: policy["PolicyDocument"] for policy in properties.get("Policies", [])}
        assert iam.list_role_policies(RoleName=stack.physical[name])["PolicyNames"] == list(policies), name
        for policy_name, document in policies.items():
            shown = iam.get_role_policy(RoleName=stack.physical[name], PolicyName=policy_name)["PolicyDocument"]
            # moto keeps a template's policy as the object it was given, and answers with its repr.
            assert (ast.literal_eval(shown) if isinstance(shown, str) else shown) == document, (name, policy_name)


def test_the_failures_queue_keeps_messages_14_days_encrypted(stack: Stack) -> None:
    ((name, queue),) = stack.created("AWS::SQS::Queue").items()
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=stack.physical[name], AttributeNames=["All"])

    assert queue["Properties"] == {"MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}
    for setting, value in queue["Properties"].items():
        assert attributes["Attributes"][setting] == str(value).lower(), setting


def test_every_function_logs_to_its_own_group_with_the_template_retention(stack: Stack) -> None:
    groups = {group["logGroupName"]: group for group in stack.client("logs").describe_log_groups()["logGroups"]}

    for name, resource in stack.created("AWS::Logs::LogGroup").items():
        properties = stack.value(resource["Properties"])
        group = groups[stack.physical[name]]
        assert group["retentionInDays"] == int(properties["RetentionInDays"]), name
        assert group["logGroupName"] == properties.get("LogGroupName", group["logGroupName"]), name
    for name in stack.created("AWS::Lambda::Function"):
        assert f"/aws/lambda/{stack.physical[name]}" in groups, name


def test_the_cleanup_runs_on_its_schedule(stack: Stack) -> None:
    events = stack.client("events")
    ((name, resource),) = stack.created("AWS::Events::Rule").items()
    properties = stack.value(resource["Properties"])
    rule = events.describe_rule(Name=stack.physical[name])
    targets = [target["Arn"] for target in events.list_targets_by_rule(Rule=stack.physical[name])["Targets"]]

    assert rule["ScheduleExpression"] == properties["ScheduleExpression"] == stack.values["CleanupSchedule"]
    assert rule["State"] == "ENABLED"
    assert targets == [target["Arn"] for target in properties["Targets"]] == [stack.values["CleanupFunction.Arn"]]


def test_the_access_records_stream_feeds_record_last_access(stack: Stack) -> None:
    ((name, resource),) = stack.created("AWS::Lambda::EventSourceMapping").items()
    properties = stack.value(resource["Properties"])
    mapping = stack.client("lambda").get_event_source_mapping(UUID=stack.physical[name])

    assert mapping["EventSourceArn"] == properties["EventSourceArn"] == stack.values["AccessRecordsTable.StreamArn"]
    assert mapping["FunctionArn"] == properties["FunctionName"] == stack.values["RecordLastAccessFunction.Arn"]
    assert mapping["DestinationConfig"] == properties["DestinationConfig"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == stack.values["LastAccessFailuresQueue.Arn"]
    assert mapping["State"] == "Enabled"
    for setting, value in properties.items():
        if setting not in ("EventSourceArn", "FunctionName", "DestinationConfig", "Enabled"):
            assert mapping[setting] == value, setting


def _policy(stack: Stack, function: str) -> list[dict[str, Any]]:
    """The statements of a function's resource policy; none if it has none."""
    lambda_ = stack.client("lambda")
    try:
        return json.loads(lambda_.get_policy(FunctionName=function)["Policy"])["Statement"]
    except lambda_.exceptions.ResourceNotFoundException:
        return []


def test_each_invoke_permission_is_on_its_function(stack: Stack) -> None:
    permissions = stack.created("AWS::Lambda::Permission")

    assert permissions  # the schedule's, and in prod one per platform service account
    for name, resource in permissions.items():
        properties = resource["Properties"]
        source = properties.get("SourceArn")
        condition = {"ArnLike": {"AWS:SourceArn": stack.value(source)}} if source else None
        assert any(
            statement["Action"] == properties["Action"] and statement.get("Condition") == condition
            for statement in _policy(stack, stack.value(properties["FunctionName"]))
        ), name


def test_only_the_platform_service_accounts_may_invoke_the_verifier(stack: Stack) -> None:
    accounts = [account for account in stack.values["PlatformServiceAccounts"].split(",") if account]
    statements = _policy(stack, stack.values["VerifyRequestFunction.Arn"])

    # moto gives each principal as the template wrote it (AWS would say arn:aws:iam::<account>:root).
    assert [statement["Principal"] for statement in statements] == accounts
    assert {statement["Action"] for statement in statements} <= {"lambda:InvokeFunction"}


def test_the_accounts_pool_signs_in_by_email_with_mfa_and_an_immutable_uin(stack: Stack) -> None:
    cognito = stack.client("cognito-idp")
    pool_id, client_id = stack.values["AccountsUserPool"], stack.values["AccountsConsoleClient"]
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    prod = stack.values["Stage"] == "prod"

    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == ("ON" if prod else "OPTIONAL")
    assert cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    (uin,) = [attribute for attribute in pool["SchemaAttributes"] if attribute["Name"] == "custom:uin"]
    assert (uin["Mutable"], uin["StringAttributeConstraints"]) == (False, {"MinLength": "1", "MaxLength": "64"})
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert (pool["DeletionProtection"], pool["UserPoolTier"]) == (
        ("ACTIVE", "PLUS") if prod else ("INACTIVE", "ESSENTIALS")
    )
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert "ClientSecret" not in client
    assert (client["IdTokenValidity"], client["RefreshTokenValidity"]) == (15, 12)
    assert "custom:uin" in client["ReadAttributes"]
    console = _function(stack, "ConsoleFunction")["Environment"]["Variables"]
    assert (console["ACCOUNTS_USER_POOL_ID"], console["ACCOUNTS_CLIENT_ID"]) == (pool_id, client_id)


# ------------------------------------------------------------------------------ the bootstrap
def _forget_settings() -> None:
    """The service reads its settings, binds its tables and makes its clients once per process."""
    settings.cache_clear()
    bind_tables.cache_clear()
    kms._client.cache_clear()
    admin.operator.cache_clear()
    key_material.forget_all()


@pytest.fixture
def operator_shell(stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment the README's exports make from this stack's outputs, and nothing else that
    names a region: no AWS_DEFAULT_REGION, an empty AWS config file."""
    bootstrap = readme_bootstrap()
    described = stack.client("cloudformation").describe_stacks(StackName=bootstrap.stack_name)

    def outputs(key: str) -> str:  # `--output text` prints the query's values separated by tabs
        return "\t".join(jmespath.search(bootstrap.output_query.replace("$1", key), described))

    environment = bootstrap.exports | {name: outputs(key) for name, key in bootstrap.exports_of_outputs.items()}
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    (tmp_path / "aws-config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # main() points the service's process-wide log handler at this test's stderr; restore it afterwards.
    monkeypatch.setattr(logger.registered_handler, "stream", logger.registered_handler.stream)
    _forget_settings()
    yield environment
    _forget_settings()


@pytest.fixture
def stream_invocations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions moto's stream trigger invokes, recorded instead of run: moto would run each in
    Docker, once for every write to the records table."""
    invoked: list[str] = []

    def record(function: LambdaFunction, *_: Any, **__: Any) -> bytes:
        invoked.append(function.function_name)
        return b"{}"

    monkeypatch.setattr(LambdaFunction, "invoke", record)
    return invoked


def _scan(stack: Stack, logical: str) -> list[dict[str, Any]]:
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.physical[logical])
    return [item for page in pages for item in page["Items"]]


def test_the_readme_bootstrap_makes_an_account_and_its_first_key_in_the_stack(
    stack: Stack,
    operator_shell: dict[str, str],
    stream_invocations: list[str],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    commands = readme_bootstrap().commands
    (create_account,) = [command for command in commands if command[:2] == ["admin", "create-account"]]
    uin, email = (create_account[create_account.index(option) + 1] for option in ("--uin", "--email"))
    assert ["admin", "create-key", "--uin", uin] == next(c for c in commands if c[1] == "create-key")[:4]
    assert operator_shell == {
        "AWS_REGION": stack.region,
        "KEYS_TABLE_NAME": stack.physical["KeysTable"],
        "RECORDS_TABLE_NAME": stack.physical["AccessRecordsTable"],
        "SECRETS_KMS_KEY_ID": stack.physical["SecretsKey"],
        "ACCOUNTS_USER_POOL_ID": stack.values["AccountsUserPool"],
        # The README's block is the dev stack's; its metric namespace, the stage's.
        "POWERTOOLS_METRICS_NAMESPACE": "AccessKeys/dev",
    }

    printed = {}
    for command in commands:
        capsys.readouterr()
        exit_code = cli.main(command)
        out, err = capsys.readouterr()
        LEDGER.saw_log(f"{request.node.nodeid} ({shlex.join(command)}, stderr)", err)
        assert exit_code == 0, f"access-keys {shlex.join(command)} exited {exit_code}:\n{err}"
        printed[command[1]] = out

    # The sign-in is a user of the stack's pool, with the account's Uin.
    user = stack.client("cognito-idp").admin_get_user(UserPoolId=stack.values["AccountsUserPool"], Username=email)
    attributes = {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}
    assert (attributes["custom:uin"], attributes["email"], user["UserStatus"]) == (uin, email, "FORCE_CHANGE_PASSWORD")
    # The key is in the stack's keys table, its SecretKey encrypted with the stack's key.
    LEDGER.saw_response(printed["create-key"])
    created = json.loads(printed["create-key"])["AccessKey"]
    item = stack.client("dynamodb").get_item(
        TableName=stack.physical["KeysTable"], Key={"SecretId": {"S": created["SecretId"]}}, ConsistentRead=True
    )["Item"]
    assert (item["Uin"]["S"], item["Status"]["S"]) == (uin, "Active")
    decrypted = stack.client("kms").decrypt(
        CiphertextBlob=item["EncryptedSecretKey"]["B"], EncryptionContext={"SecretId": created["SecretId"], "Uin": uin}
    )
    assert (decrypted["KeyId"], decrypted["Plaintext"].decode()) == (
        stack.values["SecretsKey.Arn"],
        created["SecretKey"],
    )
    for logical in ("KeysTable", "AccessRecordsTable"):
        LEDGER.saw_items(stack.physical[logical], _scan(stack, logical))
    # Each action is audited: in the account's activity, which lives in the stack's records table, and
    # by the OperatorActions metric, in the stack's region.
    assert "CreateAccount" in printed["activity"]
    assert "CreateAccessKey" in printed["activity"]
    metrics = stack.client("cloudwatch").list_metrics(MetricName="OperatorActions")["Metrics"]
    actions = {d["Value"] for metric in metrics for d in metric["Dimensions"] if d["Name"] == "Action"}
    assert {"CreateAccount", "CreateAccessKey"} <= actions
    # Those writes reached the stream trigger, which moto does not filter, and it invoked RecordLastAccess alone.
    assert set(stream_invocations) == {stack.physical["RecordLastAccessFunction"]}
