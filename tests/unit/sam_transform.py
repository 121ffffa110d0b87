"""template.yaml as CloudFormation receives it: SAM's own transform (the library `sam validate` and
`sam deploy` use), and the intrinsic functions of its conditions evaluated for given parameters."""

from __future__ import annotations

import os
import re
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from access_keys_tools.template import TEMPLATE_PATH


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def transformed(parameters: dict[str, str]) -> dict[str, Any]:
    """SAM's transform of template.yaml, code locations replaced as `sam package` replaces them."""
    template = yaml_parse(TEMPLATE_PATH.read_text(encoding="utf-8"))
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://artifacts/{name}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, parameters, _NoManagedPolicies())


def evaluate(node: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> Any:
    """The intrinsic functions these conditions and principals use, as CloudFormation evaluates them;
    any other (GetAtt and the like) is left as it is."""
    if not isinstance(node, dict) or len(node) != 1:
        return node
    ((function, argument),) = node.items()

    def value(item: Any) -> Any:
        return evaluate(item, parameters, conditions)

    functions = {
        "Ref": lambda: parameters.get(argument, node),
        "Fn::Sub": lambda: re.sub(r"\$\{(\w+)\}", lambda match: parameters[match.group(1)], argument),
        "Fn::Split": lambda: value(argument[1]).split(argument[0]),
        "Fn::Select": lambda: value(argument[1])[argument[0]],
        "Fn::Equals": lambda: value(argument[0]) == value(argument[1]),
        "Fn::Not": lambda: not value(argument[0]),
        "Fn::And": lambda: all(value(item) for item in argument),
        "Condition": lambda: value(conditions[argument]),
    }
    return functions[function]() if function in functions else node


def created(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation would create for these parameters (the others at their defaults):
    those whose condition holds."""
    defaults = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    parameters = {**defaults, **parameters}
    conditions = template.get("Conditions", {})
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or evaluate(conditions[resource["Condition"]], parameters, conditions)
    }
