"""The local stack as the tests reach it: where it listens, its AWS, and the operator commands its
banner shows; and whether this machine has the browser the console tests drive.

conftest.py starts one for the session (`local_stack`); the tests import these names from here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from secret_ledger import LEDGER
from stack_process import StackProcess, stack_environment

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.local import names
from access_keys_tools.template import PROJECT_ROOT

ACCESS_KEYS = str(Path(sys.executable).with_name("access-keys"))
# The console's browser tests drive Debian's chromium with Playwright (which downloads no browser).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None,
    reason="the console test needs Chromium: on Debian or Ubuntu, `sudo apt-get install chromium`",
)


@dataclass
class LocalStack:
    url: str
    aws_url: str
    process: StackProcess
    https_url: str = ""
    lambda_url: str = ""  # the Lambda Invoke API of every function (LAMBDA_PORT)
    example_url: str = ""  # the example service of examples/instances/ (EXAMPLE_PORT)

    def aws(self, service: str) -> object:
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=names.REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # moto's, not a secret
        )

    def admin(self, *arguments: str) -> str:
        """`access-keys admin ...` against this stack, as the banner shows it; its stdout."""
        output = subprocess.run(  # noqa: S603 - the project's own command
            [ACCESS_KEYS, "admin", arguments[0], "--local", self.aws_url, *arguments[1:]],
            env=stack_environment(),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        LEDGER.saw_response(output)
        return output

    def bootstrap(self, uin: str, description: str = "") -> AccessKeysClient:
        """An account's first key, made as the banner says: `access-keys admin create-key --local`."""
        key = json.loads(self.admin("create-key", "--uin", uin, "--description", description))["AccessKey"]
        return AccessKeysClient(key["SecretId"], key["SecretKey"], self.url)

    def create_account(self, uin: str, email: str) -> dict:
        """An account's sign-in, made as the banner says: `access-keys admin create-account --local`."""
        return json.loads(self.admin("create-account", "--uin", uin, "--email", email, "--output", "json"))

    def sign_in(self, uin: str) -> dict:
        """An account made with the CLI, then its first sign-in as the console does it, with SRP
        (pycognito's client, independent of ours), a new password and TOTP set up: its tokens."""
        from accounts import NEW_PASSWORD, totp
        from pycognito.aws_srp import AWSSRP

        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        account = self.create_account(uin, email)
        config = json.loads(urllib.request.urlopen(f"{self.url}/console/config.json", timeout=10).read())  # noqa: S310
        cognito: Any = self.aws("cognito-idp")
        client_id = config["ClientId"]
        srp = AWSSRP(email, account["TemporaryPassword"], config["UserPoolId"], client_id, client=cognito)
        started = cognito.initiate_auth(
            AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params(), ClientId=client_id
        )
        claim = srp.process_challenge(started["ChallengeParameters"], srp.get_auth_params())
        step = cognito.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=claim
        )
        step = cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=step["Session"],
            ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": NEW_PASSWORD},
        )
        secret = cognito.associate_software_token(Session=step["Session"])
        verified = cognito.verify_software_token(Session=secret["Session"], UserCode=totp(secret["SecretCode"]))
        step = cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="MFA_SETUP",
            Session=verified["Session"],
            ChallengeResponses={"USERNAME": email},
        )
        return {**step["AuthenticationResult"], "Email": email}

    def records_table(self) -> str:
        return names.table_name("AccessRecordsTable")
