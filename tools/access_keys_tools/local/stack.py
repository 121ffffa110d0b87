"""The local stack's parts, started and stopped in order."""

from __future__ import annotations

import errno
import logging
import threading
from pathlib import Path
from typing import Any

import boto3

from access_keys_tools.local import names
from access_keys_tools.local.backend import MotoServer, create_resources
from access_keys_tools.local.functions import FunctionPool, FunctionSpec, function_specs, worker_environment
from access_keys_tools.local.gateway import Gateway, GatewayServer, routes
from access_keys_tools.local.invoke_api import InvokeApi
from access_keys_tools.local.tls import CERTIFICATE, server_context
from access_keys_tools.local.triggers import ScheduleTrigger, StreamTrigger
from access_keys_tools.streams import StreamReader
from access_keys_tools.template import PROJECT_ROOT, resolve

log = logging.getLogger("access_keys_tools.local")

FIRST_UIN = "100000000001"
# Served unsigned at these paths by the local stack only; the deployed API has no such route.
LOCAL_DOCUMENTS = {"/openapi.yaml": PROJECT_ROOT / "docs" / "openapi.yaml"}


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
        self.pools: dict[str, FunctionPool] = {}
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

        self.server.gateway = Gateway(routes(self.specs), self._invoke, documents=LOCAL_DOCUMENTS)
        self.https_server.gateway = self.server.gateway
        # Every function of the template, the API's and the triggers' alike, as `sam local start-lambda`.
        self.lambda_server.gateway = InvokeApi(self.specs, self._invoke)
        self._server_threads = [
            threading.Thread(target=server.serve_forever, name=name, daemon=True)
            for server, name in (
                (self.server, "gateway"),
                (self.https_server, "gateway-https"),
                (self.lambda_server, "invoke-api"),
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

    def _invoke(self, spec: FunctionSpec, event: Any, request_id: str) -> Any:
        return self.pools[spec.logical_id].invoke(event, request_id)

    def warm_up(self) -> None:
        """Start one environment per function in the background, so first requests are not cold."""

        def warm() -> None:
            for pool in self.pools.values():
                try:
                    pool.warm()
                except Exception as error:  # the first request reports it again
                    log.warning("%s did not start: %s", pool.spec.logical_id, error)

        threading.Thread(target=warm, name="warm-up", daemon=True).start()

    def _certificate_path(self) -> str:
        return str((names.TLS_DIR / CERTIFICATE).relative_to(PROJECT_ROOT))

    def banner(self, seconds: float) -> str:
        admin = ".venv/bin/access-keys admin create-key --local"
        if self.moto.url != names.aws_url():
            admin += f" {self.moto.url}"
        admin += f" --uin {FIRST_UIN} --save-profile default"
        lines = [
            f"access-keys local stack is up ({seconds:.1f} s). Ctrl-C stops it.",
            f"  API       {self.url}   routes and handlers of template.yaml, one worker process per environment",
            f"  HTTPS     {names.https_url(self._https_port)}  the same, self-signed: {self._certificate_path()}",
            f"  Lambda    {self.lambda_url}   the Invoke API of every function, as `sam local start-lambda`",
            f"  AWS       {self.moto.url}   moto: DynamoDB, DynamoDB Streams, KMS",
            "  Data      in memory only: every key and record is gone when this stops",
            *([f"  Code      the artifacts of `sam build` in {self._build_dir}"] if self._build_dir else []),
            f"  Triggers  last access from the records stream (about 1 s); cleanup every {self._cleanup_interval:g} s",
            "",
            "Create the first key, in another terminal in this folder:",
            f"  {admin}",
        ]
        if self.url != names.api_url():
            lines.append(f"  export ACCESS_KEYS_ENDPOINT={self.url}")
        lines.append("Then:  .venv/bin/access-keys list")
        return "\n".join(lines)

    def stop(self) -> None:
        for server in (self.server, self.https_server, self.lambda_server):
            if self._server_threads:
                server.shutdown()
            server.server_close()
        for trigger in self.triggers:
            trigger.stop()
        ending = [worker for pool in self.pools.values() for worker in pool.close()]
        for worker in ending:
            worker.wait()
        self.moto.stop()
