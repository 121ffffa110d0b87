"""The local stack's parts, started and stopped in order."""

from __future__ import annotations

import errno
import functools
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

from access_keys_tools.local import names
from access_keys_tools.local.backend import MotoServer, create_resources
from access_keys_tools.local.functions import FunctionPool, FunctionSpec, function_specs, layer_dirs, worker_environment
from access_keys_tools.local.gateway import Gateway, GatewayServer, jwt_authorizers, routes
from access_keys_tools.local.invoke_api import InvokeApi
from access_keys_tools.local.names import ServiceTemplate
from access_keys_tools.local.tls import CERTIFICATE, server_context
from access_keys_tools.local.triggers import ScheduleTrigger, StreamTrigger
from access_keys_tools.streams import StreamReader
from access_keys_tools.template import PROJECT_ROOT, UnresolvableError, load_template, resolve, resources_of_type

log = logging.getLogger("access_keys_tools.local")

FIRST_UIN = "100000000001"
# Served unsigned at these paths by the local stack only; the deployed API has no such route.
LOCAL_DOCUMENTS = {"/openapi.yaml": PROJECT_ROOT / "docs" / "openapi.yaml"}
# Where access_keys_verifier sends its Lambda Invoke calls; a served service's functions get the
# stack's own Invoke API there, so that they verify through the local VerifyRequestFunction.
VERIFIER_ENDPOINT_ENV = "ACCESS_KEYS_LAMBDA_ENDPOINT"


def local_outputs(values: Mapping[str, Any], functions: Iterable[str]) -> dict[str, Any]:
    """template.yaml's Outputs as the local stack has them, for the service templates that take them
    as parameters. A layer is its logical id (its folder goes on the worker's PYTHONPATH), and a
    function's Arn, or its alias, is its logical id, the name the Invoke API knows it by. Outputs that have no
    local value (the API's URL) are left out."""
    lookup = {
        **values,
        **{name: name for name in resources_of_type("AWS::Serverless::LayerVersion")},
        **{f"{logical_id}.Arn": logical_id for logical_id in functions},
        # No versions here: a function's alias `live` (AutoPublishAlias) is the function itself.
        **{f"{logical_id}.Alias": logical_id for logical_id in functions},
    }
    outputs = {}
    for name, output in load_template().get("Outputs", {}).items():
        try:
            outputs[name] = resolve(output["Value"], lookup)
        except UnresolvableError:
            continue
    return outputs


class PortInUse(Exception):
    def __init__(self, port: int, variable: str) -> None:
        super().__init__(f"port {port} is in use")
        self.port = port
        self.variable = variable


def _bind(port: int, variable: str, bind: Any) -> Any:
    try:
        return bind()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(port, variable) from None
        raise


class LocalStack:
    """moto, the template's resources, its functions behind the gateway and the Invoke API, and its triggers."""

    def __init__(
        self,
        *,
        port: int = names.DEFAULT_PORT,
        aws_port: int = names.DEFAULT_AWS_PORT,
        https_port: int = names.DEFAULT_HTTPS_PORT,
        lambda_port: int = names.DEFAULT_LAMBDA_PORT,
        cleanup_interval: float = 300,
        concurrency: int = 4,
        log_level: str | None = None,
        build_dir: Path | None = None,
        services: Sequence[ServiceTemplate] = (),
    ) -> None:
        # Every port is taken before anything starts, so a clash leaves nothing behind.
        self.moto = _bind(aws_port, "MOTO_PORT", lambda: MotoServer(aws_port))
        self._gateway_port = port
        self._cleanup_interval = cleanup_interval
        self._concurrency = concurrency
        self._log_level = log_level
        self._build_dir = build_dir
        self._https_port = https_port
        self._lambda_port = lambda_port
        try:
            self.server = _bind(port, "PORT", lambda: GatewayServer(port, Gateway([], self._invoke)))
        except PortInUse:
            self.moto.stop()
            raise
        try:
            tls = server_context(names.TLS_DIR)
            self.https_server = _bind(
                https_port, "HTTPS_PORT", lambda: GatewayServer(https_port, self.server.gateway, tls)
            )
        except PortInUse:
            self.server.server_close()
            self.moto.stop()
            raise
        try:
            self.lambda_server = _bind(
                lambda_port, "LAMBDA_PORT", lambda: GatewayServer(lambda_port, InvokeApi({}, self._invoke))
            )
        except PortInUse:
            self.https_server.server_close()
            self.server.server_close()
            self.moto.stop()
            raise
        self.services = tuple(services)
        self.service_servers: list[GatewayServer] = []
        for service in self.services:
            try:
                bind = functools.partial(GatewayServer, service.port, Gateway([], self._invoke))
                self.service_servers.append(_bind(service.port, service.variable, bind))
            except PortInUse:
                for server in (*self.service_servers, self.lambda_server, self.https_server, self.server):
                    server.server_close()
                self.moto.stop()
                raise
        self.pools: dict[str, FunctionPool] = {}  # template.yaml's functions, by logical id
        # Every function served, template.yaml's and the service templates', by function name.
        self._pools_by_name: dict[str, FunctionPool] = {}
        self.specs: dict[str, FunctionSpec] = {}
        self.triggers: list[StreamTrigger | ScheduleTrigger] = []
        self._server_threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return names.api_url(self._gateway_port)

    @property
    def lambda_url(self) -> str:
        return names.lambda_url(self._lambda_port)

    def start(self) -> None:
        self.moto.start()
        resources = create_resources(self.moto.url)
        values = dict(resources.values)
        if self._log_level:
            values["LogLevel"] = self._log_level
        self.specs = function_specs(values, self._build_dir)
        for logical_id, spec in self.specs.items():
            self.pools[logical_id] = FunctionPool(spec, worker_environment(spec, self.moto.url), self._concurrency)
            self._pools_by_name[spec.function_name] = self.pools[logical_id]

        authorizers = jwt_authorizers(values, self.moto.url)
        self.server.gateway = Gateway(routes(self.specs, authorizers), self._invoke, documents=LOCAL_DOCUMENTS)
        self.https_server.gateway = self.server.gateway
        # Every function of the template, the API's and the triggers' alike, as `sam local start-lambda`.
        self.lambda_server.gateway = InvokeApi(self.specs, self._invoke)
        self._serve_service_templates(local_outputs(values, self.specs))
        self._server_threads = [
            threading.Thread(target=server.serve_forever, name=name, daemon=True)
            for server, name in (
                (self.server, "gateway"),
                (self.https_server, "gateway-https"),
                (self.lambda_server, "invoke-api"),
                *((server, f"gateway-{service.stack_name}") for service, server in self._served()),
            )
        ]
        for thread in self._server_threads:
            thread.start()

        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=self.moto.url,
            region_name=names.REGION,
            aws_access_key_id=names.CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=names.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        stream_arns = {resources.values[f"{table}.StreamArn"]: table for table in resources.stream_arns}
        for logical_id, spec in self.specs.items():
            for name, event in spec.events.items():
                if event["Type"] == "DynamoDB":
                    stream_arn = event["Properties"]["Stream"]
                    arn = stream_arn if isinstance(stream_arn, str) else resolve(stream_arn, resources.values)
                    if arn not in stream_arns:
                        raise ValueError(f"{logical_id}: no local stream for {stream_arn!r}")
                    reader = StreamReader(streams, arn)
                    self.triggers.append(StreamTrigger(self.pools[logical_id], event, reader))
                elif event["Type"] in ("Schedule", "ScheduleV2"):
                    self.triggers.append(ScheduleTrigger(self.pools[logical_id], name, self._cleanup_interval))
        for trigger in self.triggers:
            trigger.start()

    def _served(self) -> list[tuple[ServiceTemplate, GatewayServer]]:
        return list(zip(self.services, self.service_servers, strict=True))

    def _serve_service_templates(self, outputs: dict[str, Any]) -> None:
        """Each service template's routes on its own server, its functions in pools of their own."""
        layers = layer_dirs(self._build_dir)  # the stack's layers, as its functions get them
        for service, server in self._served():
            values = {**names.pseudo_parameters(), "AWS::StackName": service.stack_name, **outputs}
            specs = function_specs(values, template_path=service.template, stack_name=service.stack_name, layers=layers)
            for spec in specs.values():
                if spec.function_name in self._pools_by_name:
                    raise ValueError(f"{service.template}: {spec.function_name} is served already")
                environment = {**worker_environment(spec, self.moto.url), VERIFIER_ENDPOINT_ENV: self.lambda_url}
                self._pools_by_name[spec.function_name] = FunctionPool(spec, environment, self._concurrency)
            server.gateway = Gateway(routes(specs), self._invoke)

    def _invoke(self, spec: FunctionSpec, event: Any, request_id: str) -> Any:
        return self._pools_by_name[spec.function_name].invoke(event, request_id)

    def warm_up(self) -> None:
        """Start one environment per function in the background, so first requests are not cold."""

        def warm() -> None:
            for pool in list(self._pools_by_name.values()):
                try:
                    pool.warm()
                except Exception as error:  # the first request reports it again
                    log.warning("%s did not start: %s", pool.spec.logical_id, error)

        threading.Thread(target=warm, name="warm-up", daemon=True).start()

    def _certificate_path(self) -> str:
        return str((names.TLS_DIR / CERTIFICATE).relative_to(PROJECT_ROOT))

    def banner(self, seconds: float) -> str:
        local = " --local" if self.moto.url == names.aws_url() else f" --local {self.moto.url}"
        lines = [
            f"access-keys local stack is up ({seconds:.1f} s). Ctrl-C stops it.",
            f"  API       {self.url}   routes and handlers of template.yaml, one worker process per environment",
            f"  Console   {self.url}/console   sign in as the account (email, password, TOTP), or with a key",
            f"  HTTPS     {names.https_url(self._https_port)}  the same, self-signed: {self._certificate_path()}",
            f"  Lambda    {self.lambda_url}   the Invoke API of every function, as `sam local start-lambda`",
            *(f"  {service.title:<9} {service.url}   {service.description}" for service in self.services),
            f"  AWS       {self.moto.url}   moto: DynamoDB, DynamoDB Streams, KMS, Cognito (the accounts' user pool)",
            "  Data      in memory only: every account, key and record is gone when this stops",
            *([f"  Code      the artifacts of `sam build` in {self._build_dir}"] if self._build_dir else []),
            f"  Triggers  last access from the records stream (about 1 s); cleanup every {self._cleanup_interval:g} s",
            "",
            "Create an account's sign-in, in another terminal in this folder, then sign in to the console:",
            f"  .venv/bin/access-keys admin create-account{local} --uin {FIRST_UIN} --email owner@example.com",
            "Or create a key directly, for scripts and SDKs:",
            f"  .venv/bin/access-keys admin create-key{local} --uin {FIRST_UIN} --save-profile default",
        ]
        if self.url != names.api_url():
            lines.append(f"  export ACCESS_KEYS_ENDPOINT={self.url}")
        lines.append("Then:  .venv/bin/access-keys list")
        return "\n".join(lines)

    def stop(self) -> None:
        for server in (self.server, self.https_server, self.lambda_server, *self.service_servers):
            if self._server_threads:
                server.shutdown()
            server.server_close()
        for trigger in self.triggers:
            trigger.stop()
        ending = [worker for pool in self._pools_by_name.values() for worker in pool.close()]
        for worker in ending:
            worker.wait()
        self.moto.stop()
