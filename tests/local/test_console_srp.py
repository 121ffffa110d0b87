"""The console's sign-in scripts, srp.js and cognito.js, under Node.js against the local stack's Cognito.

tests/node/cognito_steps.mjs loads the two static files unchanged and walks an owner's visits:
a first sign-in with the temporary password, a new password, TOTP set up with codes it computes,
a second sign-in with a TOTP code, refresh and revoke, and the refusals met on the way. Cognito is
moto's, served by backend.MotoServer as the local stack serves it, with cognito.install()'s patch:
unpatched, moto signs anyone in with any password. Node.js comes from the OS packages; without
it the test is skipped, saying what to install (CI installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from stack_process import free_port

from access_keys_tools.local import cognito, names
from access_keys_tools.local.backend import MotoServer, create_user_pools
from access_keys_tools.template import PROJECT_ROOT

NODE = shutil.which("node")
STEPS = PROJECT_ROOT / "tests" / "node" / "cognito_steps.mjs"
EMAIL = "owner@example.com"
UIN = "100042"
REFUSED = {"code": "NotAuthorizedException", "message": "Incorrect username or password."}

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: sudo apt-get install nodejs")


@dataclass(frozen=True)
class LocalCognito:
    endpoint: str
    pool_id: str
    client_id: str


@pytest.fixture
def local_cognito() -> Iterator[LocalCognito]:
    """A pool as template.yaml's, with one owner, in a MotoServer of this process."""
    cognito.install()
    server = MotoServer(free_port())
    server.start()
    try:
        idp = boto3.client(
            "cognito-idp",
            endpoint_url=server.url,
            region_name=names.REGION,
            aws_access_key_id=names.CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=names.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        # The user pool and console client of template.yaml, with the local stack's parameters.
        values: dict = names.pseudo_parameters()
        create_user_pools(idp, values)
        pool_id, client_id = values["AccountsUserPool"], values["AccountsConsoleClient"]
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=EMAIL,
            TemporaryPassword="Temporary-Passw0rd!",
            UserAttributes=[{"Name": "custom:uin", "Value": UIN}],
            MessageAction="SUPPRESS",
        )
        yield LocalCognito(server.url, pool_id, client_id)
    finally:
        server.stop()


def run_steps(local: LocalCognito) -> dict[str, dict]:
    """cognito_steps.mjs's JSON lines, by step."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),  # no proxy variable: Cognito is on loopback
        "ENDPOINT": local.endpoint,
        "USER_POOL_ID": local.pool_id,
        "CLIENT_ID": local.client_id,
        "EMAIL": EMAIL,
        "TEMPORARY_PASSWORD": "Temporary-Passw0rd!",
        "NEW_PASSWORD": "Chosen-Passw0rd-2026!",
    }
    finished = subprocess.run(  # noqa: S603 - node, on the project's own script
        [str(NODE), str(STEPS)], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, f"{finished.stdout}\n{finished.stderr}"
    return {line["step"]: line for line in map(json.loads, finished.stdout.splitlines())}


def test_the_console_signs_an_owner_in_with_srp_and_totp(local_cognito: LocalCognito) -> None:
    steps = run_steps(local_cognito)

    tokens = {
        "expiresInSeconds": 900,
        "accessTokenLifetime": 900,
        "idTokenLifetime": 900,
        "email": EMAIL,
        "uin": UIN,
        "hasRefreshToken": True,
    }
    assert steps == {
        "wrong_password": {"step": "wrong_password", **REFUSED},
        "unknown_user": {"step": "unknown_user", **REFUSED},
        "first_sign_in": {"step": "first_sign_in", "challenge": "NEW_PASSWORD_REQUIRED"},
        "new_password": {"step": "new_password", "challenge": "MFA_SETUP"},
        "begin_totp_setup": {"step": "begin_totp_setup", "secretLength": 32, "otpauthUriAsExpected": True},
        "wrong_setup_code": {
            "step": "wrong_setup_code",
            "code": "EnableSoftwareTokenMFAException",
            "message": "Code mismatch and fail enable Software Token MFA",
        },
        "finish_totp_setup": {"step": "finish_totp_setup", "tokens": tokens},
        "second_sign_in": {"step": "second_sign_in", "challenge": "SOFTWARE_TOKEN_MFA"},
        "wrong_totp": {
            "step": "wrong_totp",
            "code": "CodeMismatchException",
            "message": "Invalid code received for user",
        },
        "answer_totp": {"step": "answer_totp", "tokens": tokens},
        "refresh": {"step": "refresh", "tokens": tokens},
        "revoke": {"step": "revoke"},
        "refresh_after_revoke": {
            "step": "refresh_after_revoke",
            "code": "NotAuthorizedException",
            "message": "Refresh Token has been revoked",
        },
        "unreachable": {"step": "unreachable", "code": "NetworkError", "message": "Cognito could not be reached."},
    }
