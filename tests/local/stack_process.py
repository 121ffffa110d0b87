"""The local stack as a user runs it: a process group in the foreground, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from access_keys_tools.template import PROJECT_ROOT

BANNER_END = "Then:"


def unique_uin() -> str:
    """An account of its own for a test, on a stack that other tests share."""
    return f"local-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def session_processes(session_id: int) -> list[str]:
    """The command lines of the processes still in a session (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # The command name is parenthesised and may hold spaces: the fields follow the last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) == session_id and fields[0] != "Z":
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
        except (OSError, ValueError, IndexError):
            continue
    return found


class StackProcess:
    """Starts a command in a session of its own, as a terminal would, and reads its banner."""

    def __init__(self, command: Sequence[str], *, env: dict[str, str], log_path: Path, timeout: float = 300) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - the test's own command
            list(command),
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        self.started = time.monotonic()
        self.banner = self._read_banner(timeout)
        self.seconds_to_banner = time.monotonic() - self.started

    def _read_banner(self, timeout: float) -> str:
        assert self.process.stdout
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline().decode()
            if not line:
                raise AssertionError(f"the stack exited before its banner: {''.join(lines)}\n{self.logs()}")
            lines.append(line)
            if line.startswith(BANNER_END):
                return "".join(lines)
        raise AssertionError(f"no banner within {timeout} s: {''.join(lines)}")

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def interrupt(self, timeout: float = 30) -> tuple[int, str, list[str]]:
        """Ctrl-C: SIGINT to the whole foreground group. Returns the exit code, the rest of
        stdout, and the processes of the session still alive afterwards."""
        os.killpg(self.process.pid, signal.SIGINT)
        rest, _ = self.process.communicate(timeout=timeout)
        self._log.close()
        deadline = time.monotonic() + 5
        left = session_processes(self.process.pid)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = session_processes(self.process.pid)
        return self.process.returncode, rest.decode(), left

    def kill(self) -> None:
        """For a test that failed half-way: nothing may outlive the test run."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if not self._log.closed:
            self._log.close()


def stack_environment(**overrides: str) -> dict[str, str]:
    """The caller's environment without the test settings of tests/conftest.py."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "KEYS_", "RECORDS_", "SECRETS_", "POWERTOOLS_", "ACCESS_KEYS_", "PYTEST"))
    }
    environment.update(overrides)
    # Every stack serves HTTPS, the Lambda Invoke API and the example service too: never on their
    # default ports, which a developer's `make run` may hold.
    environment.setdefault("HTTPS_PORT", str(free_port()))
    environment.setdefault("LAMBDA_PORT", str(free_port()))
    environment.setdefault("EXAMPLE_PORT", str(free_port()))
    return environment


@dataclass(frozen=True)
class Result:
    """What one README command did."""

    exit_code: int
    stdout: str
    stderr: str


def shell_commands(block: str) -> list[str]:
    """A README ```sh block's commands, comments and blank lines left out."""
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def run_shell(command: str, environment: dict[str, str]) -> Result:
    """One README command, run by bash from the project's folder, as a reader would."""
    completed = subprocess.run(  # noqa: S603 - the README's own commands
        ["/bin/bash", "-c", command],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)
