"""Settings every test shares: a fake AWS account and region, never a real one."""

import os

# Set before anything reads them: the service reads its settings once per process.
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "KEYS_TABLE_NAME": "access-keys-test",
    "RECORDS_TABLE_NAME": "access-records-test",
    "SECRETS_KMS_KEY_ID": "alias/access-keys-test",
    "POWERTOOLS_SERVICE_NAME": "access-keys",
    "POWERTOOLS_METRICS_NAMESPACE": "AccessKeysTest",
    "POWERTOOLS_DEV": "false",
}
for _name, _value in _ENVIRONMENT.items():
    os.environ[_name] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


# ------------------------------------------------------------------------------ secret ledger
# Every SecretKey the suite issues is looked for, after the last test, in every response body,
# log line and table item the tests saw (tests/secret_ledger.py). It may appear only in the
# create response that issued it. The ledger learns each SecretKey where a test gets it: from
# each create response a test sees (`LEDGER.saw_response`, which the harness's `Api.invoke` calls
# on every response, and a test that reads a command's output calls itself), and from
# `harness.issued` for a key a test makes in-process (tests/integration/harness.py).
import pytest  # noqa: E402 - after the environment above, which must be set first
from figures import figure  # noqa: E402
from secret_ledger import LEDGER  # noqa: E402


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for section, text in report.sections:
        LEDGER.saw_log(f"{report.nodeid} ({section})", text)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    findings = LEDGER.findings()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"secret scan: {len(LEDGER.issued)} SecretKeys issued; {len(LEDGER.responses)} responses, "
        f"{LEDGER.log_line_count()} log lines, {len(LEDGER.items)} table items scanned; {len(findings)} findings"
    )
    figure(summary, echo=False)  # the reporter shows it
    if reporter:
        reporter.write_line(summary)
        for finding in findings[:20]:
            reporter.write_line(f"  {finding}", red=True)
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
