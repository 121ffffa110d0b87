"""Read template.yaml, the one definition of the tables, for tests and local runs."""

from __future__ import annotations

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
