"""What `sam deploy` reads from samconfig.toml for each stage, checked against template.yaml.

No AWS here: the file is read with tomllib, and each environment's settings are taken as sam takes
them (its `global` section, then the command's own over it), with sam's own parsers for the
parameter overrides and tags, so that what is checked is what CloudFormation would be sent.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from samcli.cli.types import CfnParameterOverridesType, CfnTags

from access_keys_tools.template import PROJECT_ROOT, load_template

SAMCONFIG = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
ENVIRONMENTS = sorted(name for name, value in SAMCONFIG.items() if isinstance(value, dict))
# The environment sam uses without --config-env is the dev stage.
STAGE_OF_ENVIRONMENT = {"default": "dev", "prod": "prod"}
# The commands whose settings name a stack, its parameters or its artifacts' bucket.
STACK_COMMANDS = ("deploy", "package", "sync", "delete")


def settings(environment: str, command: str) -> dict[str, Any]:
    """The options sam gives `command` in `environment`: global ones, overridden by the command's own."""
    sections = SAMCONFIG[environment]
    return {
        **sections.get("global", {}).get("parameters", {}),
        **sections.get(command, {}).get("parameters", {}),
    }


def parameter_overrides(environment: str) -> dict[str, str]:
    return CfnParameterOverridesType().convert(settings(environment, "deploy").get("parameter_overrides"), None, None)


def tags(environment: str) -> dict[str, str]:
    return CfnTags().convert(settings(environment, "deploy").get("tags", []), None, None)


def stage(environment: str) -> str:
    declared = load_template()["Parameters"]["Stage"]
    return parameter_overrides(environment).get("Stage", declared["Default"])


def test_the_environments_are_the_two_stages() -> None:
    stages = {environment: stage(environment) for environment in ENVIRONMENTS}
    assert stages == STAGE_OF_ENVIRONMENT


def test_each_stage_is_a_stack_of_its_own() -> None:
    stacks = [settings(environment, "deploy").get("stack_name") for environment in ENVIRONMENTS]
    assert all(stacks)
    assert len(set(stacks)) == len(stacks)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_stage_names_its_region(environment: str) -> None:
    assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", settings(environment, "deploy").get("region", ""))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_stage_tags_its_stack_with_the_service_and_the_stage(environment: str) -> None:
    assert tags(environment) == {"service": "access-keys", "stage": stage(environment)}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_parameter_overrides_name_only_parameters_of_the_template(environment: str) -> None:
    declared = load_template()["Parameters"]
    assert set(parameter_overrides(environment)) <= set(declared)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_parameter_overrides_are_values_the_template_allows(environment: str) -> None:
    declared = load_template()["Parameters"]
    for name, value in parameter_overrides(environment).items():
        parameter = declared[name]
        if "AllowedValues" in parameter:
            assert value in [str(allowed) for allowed in parameter["AllowedValues"]], name
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], value), name
        if parameter["Type"] == "Number":
            number = float(value)
            assert number >= parameter.get("MinValue", number), name
            assert number <= parameter.get("MaxValue", number), name


def test_prod_is_the_prod_stage_and_names_the_topic_its_alarms_notify() -> None:
    # template.yaml's rule ProdNotifiesSomeone refuses a prod stack without AlarmTopicArn.
    overrides = parameter_overrides("prod")
    assert overrides["Stage"] == "prod"
    assert overrides.get("AlarmTopicArn")


@pytest.mark.parametrize("command", STACK_COMMANDS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_environment_sets_both_an_s3_bucket_and_resolve_s3(environment: str, command: str) -> None:
    # sam refuses the two together, and one set here makes the other refused on the command line too.
    options = settings(environment, command)
    assert not (options.get("resolve_s3") and options.get("s3_bucket"))
