"""Every SecretKey the test run issues, and everywhere it must not be: checked after the suite.

Tests report what they see: create results (the SecretKeys issued), response bodies, table items
and log files. pytest's captured output of every test (stdout, stderr, log records) is added by
tests/conftest.py. After the last test, `findings()` lists each place a SecretKey appears, in
plain text, base64 or hex, other than the create response that issued it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SecretLedger:
    issued: dict[str, str] = field(default_factory=dict)  # SecretKey -> its SecretId
    responses: list[str] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    items: list[tuple[str, str]] = field(default_factory=list)  # (table, item as text)
    log_files: list[Path] = field(default_factory=list)

    def issue(self, secret_id: str, secret_key: str) -> None:
        self.issued[secret_key] = secret_id

    def saw_response(self, body: str) -> None:
        """A response body: a create response also tells which SecretKey was issued."""
        self.responses.append(body)
        try:
            document = json.loads(body)
        except ValueError:
            return
        issued = _issued_pair(document)
        if issued:
            self.issue(*issued)

    def saw_log(self, where: str, text: str) -> None:
        if text:
            self.logs.append((where, text))

    def saw_items(self, table: str, items: list[dict]) -> None:
        self.items.extend((table, repr(item)) for item in items)

    def watch_log_file(self, path: Path) -> None:
        self.log_files.append(path)

    def log_line_count(self) -> int:
        in_files = sum(len(path.read_text(errors="replace").splitlines()) for path in self.log_files if path.exists())
        return sum(text.count("\n") + 1 for _, text in self.logs) + in_files

    def findings(self) -> list[str]:
        if not self.issued:
            return []
        forms: dict[str, str] = {}  # each form a SecretKey may take -> the SecretKey
        for secret_key in self.issued:
            raw = secret_key.encode()
            for form in (secret_key, base64.b64encode(raw).decode().rstrip("="), raw.hex()):
                forms[form] = secret_key
        pattern = re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))

        def owner(match: re.Match[str]) -> str:
            return self.issued[forms[match[0]]]

        found = [
            f"a response holds the SecretKey of {owner(match)}: {body[:200]}"
            for body in self.responses
            for match in pattern.finditer(body)
            if not _own_create_response(body, forms[match[0]], owner(match))
        ]
        places = list(self.logs)
        places += [(path.name, path.read_text(errors="replace")) for path in self.log_files if path.exists()]
        places += [(f"table {table}", item) for table, item in self.items]
        found += [
            f"{where} holds the SecretKey of {owner(match)}"
            for where, text in places
            for match in pattern.finditer(text)
        ]
        return found


def _issued_pair(document: object) -> tuple[str, str] | None:
    """(SecretId, SecretKey) of a create response: the REST route's `{"AccessKey": {SecretId,
    SecretKey}}`, or Tencent Cloud API's `{"Response": {"AccessKey": {AccessKeyId, SecretAccessKey}}}`
    (the SDK's model, serialised, drops the `Response` wrapper)."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("Response"), dict):
        document = document["Response"]
    key = document.get("AccessKey")
    if not isinstance(key, dict):
        return None
    for id_field, secret_field in (("SecretId", "SecretKey"), ("AccessKeyId", "SecretAccessKey")):
        if isinstance(key.get(id_field), str) and isinstance(key.get(secret_field), str):
            return key[id_field], key[secret_field]
    return None


def _own_create_response(body: str, secret_key: str, secret_id: str) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    if _issued_pair(document) != (secret_id, secret_key):
        return False
    # Anywhere else in the body would be a second copy.
    return body.count(secret_key) == 1


LEDGER = SecretLedger()
