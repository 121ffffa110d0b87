"""template.yaml as CloudFormation receives it: SAM's own transform (the library `sam validate` and
`sam deploy` use), and the resources its conditions create for given parameters (evaluated by
access_keys_tools.template, as the local runner evaluates them)."""

from __future__ import annotations

import os
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from access_keys_tools.template import TEMPLATE_PATH, condition_values


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


def created(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation would create for these parameters (the others at their defaults):
    those whose condition holds."""
    holds = condition_values(parameters, template)
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or holds[f"Condition:{resource['Condition']}"]
    }
