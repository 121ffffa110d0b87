"""What a deployer relies on in template.yaml: routes, handlers, runtime, logs, least privilege, data safety.

No AWS here: the template is read as YAML (with its short intrinsic tags) and the function
folders are read from disk.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from access_keys_tools.template import PROJECT_ROOT, load_template, resources_of_type

# The HTTP routes of the contract (API.md): operation -> (method, path).
ROUTES = {
    "CreateAccessKey": ("POST", "/v1/access-keys"),
    "ListAccessKeys": ("GET", "/v1/access-keys"),
    "GetAccessKey": ("GET", "/v1/access-keys/{SecretId}"),
    "UpdateAccessKey": ("PATCH", "/v1/access-keys/{SecretId}"),
    "DeleteAccessKey": ("DELETE", "/v1/access-keys/{SecretId}"),
    "ListAccessRecords": ("GET", "/v1/access-keys/{SecretId}/access-records"),
}
API_FUNCTIONS = [f"{operation}Function" for operation in ROUTES]

# What each API function's code calls, per table: every request is authenticated
# (consistent GetItem of the caller's key) and recorded (PutItem of one access record).
DYNAMODB_ACTIONS_NEEDED = {
    "CreateAccessKeyFunction": {
        # TransactWriteItems of the key put and the account-item quota update.
        "KeysTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "AccessRecordsTable": {"dynamodb:PutItem"},
    },
    "ListAccessKeysFunction": {
        # The account item, then its keys.
        "KeysTable": {"dynamodb:GetItem", "dynamodb:BatchGetItem"},
        "AccessRecordsTable": {"dynamodb:PutItem"},
    },
    "GetAccessKeyFunction": {
        "KeysTable": {"dynamodb:GetItem"},
        "AccessRecordsTable": {"dynamodb:PutItem"},
    },
    "UpdateAccessKeyFunction": {
        "KeysTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        "AccessRecordsTable": {"dynamodb:PutItem"},
    },
    "DeleteAccessKeyFunction": {
        # TransactWriteItems of the key delete and the account-item update; nothing is put.
        "KeysTable": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"},
        "AccessRecordsTable": {"dynamodb:PutItem"},
    },
    "ListAccessRecordsFunction": {
        "KeysTable": {"dynamodb:GetItem"},
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:Query"},
    },
}


def functions() -> dict[str, dict[str, Any]]:
    return resources_of_type("AWS::Serverless::Function")


def function_globals() -> dict[str, Any]:
    return load_template()["Globals"]["Function"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a value, intrinsic functions included (a Sub's template, a Join's parts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def referenced_resource(value: Any) -> str | None:
    """The logical id an IAM Resource names through !GetAtt X.Arn or !Ref X, else None."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return None


def statements(function_name: str) -> list[dict[str, Any]]:
    """The inline IAM statements of a function's Policies."""
    found = []
    for policy in as_list(functions()[function_name]["Properties"].get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(as_list(policy["Statement"]))
    return found


def granted(function_name: str) -> set[tuple[str, str | None]]:
    """{(action, resource logical id)} that a function's inline statements allow."""
    return {
        (action, referenced_resource(resource))
        for statement in statements(function_name)
        if statement.get("Effect") == "Allow"
        for action in as_list(statement.get("Action", []))
        for resource in as_list(statement.get("Resource", []))
    }


def defines_top_level_function(module: Path, name: str) -> bool:
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name for node in tree.body)


# ---------------------------------------------------------------------------- routes and handlers


def test_each_contract_route_is_served_by_its_own_function_on_the_api() -> None:
    served: dict[tuple[str, str], str] = {}
    for name, function in functions().items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            properties = event["Properties"]
            route = (properties["Method"].upper(), properties["Path"])
            assert route not in served, f"{route} is served by both {served[route]} and {name}"
            served[route] = name
            # Without ApiId, SAM puts the route on an implicit second API with no throttling.
            assert properties.get("ApiId") == {"Ref": "AccessKeysApi"}, f"{name} {route}"
            # The handlers parse API Gateway payload 2.0.
            assert properties.get("PayloadFormatVersion") == "2.0", f"{name} {route}"

    assert served == {route: f"{operation}Function" for operation, route in ROUTES.items()}


@pytest.mark.parametrize("function_name", sorted(functions()))
def test_function_code_folder_has_the_handler_the_template_names(function_name: str) -> None:
    properties = functions()[function_name]["Properties"]
    handler = properties.get("Handler", function_globals().get("Handler"))
    module_name, handler_name = handler.rsplit(".", 1)

    module = PROJECT_ROOT / properties["CodeUri"] / f"{module_name.replace('.', '/')}.py"

    assert handler == "app.lambda_handler"
    assert module.is_file(), f"{function_name}: {module} does not exist"
    assert defines_top_level_function(module, handler_name), f"{module} defines no {handler_name}"


def test_every_function_folder_is_deployed_by_the_template() -> None:
    folders = {path.parent.resolve() for path in (PROJECT_ROOT / "functions").glob("*/app.py")}
    deployed = {(PROJECT_ROOT / function["Properties"]["CodeUri"]).resolve() for function in functions().values()}

    assert folders, "no functions/*/app.py found"
    assert folders - deployed == set(), "handlers that no function of template.yaml deploys"


def test_functions_share_the_service_layer() -> None:
    # Every handler imports access_keys, which only the layer provides.
    assert {"Ref": "ServiceLayer"} in function_globals()["Layers"]
    for name, function in functions().items():
        assert "Layers" not in function["Properties"], f"{name} replaces the global layers"


def test_functions_get_the_settings_the_service_reads() -> None:
    variables = function_globals()["Environment"]["Variables"]

    assert variables["KEYS_TABLE_NAME"] == {"Ref": "KeysTable"}
    assert variables["RECORDS_TABLE_NAME"] == {"Ref": "AccessRecordsTable"}
    assert variables["SECRETS_KMS_KEY_ID"] == {"Ref": "SecretsKey"}


# ------------------------------------------------------------------------- runtime and build


def test_functions_run_python_3_13_on_arm64() -> None:
    assert function_globals()["Runtime"] == "python3.13"
    assert function_globals()["Architectures"] == ["arm64"]
    for name, function in functions().items():
        assert function["Properties"].get("Runtime", "python3.13") == "python3.13", name
        assert function["Properties"].get("Architectures", ["arm64"]) == ["arm64"], name


def test_layer_is_built_for_python_3_13_on_arm64() -> None:
    layer = resources_of_type("AWS::Serverless::LayerVersion")["ServiceLayer"]

    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Metadata"].get("BuildArchitecture") == "arm64"
    assert "python3.13" in layer["Properties"]["CompatibleRuntimes"]


# ------------------------------------------------------------------------------------- logs


@pytest.mark.parametrize("function_name", sorted(functions()))
def test_each_function_has_a_log_group_with_retention(function_name: str) -> None:
    log_groups = [
        group["Properties"]
        for group in resources_of_type("AWS::Logs::LogGroup").values()
        # The exact name Lambda writes to; any other name would leave Lambda creating its own, forever.
        if group["Properties"].get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{function_name}}}"}
    ]

    assert len(log_groups) == 1, f"{function_name} needs exactly one log group named after it"
    assert log_groups[0].get("RetentionInDays") is not None


# ------------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("function_name", sorted(functions()))
def test_function_policies_name_exact_actions_on_exact_resources(function_name: str) -> None:
    for policy in as_list(functions()[function_name]["Properties"].get("Policies", [])):
        # A managed policy by name is outside the template and usually far broader than needed.
        assert not isinstance(policy, str), f"{function_name} uses the managed policy {policy}"
    for statement in statements(function_name):
        sid = statement.get("Sid", statement)
        assert "NotAction" not in statement, f"{function_name} {sid}"
        assert "NotResource" not in statement, f"{function_name} {sid}"
        assert statement.get("Action"), f"{function_name} {sid} has no Action"
        assert statement.get("Resource"), f"{function_name} {sid} has no Resource"
        for action in strings_in(statement["Action"]):
            assert not {"*", "?"} & set(action), f"{function_name} {sid}: Action {action}"
        for text in strings_in(statement["Resource"]):
            assert "*" not in text, f"{function_name} {sid}: Resource {text}"


@pytest.mark.parametrize("function_name", API_FUNCTIONS)
def test_api_function_can_authenticate_and_record_every_request(function_name: str) -> None:
    permissions = granted(function_name)

    assert ("dynamodb:GetItem", "KeysTable") in permissions
    assert ("dynamodb:PutItem", "AccessRecordsTable") in permissions
    assert ("kms:Decrypt", "SecretsKey") in permissions


@pytest.mark.parametrize("function_name", API_FUNCTIONS)
@pytest.mark.parametrize("table", ["KeysTable", "AccessRecordsTable"])
def test_api_function_has_exactly_the_dynamodb_actions_its_code_calls(function_name: str, table: str) -> None:
    on_table = {
        action for action, resource in granted(function_name) if resource == table and action.startswith("dynamodb:")
    }

    assert on_table == DYNAMODB_ACTIONS_NEEDED[function_name][table]


def test_only_create_access_key_can_encrypt_secrets() -> None:
    encrypting = {name for name in functions() if any(action == "kms:Encrypt" for action, _ in granted(name))}

    assert encrypting == {"CreateAccessKeyFunction"}
    assert ("kms:Encrypt", "SecretsKey") in granted("CreateAccessKeyFunction")


# ------------------------------------------------------------------------------- data safety


@pytest.mark.parametrize("logical_id", ["KeysTable", "AccessRecordsTable"])
def test_table_is_on_demand_with_point_in_time_recovery(logical_id: str) -> None:
    table = resources_of_type("AWS::DynamoDB::Table")[logical_id]

    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    # Keys and records must outlive a stack deletion or a replacement.
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_access_records_expire_and_stream_their_new_image() -> None:
    properties = resources_of_type("AWS::DynamoDB::Table")["AccessRecordsTable"]["Properties"]

    assert properties["TimeToLiveSpecification"]["Enabled"] is True
    assert properties["TimeToLiveSpecification"]["AttributeName"]
    assert properties["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"


def test_secrets_key_rotates_and_is_retained() -> None:
    key = resources_of_type("AWS::KMS::Key")["SecretsKey"]

    assert key["Properties"]["EnableKeyRotation"] is True
    # Deleting the key would make every stored SecretKey unreadable.
    assert key["DeletionPolicy"] == "Retain"


def test_outputs_name_the_api_and_the_tables() -> None:
    outputs = load_template()["Outputs"]

    assert "${AccessKeysApi}" in outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert outputs["KeysTableName"]["Value"] == {"Ref": "KeysTable"}
    assert outputs["AccessRecordsTableName"]["Value"] == {"Ref": "AccessRecordsTable"}
