"""The console page's function and files, without a browser (tests/local/test_console.py has one)."""

from __future__ import annotations

import importlib.util
import json
import re
from types import ModuleType
from typing import Any

import pytest

from access_keys_tools.events import load_event
from access_keys_tools.template import PROJECT_ROOT

STATIC = PROJECT_ROOT / "functions" / "console" / "static"


def console() -> ModuleType:
    spec = importlib.util.spec_from_file_location("console_app", PROJECT_ROOT / "functions" / "console" / "app.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get(path: str) -> dict[str, Any]:
    return console().lambda_handler({**load_event("Console/page"), "rawPath": path}, None)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console", "text/html; charset=utf-8"),
        ("/console/", "text/html; charset=utf-8"),
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/srp.js", "text/javascript; charset=utf-8"),
        ("/console/cognito.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ],
)
def test_each_file_is_served_with_its_type_and_a_strict_policy(path: str, content_type: str) -> None:
    response = get(path)
    policy = response["headers"]["Content-Security-Policy"]

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == content_type
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert response["headers"]["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/console/app.py", "/console/../template.yaml", "/console/static/index.html", "/"])
def test_nothing_else_is_served(path: str) -> None:
    response = get(path)

    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"message": "Not Found"}
    assert "Content-Security-Policy" in response["headers"]
    assert response["headers"]["Cache-Control"] == "no-store"


def test_the_page_has_no_inline_code_and_loads_nothing_from_elsewhere() -> None:
    html = (STATIC / "index.html").read_text()

    # SRP and the Cognito client first: console.js uses them.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/console/srp.js" defer>',
        '<script src="/console/cognito.js" defer>',
        '<script src="/console/console.js" defer>',
    ]
    assert "<style" not in html
    assert not re.search(r"\s(on\w+|style)=", html), "inline handlers or styles need 'unsafe-inline'"
    # This origin's files, or a place on this page (the links between its sign-in screens).
    assert not re.search(r"(src|href)=\"(?!/console/|#)", html)


def test_api_text_is_never_written_as_html() -> None:
    script = (STATIC / "console.js").read_text()

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_the_secret_is_kept_in_memory_or_session_storage_only() -> None:
    script = (STATIC / "console.js").read_text()

    assert "localStorage" not in script
    assert "document.cookie" not in script
    assert 'credentials: "omit"' in script


def test_the_password_and_the_access_token_are_never_stored() -> None:
    script = (STATIC / "console.js").read_text()
    written = re.findall(r"sessionStorage\.setItem\((.*?)\);", script, flags=re.DOTALL)

    assert len(written) == 2, "a key's day, and the account's sign-in"
    for arguments in written:
        assert not re.search(r"password|accessToken", arguments, flags=re.IGNORECASE), arguments
    # The password fields are emptied as they are read (tests/local/test_console_sign_in.py
    # checks the page itself).
    for field in ("password", "new-password", "new-password-again"):
        assert f'take("{field}")' in script


def test_the_secret_key_is_never_stored() -> None:
    script = (STATIC / "console.js").read_text()
    written = re.findall(r"sessionStorage\.setItem\((.*?)\);", script, flags=re.DOTALL)

    assert written, "the Remember box writes something"
    for arguments in written:
        assert not re.search(r"secret[-_]?key", arguments, flags=re.IGNORECASE), arguments
    # Nothing in the script is named for the SecretKey: its field is read straight into the bytes
    # the day's signing key is derived from (tests/local/test_console.py checks the storage itself).
    assert "secretKey" not in script


@pytest.mark.parametrize(
    "label",
    [
        '<label for="secret-id">SecretId</label>',
        '<label for="secret-key">SecretKey</label>',
        '<label for="email">Email</label>',
        '<label for="password">Password</label>',
        "Remember in this tab</label>",
        ">Sign in with an access key instead</a>",
        '<label for="new-password">New password</label>',
        "at least 12 characters, with an upper-case letter, a lower-case letter, a digit and a symbol",
        '<label for="setup-code">Code from the app</label>',
        '<label for="totp-code">Code</label>',
        '<h2 id="activity-title">Activity</h2>',
        '<th scope="col">Who</th>',
        ">Sign in</button>",
        ">Sign out</button>",
        ">Create Key</button>",
        ">Confirm</button>",
        '<th scope="col">SecretId</th>',
        '<th scope="col">Status</th>',
        '<th scope="col">Created</th>',
        '<th scope="col">Last Access</th>',
        '<th scope="col">Description</th>',
        '<th scope="col">Service</th>',
        '<h3 id="attempts-title">Failed attempts',
        '<th scope="col">First</th>',
        '<th scope="col">Last</th>',
        '<th scope="col">Count</th>',
    ],
)
def test_the_visible_labels_are_there(label: str) -> None:
    assert label in (STATIC / "index.html").read_text()
