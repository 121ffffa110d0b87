"""The end-of-suite secret scan finds a SecretKey wherever it leaks, in any of its forms."""

from __future__ import annotations

import base64
import json

from secret_ledger import SecretLedger

SECRET_ID = "AKID" + "A" * 32
SECRET_KEY = "k" * 16 + "K" * 16


def create_response(**extra: str) -> str:
    return json.dumps({"AccessKey": {"SecretId": SECRET_ID, "SecretKey": SECRET_KEY}, "RequestId": "r", **extra})


def test_the_create_response_that_issued_a_secret_key_is_its_only_allowed_place() -> None:
    ledger = SecretLedger()
    ledger.saw_response(create_response())
    ledger.saw_response(json.dumps({"AccessKey": {"SecretId": SECRET_ID}, "RequestId": "r2"}))

    assert ledger.issued == {SECRET_KEY: SECRET_ID}
    assert ledger.findings() == []


def test_a_secret_key_anywhere_else_is_a_finding_in_plain_base64_or_hex() -> None:
    ledger = SecretLedger()
    ledger.issue(SECRET_ID, SECRET_KEY)
    ledger.saw_response(json.dumps({"Error": {"Code": "X", "Message": f"bad {SECRET_KEY}"}}))
    ledger.saw_response(create_response(Echo=SECRET_KEY))  # its own response, but twice
    ledger.saw_log("a test (Captured stdout call)", f'{{"secret": "{SECRET_KEY}"}}')
    ledger.saw_items("keys", [{"Blob": base64.b64encode(SECRET_KEY.encode()).decode()}])
    ledger.saw_items("records", [{"Hex": SECRET_KEY.encode().hex()}])

    findings = ledger.findings()

    assert len(findings) == 6  # the error response, both copies in the create response, the log, 2 items
    assert any(finding.startswith("a test (Captured stdout call) holds") for finding in findings)
    assert sum(finding.startswith("table ") for finding in findings) == 2
