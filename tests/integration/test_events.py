"""The stored events of events/: each is used by a test, and `access-keys events sign` makes
an HTTP event that the handler accepts, as `sam local invoke -e` would deliver it."""

import json
import re

import pytest
from harness import PROJECT_ROOT, Api, Credentials

from access_keys_tools.cli import main
from access_keys_tools.events import EVENTS_DIR


def test_every_stored_event_is_used_by_a_test():
    tests_text = "\n".join(path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "tests").rglob("test_*.py"))
    names = sorted(path.relative_to(EVENTS_DIR).with_suffix("").as_posix() for path in EVENTS_DIR.rglob("*.json"))

    unused = [name for name in names if not re.search(rf"[\"']{re.escape(name)}[\"']", tests_text)]

    assert names
    assert unused == []


def test_a_re_signed_stored_event_is_accepted(api: Api, alice: Credentials, monkeypatch, capsys, tmp_path):
    # Given the stored GetAccessKey event, which was signed long ago with an example key: its scope's
    # date is refused before the key is even looked for
    stale = api.invoke("GetAccessKey", json.loads((EVENTS_DIR / "GetAccessKey" / "get.json").read_text()))
    assert stale.error_code == "AuthFailure.SignatureExpire"
    capsys.readouterr()

    # When an operator re-signs it with a real key for the current time
    monkeypatch.setenv("ACCESS_KEYS_SECRET_KEY", alice.secret_key)
    exit_code = main(
        [
            "events",
            "sign",
            str(EVENTS_DIR / "GetAccessKey" / "get.json"),
            "--secret-id",
            alice.secret_id,
            "--path-secret-id",
            alice.secret_id,
        ]
    )
    signed = json.loads(capsys.readouterr().out)

    # Then the handler accepts it
    assert exit_code == 0
    response = api.invoke("GetAccessKey", signed)
    assert response.status == 200
    assert response.body["AccessKey"]["SecretId"] == alice.secret_id
    assert alice.secret_key not in json.dumps(signed)


def test_signing_without_the_secret_key_in_the_environment_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("ACCESS_KEYS_SECRET_KEY", raising=False)

    with pytest.raises(SystemExit) as exit:
        main(["events", "sign", str(EVENTS_DIR / "ListAccessKeys" / "list.json"), "--secret-id", "AKID" + "a" * 32])

    assert exit.value.code == 2
    assert "ACCESS_KEYS_SECRET_KEY" in capsys.readouterr().err
