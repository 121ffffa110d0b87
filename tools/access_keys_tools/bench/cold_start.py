"""Cold start: each function's import in a fresh process, against a boto3 baseline, side by side.

    python -m access_keys_tools.bench.cold_start [--build-dir .aws-sam/build] [--runs 7]

What `sam build` wrote is measured as Lambda would load it: the function's artifact and its layer
on the path, the standard library, and nothing else (`python -I -S`). The figure is the time to
import the handler module, which runs its module-level init, in a new process; the interpreter's
own start is the same for all and left out. The baseline is a handler that imports boto3 and
creates one DynamoDB client, from a boto3 with compiled bytecode, as the Lambda runtime has it.

Each function is measured twice:
- as our `sam build` ships it, with the precompiled bytecode that layers/core/Makefile and
  functions/Makefile add;
- from source only, as a plain zip without .pyc loads it: /opt and /var/task are read-only, so
  every cold start compiles every module again (`-B`, nothing is written).

Runs are interleaved (every target once per round), and each figure is the median of the rounds.
Budget: at most 1.25x the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from access_keys_tools.bench import LAMBDA_ENVIRONMENT
from access_keys_tools.template import PROJECT_ROOT, resources_of_type

BUDGET = 1.25
LAYER = "ServiceLayer"
WORK_DIR = PROJECT_ROOT / ".aws-sam" / "bench"
BASELINE_HANDLER = 'import boto3\n\nclient = boto3.client("dynamodb")\n'

# Imports `module` from `paths` and prints how long that took, in milliseconds.
_PROBE = """
import importlib, sys, time
sys.path[:0] = sys.argv[1].split(":")
started = time.perf_counter()
importlib.import_module(sys.argv[2])
exec(sys.argv[3])
print((time.perf_counter() - started) * 1000)
"""

# A Lambda environment's variables, enough for every module-level init; nothing is called.
_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "TZ": "UTC",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # never used: nothing is called
    **LAMBDA_ENVIRONMENT,
}


@dataclass(frozen=True)
class Target:
    name: str
    paths: tuple[Path, ...]
    module: str
    compile_each_time: bool
    then: str = ""  # code timed after the import


# What a request function's first request adds before its first call: its two AWS clients.
CLIENTS = (
    "from access_keys.dal import kms, models; models.bind_tables(); kms._client(); "
    "models.KeyItem._get_connection().connection.client"
)
WITH_CLIENTS = "GetAccessKeyFunction"


@dataclass(frozen=True)
class ColdStart:
    function: str
    built_ms: float
    source_ms: float
    baseline_ms: float

    @property
    def built_ratio(self) -> float:
        return self.built_ms / self.baseline_ms

    @property
    def source_ratio(self) -> float:
        return self.source_ms / self.baseline_ms


def baseline_dir() -> Path:
    """boto3 and its dependencies at the versions this project pins, compiled, with the baseline handler."""
    target = WORK_DIR / "baseline"
    if not (target / "baseline_app.py").is_file():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(  # noqa: S603 - pip, with this project's own pins
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(target),
                "-c",
                str(PROJECT_ROOT / "requirements-dev.txt"),
                "-c",
                str(PROJECT_ROOT / "layers/core/requirements.txt"),
                "boto3",
            ],
            check=True,
        )
        (target / "baseline_app.py").write_text(BASELINE_HANDLER)
    compile_all = [sys.executable, "-m", "compileall", "-q", "-j", "0", str(target)]
    subprocess.run(compile_all, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return target


def source_only_copy(build_dir: Path) -> Path:
    """The build without any bytecode: what a plain python3.13 build method would ship."""
    target = WORK_DIR / "source-only"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(build_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _function_ids() -> list[str]:
    return sorted(resources_of_type("AWS::Serverless::Function"))


def _targets(build_dir: Path, source_dir: Path, baseline: Path) -> list[Target]:
    targets = [Target("baseline", (baseline,), "baseline_app", compile_each_time=False)]
    for function in _function_ids():
        for root, each_time in ((build_dir, False), (source_dir, True)):
            paths = (root / function, root / LAYER / "python")
            targets.append(Target(function, paths, "app", compile_each_time=each_time))
    paths = (build_dir / WITH_CLIENTS, build_dir / LAYER / "python")
    targets.append(Target(f"{WITH_CLIENTS} + clients", paths, "app", compile_each_time=False, then=CLIENTS))
    return targets


def _import_ms(target: Target) -> float:
    command = [sys.executable, "-I", "-S", *(["-B"] if target.compile_each_time else []), "-c", _PROBE]
    command += [":".join(str(path) for path in target.paths), target.module, target.then]
    output = subprocess.run(command, env=_ENVIRONMENT, capture_output=True, text=True, check=False)  # noqa: S603
    if output.returncode != 0:
        raise RuntimeError(f"{target.name} did not import from its artifact:\n{output.stderr}")
    return float(output.stdout)


@dataclass(frozen=True)
class ColdStarts:
    functions: list[ColdStart]
    with_clients_ms: float  # WITH_CLIENTS, built, when its first request has also made its clients
    baseline_ms: float


def measure(build_dir: Path, runs: int) -> ColdStarts:
    if not (build_dir / LAYER / "python").is_dir():
        raise SystemExit(f"{build_dir} holds no sam build output: run `make build` first")
    targets = _targets(build_dir, source_only_copy(build_dir), baseline_dir())
    samples: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for _ in range(runs):
        for target in targets:
            samples[(target.name, target.compile_each_time)].append(_import_ms(target))
    baseline = statistics.median(samples[("baseline", False)])
    functions = [
        ColdStart(
            function=function,
            built_ms=statistics.median(samples[(function, False)]),
            source_ms=statistics.median(samples[(function, True)]),
            baseline_ms=baseline,
        )
        for function in _function_ids()
    ]
    with_clients = statistics.median(samples[(f"{WITH_CLIENTS} + clients", False)])
    return ColdStarts(functions, with_clients, baseline)


@dataclass(frozen=True)
class ImportCosts:
    modules: list[tuple[str, float]]  # the costliest single modules, by their own (self) time, ms
    packages: list[tuple[str, float]]  # the costliest top-level packages, self times summed, ms


def top_imports(build_dir: Path, function: str = "GetAccessKeyFunction", count: int = 5) -> ImportCosts:
    """What costs `function`'s import most, from `python -X importtime` on the built artifacts."""
    paths = ":".join(str(path) for path in (build_dir / function, build_dir / LAYER / "python"))
    command = [sys.executable, "-I", "-S", "-X", "importtime", "-c", _PROBE, paths, "app", ""]
    output = subprocess.run(command, env=_ENVIRONMENT, capture_output=True, text=True, check=True)  # noqa: S603
    per_module: dict[str, float] = {}
    for line in output.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        per_module[name.strip()] = int(self_us) / 1000
    per_package: dict[str, float] = defaultdict(float)
    for name, milliseconds in per_module.items():
        per_package[name.split(".")[0]] += milliseconds

    def costliest(costs: dict[str, float]) -> list[tuple[str, float]]:
        return sorted(costs.items(), key=lambda item: item[1], reverse=True)[:count]

    return ImportCosts(costliest(per_module), costliest(per_package))


def bytecode_coverage(build_dir: Path) -> tuple[int, int]:
    """(modules, modules with a cpython-313 .pyc beside them) in everything `sam build` wrote."""
    sources = [path for path in build_dir.rglob("*.py") if "__pycache__" not in path.parts]
    compiled = [path for path in sources if (path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc").is_file()]
    return len(sources), len(compiled)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", type=Path, default=PROJECT_ROOT / ".aws-sam" / "build")
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    figures = measure(arguments.build_dir, arguments.runs)
    for row in figures.functions:
        print(
            f"{row.function:28s} built {row.built_ms:6.1f} ms ({row.built_ratio:.2f}x)   "
            f"source only {row.source_ms:6.1f} ms ({row.source_ratio:.2f}x)   baseline {row.baseline_ms:.1f} ms"
        )
    print(
        f"{WITH_CLIENTS} with its DynamoDB and KMS clients made: {figures.with_clients_ms:.1f} ms "
        f"({figures.with_clients_ms / figures.baseline_ms:.2f}x)"
    )
    modules, compiled = bytecode_coverage(arguments.build_dir)
    print(f"bytecode: {compiled} of {modules} modules in {arguments.build_dir} have a .pyc")
    costs = top_imports(arguments.build_dir)
    for name, milliseconds in [*costs.modules, *costs.packages]:
        print(f"  {name:40s} {milliseconds:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
