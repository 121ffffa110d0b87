"""Tencent Cloud's CLI, tccli, unmodified, against the local stack: ListAccessKeys, and what fails.

What a run of tccli 3.1.189.1 shows, and this file keeps true:

- tccli speaks only HTTPS to the local stack. It builds its SDK's HttpProfile with no protocol
  (the SDK's default, https), and has no option for one. An endpoint written with a scheme,
  `http://127.0.0.1:3000`, does reach the HTTP port, but the SDK sends that whole string as the
  Host header, which the local gateway refuses with 400 before any route, as API Gateway would.
- tccli hands its SDK no certificate setting, so the SDK passes requests `verify=certifi.where()`:
  REQUESTS_CA_BUNDLE and SSL_CERT_FILE are ignored. tccli has no way to trust another
  certificate: the only one is to append the local stack's to the certifi bundle that tccli's SDK
  reads. This file does that in a venv of its own, made in a temporary folder and removed after
  it: nothing shared is changed.
  Where the certificate is a public one (the deployed API), none of this is needed.
- The SecretKey goes in the environment (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY):
  tccli writes its command line to ~/.tccli/log/tccli.log, a `--secretKey` included.

tccli is not in requirements-dev.txt: it needs `tencentcloud-sdk-python`, the SDK of every
service (170 MB), which ships the very files of the `tencentcloud-sdk-python-common` and
`-cam` pinned there and would overwrite them. It is installed here from the registry, at the
versions below, with the dev pins as constraints for what it shares with them (requests,
certifi, urllib3); without a registry the tests are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import unique_uin

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.local import names
from access_keys_tools.template import PROJECT_ROOT

# tccli as a user installs it, at the versions this file was written against.
TCCLI = ("tccli==3.1.189.1", "tencentcloud-sdk-python==3.1.195")
INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 120
REGION = "ap-guangzhou"  # sent as X-TC-Region, which the service accepts and ignores


def pip_into(python: Path) -> tuple[str, ...]:
    """This interpreter's pip, acting on another environment (`--python`, before the command)."""
    return (sys.executable, "-m", "pip", "--python", str(python))


def dev_pins() -> str:
    """requirements-dev.txt's pins, and those of layers/core/requirements.txt it includes, as one
    constraints file. (A `-r` inside a file given to `-c` is read as requirements: pip would
    install what it names.)"""
    files = (PROJECT_ROOT / "requirements-dev.txt", PROJECT_ROOT / "layers" / "core" / "requirements.txt")
    lines = (line.strip() for path in files for line in path.read_text(encoding="utf-8").splitlines())
    return "".join(f"{line}\n" for line in lines if line and not line.startswith(("#", "-")))


@dataclass
class Tccli:
    executable: Path
    bundle: Path  # the certifi bundle tccli's SDK verifies against, in the test's own venv
    original_bundle: bytes

    def trust(self, certificate: Path | None) -> None:
        """certifi's bundle as installed, with the certificate appended when one is given."""
        self.bundle.write_bytes(self.original_bundle + (b"\n" + certificate.read_bytes() if certificate else b""))


@pytest.fixture(scope="module")
def tccli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tccli]:
    """tccli in a venv of its own under the test's temporary folder, removed afterwards (350 MB)."""
    folder = tmp_path_factory.mktemp("tccli")
    venv = folder / "venv"
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)  # noqa: S603
    constraints = folder / "constraints.txt"
    constraints.write_text(dev_pins(), encoding="utf-8")
    try:
        # This interpreter's pip installs into that venv (--python): no pip of its own is needed.
        # No bytecode: tccli and its SDK are 330 MB, and these tests import only a little of them.
        installed = subprocess.run(  # noqa: S603 - pip, from the registry
            [
                *pip_into(python),
                "install",
                "--quiet",
                "--no-compile",
                "--disable-pip-version-check",
                "-c",
                str(constraints),
                *TCCLI,
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"tccli could not be installed: pip did not finish within {INSTALL_TIMEOUT} s")
    if installed.returncode != 0:
        pytest.skip(f"tccli could not be installed (pip exited {installed.returncode}): {installed.stderr[-1500:]}")
    bundle = Path(
        subprocess.run(  # noqa: S603 - the venv's own interpreter
            [str(python), "-c", "import certifi; print(certifi.where())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    )
    assert bundle.is_relative_to(venv)  # the bundle changed below is the test's own
    try:
        yield Tccli(venv / "bin" / "tccli", bundle, bundle.read_bytes())
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def run(
    tccli: Tccli, endpoint: str, key: AccessKeysClient, home: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    """`tccli cam ListAccessKeys --region ap-guangzhou --endpoint <endpoint>`, the key in the environment."""
    environment = {
        # No proxy variable: the SDK honours HTTPS_PROXY; the stack is on loopback.
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # tccli writes ~/.tccli/default.configure and ~/.tccli/log/tccli.log
        "TENCENTCLOUD_SECRET_ID": key.secret_id,
        "TENCENTCLOUD_SECRET_KEY": key._secret_key,
        # tccli's bundled colorama has invalid escapes, reported as it is compiled on first use.
        "PYTHONWARNINGS": "ignore::SyntaxWarning",
        **variables,
    }
    command = [str(tccli.executable), "cam", "ListAccessKeys", "--region", REGION, "--endpoint", endpoint]
    try:
        return subprocess.run(  # noqa: S603 - the test's own tccli
            command, env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    finally:
        log = home / ".tccli" / "log" / "tccli.log"
        if log.exists():
            LEDGER.saw_log("tccli's own log", log.read_text(errors="replace"))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tccli_lists_the_keys_over_https_once_its_certifi_bundle_holds_the_stacks_certificate(
    local_stack: LocalStack, tccli: Tccli, tmp_path: Path, host: str
) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    endpoint = f"{host}:{urlsplit(local_stack.https_url).port}"
    tccli.trust(names.TLS_DIR / "cert.pem")

    listed = run(tccli, endpoint, owner, tmp_path)

    assert listed.returncode == 0, listed.stderr[-2000:]
    LEDGER.saw_response(listed.stdout)
    response = json.loads(listed.stdout)
    assert [key["AccessKeyId"] for key in response["AccessKeys"]] == [owner.secret_id]
    assert response["AccessKeys"][0]["Status"] == "Active"
    # The call is the key's own access record, under its action, with the RequestId tccli printed.
    records = AccessKeysClient(owner.secret_id, owner._secret_key, local_stack.url).list_access_records(
        owner.secret_id
    )["AccessRecords"]
    assert (records[0]["Action"], records[0]["ErrorCode"], records[0]["RequestId"]) == (
        "ListAccessKeys",
        None,
        response["RequestId"],
    )
    # The SecretKey came from the environment: tccli's log of its command line does not hold it.
    assert owner._secret_key not in (tmp_path / ".tccli" / "log" / "tccli.log").read_text()


def test_tccli_cannot_speak_http_to_the_stack_nor_trust_its_certificate_by_itself(
    local_stack: LocalStack, tccli: Tccli, tmp_path: Path
) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    http_port, https_port = urlsplit(local_stack.url).port, urlsplit(local_stack.https_url).port
    certificate = str(names.TLS_DIR / "cert.pem")
    tccli.trust(None)

    untrusted = run(tccli, f"127.0.0.1:{https_port}", owner, tmp_path)
    # The SDK names certifi's bundle itself: the variables that point requests and OpenSSL elsewhere do nothing.
    with_variables = run(
        tccli, f"127.0.0.1:{https_port}", owner, tmp_path, REQUESTS_CA_BUNDLE=certificate, SSL_CERT_FILE=certificate
    )
    with_scheme = run(tccli, f"http://127.0.0.1:{http_port}", owner, tmp_path)  # Host: http://127.0.0.1:<port>
    to_http_port = run(tccli, f"127.0.0.1:{http_port}", owner, tmp_path)  # TLS to the HTTP port

    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert with_variables.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in with_variables.stderr
    assert with_scheme.returncode != 0
    assert "code:ServerNetworkError" in with_scheme.stderr
    assert "Bad Request" in with_scheme.stderr  # the gateway's 400, before any function
    assert to_http_port.returncode != 0
    assert "SSLError" in to_http_port.stderr
    # None of them reached a function: the key has no access record.
    records = AccessKeysClient(owner.secret_id, owner._secret_key, local_stack.url).list_access_records(
        owner.secret_id
    )["AccessRecords"]
    assert [record for record in records if record["Action"] == "ListAccessKeys"] == []
