"""The README's quickstart, line by line, against `make run`, as a newcomer would run it."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from stack_process import Result, StackProcess, free_port, run_shell, shell_commands, stack_environment

from access_keys_tools.template import PROJECT_ROOT

SECRET_ID = re.compile(r"AKID[A-Za-z0-9]{32}")
LAST_ACCESS_WITHIN_SECONDS = 2.0


def readme_section(title: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def shell_blocks(section: str) -> list[list[str]]:
    """The commands of each ```sh block, comments and blank lines left out."""
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [shell_commands(block) for block in blocks]


def run_answering(command: str, environment: dict[str, str], answer: str) -> Result:
    """Run with a terminal on stdin, as a person would, and type `answer` at the prompt."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - the README's own commands
        ["/bin/bash", "-c", command],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(terminal)
    os.write(controller, answer.encode() + b"\n")
    stdout, stderr = process.communicate(timeout=60)
    os.close(controller)
    return Result(process.returncode, stdout, stderr)


def test_the_readme_starts_with_the_run_and_test_commands() -> None:
    first_block = shell_blocks(readme_section("Run it, test it"))[0]

    assert first_block == ["make run", "make test"]
    assert (PROJECT_ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "exec make test"


def test_the_quickstart_works_as_written_against_make_run(tmp_path: Path) -> None:
    start_block, client_block = shell_blocks(readme_section("Quickstart"))
    assert start_block == ["make run"]
    port, aws_port = free_port(), free_port()
    stack = StackProcess(
        ["make", "run"],
        env=stack_environment(PORT=str(port), MOTO_PORT=str(aws_port)),
        log_path=tmp_path / "make-run.log",
    )
    try:
        print(f"make run: banner after {stack.seconds_to_banner:.1f} s")
        walk_the_quickstart(client_block, stack.banner, port, tmp_path)
    except BaseException:
        stack.kill()
        raise
    exit_code, rest, left = stack.interrupt()

    # make ends itself with the SIGINT it was sent; the runner inside stopped cleanly first.
    assert exit_code in (0, -signal.SIGINT), rest
    assert "Stopped." in rest
    assert left == [], f"processes left after Ctrl-C: {left}"


def walk_the_quickstart(commands: list[str], banner: str, port: int, tmp_path: Path) -> None:
    environment = stack_environment(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        # The banner's own advice when PORT is not 3000, which this test needs to share the machine.
        ACCESS_KEYS_ENDPOINT=f"http://127.0.0.1:{port}",
    )
    banner_admin = next(line.strip() for line in banner.splitlines() if "admin create-key" in line)
    assert f"export ACCESS_KEYS_ENDPOINT=http://127.0.0.1:{port}" in banner
    assert "in memory" in banner
    assert f"http://127.0.0.1:{port}" in banner
    bot: str | None = None
    results: dict[str, list[Result]] = {}

    steps: list[tuple[str, Callable[[Result], None]]] = [
        ('export PATH="$PWD/.venv/bin:$PATH"', lambda _: None),
        ("access-keys admin create-key --local --uin 100000000001 --save-profile default", check_bootstrap),
        ('access-keys create --description "deploy bot" --save-profile bot', check_create),
        ("access-keys list", check_list_of_two),
        ("BOT=AKID...", lambda _: None),
        ("access-keys disable $BOT", lambda result: check_status(result, "Inactive")),
        ("access-keys --profile bot list", check_refused),
        ("access-keys enable $BOT", lambda result: check_status(result, "Active")),
        ("access-keys --profile bot list", check_list_of_two),
        ("access-keys records $BOT", check_records),
        ("access-keys get $BOT", check_last_access),
        ("access-keys disable $BOT", lambda result: check_status(result, "Inactive")),
        ("access-keys delete $BOT", check_deleted),
    ]
    assert commands == [command for command, _ in steps], "README quickstart and this test differ"

    for command, check in steps:
        if command.startswith("export PATH="):
            environment["PATH"] = f"{PROJECT_ROOT / '.venv' / 'bin'}:{environment['PATH']}"
            continue
        if command.startswith("BOT="):
            created = results['access-keys create --description "deploy bot" --save-profile bot'][0]
            found = SECRET_ID.search(created.stdout)
            assert found
            bot = environment["BOT"] = found[0]
            continue
        to_run = command
        if "admin create-key" in command:
            # What the banner prints for these ports is what the README shows for the default ones.
            assert re.sub(r" --local http://\S+", " --local", banner_admin) == f".venv/bin/{command}"
            to_run = banner_admin
        if command.startswith("access-keys delete"):
            result = run_answering(to_run, environment, "y")
        elif command.startswith("access-keys get"):
            result = poll_last_access(to_run, environment)
        else:
            result = run_shell(to_run, environment)
        results.setdefault(command, []).append(result)
        check(result)

    listed = run_shell("access-keys list --output json", environment)
    assert bot is not None
    assert bot not in listed.stdout
    assert listed.stdout.count('"SecretId"') == 1


def check_bootstrap(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert '"SecretKey"' in result.stdout
    assert "Saved as profile 'default'" in result.stderr


def check_create(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^SecretKey\s+[A-Za-z0-9]{32}$", result.stdout, flags=re.MULTILINE)
    assert "can never be shown again" in result.stderr
    assert "Saved as profile 'bot'" in result.stderr


def check_list_of_two(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    header, _, *rows = result.stdout.splitlines()
    assert header.split() == ["SecretId", "Status", "Created", "(UTC)", "Last", "Access", "(UTC)", "Description"]
    assert len(rows) == 2
    assert rows[1].split()[1] == "Active"
    assert rows[1].endswith("deploy bot")


def check_status(result: Result, status: str) -> None:
    assert result.exit_code == 0, result.stderr
    assert re.search(rf"^Status\s+{status}$", result.stdout, flags=re.MULTILINE)


def check_refused(result: Result) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("access-keys: AuthFailure.SecretIdNotFound: ")


def check_records(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    # Two tables, a blank line apart: the access records, then the failed attempts.
    access_records, failed_attempts = result.stdout.split("\n\n")
    header, _, *rows = access_records.splitlines()
    assert header.split() == ["Time", "(UTC)", "Service", "Action", "Result", "Error", "Source", "IP", "User", "Agent"]
    # Time (UTC) is two fields: date and time; then Service, Action, Result, Error.
    outcomes = [tuple(row.split()[2:6]) for row in rows]
    # The bot's own calls, both signed with its SecretKey: the accepted list, then the refused
    # one (newest first).
    assert outcomes == [
        ("cam", "ListAccessKeys", "Success", "-"),
        ("cam", "ListAccessKeys", "Failure", "AuthFailure.SecretIdNotFound"),
    ]
    # Nobody sent the bot's SecretId without its signature.
    assert failed_attempts == "No failed attempts in the past 90 days.\n"


def poll_last_access(command: str, environment: dict[str, str]) -> Result:
    started = time.monotonic()
    while True:
        result = run_shell(command, environment)
        if "never" not in result.stdout or time.monotonic() - started > 10:
            print(f"last access shown {time.monotonic() - started:.2f} s after the records call")
            return result
        time.sleep(0.2)


def check_last_access(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^Last Access \(UTC\)\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", result.stdout, re.MULTILINE)


def check_deleted(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert "This is final and cannot be undone. [y/N]" in result.stderr
    assert re.fullmatch(r"Deleted AKID[A-Za-z0-9]{32}\.\n", result.stdout)


@pytest.mark.parametrize("answer", ["n", ""])
def test_delete_keeps_the_key_unless_the_answer_is_yes(answer: str, tmp_path: Path) -> None:
    environment = stack_environment(XDG_CONFIG_HOME=str(tmp_path), ACCESS_KEYS_ENDPOINT="http://127.0.0.1:9")
    secret_id = "AKID" + "a" * 32
    environment["ACCESS_KEYS_SECRET_ID"] = secret_id
    environment["ACCESS_KEYS_SECRET_KEY"] = "b" * 32

    result = run_answering(f"{PROJECT_ROOT}/.venv/bin/access-keys delete {secret_id}", environment, answer)

    # Refused before any request: port 9 would have answered "cannot reach".
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("[y/N] Not deleted.")
    assert result.stdout == ""
