"""template.yaml's functions, each run as Lambda runs it: in worker processes of its own.

A worker is one Python process per execution environment, started with the function's own
environment (Globals merged with the function's variables, intrinsics resolved to the local
resources) and its code and layers on PYTHONPATH, the way Lambda lays out /var/task and
/opt/python. It imports the handler once (the cold start) and then serves one invocation at a
time. A function gets more workers, up to its concurrency limit, while all of its workers are
busy, so concurrent requests run in parallel and module state is per environment, as deployed.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access_keys_tools.local import names
from access_keys_tools.template import (
    PROJECT_ROOT,
    TEMPLATE_PATH,
    condition_values,
    load_template,
    resolve,
    resources_of_type,
)

# How long Lambda gives a function's init phase before it fails the invocation.
INIT_TIMEOUT_SECONDS = 10.0


# Workers ask Linux to end them when their parent ends (PR_SET_PDEATHSIG), and Linux means the
# parent *thread*. So every worker is started from this one thread, which lives as long as the
# runner, rather than from the short-lived thread of the request that needed it.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")


class InvocationError(RuntimeError):
    """The function failed: it raised, timed out or its worker died. Lambda reports these as function errors.

    `document` is what Lambda's Invoke API answers for it (errorMessage, errorType, stackTrace):
    the exception's type and message, never its other state.
    """

    def __init__(self, message: str, document: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.document = document or {"errorMessage": message, "errorType": "Runtime.Unknown"}


def _error_document(reply: dict[str, Any]) -> dict[str, Any] | None:
    if "errorType" not in reply:
        return None
    return {name: reply[name] for name in ("errorMessage", "errorType", "requestId", "stackTrace") if name in reply}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    layer_dirs: tuple[Path, ...]
    reserved_concurrency: int | None
    events: dict[str, Any]
    # Built by `sam build`: the worker then sees the artifacts and the standard library only.
    built: bool = False
    # The stack it is deployed in: the access-key stack's, or a served service template's.
    stack_name: str = names.STACK_NAME

    @property
    def function_name(self) -> str:
        return f"{self.stack_name}-{self.logical_id}"

    @property
    def short_name(self) -> str:
        return self.logical_id.removesuffix("Function")


def layer_dirs(build_dir: Path | None = None) -> dict[str, Path]:
    """The folder each layer of template.yaml puts on PYTHONPATH (/opt/python on Lambda), by logical id.

    With `build_dir` (what `sam build` wrote, e.g. .aws-sam/build), the built layers.
    """
    layers = resources_of_type("AWS::Serverless::LayerVersion")
    if build_dir is None:
        return {name: PROJECT_ROOT / layer["Properties"]["ContentUri"] for name, layer in layers.items()}
    return {name: build_dir / name / "python" for name in layers}


def function_specs(
    values: dict[str, Any],
    build_dir: Path | None = None,
    *,
    template_path: Path = TEMPLATE_PATH,
    stack_name: str = names.STACK_NAME,
    layers: dict[str, Path] | None = None,
) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function of a template, with Globals applied and `values` resolved.

    The template is template.yaml unless `template_path` names another (a platform service's,
    served beside the stack); its code folders are relative to it. A function's layer is a Ref
    that resolves, through the template's own layers or through `values`, to a logical id of
    `layers` (default: template.yaml's, `layer_dirs(build_dir)`).

    With `build_dir` (what `sam build` wrote, e.g. .aws-sam/build), each function runs its built
    artifact and layers, laid out as on Lambda, instead of the source folders.
    """
    template = load_template(template_path)
    defaults = template.get("Globals", {}).get("Function", {})
    layers = layer_dirs(build_dir) if layers is None else layers
    own_layers = {name: name for name in resources_of_type("AWS::Serverless::LayerVersion", template)}
    parameters = {name: parameter.get("Default") for name, parameter in template.get("Parameters", {}).items()}
    # Conditions as the parameters' defaults make them (the local stack overrides none that
    # a function's settings depend on).
    lookup = {**own_layers, **parameters, **condition_values({}, template), **values}
    specs = {}
    for logical_id, resource in resources_of_type("AWS::Serverless::Function", template).items():
        properties = {**defaults, **resource["Properties"]}
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        environment = resolve(variables, lookup)
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=template_path.parent / properties["CodeUri"] if build_dir is None else build_dir / logical_id,
            handler=properties["Handler"],
            timeout=int(properties.get("Timeout", 3)),
            memory_size=int(properties.get("MemorySize", 128)),
            environment={name: str(value) for name, value in environment.items()},
            layer_dirs=tuple(_layer_dir(logical_id, layer, lookup, layers) for layer in properties.get("Layers", [])),
            reserved_concurrency=properties.get("ReservedConcurrentExecutions"),
            events=properties.get("Events", {}),
            built=build_dir is not None,
            stack_name=stack_name,
        )
    return specs


def _layer_dir(function: str, layer: Any, lookup: dict[str, Any], layers: dict[str, Path]) -> Path:
    name = resolve(layer, lookup)
    if name not in layers:
        raise ValueError(f"{function}: its layer {layer!r} is {name!r}, which is no local layer ({', '.join(layers)})")
    return layers[name]


class Worker:
    """One execution environment: a process that imported the handler and runs one event at a time."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str]) -> None:
        self.spec = spec
        self._process = _SPAWNER.submit(
            subprocess.Popen,
            # -S: no site-packages for a built function, so that nothing it imports can come
            # from this project's venv instead of its artifact.
            [sys.executable, *(["-S"] if spec.built else []), "-m", "access_keys_tools.local.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=spec.code_dir,
        ).result()
        threading.Thread(target=self._forward_logs, name=f"{spec.short_name}-logs", daemon=True).start()
        ready = self._receive(INIT_TIMEOUT_SECONDS)
        if "ready" not in ready:
            self.kill()
            document = _error_document(ready) or {
                "errorMessage": f"Error: Runtime exited during init: {ready.get('error')}",
                "errorType": "Runtime.ExitError",
            }
            raise InvocationError(f"{spec.logical_id} failed to initialise: {ready.get('error')}", document)
        self.init_ms = ready["ready"]

    def _forward_logs(self) -> None:
        """The function's output (its logs) on our stderr, each line tagged with the function."""
        if self._process.stderr is None:
            return
        prefix = f"[{self.spec.short_name}] ".encode()
        for line in self._process.stderr:
            sys.stderr.buffer.write(prefix + line)
            sys.stderr.buffer.flush()

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        if self._process.stdin is None:
            raise InvocationError("the worker has no input")
        deadline = time.time() + self.spec.timeout
        message = {"event": event, "requestId": request_id, "deadline": deadline}
        try:
            self._process.stdin.write(json.dumps(message).encode() + b"\n")
            self._process.stdin.flush()
        except OSError as error:
            self.kill()
            document = {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited",
                "errorType": "Runtime.ExitError",
            }
            raise InvocationError(f"{self.spec.logical_id}'s environment is gone: {error}", document) from error
        reply = self._receive(self.spec.timeout + 0.5)
        if "result" in reply:
            return reply["result"]
        document = _error_document(reply)
        if document is None:  # no answer from the function: it timed out, or its process ended
            timed_out = reply.get("timed_out", False)
            document = {
                "errorMessage": f"RequestId: {request_id} Error: "
                + (f"Task timed out after {self.spec.timeout:.2f} seconds" if timed_out else reply["error"]),
                "errorType": "Sandbox.Timedout" if timed_out else "Runtime.ExitError",
            }
        raise InvocationError(f"{self.spec.logical_id}: {reply['error']}", document)

    def _receive(self, timeout: float) -> dict[str, Any]:
        if self._process.stdout is None:
            return {"error": "the worker has no output"}
        readable, _, _ = select.select([self._process.stdout], [], [], timeout)
        if not readable:
            self.kill()
            return {"error": f"Task timed out after {timeout:.1f} seconds", "timed_out": True}
        line = self._process.stdout.readline()
        if not line:
            self.kill()
            return {"error": f"Runtime exited with error: exit status {self._process.wait()}"}
        return json.loads(line)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """Close its input, which ends its loop; kill it if it lingers."""
        self.close_input()
        self.wait()

    def close_input(self) -> None:
        if self._process.stdin and not self._process.stdin.closed:
            with contextlib.suppress(OSError):  # it may be gone already
                self._process.stdin.close()

    def wait(self, timeout: float = 2.0) -> None:
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


class FunctionPool:
    """A function's execution environments: reuses an idle one, starts another while all are busy."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], max_concurrency: int) -> None:
        self.spec = spec
        self._environment = environment
        limit = spec.reserved_concurrency
        self._max = min(max_concurrency, int(limit)) if limit is not None else max_concurrency
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._count = 0
        self._condition = threading.Condition()
        self._closed = False

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        """Run the handler on `event`; raises InvocationError when the function fails."""
        worker = self._acquire()
        try:
            return worker.invoke(event, request_id or str(uuid.uuid4()))
        finally:
            # After a function error the environment is reused, as Lambda's Python runtime does;
            # after a timeout or a crash the worker is gone and is replaced on demand.
            self._release(worker, healthy=worker.alive)

    def warm(self) -> None:
        """Start one environment ahead of the first request, as provisioned concurrency would."""
        with self._condition:
            if self._count or self._closed:
                return
            self._count += 1
        self._release(self._start(), healthy=True)

    def _acquire(self) -> Worker:
        with self._condition:
            while not self._idle and self._count >= self._max:
                if self._closed:
                    raise InvocationError("the local stack is stopping")
                self._condition.wait()
            if self._closed:
                raise InvocationError("the local stack is stopping")
            if self._idle:
                return self._idle.pop()
            self._count += 1
        return self._start()

    def _start(self) -> Worker:
        try:
            worker = Worker(self.spec, self._environment)
        except BaseException:
            with self._condition:
                self._count -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._all.add(worker)
        return worker

    def _release(self, worker: Worker, *, healthy: bool) -> None:
        with self._condition:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
                self._all.discard(worker)
            self._condition.notify()
        if not keep:
            worker.stop()  # a failed worker was killed already; stop() then only reaps it

    def close(self) -> list[Worker]:
        """Stop every environment: idle ones are told to end, busy ones are killed mid-invocation.
        Returns the workers to `wait()` for, so that several pools can end side by side."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = self._all.difference(idle)
            self._all.clear()
            self._condition.notify_all()
        for worker in idle:
            worker.close_input()
        for worker in busy:
            worker.kill()
        return idle


def worker_environment(spec: FunctionSpec, aws_endpoint: str) -> dict[str, str]:
    """What a Lambda execution environment of this function sees, pointed at the local AWS."""
    python_path = [str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs)]
    if spec.built:
        python_path.append(str(PROJECT_ROOT / "tools"))  # the worker loop itself, standard library only
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONUNBUFFERED": "1",
        **names.CREDENTIALS,
        "AWS_REGION": names.REGION,
        "AWS_DEFAULT_REGION": names.REGION,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        # What `sam local` sets: Powertools then skips X-Ray, which has no daemon here.
        "AWS_SAM_LOCAL": "true",
        "_HANDLER": spec.handler,
        **spec.environment,
        # Where a browser reaches Cognito: moto here, for the console's sign-in (template.yaml).
        **({"COGNITO_ENDPOINT": f"{aws_endpoint.rstrip('/')}/"} if "COGNITO_ENDPOINT" in spec.environment else {}),
    }
