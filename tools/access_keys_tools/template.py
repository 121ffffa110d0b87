"""Read template.yaml, the one definition of the tables, for tests and local runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that reads the short intrinsic tags (!Ref, !GetAtt, !Sub, ...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def resources_of_type(resource_type: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or load_template()
    return {name: resource for name, resource in template["Resources"].items() if resource["Type"] == resource_type}


def create_table_request(logical_id: str, table_name: str) -> dict[str, Any]:
    """The CreateTable arguments for a table of template.yaml, under the given name."""
    properties = resources_of_type("AWS::DynamoDB::Table")[logical_id]["Properties"]
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for optional in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if optional in properties:
            request[optional] = properties[optional]
    if "StreamSpecification" in properties:
        request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    return request


def time_to_live(logical_id: str) -> dict[str, Any] | None:
    """The TimeToLiveSpecification of a table of template.yaml, if it has one."""
    properties = resources_of_type("AWS::DynamoDB::Table")[logical_id]["Properties"]
    return properties.get("TimeToLiveSpecification")


def create_tables(dynamodb: Any, names: dict[str, str]) -> None:
    """Create the template's tables through a boto3 DynamoDB client; `names` maps logical id to name."""
    for logical_id, table_name in names.items():
        dynamodb.create_table(**create_table_request(logical_id, table_name))
        ttl = time_to_live(logical_id)
        if ttl:
            dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


class UnresolvableError(ValueError):
    """A template value names something a local run cannot provide."""


def parameter_values(parameters: dict[str, Any], template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template's parameters as CloudFormation has them for these values (the others at their
    defaults): text, and a list for a CommaDelimitedList."""
    template = template or load_template()
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = str(parameters.get(name, spec.get("Default", "")))
        values[name] = value.split(",") if spec.get("Type") == "CommaDelimitedList" else value
    return values


def condition_values(parameters: dict[str, Any], template: dict[str, Any] | None = None) -> dict[str, bool]:
    """Each of the template's Conditions, evaluated as CloudFormation would for these parameters
    (the others at their defaults), keyed `Condition:<Name>` for `resolve`'s Fn::If."""
    template = template or load_template()
    values = parameter_values(parameters, template)
    conditions = template.get("Conditions", {})

    def evaluate(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return node
        ((function, argument),) = node.items()
        functions: dict[str, Callable[[], Any]] = {
            "Ref": lambda: values[argument],
            "Fn::Join": lambda: argument[0].join(evaluate(argument[1])),
            "Condition": lambda: evaluate(conditions[argument]),
            "Fn::Condition": lambda: evaluate(conditions[argument]),
            "Fn::Equals": lambda: evaluate(argument[0]) == evaluate(argument[1]),
            "Fn::Not": lambda: not evaluate(argument[0]),
            "Fn::And": lambda: all(evaluate(item) for item in argument),
            "Fn::Or": lambda: any(evaluate(item) for item in argument),
            "Fn::Select": lambda: evaluate(argument[1])[int(argument[0])],
            "Fn::Split": lambda: evaluate(argument[1]).split(argument[0]),
            "Fn::Sub": lambda: re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], argument),
        }
        if function not in functions:
            raise UnresolvableError(f"{function} is not supported in a condition here")
        return functions[function]()

    return {f"Condition:{name}": bool(evaluate(condition)) for name, condition in conditions.items()}


def resolve(value: Any, lookup: dict[str, Any]) -> Any:
    """`value` with its intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Split,
    Fn::Select) replaced through `lookup`.

    `lookup` maps `Name` (a Ref) and `Name.Attribute` (a GetAtt) to values; pseudo parameters
    such as `AWS::StackName` are looked up by their own name, and conditions as `Condition:<Name>`
    (`condition_values`).
    """
    if isinstance(value, list):
        return [resolve(item, lookup) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((name, argument),) = value.items()
        if name in _INTRINSICS:
            return _INTRINSICS[name](argument, lookup)
        if name.startswith("Fn::"):
            raise UnresolvableError(f"{name} is not supported here")
    return {key: resolve(item, lookup) for key, item in value.items()}


def _sub(argument: Any, lookup: dict[str, Any]) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    names = {**lookup, **{name: resolve(item, lookup) for name, item in variables.items()}}
    return re.sub(r"\$\{([^}!][^}]*)\}", lambda match: str(_look_up(names, match.group(1))), text)


def _if(argument: Any, lookup: dict[str, Any]) -> Any:
    condition, if_true, if_false = argument
    return resolve(if_true if _look_up(lookup, f"Condition:{condition}") else if_false, lookup)


_INTRINSICS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "Ref": lambda argument, lookup: _look_up(lookup, argument),
    "Fn::GetAtt": lambda argument, lookup: _look_up(
        lookup, ".".join(argument) if isinstance(argument, list) else argument
    ),
    "Fn::Sub": _sub,
    "Fn::If": _if,
    "Fn::Join": lambda argument, lookup: argument[0].join(resolve(argument[1], lookup)),
    "Fn::Split": lambda argument, lookup: resolve(argument[1], lookup).split(argument[0]),
    "Fn::Select": lambda argument, lookup: resolve(argument[1], lookup)[int(argument[0])],
}


def _look_up(lookup: dict[str, Any], name: str) -> Any:
    if name not in lookup:
        raise UnresolvableError(f"the template refers to {name}, which has no local value")
    return lookup[name]
