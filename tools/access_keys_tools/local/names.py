"""What the local stack is called and where it listens, shared by the runner and the CLI.

Everything a client of the local stack needs is fixed here, so that `access-keys admin
create-key --local` finds the stack the runner started without any other setting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access_keys_tools.template import PROJECT_ROOT, load_template, resolve

STACK_NAME = "access-keys-local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's account
HOST = "127.0.0.1"
DEFAULT_PORT = 3000
# The Lambda Invoke API of every function, on `sam local start-lambda`'s default port, so that a
# client set up for that command reaches the same functions here.
DEFAULT_LAMBDA_PORT = 3001
DEFAULT_AWS_PORT = 3002
# The same API over HTTPS, for clients that speak nothing else (Tencent's CLI).
DEFAULT_HTTPS_PORT = 3443
# The example platform service (examples/instances/), served from its own template beside the stack.
DEFAULT_EXAMPLE_PORT = 3010
EXAMPLE_TEMPLATE = PROJECT_ROOT / "examples" / "instances" / "template.yaml"
TLS_DIR = PROJECT_ROOT / ".local-stack" / "tls"
# The stack's parameters here, over template.yaml's defaults: MFA on, as the prod stage has it, so
# that the first sign-in sets up TOTP as a newcomer to a production console meets it.
LOCAL_PARAMETERS = {"AccountMfa": "ON"}
# moto accepts any credentials; these only keep botocore from looking for real ones.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass(frozen=True)
class ServiceTemplate:
    """A platform service's own SAM template, served beside the stack, as its team deploys it.

    The HttpApi routes of its functions answer on a port of their own, through the same gateway
    and worker processes as template.yaml's. Its parameters named like template.yaml's Outputs
    get their local values (stack.local_outputs), and its functions reach the stack's Invoke API
    through ACCESS_KEYS_LAMBDA_ENDPOINT (stack.py). Its other events (schedules, streams) are not
    served.
    """

    template: Path
    port: int
    variable: str  # the setting that chooses the port, named when the port is taken
    title: str  # the banner's label, at most 9 characters
    description: str  # the banner's words for it

    @property
    def stack_name(self) -> str:
        return f"{self.template.parent.name}-local"

    @property
    def url(self) -> str:
        return api_url(self.port)


def example_service() -> ServiceTemplate:
    """examples/instances/: the example platform service, cvm, on EXAMPLE_PORT."""
    return ServiceTemplate(
        template=EXAMPLE_TEMPLATE,
        port=port_from_environment("EXAMPLE_PORT", DEFAULT_EXAMPLE_PORT),
        variable="EXAMPLE_PORT",
        title="Example",
        description="cvm, a service of its own (examples/instances/template.yaml), verifying through the Invoke API",
    )


def api_url(port: int = DEFAULT_PORT) -> str:
    return f"http://{HOST}:{port}"


def aws_url(port: int = DEFAULT_AWS_PORT) -> str:
    return f"http://{HOST}:{port}"


def lambda_url(port: int = DEFAULT_LAMBDA_PORT) -> str:
    return f"http://{HOST}:{port}"


def https_url(port: int = DEFAULT_HTTPS_PORT) -> str:
    return f"https://{HOST}:{port}"


def table_name(logical_id: str) -> str:
    return f"{STACK_NAME}-{logical_id}"


def pseudo_parameters() -> dict[str, Any]:
    return {
        "AWS::StackName": STACK_NAME,
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }


def kms_alias() -> str:
    """The secrets key's alias, as template.yaml names it for this stack."""
    return _name_in_template("AWS::KMS::Alias", "AliasName")


def user_pool_name() -> str:
    """The accounts' user pool's name, as template.yaml names it for this stack."""
    return _name_in_template("AWS::Cognito::UserPool", "UserPoolName")


def _name_in_template(resource_type: str, name_property: str) -> str:
    """The name template.yaml gives its one resource of `resource_type`, resolved for this stack."""
    names = [
        resource["Properties"][name_property]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == resource_type
    ]
    if len(names) != 1:
        raise ValueError(f"template.yaml should define one {resource_type}, not {len(names)}")
    return resolve(names[0], pseudo_parameters())


def local_user_pool_id(aws_endpoint: str) -> str:
    """The id moto gave the local stack's user pool (found by its name; moto makes ids at random)."""
    import boto3

    cognito = boto3.client("cognito-idp", endpoint_url=aws_endpoint, region_name=REGION, **_boto_credentials())
    name = user_pool_name()
    for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == name:
            return pool["Id"]
    raise LookupError(f"the local stack at {aws_endpoint} has no user pool {name}: is it `make run`'s?")


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def service_environment(aws_endpoint: str) -> dict[str, str]:
    """The variables that point the service's own code (as the admin command runs it) at the stack."""
    return {
        **CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "KEYS_TABLE_NAME": table_name("KeysTable"),
        "RECORDS_TABLE_NAME": table_name("AccessRecordsTable"),
        "SECRETS_KMS_KEY_ID": kms_alias(),
    }


def port_from_environment(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name}={raw!r} is not a TCP port (1-65535)")
    return int(raw)
