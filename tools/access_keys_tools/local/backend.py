"""moto's server on loopback, and template.yaml's tables and KMS key created in it.

DynamoDB answers each request atomically; moto's backends are plain Python objects that are
not safe to change from several threads at once (a failed transaction restores a copy of the
whole table, racing any write beside it). So one lock serialises the requests moto serves, which
gives DynamoDB's guarantees here at the cost of parallelism that one Python process lacks anyway.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from access_keys_tools.local import names
from access_keys_tools.template import (
    condition_values,
    create_table_request,
    resolve,
    resources_of_type,
    time_to_live,
)


class _OneAtATime:
    """A WSGI middleware that lets one request at a time into the application."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self._application = application
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._application(environ, start_response))


class MotoServer:
    """moto's DynamoDB, DynamoDB Streams, KMS and Cognito, in memory, served from a thread of this
    process; its Cognito made to check what real Cognito checks (`cognito.install`)."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        from access_keys_tools.local import cognito

        cognito.install()

        application = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        _check_port_free(port)  # werkzeug would print its own message and exit instead of raising
        self._server: BaseWSGIServer = make_server(
            names.HOST, port, application, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return names.aws_url(self._server.server_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever() that never ran
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


def _check_port_free(port: int) -> None:
    """Raise OSError (EADDRINUSE) when something listens on the port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((names.HOST, port))


@dataclass(frozen=True)
class Resources:
    """What was created, by template logical id: the values !Ref and !GetAtt resolve to."""

    values: dict[str, Any]
    stream_arns: dict[str, str]  # table logical id -> its stream's ARN


def create_resources(endpoint: str) -> Resources:
    """The template's DynamoDB tables (with TTL and streams), KMS keys and aliases, and Cognito user
    pools and their app clients, in moto."""
    session = boto3.Session(
        aws_access_key_id=names.CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=names.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=names.REGION,
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    kms = session.client("kms", endpoint_url=endpoint)
    values: dict[str, Any] = names.pseudo_parameters()
    stream_arns: dict[str, str] = {}

    for logical_id in resources_of_type("AWS::DynamoDB::Table"):
        table_name = names.table_name(logical_id)
        table = dynamodb.create_table(**create_table_request(logical_id, table_name))["TableDescription"]
        ttl = time_to_live(logical_id)
        if ttl:
            dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
        values[logical_id] = table_name
        values[f"{logical_id}.Arn"] = table["TableArn"]
        if "LatestStreamArn" in table:
            values[f"{logical_id}.StreamArn"] = stream_arns[logical_id] = table["LatestStreamArn"]

    for logical_id, resource in resources_of_type("AWS::KMS::Key").items():
        properties = resource["Properties"]
        key = kms.create_key(
            Description=f"{logical_id} of the local access-keys stack",
            KeyUsage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
            KeySpec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
        )["KeyMetadata"]
        if properties.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        values[logical_id] = key["KeyId"]
        values[f"{logical_id}.Arn"] = key["Arn"]

    for logical_id, resource in resources_of_type("AWS::KMS::Alias").items():
        properties = resolve(resource["Properties"], values)
        kms.create_alias(AliasName=properties["AliasName"], TargetKeyId=properties["TargetKeyId"])
        values[logical_id] = properties["AliasName"]

    create_user_pools(session.client("cognito-idp", endpoint_url=endpoint), values)
    return Resources(values=values, stream_arns=stream_arns)


# CloudFormation's properties of a user pool and an app client that are not CreateUserPool's or
# CreateUserPoolClient's parameters of the same name: renamed, or set by another call.
_POOL_RENAMED = {"UserPoolName": "PoolName", "UserPoolTags": "UserPoolTags"}
_POOL_ELSEWHERE = {"EnabledMfas"}


def create_user_pools(cognito: Any, values: dict[str, Any]) -> None:
    """Each AWS::Cognito::UserPool and UserPoolClient, with the properties this stack's parameters
    give it (names.LOCAL_PARAMETERS over the defaults). moto keeps what it does not act on."""
    lookup = {**values, **names.LOCAL_PARAMETERS, **condition_values(names.LOCAL_PARAMETERS)}
    accepted = set(cognito.meta.service_model.operation_model("CreateUserPool").input_shape.members)
    for logical_id, resource in resources_of_type("AWS::Cognito::UserPool").items():
        properties = resolve(resource["Properties"], lookup)
        request = {_POOL_RENAMED.get(name, name): value for name, value in properties.items()}
        request = {name: value for name, value in request.items() if name in accepted}
        pool = cognito.create_user_pool(**request)["UserPool"]
        if "SOFTWARE_TOKEN_MFA" in properties.get("EnabledMfas", ()):
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=properties.get("MfaConfiguration", "OFF"),
            )
        values[logical_id] = lookup[logical_id] = pool["Id"]
        values[f"{logical_id}.Arn"] = lookup[f"{logical_id}.Arn"] = pool["Arn"]
        values[f"{logical_id}.ProviderURL"] = f"cognito-idp.{names.REGION}.amazonaws.com/{pool['Id']}"
    for logical_id, resource in resources_of_type("AWS::Cognito::UserPoolClient").items():
        properties = resolve(resource["Properties"], lookup)
        client = cognito.create_user_pool_client(**properties)["UserPoolClient"]
        values[logical_id] = client["ClientId"]
