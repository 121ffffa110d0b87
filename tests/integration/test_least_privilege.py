"""Each function holds exactly the IAM permissions it uses: none missing, none unused, none on "*".

The test drives every function through each code path that calls AWS (API functions cold and
warm, succeeding and refused; RecordLastAccess on a stream batch; the cleanup purging a deleted
key, removing expired records and taking and releasing its lease). It records every AWS call
made while that function's handler runs, turns each call into the IAM actions and resources
that authorise it, and compares them with what template.yaml grants that function. Grants are
read from the function's inline `Policies`, or from its explicit role: the role's own policies
and any AWS::IAM::Policy / RolePolicy / ManagedPolicy attached to it.

Some permissions are used by Lambda itself, not by the function's code, and so are never seen
as calls here: reading a DynamoDB event source's stream, writing the function's logs, sending
failed batches to an on-failure destination, and X-Ray segments. A function with an explicit
role must hold those for the configuration the template declares; the test requires them.

What this test cannot see: SAM attaches AWS-managed policies to the roles it generates (the
functions with `Policies` rather than `Role`): AWSLambdaBasicExecutionRole (logs, on "*") and,
for `Tracing: Active`, AWSXrayWriteOnlyAccess (X-Ray, on "*"). They are not in template.yaml,
so they are neither checked nor counted as unused. For the same reason a function with a
stream or queue event source must have its own role: SAM would attach the managed
AWSLambdaDynamoDBExecutionRole (or its Kinesis/SQS equivalent) with Resource "*", which this
test refuses. The KMS key policy is a resource policy (its "*" means "this key") and is not a
function permission; it is out of scope.

Calls are recorded by wrapping botocore's `BaseClient._make_api_call`, which every client goes
through, so no client can be missed (pynamodb gives every model a client of its own).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import sessions
from botocore.client import BaseClient
from figures import figure
from harness import (
    Api,
    Credentials,
    LambdaContext,
    Response,
    StreamPump,
    bootstrap_key,
    fresh_service,
    load_handler,
)

from access_keys import key_material, records
from access_keys.clock import DAY_MS, now_ms
from access_keys.dal import cleanup_store, key_store
from access_keys.dal.models import KeyItem, bind_tables
from access_keys.domain import AccessKey, Status
from access_keys_tools.events import http_event, load_event, sign_event, sign_verify_event
from access_keys_tools.template import condition_values, load_template

# Actions AWS authorises only on Resource "*" (no resource-level permission exists). A statement
# may use Resource "*" only if every one of its actions is listed here, with the reason.
ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource types; AWS documents Resource '*' for it",
    "xray:PutTelemetryRecords": "X-Ray has no resource types; AWS documents Resource '*' for it",
}

# TransactWriteItems / TransactGetItems are authorised per item, as the item's own action.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}

# What Lambda's event source mapping calls to read a DynamoDB stream, with the function's role.
STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# What Lambda calls to send a record to an on-failure destination, with the function's role.
DESTINATION_ACTIONS = {"SQS": "sqs:SendMessage", "SNS": "sns:Publish"}
# Event types whose trigger needs nothing in the function's role (the invoking service holds
# the permission, through the function's resource policy).
EVENTS_NEEDING_NOTHING_IN_THE_ROLE = frozenset({"HttpApi", "Api", "Schedule", "ScheduleV2", "EventBridgeRule"})
# Event types for which SAM attaches an AWS-managed policy on Resource "*" to a generated role.
EVENTS_WITH_MANAGED_WILDCARD_POLICY = {
    "DynamoDB": "AWSLambdaDynamoDBExecutionRole",
    "Kinesis": "AWSLambdaKinesisExecutionRole",
    "SQS": "AWSLambdaSQSQueueExecutionRole",
}
# Condition operators this test evaluates; the keys it computes from a call are kms:EncryptionContextKeys,
# and dynamodb:Attributes and dynamodb:ReturnValues for the single-item DynamoDB calls.
# Any other operator or key fails the test rather than being assumed to hold.
CONDITION_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIfExists", "ForAllValues:StringEquals", "ForAnyValue:StringEquals", "Null"}
)
SINGLE_ITEM_CALLS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem"})

FUNCTION_TYPE = "AWS::Serverless::Function"
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy")


# --------------------------------------------------------------------------- permissions


@dataclass(frozen=True, order=True)
class Permission:
    """One IAM action on one resource, named by its logical id (a stream as `Table/stream`)."""

    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


@dataclass(frozen=True)
class Use:
    """A permission one recorded call needs, with the condition keys the call carries."""

    permission: Permission
    call: str  # the API call, e.g. dynamodb:TransactWriteItems
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Grant:
    permission: Permission
    where: str  # e.g. "Policies[0] statement RecordAccess"
    condition: str = "{}"  # the statement's Condition, as JSON (so that a Grant is hashable)


@dataclass
class Grants:
    grants: list[Grant] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # policies this test cannot see into

    def permissions(self) -> set[Permission]:
        return {grant.permission for grant in self.grants}


# ---------------------------------------------------------------------- template reading


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == FUNCTION_TYPE}


def as_defaults_choose(value: Any) -> Any:
    """An !If as the stack's parameter defaults choose it (the keys table the stack made); any
    other value as it is."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, if_true, if_false = value["Fn::If"]
        return as_defaults_choose(if_true if condition_values({})[f"Condition:{condition}"] else if_false)
    return value


def resource_name(value: Any) -> str:
    """The logical id a Resource (or Role, Stream, Destination) refers to; a literal as itself."""
    value = as_defaults_choose(value)
    if isinstance(value, dict) and len(value) == 1:
        ((intrinsic, argument),) = value.items()
        if intrinsic == "Ref":
            return str(argument)
        if intrinsic == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            if attribute == "Arn":
                return logical_id
            if attribute == "StreamArn":
                return f"{logical_id}/stream"
            return f"{logical_id}.{attribute}"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def statement_grants(statement: dict[str, Any], where: str, grants: Grants) -> None:
    label = f"{where} statement {statement.get('Sid', '(no Sid)')}"
    if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
        grants.unreadable.append(f"{label}: only Allow statements with Action and Resource are read")
        return
    condition = json.dumps(statement.get("Condition", {}), sort_keys=True)
    for action in as_list(statement.get("Action")):
        for resource in as_list(statement.get("Resource")):
            grants.grants.append(Grant(Permission(action, resource_name(resource)), label, condition))


def document_grants(document: Any, where: str, grants: Grants) -> None:
    if not isinstance(document, dict) or "Statement" not in document:
        grants.unreadable.append(f"{where}: {json.dumps(document)[:80]} is not a policy document")
        return
    for statement in as_list(document["Statement"]):
        statement_grants(statement, where, grants)


def attached_policies(template: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    """The AWS::IAM::Policy / RolePolicy / ManagedPolicy resources attached to the role."""
    attached = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in POLICY_TYPES:
            continue
        properties = resource["Properties"]
        roles = [properties["RoleName"]] if "RoleName" in properties else as_list(properties.get("Roles"))
        if any(resource_name(role) == role_id for role in roles):
            attached[logical_id] = properties
    return attached


def granted(template: dict[str, Any], function_id: str) -> Grants:
    """Every (action, resource) the template grants the function's role, where it is granted."""
    properties = functions(template)[function_id]["Properties"]
    grants = Grants()
    if "Role" not in properties:
        for index, policy in enumerate(as_list(properties.get("Policies"))):
            # A string is a managed policy, a one-key dict a SAM policy template: neither is readable here.
            document_grants(policy, f"Policies[{index}]", grants)
        return grants
    if "Policies" in properties:
        grants.unreadable.append("both Role and Policies are set; SAM ignores Policies")
    role_id = resource_name(properties["Role"])
    role = template["Resources"].get(role_id)
    if role is None or role["Type"] != "AWS::IAM::Role":
        grants.unreadable.append(f"Role {role_id} is not an AWS::IAM::Role of this template")
        return grants
    for policy in as_list(role["Properties"].get("Policies")):
        document_grants(policy.get("PolicyDocument"), f"{role_id} policy {policy.get('PolicyName')}", grants)
    for managed in as_list(role["Properties"].get("ManagedPolicyArns")):
        grants.unreadable.append(f"{role_id} ManagedPolicyArns {resource_name(managed)}: not visible in the template")
    for policy_id, policy in attached_policies(template, role_id).items():
        document_grants(policy.get("PolicyDocument"), policy_id, grants)
    return grants


def log_group_of(template: dict[str, Any], function_id: str) -> str | None:
    name = {"Fn::Sub": f"/aws/lambda/${{{function_id}}}"}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Logs::LogGroup" and resource["Properties"].get("LogGroupName") == name:
            return logical_id
    return None


def required_by_lambda(template: dict[str, Any], function_id: str) -> tuple[dict[Permission, str], list[str]]:
    """What Lambda itself calls with the function's explicit role, and why; plus what the test cannot tell.

    A SAM-generated role gets these from AWS-managed policies outside the template: nothing is
    required of it here (see the module docstring).
    """
    properties = functions(template)[function_id]["Properties"]
    if "Role" not in properties:
        return {}, []
    required: dict[Permission, str] = {}
    unknown: list[str] = []
    log_group = log_group_of(template, function_id) or f"(no declared log group /aws/lambda/{function_id})"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        required[Permission(action, log_group)] = "Lambda writes the function's logs to its declared log group"
    tracing = properties.get("Tracing", template.get("Globals", {}).get("Function", {}).get("Tracing"))
    if tracing == "Active":
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            required[Permission(action, "*")] = "Tracing: Active sends X-Ray segments with the function's role"
    for event_name, event in properties.get("Events", {}).items():
        event_properties = event.get("Properties", {})
        if event["Type"] == "DynamoDB":
            stream = resource_name(event_properties["Stream"])
            for action in STREAM_READ_ACTIONS:
                required[Permission(action, stream)] = f"the event source mapping {event_name} reads the stream"
            on_failure = event_properties.get("DestinationConfig", {}).get("OnFailure")
            if on_failure:
                if on_failure.get("Type") not in DESTINATION_ACTIONS:
                    unknown.append(f"event {event_name}: on-failure destination type {on_failure.get('Type')}")
                    continue
                destination = Permission(
                    DESTINATION_ACTIONS[on_failure["Type"]], resource_name(on_failure["Destination"])
                )
                required[destination] = f"the event source mapping {event_name} parks failed batches there"
        elif event["Type"] not in EVENTS_NEEDING_NOTHING_IN_THE_ROLE:
            unknown.append(f"event {event_name} of type {event['Type']}: this test does not know what Lambda needs")
    if "EventInvokeConfig" in properties:
        unknown.append("EventInvokeConfig destinations: this test does not read them yet")
    return required, unknown


def null_refusal(key: str, value: Any, context: dict[str, tuple[str, ...]]) -> str | None:
    """The Null operator: "false" holds when the request carries the key, "true" when it does not."""
    present = key in context and bool(context[key])
    if present != (str(value).lower() == "false"):
        return f"{key} is {'present' if present else 'absent'}, against Null {value}"
    return None


def condition_refusal(condition: dict[str, Any], context: dict[str, tuple[str, ...]]) -> str | None:
    """Why the condition does not hold for a call with these condition keys; None when it holds."""
    for operator, tests in condition.items():
        if operator not in CONDITION_OPERATORS:
            return f"condition operator {operator} is not one this test evaluates"
        for key, values in tests.items():
            refusal = key_refusal(operator, key, values, context)
            if refusal:
                return refusal
    return None


def key_refusal(operator: str, key: str, values: Any, context: dict[str, tuple[str, ...]]) -> str | None:
    """One key's test of a condition operator, for a call with these condition keys."""
    if operator == "StringEqualsIfExists" and key in IF_EXISTS_KEYS and key not in context:
        return None  # the request does not carry it, so the condition holds
    if operator == "Null":
        return null_refusal(key, values, context)
    if key not in context:
        return f"condition key {key} is not one this test can compute for this call"
    allowed, present = set(as_list(values)), set(context[key])
    one_of_them = len(present) == 1 and present <= allowed
    holds = {
        "ForAllValues:StringEquals": present <= allowed,
        "ForAnyValue:StringEquals": bool(present & allowed),
        "StringEquals": one_of_them,
        "StringEqualsIfExists": one_of_them,
    }[operator]
    return None if holds else f"{key} {sorted(present)} does not meet {operator} {sorted(allowed)}"


# --------------------------------------------------------------------------- call recording


def names_to_logical_ids(template: dict[str, Any]) -> dict[str, str]:
    """The resource names the functions read from their environment (`!Ref X`), mapped to X."""
    variables: dict[str, Any] = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    for function in functions(template).values():
        variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    names = {}
    for variable, declared in variables.items():
        value = as_defaults_choose(declared)
        refers_to_resource = isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template["Resources"]
        if refers_to_resource and variable in os.environ:
            names[os.environ[variable]] = value["Ref"]
    return names


def iam_uses(service: str, operation: str, params: dict[str, Any], names: dict[str, str]) -> list[Use]:
    """The permissions one API call needs: its action on each resource it names."""
    call = f"{service}:{operation}"

    def logical_id(name: str | None) -> str:
        return names.get(name or "", f"(unknown resource {name!r})")

    if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        uses = []
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            action = TRANSACTION_ITEM_ACTIONS[kind]
            uses.append(Use(Permission(action, logical_id(request.get("TableName"))), call))
        return uses
    if service == "dynamodb" and operation in ("BatchGetItem", "BatchWriteItem"):
        return [Use(Permission(call, logical_id(table)), call) for table in params["RequestItems"]]
    if service == "dynamodb" and operation in SINGLE_ITEM_CALLS:
        return [Use(Permission(call, logical_id(params.get("TableName"))), call, dynamodb_condition_keys(params))]
    if service == "dynamodb":
        return [Use(Permission(call, logical_id(params.get("TableName"))), call)]
    if service == "kms":
        encryption_context = params.get("EncryptionContext", {})
        context = (
            ("kms:EncryptionContextKeys", tuple(sorted(encryption_context))),
            *((f"kms:EncryptionContext:{name}", (value,)) for name, value in sorted(encryption_context.items())),
        )
        return [Use(Permission(call, logical_id(params.get("KeyId"))), call, context)]
    return [Use(Permission(call, "(resource not known to this test)"), call)]


class CallRecorder:
    """The IAM permissions each function's AWS calls need, recorded while its handler runs."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.uses: dict[str, list[Use]] = defaultdict(list)
        self.running: str | None = None
        self.ran: set[str] = set()

    def record(self, client: BaseClient, operation: str, params: dict[str, Any]) -> None:
        if self.running is None:
            return  # a call of the test's own set-up, not of a function
        # The IAM prefix: dynamodbstreams signs, and is authorised, as dynamodb.
        service = client.meta.service_model.signing_name
        self.uses[self.running].extend(iam_uses(service, operation, params, self.names))

    def handler_of(self, function_id: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def recorded_handler(event: Any, context: Any) -> Any:
            self.running = function_id
            self.ran.add(function_id)
            try:
                return handler(event, context)
            finally:
                self.running = None

        return recorded_handler


@contextmanager
def recording(recorder: CallRecorder, function_ids: list[str]) -> Iterator[None]:
    """Every botocore call, whichever client makes it, seen by the recorder, attributed to the
    function whose handler is running."""
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        recorder.record(client, operation_name, api_params)
        return original(client, operation_name, api_params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", make_api_call)
        for function_id in function_ids:
            module = load_handler(function_id.removesuffix("Function"))
            patch.setattr(module, "lambda_handler", recorder.handler_of(function_id, module.lambda_handler))
        yield


# ------------------------------------------------------------------------ driving each function


# Keys a request carries only when it sets the parameter they come from.
IF_EXISTS_KEYS = frozenset({"dynamodb:ReturnValues"})


def dynamodb_condition_keys(params: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """dynamodb:Attributes (every top-level attribute the request names: its key, the item it puts,
    its expressions' names, the attributes it gets) and dynamodb:ReturnValues, if the request sets it."""
    names = set(params.get("Key", {})) | set(params.get("Item", {}))
    names |= {name.split(".")[0] for name in params.get("ExpressionAttributeNames", {}).values()}
    names |= set(params.get("AttributesToGet", []))
    keys: list[tuple[str, tuple[str, ...]]] = [("dynamodb:Attributes", tuple(sorted(names)))]
    if "ReturnValues" in params:
        keys.append(("dynamodb:ReturnValues", (params["ReturnValues"],)))
    return tuple(keys)


def expect(response: Response, status: int, code: str | None = None) -> Response:
    assert (response.status, response.error_code) == (status, code), (
        f"the scenario changed: expected {status} {code}, got {response.status} {response.raw_body}"
    )
    return response


@dataclass
class Cast:
    alice: Credentials
    bob: Credentials
    disabled: Credentials  # an Inactive key: refused before anything is decrypted
    alice_second: Credentials | None = None


def created(response: Response) -> Credentials:
    return Credentials.of(expect(response, 201).body["AccessKey"])


def drive_create(api: Api, cast: Cast) -> None:
    key_material.forget_all()
    cast.alice_second = created(api.call("CreateAccessKey/create", cast.alice, body={}))  # cold
    over_limit = api.call("CreateAccessKey/create", cast.alice, body={})  # warm, quota reached
    expect(over_limit, 409, "OperationDenied.AccessKeyOverLimit")
    expect(api.call("CreateAccessKey/create", cast.bob, body={"Colour": "red"}), 400, "UnknownParameter")  # cold
    created(api.call("CreateAccessKey/create", cast.bob, body={}))  # warm
    expect(api.call("CreateAccessKey/create", cast.disabled, body={}), 401, "AuthFailure.SecretIdNotFound")
    expect(
        api.call("CreateAccessKey/create", Credentials.forged(cast.bob.secret_id), body={}),
        401,
        "AuthFailure.SignatureFailure",
    )


def drive_list_keys(api: Api, cast: Cast) -> None:
    assert cast.alice_second
    key_material.forget_all()
    expect(api.call("ListAccessKeys/list", cast.alice), 200)  # cold
    expect(api.call("ListAccessKeys/list", cast.alice), 200)  # warm
    expect(api.call("ListAccessKeys/list", cast.alice_second), 200)  # gives the key-to-be-deleted records
    expect(api.call("ListAccessKeys/list", cast.disabled), 401, "AuthFailure.SecretIdNotFound")
    expect(api.call("ListAccessKeys/list", Credentials.forged(cast.bob.secret_id)), 401, "AuthFailure.SignatureFailure")


def drive_get(api: Api, cast: Cast) -> None:
    assert cast.alice_second
    key_material.forget_all()
    expect(api.call("GetAccessKey/get", cast.alice, secret_id=cast.alice_second.secret_id), 200)  # cold, own key
    expect(api.call("GetAccessKey/get", cast.alice, secret_id=cast.alice.secret_id), 200)  # warm, itself
    not_found = api.call("GetAccessKey/get", cast.alice, secret_id=cast.bob.secret_id)  # another account's
    expect(not_found, 404, "ResourceNotFound.AccessKey")
    expect(
        api.call("GetAccessKey/get", cast.disabled, secret_id=cast.disabled.secret_id),
        401,
        "AuthFailure.SecretIdNotFound",
    )
    forged_get = api.call("GetAccessKey/get", Credentials.forged(cast.bob.secret_id), secret_id=cast.bob.secret_id)
    expect(forged_get, 401, "AuthFailure.SignatureFailure")


def drive_update(api: Api, cast: Cast) -> None:
    assert cast.alice_second
    second = cast.alice_second.secret_id
    key_material.forget_all()
    expect(api.call("UpdateAccessKey/disable", cast.alice, secret_id=second), 200)  # cold
    expect(api.call("UpdateAccessKey/enable", cast.alice, secret_id=second), 200)  # warm
    expect(api.call("UpdateAccessKey/disable", cast.alice, secret_id=second), 200)  # ready to delete
    not_found = api.call("UpdateAccessKey/disable", cast.alice, secret_id=cast.bob.secret_id)
    expect(not_found, 404, "ResourceNotFound.AccessKey")
    refused = api.call("UpdateAccessKey/enable", cast.disabled, secret_id=cast.disabled.secret_id)
    expect(refused, 401, "AuthFailure.SecretIdNotFound")
    forged_update = api.call(
        "UpdateAccessKey/enable", Credentials.forged(cast.bob.secret_id), secret_id=cast.bob.secret_id
    )
    expect(forged_update, 401, "AuthFailure.SignatureFailure")


def drive_delete(api: Api, cast: Cast) -> None:
    assert cast.alice_second
    second = cast.alice_second.secret_id
    key_material.forget_all()
    active = api.call("DeleteAccessKey/delete", cast.alice, secret_id=cast.alice.secret_id)  # cold
    expect(active, 409, "OperationDenied.AccessKeyActive")
    not_found = api.call("DeleteAccessKey/delete", cast.alice, secret_id=cast.bob.secret_id)  # warm
    expect(not_found, 404, "ResourceNotFound.AccessKey")
    expect(api.call("DeleteAccessKey/delete", cast.alice, secret_id=second), 200)  # Inactive: deleted
    expect(api.call("DeleteAccessKey/delete", cast.alice, secret_id=second), 404, "ResourceNotFound.AccessKey")
    refused = api.call("DeleteAccessKey/delete", cast.disabled, secret_id=cast.disabled.secret_id)
    expect(refused, 401, "AuthFailure.SecretIdNotFound")
    forged_delete = api.call(
        "DeleteAccessKey/delete", Credentials.forged(cast.bob.secret_id), secret_id=cast.bob.secret_id
    )
    expect(forged_delete, 401, "AuthFailure.SignatureFailure")


def drive_list_records(api: Api, cast: Cast) -> None:
    key_material.forget_all()
    expect(api.call("ListAccessRecords/list", cast.alice, secret_id=cast.alice.secret_id), 200)  # cold
    expect(api.call("ListAccessRecords/list", cast.alice, secret_id=cast.alice.secret_id), 200)  # warm
    not_found = api.call("ListAccessRecords/list", cast.alice, secret_id=cast.bob.secret_id)
    expect(not_found, 404, "ResourceNotFound.AccessKey")
    refused = api.call("ListAccessRecords/list", cast.disabled, secret_id=cast.disabled.secret_id)
    expect(refused, 401, "AuthFailure.SecretIdNotFound")
    forged_list = api.call(
        "ListAccessRecords/list", Credentials.forged(cast.bob.secret_id), secret_id=cast.bob.secret_id
    )
    expect(forged_list, 401, "AuthFailure.SignatureFailure")


def drive_list_activity(api: Api, cast: Cast) -> None:
    key_material.forget_all()
    expect(api.call("ListActivity/list", cast.alice), 200)  # cold
    expect(api.call("ListActivity/list", cast.alice), 200)  # warm
    expect(api.call("ListActivity/list", cast.disabled), 401, "AuthFailure.SecretIdNotFound")
    expect(api.call("ListActivity/list", Credentials.forged(cast.bob.secret_id)), 401, "AuthFailure.SignatureFailure")


def drive_sessions(api: Api) -> None:
    """The session routes of the same functions: no key read, an activity entry for each change."""
    owner = {"token_use": "id", "custom:uin": "100000000005", "email": "dave@example.com"}
    made = expect(sessions.call(api, "CreateAccessKey", owner, body={}), 201).body["AccessKey"]["SecretId"]
    expect(sessions.call(api, "ListAccessKeys", owner), 200)
    expect(sessions.call(api, "GetAccessKey", owner, secret_id=made), 200)
    expect(sessions.call(api, "ListAccessRecords", owner, secret_id=made), 200)
    expect(sessions.call(api, "UpdateAccessKey", owner, secret_id=made, body={"Status": "Inactive"}), 200)
    expect(sessions.call(api, "DeleteAccessKey", owner, secret_id=made), 200)
    expect(sessions.call(api, "ListActivity", owner), 200)


def cloud_api(api: Api, credentials: Credentials, event: str, params: dict[str, Any]) -> dict[str, Any]:
    """A Tencent Cloud API 3.0 call (`POST /`); its `Response` object."""
    signed = sign_event(
        http_event(f"TencentCloudApi/{event}", body=params),
        secret_id=credentials.secret_id,
        secret_key=credentials.secret_key,
    )
    response = api.invoke("TencentCloudApi", signed)
    assert response.status == 200
    return response.body["Response"]


def drive_tencent_cloud_api(api: Api, cast: Cast) -> None:
    carol = bootstrap_key("100000000004", "carol")
    key_material.forget_all()
    key = cloud_api(api, carol, "create-access-key", {"Description": "second"})["AccessKey"]  # cold
    second = key["AccessKeyId"]
    over_limit = cloud_api(api, carol, "create-access-key", {})  # warm
    assert over_limit["Error"]["Code"] == "OperationDenied.AccessKeyOverLimit"
    assert len(cloud_api(api, carol, "list-access-keys", {})["AccessKeys"]) == 2
    assert "Error" not in cloud_api(api, carol, "update-access-key", {"AccessKeyId": second, "Status": "Inactive"})
    assert "Error" not in cloud_api(api, carol, "delete-access-key", {"AccessKeyId": second})
    last_used = cloud_api(api, carol, "get-security-last-used", {"SecretIdList": [carol.secret_id, cast.bob.secret_id]})
    assert [row["SecretId"] for row in last_used["SecretIdLastUsedRows"]] == [carol.secret_id]
    refused = cloud_api(api, cast.disabled, "list-access-keys", {})
    assert refused["Error"]["Code"] == "AuthFailure.SecretIdNotFound"
    assert (
        cloud_api(api, Credentials.forged(carol.secret_id), "list-access-keys", {})["Error"]["Code"]
        == "AuthFailure.SignatureFailure"
    )


def drive_verify_request(cast: Cast) -> None:
    """What a platform service asks: cold and warm, a read and a change, a stranger, a report."""
    handler = load_handler("VerifyRequest").lambda_handler

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        return handler(event, LambdaContext(function_name="VerifyRequestFunction"))

    def verify(credentials: Credentials, **changes: Any) -> dict[str, Any]:
        event = {**load_event("VerifyRequest/verify"), **changes}
        return invoke(sign_verify_event(event, secret_id=credentials.secret_id, secret_key=credentials.secret_key))

    key_material.forget_all()
    accepted = verify(cast.alice)  # cold
    assert accepted["Valid"] is True, accepted
    assert verify(cast.alice, ChangesState=True, CanonicalRequestHash="ab" * 32)["Valid"] is True  # warm, guarded
    assert verify(Credentials.forged(cast.bob.secret_id))["Error"]["Code"] == "AuthFailure.SignatureFailure"
    report = {**load_event("VerifyRequest/report"), "RecordId": accepted["RecordId"]}
    assert invoke(report) == {"Updated": True}


def drive_console() -> None:
    """The page and its files: static, so no AWS call at all."""
    handler = load_handler("Console").lambda_handler
    for path in ("/console", "/console/console.js", "/console/console.css", "/console/missing"):
        event = {**load_event("Console/page"), "rawPath": path}
        assert handler(event, LambdaContext(function_name="ConsoleFunction"))["statusCode"] in (200, 404)


def drive_record_last_access(stream: StreamPump, cast: Cast) -> None:
    assert cast.alice_second
    batch = stream.read_batch()
    keys_in_batch = {record["dynamodb"]["NewImage"]["SecretId"]["S"] for record in batch["Records"]}
    # Updates of live keys, and of a deleted one (whose condition refuses to re-create it).
    assert {cast.alice.secret_id, cast.alice_second.secret_id} <= keys_in_batch
    assert stream.deliver(batch) == {"batchItemFailures": []}
    assert stream.deliver(batch) == {"batchItemFailures": []}  # replayed: nothing moves


def run_cleanup() -> dict[str, Any]:
    handler = load_handler("Cleanup").lambda_handler
    return handler(load_event("Cleanup/scheduled"), LambdaContext(function_name="CleanupFunction"))


def drive_cleanup(cast: Cast) -> None:
    # An old key with records past the retention that TTL has not removed yet.
    bind_tables()
    KeyItem(cast.bob.secret_id).update(actions=[KeyItem.create_time.set(now_ms() - 200 * DAY_MS)])
    bob_key = AccessKey(cast.bob.secret_id, "100000000002", Status.ACTIVE, 0, "")
    for index in range(3):
        records.record_access(
            bob_key,
            action="GetAccessKey",
            error_code=None,
            source_ip="198.51.100.1",
            user_agent="test",
            request_id=f"expired-{index}",
            access_time=now_ms() - (91 + index) * DAY_MS,
        )

    outcome = run_cleanup()  # takes the lease, purges the deleted key, removes expired records, releases

    assert outcome["ran"] is True
    assert outcome["passCompleted"] is True
    # alice's second key, carol's (Tencent Cloud API) and dave's (a session)
    assert outcome["progress"]["deleted_keys_purged"] == 3
    assert outcome["progress"]["deleted_key_records_deleted"] >= 1
    assert outcome["progress"]["expired_records_deleted"] == 3
    # Another run holds the lease: this one only tries to take it.
    assert cleanup_store.acquire_lease("another-run", now=now_ms(), until=now_ms() + 600_000) is not None
    assert run_cleanup()["ran"] is False


@pytest.fixture(scope="module")
def used() -> dict[str, list[Use]]:
    """What each function's calls needed, over every code path that calls AWS."""
    template = load_template()
    recorder = CallRecorder(names_to_logical_ids(template))
    with fresh_service(), recording(recorder, list(functions(template))):
        api = Api()
        cast = Cast(
            alice=bootstrap_key("100000000001", "alice"),
            bob=bootstrap_key("100000000002", "bob"),
            disabled=bootstrap_key("100000000003", "disabled"),
        )
        key_store.set_status(cast.disabled.secret_id, Status.INACTIVE, signed_at=0, changed_at=0)
        stream = StreamPump()
        drive_create(api, cast)
        drive_list_keys(api, cast)
        drive_get(api, cast)
        drive_update(api, cast)
        drive_delete(api, cast)
        drive_list_records(api, cast)
        drive_list_activity(api, cast)
        drive_sessions(api)
        drive_tencent_cloud_api(api, cast)
        drive_console()
        drive_verify_request(cast)
        drive_record_last_access(stream, cast)
        drive_cleanup(cast)
    # A function whose handler ran but called nothing (the console page) is driven, with no uses.
    return {function_id: recorder.uses.get(function_id, []) for function_id in recorder.ran}


# ---------------------------------------------------------------------------------- the checks

FUNCTION_IDS = sorted(functions(load_template()))


def test_every_function_of_the_template_is_driven(used: dict[str, list[Use]]) -> None:
    not_driven = [function_id for function_id in sorted(functions(load_template())) if function_id not in used]
    assert not not_driven, f"no AWS call recorded for {not_driven}: add a drive_* scenario for each"


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_is_granted_every_call_it_makes(function_id: str, used: dict[str, list[Use]]) -> None:
    grants = granted(load_template(), function_id)
    assert not grants.unreadable, f"{function_id}: policies this test cannot read: {grants.unreadable}"
    missing: set[str] = set()
    for use in used.get(function_id, []):
        matching = [grant for grant in grants.grants if grant.permission == use.permission]
        if not matching:
            missing.add(f"{use.permission} (called as {use.call}) is not granted")
            continue
        refusals = [condition_refusal(json.loads(grant.condition), dict(use.context)) for grant in matching]
        if all(refusals):
            missing.add(f"{use.permission} is granted only under a condition the call fails: {refusals}")
    assert not missing, f"{function_id} makes calls its policy does not allow:\n  " + "\n  ".join(sorted(missing))


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_is_granted_nothing_it_does_not_use(function_id: str, used: dict[str, list[Use]]) -> None:
    template = load_template()
    grants = granted(template, function_id)
    required, _ = required_by_lambda(template, function_id)
    needed = {use.permission for use in used.get(function_id, [])} | set(required)
    unused = sorted(f"{grant.permission} ({grant.where})" for grant in grants.grants if grant.permission not in needed)
    assert not unused, f"{function_id} is granted what it never uses:\n  " + "\n  ".join(unused)


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_role_holds_what_lambda_itself_needs(function_id: str) -> None:
    # Only for explicit roles: Lambda reads the stream, writes the logs and parks failed
    # batches with the function's role, so the template must grant those though no code calls them.
    template = load_template()
    required, unknown = required_by_lambda(template, function_id)
    assert not unknown, f"{function_id}: {unknown}"
    have = granted(template, function_id).permissions()
    missing = sorted(f"{permission}: {why}" for permission, why in required.items() if permission not in have)
    assert not missing, f"{function_id}'s role lacks what Lambda needs:\n  " + "\n  ".join(missing)


def function_policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every permission statement of the functions' policies and of the template's IAM roles and policies."""
    for function_id, function in functions(template).items():
        for index, policy in enumerate(as_list(function["Properties"].get("Policies"))):
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in as_list(policy["Statement"]):
                    yield f"{function_id} Policies[{index}]", statement
    for logical_id, resource in template["Resources"].items():
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy.get("PolicyDocument", {}) for policy in as_list(resource["Properties"].get("Policies"))]
        elif resource["Type"] in POLICY_TYPES:
            documents = [resource["Properties"].get("PolicyDocument", {})]
        for document in documents:
            for statement in as_list(document.get("Statement")):
                yield logical_id, statement


def test_record_last_access_may_update_only_last_access_time(used: dict[str, list[Use]]) -> None:
    # Given the statement that lets the stream function update the keys table
    (statement,) = [
        statement
        for where, statement in function_policy_statements(load_template())
        if where == "RecordLastAccessRole" and "dynamodb:UpdateItem" in as_list(statement["Action"])
    ]

    # Then it names the attributes it may touch, and they are the key and LastAccessTime alone:
    # with its code or its role compromised, it can change no key's status, owner or secret.
    attributes = statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes")
    assert sorted(as_list(attributes)) == ["LastAccessTime", "SecretId"], statement
    # ReturnValues other than NONE would read the whole item back, around the attribute list.
    assert statement["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"] == ["NONE"]
    # And the updates the function really made stay within it (so the grant is usable, not decorative)
    updates = [use for use in used["RecordLastAccessFunction"] if use.call == "dynamodb:UpdateItem"]
    assert updates
    for use in updates:
        assert set(dict(use.context)["dynamodb:Attributes"]) <= {"SecretId", "LastAccessTime"}


def test_no_function_permission_is_on_a_wildcard() -> None:
    template = load_template()
    broad = []
    for where, statement in function_policy_statements(template):
        label = f"{where} statement {statement.get('Sid', '(no Sid)')}"
        actions = [str(action) for action in as_list(statement.get("Action"))]
        broad += [f"{label}: uses {key}" for key in ("NotAction", "NotResource") if key in statement]
        broad += [f"{label}: Action {action}" for action in actions if "*" in action or "?" in action]
        if "*" in json.dumps(statement.get("Resource")):
            unexplained = [action for action in actions if action not in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS]
            if unexplained or not actions:
                broad.append(f"{label}: Resource {json.dumps(statement.get('Resource'))} for {unexplained}")
    for function_id, function in functions(template).items():
        if "Role" in function["Properties"]:
            continue
        for event_name, event in function["Properties"].get("Events", {}).items():
            if event["Type"] in EVENTS_WITH_MANAGED_WILDCARD_POLICY:
                managed = EVENTS_WITH_MANAGED_WILDCARD_POLICY[event["Type"]]
                broad.append(f"{function_id} event {event_name}: SAM would attach {managed} (Resource '*')")
    assert not broad, "permissions broader than exact actions on exact resources:\n  " + "\n  ".join(broad)


def describe(permissions: set[Permission]) -> str:
    by_resource: dict[str, list[str]] = defaultdict(list)
    for permission in sorted(permissions):
        by_resource[permission.resource].append(permission.action)
    return "; ".join(f"{resource}: {', '.join(actions)}" for resource, actions in by_resource.items()) or "nothing"


def test_print_the_permission_summary(used: dict[str, list[Use]], capsys: pytest.CaptureFixture[str]) -> None:
    """One line per function, for docs/reliability.md."""
    template = load_template()
    lines = []
    for function_id in FUNCTION_IDS:
        calls = {use.permission for use in used.get(function_id, [])}
        grants = granted(template, function_id).permissions()
        required, _ = required_by_lambda(template, function_id)
        for_lambda = f"; for Lambda itself: {describe(set(required))}" if required else ""
        lines.append(
            f"{function_id}: uses {len(calls)} ({describe(calls)}); granted {len(grants)}, "
            f"unused {len(grants - calls - set(required))}{for_lambda}"
        )
    with capsys.disabled():
        figure("\nleast privilege, per function:\n" + "\n".join(lines))
