"""docs/operations.md keeps up with what it describes: every alarm of template.yaml is in it, every
command that reaches AWS says so, and every `access-keys admin` command it names exists."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from access_keys_tools.cli import _parser
from access_keys_tools.template import PROJECT_ROOT, resources_of_type

DOC = PROJECT_ROOT / "docs" / "operations.md"
TEXT = DOC.read_text(encoding="utf-8")
NEEDS_AWS = "# needs AWS"
# A fenced block, also one indented inside a list item.
FENCE = re.compile(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
# `aws` run as a command: at the start, after a pipe, `;`, `&&`, `(`, `{`, `$(` or a loop's `do`;
# or the doc's helper `outputs`, which runs `aws cloudformation describe-stacks`.
RUNS_AWS = re.compile(r"(?:^|[|;&({]\s*|\$\(\s*|\b(?:do|then|else)\s+)aws\s|\$\(outputs\s")
ADMIN_COMMAND = re.compile(r"\baccess-keys admin ([a-z][a-z-]*)")


def blocks(language: str) -> list[str]:
    return [body for info, body in FENCE.findall(TEXT) if info == language]


def commands() -> list[str]:
    """Each command of the doc's `sh` blocks, its continued lines joined, without comment lines."""
    found = []
    for body in blocks("sh"):
        pending = ""
        for line in body.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1]
                continue
            found.append((pending + line).strip())
            pending = ""
    return found


def reaches_aws(command: str) -> bool:
    runs_admin_on_aws = "access-keys admin" in command and "--local" not in command
    return bool(RUNS_AWS.search(command)) or "sam deploy" in command or runs_admin_on_aws


def admin_subcommands() -> set[str]:
    (commands_action,) = [action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction)]
    admin = commands_action.choices["admin"]
    (admin_action,) = [action for action in admin._actions if isinstance(action, argparse._SubParsersAction)]
    return set(admin_action.choices)


@pytest.mark.parametrize("alarm", sorted(resources_of_type("AWS::CloudWatch::Alarm")))
def test_every_alarm_of_the_template_is_in_the_handbook(alarm: str) -> None:
    assert re.search(rf"`{alarm}`", TEXT), f"{alarm} is not in docs/operations.md, section 1"


def test_the_handbook_has_shell_commands_to_check() -> None:
    found = commands()

    assert len(found) > 80
    assert sum(reaches_aws(command) for command in found) > 50


@pytest.mark.parametrize("command", [command for command in commands() if reaches_aws(command)])
def test_every_command_that_reaches_aws_says_so(command: str) -> None:
    assert command.endswith(NEEDS_AWS), f"does not end with {NEEDS_AWS!r}: {command}"


def test_every_admin_command_named_exists_in_the_cli() -> None:
    named = set(ADMIN_COMMAND.findall(TEXT))
    existing = admin_subcommands()

    assert named, "the handbook names no `access-keys admin` command"
    assert named <= existing, f"not commands of `access-keys admin`: {sorted(named - existing)}"


def test_the_policies_and_patterns_it_gives_are_json() -> None:
    documents = [json.loads(body) for body in blocks("json")]

    (policy,) = [document for document in documents if "Statement" in document]
    assert all(statement["Sid"] and statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert len({statement["Sid"] for statement in policy["Statement"]}) == len(policy["Statement"])
    (pattern,) = [document for document in documents if "detail-type" in document]
    assert pattern["source"] == ["aws.kms"]
