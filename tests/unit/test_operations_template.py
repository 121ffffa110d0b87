"""What a platform team runs in production, as template.yaml declares it: an alarm for each figure
docs/operations.md names, each notifying AlarmTopicArn (required in prod), a dashboard of the same
figures, canary deploys in prod rolled back by alarms, with every entry point at the alias, and
data that outlives the stack."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sam_transform import transformed

from access_keys.observability import count_alone
from access_keys_tools.template import PROJECT_ROOT, condition_values, load_template, resources_of_type

FUNCTIONS = sorted(resources_of_type("AWS::Serverless::Function"))
ALARMS = resources_of_type("AWS::CloudWatch::Alarm")
NOTIFIES_THE_TOPIC = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
# Each figure of the list, and the alarm that watches it.
REQUIRED = {
    "ApiServerErrorsAlarm": ("AWS/ApiGateway", "5xx"),
    "ApiLatencyAlarm": ("AWS/ApiGateway", "Latency"),
    "RecordsStreamIteratorAgeAlarm": ("AWS/Lambda", "IteratorAge"),
    "LastAccessFailuresAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "KeysTableReadThrottlesAlarm": ("AWS/DynamoDB", "ReadThrottleEvents"),
    "KeysTableWriteThrottlesAlarm": ("AWS/DynamoDB", "WriteThrottleEvents"),
    "AccessRecordsTableReadThrottlesAlarm": ("AWS/DynamoDB", "ReadThrottleEvents"),
    "AccessRecordsTableWriteThrottlesAlarm": ("AWS/DynamoDB", "WriteThrottleEvents"),
    "AccessRecordsLostAlarm": ("AccessKeys/${Stage}", "AccessRecordsLost"),
    "VerifyRequestInternalErrorsAlarm": ("AccessKeys/${Stage}", "VerificationsRefused"),
}
PROD = {"Stage": "prod", "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:alarms"}


def namespace(alarm: dict[str, Any]) -> str:
    value = alarm["Properties"]["Namespace"]
    return value["Fn::Sub"] if isinstance(value, dict) else value


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_errors_and_a_throttles_alarm(function: str) -> None:
    for metric in ("Errors", "Throttles"):
        alarm = ALARMS[f"{function.removesuffix('Function')}{metric}Alarm"]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]


def test_every_figure_the_runbook_names_has_its_alarm() -> None:
    for name, (expected_namespace, metric) in REQUIRED.items():
        assert (namespace(ALARMS[name]), ALARMS[name]["Properties"]["MetricName"]) == (expected_namespace, metric)
    assert ALARMS["ApiLatencyAlarm"]["Properties"]["ExtendedStatistic"] == "p99"
    for name, code in (
        ("SignatureFailureFloodAlarm", "AuthFailure.SignatureFailure"),
        ("ServiceInternalErrorsAlarm", "InternalError"),
    ):
        query = ALARMS[name]["Properties"]["Metrics"][0]["Expression"]["Fn::Sub"]
        assert query.startswith(
            'SELECT SUM(RequestsRefused) FROM SCHEMA("AccessKeys/${Stage}", Action, ErrorCode, service)'
        )
        assert query.endswith(f"WHERE ErrorCode = '{code}'")


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_notifies_the_topic_and_a_quiet_service_is_not_alarming(alarm: str) -> None:
    properties = ALARMS[alarm]["Properties"]

    assert properties["AlarmActions"] == NOTIFIES_THE_TOPIC
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmDescription"]


def test_prod_refuses_to_deploy_without_an_alarm_topic() -> None:
    rule = load_template()["Rules"]["ProdNotifiesSomeone"]

    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    placeholder = rule["Assertions"][1]["Assert"]["Fn::Not"][0]["Fn::Equals"][1]
    assert placeholder in (PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8")


def emitted(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return json.loads(line)


@pytest.mark.parametrize(
    ("metric", "dimensions"),
    [("AccessRecordsLost", {}), ("VerificationsRefused", {"ErrorCode": "InternalError"})],
)
def test_the_service_metrics_alarms_watch_are_emitted_with_the_dimensions_they_name(
    metric: str, dimensions: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    alarm = next(alarm for alarm in ALARMS.values() if alarm["Properties"].get("MetricName") == metric)
    watched = {item["Name"]: item["Value"] for item in alarm["Properties"]["Dimensions"]}

    count_alone(metric, **dimensions)

    document = emitted(capsys)
    (declared,) = document["_aws"]["CloudWatchMetrics"]
    assert sorted(declared["Dimensions"][0]) == sorted(watched)
    assert {name: document[name] for name in watched} == watched
    assert document[metric] == [1.0]


def test_prod_deploys_are_canaries_rolled_back_by_three_alarms() -> None:
    globals_ = load_template()["Globals"]["Function"]
    preference = globals_["DeploymentPreference"]

    assert globals_["AutoPublishAlias"] == "live"
    assert preference["Type"] == {"Fn::If": ["IsProd", "Canary10Percent5Minutes", "AllAtOnce"]}
    triggers = [alarm["Ref"] for alarm in preference["Alarms"]]
    assert set(triggers) <= set(ALARMS)
    assert set(triggers) == {"ApiServerErrorsAlarm", "ServiceInternalErrorsAlarm", "FunctionErrorsAlarm"}
    summed = {
        metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
        for metric in (ALARMS["FunctionErrorsAlarm"]["Properties"]["Metrics"][1:])
    }
    assert summed == set(FUNCTIONS)


def test_every_entry_point_reaches_a_function_at_its_alias() -> None:
    resources = transformed(PROD)["Resources"]
    aliases = {name for name, resource in resources.items() if resource["Type"] == "AWS::Lambda::Alias"}
    assert aliases == {f"{function}Aliaslive" for function in FUNCTIONS}

    api = next(resource for resource in resources.values() if resource["Type"] == "AWS::ApiGatewayV2::Api")
    for path, operations in api["Properties"]["Body"]["paths"].items():
        for operation in operations.values():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            assert re.search(r"/functions/\$\{\w+Aliaslive\}/invocations$", uri), path
    (mapping,) = [resource for resource in resources.values() if resource["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["Properties"]["FunctionName"] == {"Ref": "RecordLastAccessFunctionAliaslive"}
    invokers = [
        resource["Properties"]["FunctionName"]
        for name, resource in resources.items()
        if name.startswith("VerifyInvoker")
    ]
    assert invokers
    assert all(target == {"Ref": "VerifyRequestFunctionAliaslive"} for target in invokers)
    output = load_template()["Outputs"]["VerifyRequestFunctionArn"]["Value"]
    assert output == {"Ref": "VerifyRequestFunction.Alias"}


def test_stages_keep_their_figures_and_layers_apart() -> None:
    template = load_template()

    namespace_value = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert namespace_value == {"Fn::Sub": "AccessKeys/${Stage}"}
    layer = template["Resources"]["ServiceLayer"]["Properties"]["LayerName"]
    assert layer == {"Fn::Sub": "${AWS::StackName}-${Stage}-core"}


def test_the_dashboard_shows_every_function_and_the_refusals_by_code() -> None:
    body, variables = load_template()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    text = json.dumps(widgets)

    assert len(widgets) >= 8
    for function in FUNCTIONS:
        assert f"${{{function}}}" in text, function
    assert "GROUP BY ErrorCode" in text
    assert "${AccessKeysApi}" in text
    assert "${KeysTableName}" in text  # the restored table's, when RestoredKeysTableName names one
    assert set(variables) == {"KeysTableName"}


def test_the_access_log_outlives_the_stack_for_as_long_as_its_parameter_says() -> None:
    template = load_template()
    group = template["Resources"]["AccessKeysApiLogGroup"]

    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert group["Properties"]["RetentionInDays"] == {"Ref": "AccessLogRetentionInDays"}
    assert template["Parameters"]["AccessLogRetentionInDays"]["Default"] == 400


def keys_table_references(node: Any, conditions: dict[str, bool], path: str = "") -> list[str]:
    """Where the node refers to the KeysTable resource, following only the branch of each !If
    these conditions choose."""
    if isinstance(node, list):
        return [
            found
            for index, item in enumerate(node)
            for found in keys_table_references(item, conditions, f"{path}[{index}]")
        ]
    if not isinstance(node, dict):
        return [path] if isinstance(node, str) and "${KeysTable}" in node else []
    if set(node) == {"Fn::If"}:
        condition, if_true, if_false = node["Fn::If"]
        chosen = if_true if conditions[f"Condition:{condition}"] else if_false
        return keys_table_references(chosen, conditions, path)
    if node.get("Ref") == "KeysTable" or node.get("Fn::GetAtt", [None])[0] == "KeysTable":
        return [path]
    return [found for key, item in node.items() for found in keys_table_references(item, conditions, f"{path}.{key}")]


def test_a_restored_keys_table_takes_the_place_of_the_stacks_own_everywhere() -> None:
    template = load_template()
    restored = condition_values({"RestoredKeysTableName": "access-keys-keys-restored"})
    made = condition_values({})
    others = {name: resource for name, resource in template["Resources"].items() if name != "KeysTable"}

    assert template["Resources"]["KeysTable"]["Condition"] == "CreatesKeysTable"
    assert (made["Condition:CreatesKeysTable"], restored["Condition:CreatesKeysTable"]) == (True, False)
    # With the parameter, nothing refers to the table the stack no longer makes...
    assert keys_table_references([template["Globals"], others, template["Outputs"]], restored) == []
    # ...and without it, the functions' settings, their policies, the alarms and the output do.
    used = keys_table_references([template["Globals"], others, template["Outputs"]], made)
    assert len(used) >= 15
