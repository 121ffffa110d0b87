"""What a deployer relies on in template.yaml: routes, handlers, runtime, logs, least privilege, data safety.

No AWS here: the template is read as YAML (with its short intrinsic tags) and the function
folders are read from disk.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from access_keys_tools.template import PROJECT_ROOT, condition_values, load_template, resources_of_type

# The HTTP routes of the contract (API.md): operation -> (method, path).
ROUTES = {
    "CreateAccessKey": ("POST", "/v1/access-keys"),
    "ListAccessKeys": ("GET", "/v1/access-keys"),
    "GetAccessKey": ("GET", "/v1/access-keys/{SecretId}"),
    "UpdateAccessKey": ("PATCH", "/v1/access-keys/{SecretId}"),
    "DeleteAccessKey": ("DELETE", "/v1/access-keys/{SecretId}"),
    "ListAccessRecords": ("GET", "/v1/access-keys/{SecretId}/access-records"),
    "ListActivity": ("GET", "/v1/activity"),
    # Tencent Cloud API 3.0: CAM's access-key actions, named by the X-TC-Action header.
    "TencentCloudApi": ("POST", "/"),
}
# The same operations for a signed-in user's session, behind the JWT authorizer, on the same functions.
SESSION_ROUTES = {
    (method, path.replace("/v1/", "/v1/session/", 1)): f"{operation}Function"
    for operation, (method, path) in ROUTES.items()
    if path.startswith("/v1/")
}
# The same function and actions with the parameters in the query (Tencent's reqMethod "GET").
CLOUD_API_GET_ROUTE = {("GET", "/"): "TencentCloudApiFunction"}
API_FUNCTIONS = [f"{operation}Function" for operation in ROUTES]
# The API Keys Management page: static files, unsigned, no AWS call.
CONSOLE_ROUTES = {("GET", "/console"), ("GET", "/console/{asset}")}

# What each API function's code calls, per table: every request is authenticated
# (consistent GetItem of the caller's key) and recorded (PutItem of one access record).
DYNAMODB_ACTIONS_NEEDED = {
    "CreateAccessKeyFunction": {
        # TransactWriteItems of the key put and the account-item quota update.
        "KeysTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        # Its access record and the used-signature guard (PutItem), a failed attempt's count (UpdateItem).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "ListAccessKeysFunction": {
        # The account item, then its keys.
        "KeysTable": {"dynamodb:GetItem", "dynamodb:BatchGetItem"},
        # Its access record and the used-signature guard (PutItem), a failed attempt's count (UpdateItem).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "GetAccessKeyFunction": {
        "KeysTable": {"dynamodb:GetItem"},
        # Its access record and the used-signature guard (PutItem), a failed attempt's count (UpdateItem).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "UpdateAccessKeyFunction": {
        "KeysTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        # Its access record and the used-signature guard (PutItem), a failed attempt's count (UpdateItem).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "DeleteAccessKeyFunction": {
        # TransactWriteItems of the key delete, the account-item update and the put of the
        # DELETED#<SecretId> tombstone the cleanup removes the key's records through.
        "KeysTable": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:PutItem"},
        # Its access record and the used-signature guard (PutItem), a failed attempt's count (UpdateItem).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "ListAccessRecordsFunction": {
        "KeysTable": {"dynamodb:GetItem"},
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    },
    "ListActivityFunction": {
        "KeysTable": {"dynamodb:GetItem"},
        # Its access record, a failed attempt's count, and the account's activity partition (Query).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    },
    "TencentCloudApiFunction": {
        # What CreateAccessKey, ListAccessKeys, UpdateAccessKey and DeleteAccessKey call between them.
        "KeysTable": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        # Its access record and the used-signature guard (PutItem), a failed attempt's count (UpdateItem).
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
}

# The stream reads of an event source mapping, which run with the function's role.
STREAM_READ_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}

# The same for the functions outside the API, per resource (a table's stream is its own resource).
BACKGROUND_DYNAMODB_ACTIONS_NEEDED = {
    "VerifyRequestFunction": {
        # The claimed key (GetItem), its access record and the single-use guard (PutItem), a
        # failed attempt's count and ReportAccessOutcome's change to Failure (UpdateItem).
        "KeysTable": {"dynamodb:GetItem"},
        "AccessRecordsTable": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "RecordLastAccessFunction": {
        # One conditional update of LastAccessTime per key per batch; nothing else on any table.
        "KeysTable": {"dynamodb:UpdateItem"},
        "AccessRecordsTable.StreamArn": STREAM_READ_ACTIONS,
    },
    "CleanupFunction": {
        # Scan for tombstones and keys, the run lease and checkpoint (UpdateItem), a tombstone's delete.
        "KeysTable": {"dynamodb:Scan", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
        # A key's records, per shard, deleted in batches.
        "AccessRecordsTable": {"dynamodb:Query", "dynamodb:BatchWriteItem"},
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


DEFAULT_CONDITIONS = condition_values({})
KEYS_TABLE = {"Fn::If": ["UsesRestoredKeysTable", {"Ref": "RestoredKeysTableName"}, {"Ref": "KeysTable"}]}


def referenced_resource(value: Any) -> str | None:
    """The logical id an IAM Resource names through !GetAtt X.Arn or !Ref X, else None.

    Any other attribute is a resource of its own and comes back as "X.Attribute" (a table's
    StreamArn is not the table). An !If is read as the stack's parameter defaults choose it (the
    keys table the stack made, not one restored by RestoredKeysTableName).
    """
    if isinstance(value, dict) and "Fn::If" in value:
        condition, if_true, if_false = value["Fn::If"]
        return referenced_resource(if_true if DEFAULT_CONDITIONS[f"Condition:{condition}"] else if_false)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return logical_id if attribute == "Arn" else f"{logical_id}.{attribute}"
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return None


def explicit_role(function_name: str) -> str | None:
    """The logical id of the AWS::IAM::Role a function names as its Role, else None (SAM generates one)."""
    role = functions()[function_name]["Properties"].get("Role")
    return None if role is None else referenced_resource(role)


def role_statements(role_name: str) -> list[dict[str, Any]]:
    """The statements of a role's inline policies and of the policy resources attached to it."""
    documents = [
        policy["PolicyDocument"]
        for policy in resources_of_type("AWS::IAM::Role")[role_name]["Properties"].get("Policies", [])
    ]
    for policy in resources_of_type("AWS::IAM::RolePolicy").values():
        if policy["Properties"]["RoleName"] == {"Ref": role_name}:
            documents.append(policy["Properties"]["PolicyDocument"])
    for policy in resources_of_type("AWS::IAM::Policy").values():
        if {"Ref": role_name} in policy["Properties"].get("Roles", []):
            documents.append(policy["Properties"]["PolicyDocument"])
    return [statement for document in documents for statement in as_list(document["Statement"])]


def statements(function_name: str) -> list[dict[str, Any]]:
    """The inline IAM statements of a function's Policies, or of its explicit role."""
    found = []
    for policy in as_list(functions()[function_name]["Properties"].get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(as_list(policy["Statement"]))
    role = explicit_role(function_name)
    if role is not None:
        found.extend(role_statements(role))
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


def dynamodb_grants(function_name: str) -> dict[str, set[str]]:
    """{resource logical id: DynamoDB actions} that a function's statements allow."""
    by_resource: dict[str, set[str]] = {}
    for action, resource in granted(function_name):
        if action.startswith("dynamodb:"):
            by_resource.setdefault(str(resource), set()).add(action)
    return by_resource


def events_of_type(function_name: str, *event_types: str) -> list[dict[str, Any]]:
    """The Properties of a function's events of the given types."""
    return [
        event["Properties"]
        for event in functions()[function_name]["Properties"].get("Events", {}).values()
        if event["Type"] in event_types
    ]


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

    expected = {route: f"{operation}Function" for operation, route in ROUTES.items()}
    assert served == expected | SESSION_ROUTES | CLOUD_API_GET_ROUTE | dict.fromkeys(CONSOLE_ROUTES, "ConsoleFunction")


def test_exactly_the_session_routes_have_the_jwt_authorizer_of_the_accounts_pool() -> None:
    authorized = set()
    for function in functions().values():
        for event in function["Properties"].get("Events", {}).values():
            properties = event["Properties"]
            if event["Type"] == "HttpApi" and "Auth" in properties:
                assert properties["Auth"] == {"Authorizer": "AccountSession"}
                authorized.add((properties["Method"].upper(), properties["Path"]))
    assert authorized == set(SESSION_ROUTES)
    api = load_template()["Resources"]["AccessKeysApi"]["Properties"]
    assert "DefaultAuthorizer" not in api["Auth"]  # the signed routes are authenticated by their signature
    configuration = api["Auth"]["Authorizers"]["AccountSession"]
    assert configuration["IdentitySource"] == "$request.header.Authorization"
    assert configuration["JwtConfiguration"] == {
        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${AccountsUserPool}"},
        "audience": [{"Ref": "AccountsConsoleClient"}],
    }


def test_the_console_function_holds_no_permission_at_all() -> None:
    properties = functions()["ConsoleFunction"]["Properties"]

    assert "Policies" not in properties
    assert "Role" not in properties


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

    # The table the stack made, or the one restored into its place (docs/operations.md).
    assert variables["KEYS_TABLE_NAME"] == KEYS_TABLE
    assert variables["RECORDS_TABLE_NAME"] == {"Ref": "AccessRecordsTable"}
    assert variables["SECRETS_KMS_KEY_ID"] == {"Ref": "SecretsKey"}


# ------------------------------------------------------------------------- runtime and build


def test_functions_run_python_3_13_on_arm64() -> None:
    assert function_globals()["Runtime"] == "python3.13"
    assert function_globals()["Architectures"] == ["arm64"]
    for name, function in functions().items():
        assert function["Properties"].get("Runtime", "python3.13") == "python3.13", name
        assert function["Properties"].get("Architectures", ["arm64"]) == ["arm64"], name


def test_layer_is_built_by_its_makefile_for_python_3_13_on_arm64() -> None:
    layer = resources_of_type("AWS::Serverless::LayerVersion")["ServiceLayer"]
    makefile = (PROJECT_ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()

    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-ServiceLayer:" in makefile
    # The wheels are those of the functions' platform; tests/local/test_built_artifacts.py checks what the build holds.
    assert "--platform manylinux2014_aarch64" in makefile
    assert "--python-version 3.13" in makefile
    assert "python3.13" in layer["Properties"]["CompatibleRuntimes"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.parametrize("function_name", sorted(functions()))
def test_each_function_is_built_by_the_functions_makefile(function_name: str) -> None:
    metadata = functions()[function_name].get("Metadata", {})

    assert metadata == {"BuildMethod": "makefile", "ContextPath": "functions"}
    assert "build-%Function:" in (PROJECT_ROOT / "functions" / "Makefile").read_text()


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


def test_functions_with_a_stream_event_have_their_own_role() -> None:
    # SAM attaches the AWS-managed AWSLambdaDynamoDBExecutionRole (stream reads on Resource "*")
    # to the role it generates for a function with a DynamoDB event; an explicit role avoids it.
    for name in functions():
        if events_of_type(name, "DynamoDB", "Kinesis"):
            assert explicit_role(name) is not None, f"{name} gets SAM's role and its managed stream policy"


@pytest.mark.parametrize("role_name", sorted(resources_of_type("AWS::IAM::Role")))
def test_explicit_roles_are_lambda_roles_without_managed_policies(role_name: str) -> None:
    properties = resources_of_type("AWS::IAM::Role")[role_name]["Properties"]

    # A managed policy is outside the template and usually far broader than needed.
    assert not properties.get("ManagedPolicyArns"), role_name
    trust = as_list(properties["AssumeRolePolicyDocument"]["Statement"])
    assert [(statement["Effect"], statement["Principal"], statement["Action"]) for statement in trust] == [
        ("Allow", {"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
    ]
    assert any(explicit_role(name) == role_name for name in functions()), f"{role_name} is no function's role"


@pytest.mark.parametrize(
    "logical_id",
    sorted(
        name
        for resource_type in ("AWS::IAM::Role", "AWS::IAM::RolePolicy", "AWS::IAM::Policy")
        for name in resources_of_type(resource_type)
    ),
)
def test_explicit_iam_statements_name_exact_actions_on_exact_resources(logical_id: str) -> None:
    resource = load_template()["Resources"][logical_id]
    if resource["Type"] == "AWS::IAM::Role":
        found = role_statements(logical_id)
    else:
        found = as_list(resource["Properties"]["PolicyDocument"]["Statement"])

    assert found, f"{logical_id} allows nothing"
    for statement in found:
        sid = statement.get("Sid", statement)
        assert statement.get("Effect") == "Allow", f"{logical_id} {sid}"
        assert "NotAction" not in statement, f"{logical_id} {sid}"
        assert "NotResource" not in statement, f"{logical_id} {sid}"
        assert statement.get("Action"), f"{logical_id} {sid} has no Action"
        assert statement.get("Resource"), f"{logical_id} {sid} has no Resource"
        for action in strings_in(statement["Action"]):
            assert not {"*", "?"} & set(action), f"{logical_id} {sid}: Action {action}"
        for text in strings_in(statement["Resource"]):
            assert "*" not in text, f"{logical_id} {sid}: Resource {text}"


def test_functions_with_an_explicit_role_do_not_trace() -> None:
    # Active tracing needs xray:PutTraceSegments / PutTelemetryRecords, which exist only on
    # Resource "*"; the explicit roles do not grant them, so such a function must not trace.
    for name, function in functions().items():
        if explicit_role(name) is not None:
            tracing = function["Properties"].get("Tracing", function_globals().get("Tracing"))
            assert tracing in {None, "PassThrough", "Disabled"}, f"{name} traces with a role that cannot"


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


@pytest.mark.parametrize("function_name", sorted(functions()))
def test_every_function_has_exactly_the_dynamodb_actions_its_code_calls(function_name: str) -> None:
    needed = {**DYNAMODB_ACTIONS_NEEDED, **BACKGROUND_DYNAMODB_ACTIONS_NEEDED, "ConsoleFunction": {}}
    assert function_name in needed, f"list what {function_name} calls in DynamoDB"

    assert dynamodb_grants(function_name) == needed[function_name]


def test_record_last_access_can_write_its_logs_and_park_failures() -> None:
    permissions = granted("RecordLastAccessFunction")

    # Its own log group only (the group's Arn ends in ":*", its streams).
    assert ("logs:CreateLogStream", "RecordLastAccessLogGroup") in permissions
    assert ("logs:PutLogEvents", "RecordLastAccessLogGroup") in permissions
    assert ("sqs:SendMessage", "LastAccessFailuresQueue") in permissions


def test_only_the_functions_that_create_keys_can_encrypt_secrets() -> None:
    encrypting = {name for name in functions() if any(action == "kms:Encrypt" for action, _ in granted(name))}

    assert encrypting == {"CreateAccessKeyFunction", "TencentCloudApiFunction"}
    assert ("kms:Encrypt", "SecretsKey") in granted("CreateAccessKeyFunction")


# ------------------------------------------------------------------------------ background work


def test_record_last_access_reads_only_new_records_from_the_access_records_stream() -> None:
    (stream,) = events_of_type("RecordLastAccessFunction", "DynamoDB")

    assert stream["Stream"] == {"Fn::GetAtt": ["AccessRecordsTable", "StreamArn"]}
    # TTL expiries and the cleanup's deletes are REMOVE events: they must never invoke it. Nor may
    # the failed-attempt counts and used signatures that share the table: only access records,
    # the items with a Result, move a key's last access time.
    filters = stream["FilterCriteria"]["Filters"]
    assert [json.loads(item["Pattern"]) for item in filters] == [
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Result": {"S": ["Success", "Failure"]}}}}
    ]
    # The last access time follows within seconds.
    assert stream.get("MaximumBatchingWindowInSeconds", 0) <= 1


def test_record_last_access_parks_failed_batches_after_bounded_retries() -> None:
    (stream,) = events_of_type("RecordLastAccessFunction", "DynamoDB")

    assert "ReportBatchItemFailures" in stream["FunctionResponseTypes"]
    # The default (-1) retries a failing record until the stream drops it, 24 hours later,
    # and holds back its whole shard meanwhile.
    retries = stream["MaximumRetryAttempts"]
    assert isinstance(retries, int)
    assert 0 <= retries <= 10
    assert stream["BisectBatchOnFunctionError"] is True
    record_age = stream.get("MaximumRecordAgeInSeconds", -1)
    assert isinstance(record_age, int)
    assert 0 < record_age < 24 * 3600
    on_failure = stream["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert on_failure["Destination"] == {"Fn::GetAtt": ["LastAccessFailuresQueue", "Arn"]}
    assert "LastAccessFailuresQueue" in resources_of_type("AWS::SQS::Queue")


def test_parked_failures_raise_an_alarm() -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources_of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
        and alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": ["LastAccessFailuresQueue", "QueueName"]}}
        in alarm["Properties"].get("Dimensions", [])
    ]

    assert len(alarms) == 1, "no alarm on the depth of LastAccessFailuresQueue"
    # Any parked batch is an alarm.
    assert alarms[0]["Threshold"] == 0
    assert alarms[0]["ComparisonOperator"] == "GreaterThanThreshold"


def test_cleanup_runs_on_the_cleanup_schedule_one_run_at_a_time() -> None:
    (schedule,) = events_of_type("CleanupFunction", "Schedule", "ScheduleV2")
    parameter = load_template()["Parameters"]["CleanupSchedule"]

    assert schedule.get("Schedule", schedule.get("ScheduleExpression")) == {"Ref": "CleanupSchedule"}
    assert parameter["Type"] == "String"
    assert parameter["Default"] == "rate(1 day)"
    assert functions()["CleanupFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1


# ------------------------------------------------------------------------------- data safety


@pytest.mark.parametrize("logical_id", ["KeysTable", "AccessRecordsTable"])
def test_table_is_on_demand_with_point_in_time_recovery(logical_id: str) -> None:
    table = resources_of_type("AWS::DynamoDB::Table")[logical_id]

    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    # Keys and records outlive a stack deletion or a replacement; a failed first deploy's empty
    # tables go with it. In prod, not even a DeleteTable call removes them.
    assert table["DeletionPolicy"] == "RetainExceptOnCreate"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}


def test_access_records_expire_and_stream_their_new_image() -> None:
    properties = resources_of_type("AWS::DynamoDB::Table")["AccessRecordsTable"]["Properties"]

    assert properties["TimeToLiveSpecification"]["Enabled"] is True
    assert properties["TimeToLiveSpecification"]["AttributeName"]
    assert properties["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"


def test_secrets_key_rotates_and_is_retained() -> None:
    key = resources_of_type("AWS::KMS::Key")["SecretsKey"]

    assert key["Properties"]["EnableKeyRotation"] is True
    # Deleting the key would make every stored SecretKey unreadable.
    assert key["DeletionPolicy"] == "RetainExceptOnCreate"
    assert key["UpdateReplacePolicy"] == "Retain"
    pool = resources_of_type("AWS::Cognito::UserPool")["AccountsUserPool"]
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_outputs_name_the_api_and_the_tables() -> None:
    outputs = load_template()["Outputs"]

    assert "${AccessKeysApi}" in outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert outputs["KeysTableName"]["Value"] == KEYS_TABLE
    assert outputs["AccessRecordsTableName"]["Value"] == {"Ref": "AccessRecordsTable"}
    assert outputs["LastAccessFailuresQueueUrl"]["Value"] == {"Ref": "LastAccessFailuresQueue"}
