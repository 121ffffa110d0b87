"""The API Keys Management page (`GET /console`) in a real browser: Debian's chromium, headless.

The walk a user takes: sign in with a bootstrapped key, create a key and copy its SecretKey,
disable and enable it, read the access records, then disable and delete it; idle sign-out; the
day's signing key, the only thing kept, and its end at 00:00 UTC; failed attempts shown apart from
the access records; and every API text shown as text. A screenshot of each state goes to
test-artifacts/console/ (not committed). Without chromium the test is skipped, saying what to
install; CI installs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from console_page import KEPT, confirm, row, snap
from running_stack import CHROMIUM, NEEDS_CHROMIUM, LocalStack
from secret_ledger import LEDGER
from stack_process import unique_uin

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.local import names

MARKUP = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>"
STORAGE_KEY = "access-keys-console"  # the page's sessionStorage item

pytestmark = NEEDS_CHROMIUM

if CHROMIUM is not None:
    from playwright.sync_api import Page, expect


@pytest.fixture
def page(open_page: Callable[[int, int], Page]) -> Page:
    return open_page(1360, 860)


def use_a_key(page: Page) -> None:
    """The first screen signs in as the account (test_console_sign_in.py): a link leads to the key form."""
    page.get_by_role("link", name="Sign in with an access key instead").click()


def sign_in(page: Page, secret_id: str, secret_key: str, *, remember: bool = False) -> None:
    page.goto("/console")
    use_a_key(page)
    page.get_by_label("SecretId", exact=True).fill(secret_id)
    page.get_by_label("SecretKey", exact=True).fill(secret_key)
    if remember:
        page.get_by_label("Remember for this tab").check()
    page.get_by_role("button", name="Sign in").click()


def signing_key(secret_key: str, date: str) -> str:
    """The day's TC3 signing key, in hex: derived here independently of the page's script."""
    key = f"TC3{secret_key}".encode()
    for part in (date, "cam", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key.hex()


def utc_today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_the_page_is_served_with_a_strict_content_security_policy(local_stack: LocalStack) -> None:
    with urllib.request.urlopen(f"{local_stack.url}/console") as response:  # noqa: S310 - loopback
        policy = response.headers["Content-Security-Policy"]
        html = response.read().decode()

    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "the page loads something from elsewhere"


def test_a_user_walks_the_whole_flow(page: Page, local_stack: LocalStack) -> None:  # noqa: PLR0915 - one walk, in order
    owner = local_stack.bootstrap(unique_uin(), "owner")
    # The API refuses markup in a Description; a key item written by anything else may still hold some.
    local_stack.aws("dynamodb").update_item(  # type: ignore[attr-defined]
        TableName=names.table_name("KeysTable"),
        Key={"SecretId": {"S": owner.secret_id}},
        UpdateExpression="SET Description = :markup",
        ExpressionAttributeValues={":markup": {"S": MARKUP}},
    )

    # A wrong SecretKey: the API's message and code, next to the form.
    page.goto("/console")
    use_a_key(page)
    snap(page, "01-sign-in")
    sign_in(page, owner.secret_id, "x" * 32)
    expect(page.locator("#sign-in-error")).to_contain_text("(AuthFailure.SignatureFailure)")
    # Refused or not, the field gave the SecretKey up as soon as the day's key was derived.
    assert page.get_by_label("SecretKey", exact=True).input_value() == ""
    snap(page, "02-sign-in-refused")

    sign_in(page, owner.secret_id, owner._secret_key)
    for header in ("SecretId", "Status", "Created", "Last Access", "Description"):
        expect(page.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
    expect(row(page, owner.secret_id)).to_contain_text("Active")
    # Markup from the API is text: shown as written, never parsed.
    expect(row(page, owner.secret_id).locator("td").nth(4)).to_have_text(MARKUP)
    assert page.locator("#keys img, #keys b").count() == 0
    assert page.title() == "API Keys Management"
    snap(page, "03-keys")

    # Create: the SecretKey once, with a copy button and the warning.
    page.get_by_role("button", name="Create Key").click()
    page.get_by_label("Description").fill("made in the browser")
    confirm(page)
    created = page.locator("#created-dialog")
    expect(created).to_contain_text("cannot be shown again")
    secret_key = page.locator("#created-secret").input_value()
    new_id = page.locator("#created-id").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secret_key)
    LEDGER.issue(new_id, secret_key)  # so the secret scan looks for it in the stack's logs
    created.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret_key
    snap(page, "04-created")
    created.get_by_role("button", name="I have saved it").click()
    expect(row(page, new_id)).to_contain_text("made in the browser")
    assert page.locator("#created-secret").input_value() == ""
    # Two keys: Create Key is off, and says why.
    expect(page.get_by_role("button", name="Create Key")).to_be_disabled()
    expect(page.locator("#create-key-note")).to_contain_text("at most 2 keys")
    # The SecretId's own copy button.
    row(page, new_id).get_by_role("button", name=f"Copy SecretId {new_id}").click()
    assert page.evaluate("navigator.clipboard.readText()") == new_id
    snap(page, "05-two-keys")

    # Disable, then enable.
    row(page, new_id).get_by_role("button", name="Disable").click()
    confirm(page)
    expect(row(page, new_id)).to_contain_text("Inactive")
    snap(page, "06-disabled")
    row(page, new_id).get_by_role("button", name="Enable").click()
    confirm(page)
    expect(row(page, new_id)).to_contain_text("Active")
    expect(row(page, new_id).get_by_role("button", name="Delete")).to_have_count(0)

    # Records: the page's own calls, newest first, in the side panel.
    row(page, owner.secret_id).get_by_role("button", name="More Access Records").click()
    panel = page.locator("#records-panel")
    expect(panel.locator("#records tr").first).to_be_visible()
    actions = panel.locator("#records tr td:nth-child(3)").all_inner_texts()
    assert {"CreateAccessKey", "UpdateAccessKey", "ListAccessKeys"} <= set(actions)
    # The refused sign-in was not signed with the key's SecretKey: a failed attempt, not a record.
    expect(panel.locator("#attempts")).to_contain_text("AuthFailure.SignatureFailure")
    expect(panel.locator("#records")).not_to_contain_text("AuthFailure.SignatureFailure")
    assert panel.locator("#records tr").count() <= 20
    assert panel.locator("#attempts tr").count() <= 20
    snap(page, "07-records")
    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()

    # Disabling the key the page is signed in with warns first; cancelled here.
    row(page, owner.secret_id).get_by_role("button", name="Disable").click()
    expect(page.locator("#confirm-warning")).to_contain_text("signs this page out")
    page.get_by_role("button", name="Cancel").click()

    # Disable, then delete: final, and said to be.
    row(page, new_id).get_by_role("button", name="Disable").click()
    confirm(page)
    row(page, new_id).get_by_role("button", name="Delete").click()
    expect(page.locator("#confirm-warning")).to_contain_text("final")
    snap(page, "08-delete-confirm")
    confirm(page)
    expect(row(page, new_id)).to_have_count(0)
    expect(page.get_by_role("button", name="Create Key")).to_be_enabled()
    snap(page, "09-deleted")

    # Nothing was stored anywhere but this page's memory, which holds the day's signing key only.
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    assert page.evaluate("JSON.stringify(localStorage)") == "{}"
    assert page.context.cookies() == []
    # The sign-in field gave the secret up.
    assert page.get_by_label("SecretKey", exact=True).input_value() == ""


@pytest.mark.parametrize("remember", [True, False], ids=["remember", "memory-only"])
def test_only_the_days_signing_key_is_kept(page: Page, local_stack: LocalStack, remember: bool) -> None:
    owner = local_stack.bootstrap(unique_uin(), "kept")
    before = utc_today()
    sign_in(page, owner.secret_id, owner._secret_key, remember=remember)
    expect(row(page, owner.secret_id)).to_be_visible()
    after = utc_today()

    kept = page.evaluate(KEPT)
    assert owner._secret_key not in json.dumps(kept)
    assert kept["local"] == "{}"
    assert kept["cookie"] == ""
    assert page.context.cookies() == []
    if not remember:
        assert kept["session"] == "{}"
        return
    stored = json.loads(json.loads(kept["session"])[STORAGE_KEY])
    assert set(stored) == {"secretId", "date", "signingKey"}
    assert stored["secretId"] == owner.secret_id
    assert stored["date"] in {before, after}
    assert stored["signingKey"] == signing_key(owner._secret_key, stored["date"])

    # A reload signs in again from that alone.
    page.reload()
    expect(row(page, owner.secret_id)).to_be_visible()
    assert owner._secret_key not in json.dumps(page.evaluate(KEPT))


def test_an_earlier_record_holding_the_secret_key_is_dropped(page: Page, local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "earlier")
    page.goto("/console")
    # What the page kept before it derived the day's key: the SecretKey itself.
    earlier = json.dumps({"secretId": owner.secret_id, "secretKey": owner._secret_key})
    page.evaluate("([name, value]) => sessionStorage.setItem(name, value)", [STORAGE_KEY, earlier])

    page.reload()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("#who")).to_be_hidden()
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"


@pytest.mark.parametrize("used", [False, True], ids=["left-open", "used-after"])
def test_the_signing_key_ends_at_midnight_utc(page: Page, local_stack: LocalStack, used: bool) -> None:
    owner = local_stack.bootstrap(unique_uin(), "midnight")
    sign_in(page, owner.secret_id, owner._secret_key, remember=True)
    expect(row(page, owner.secret_id)).to_be_visible()
    signed_for = json.loads(page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')"))["date"]
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/v1/" in request.url else None)

    # Five seconds into the next UTC day, with no 15 idle minutes run on the page's timers.
    page.clock.set_system_time(datetime.fromisoformat(signed_for).replace(tzinfo=UTC) + timedelta(days=1, seconds=5))
    if used:
        page.get_by_role("button", name="Refresh").click()
    else:
        page.clock.run_for(10_000)

    expect(page.locator("#notice")).to_have_text(
        f"The signing key of {signed_for} has expired at 00:00 UTC: sign in again."
    )
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    assert sent == [], "a request the service would refuse was sent"
    snap(page, f"12-signing-key-expired-{'used' if used else 'left-open'}")


def test_a_failed_attempt_is_shown_apart_from_the_access_records(page: Page, local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "attempts")
    sign_in(page, owner.secret_id, owner._secret_key)
    row(page, owner.secret_id).get_by_role("button", name="More Access Records").click()
    expect(page.locator("#records tr").first).to_be_visible()
    expect(page.locator("#attempts-empty")).to_have_text("No failed attempts in the past 90 days.")
    page.get_by_role("button", name="Close").click()

    # Anyone can name a SecretId; without its SecretKey, the signature is wrong.
    agent = "failed-attempt-probe/1.0"
    timestamp = int(time.time())
    scope = f"{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d}/cam/tc3_request"
    forged = urllib.request.Request(  # noqa: S310 - loopback
        f"{local_stack.url}/v1/access-keys",
        headers={
            "Content-Type": "application/json",
            "X-TC-Timestamp": str(timestamp),
            "Authorization": (
                f"TC3-HMAC-SHA256 Credential={owner.secret_id}/{scope}, "
                f"SignedHeaders=content-type;host, Signature={'0' * 64}"
            ),
            "User-Agent": agent,
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged)  # noqa: S310 - loopback
    with refused.value:
        answer = refused.value.read().decode()
    LEDGER.saw_response(answer)
    assert refused.value.code == 401
    assert json.loads(answer)["Error"]["Code"] == "AuthFailure.SignatureFailure"

    row(page, owner.secret_id).get_by_role("button", name="More Access Records").click()
    attempts = page.locator("#attempts tr")
    expect(attempts).to_have_count(1)
    expect(attempts.first.locator("td").nth(2)).to_have_text("1")
    expect(attempts.first.locator("td").nth(4)).to_have_text("AuthFailure.SignatureFailure")
    expect(attempts.first.locator("td").nth(5)).to_have_text(agent)
    expect(page.locator("#attempts-empty")).to_be_hidden()
    # Not an access record: those are the requests signed with the key's SecretKey, this page's.
    records = page.locator("#records")
    expect(records.locator("tr").first).to_be_visible()
    expect(records).not_to_contain_text(agent)
    expect(records).not_to_contain_text("AuthFailure.SignatureFailure")
    assert set(records.locator("td:nth-child(2)").all_inner_texts()) == {"cam"}
    snap(page, "13-failed-attempts")


def test_an_idle_page_forgets_the_secret_after_15_minutes(page: Page, local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "idle")
    page.goto("/console")
    use_a_key(page)
    page.get_by_label("SecretId", exact=True).fill(owner.secret_id)
    page.get_by_label("SecretKey", exact=True).fill(owner._secret_key)
    page.get_by_label("Remember for this tab").check()
    page.get_by_role("button", name="Sign in").click()
    expect(row(page, owner.secret_id)).to_be_visible()
    assert owner.secret_id in page.evaluate("JSON.stringify(sessionStorage)")

    page.clock.run_for("14:00")
    expect(row(page, owner.secret_id)).to_be_visible()
    page.clock.run_for("01:10")

    expect(page.locator("#notice")).to_contain_text("15 minutes without activity")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    snap(page, "10-idle-signed-out")


def test_disabling_the_signed_in_key_signs_the_page_out(page: Page, local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "self")
    second = owner.create_access_key("keeps the account usable")["AccessKey"]
    sign_in(page, owner.secret_id, owner._secret_key)

    row(page, owner.secret_id).get_by_role("button", name="Disable").click()
    confirm(page)

    expect(page.locator("#notice")).to_contain_text("is now disabled")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    listed = AccessKeysClient(second["SecretId"], second["SecretKey"], local_stack.url).list_access_keys()
    assert {key["SecretId"]: key["Status"] for key in listed["AccessKeys"]}[owner.secret_id] == "Inactive"


def test_a_failed_request_says_what_happened_where_it_happened(page: Page, local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "errors")
    sign_in(page, owner.secret_id, owner._secret_key)
    expect(row(page, owner.secret_id)).to_be_visible()

    # The service unreachable: the list says so, and the page stays usable.
    page.route("**/v1/access-keys", lambda route: route.abort())
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#keys-error")).to_contain_text("could not be reached")
    expect(page.locator("#keys-error")).to_contain_text("(NetworkError)")
    page.unroute("**/v1/access-keys")

    # An API error inside a confirmation: its message and code, in the dialog, which stays open.
    failure = {"Error": {"Code": "InternalError", "Message": "Try again later."}, "RequestId": "r-1"}
    page.route("**/v1/access-keys", lambda route: route.fulfill(status=500, json=failure))
    page.get_by_role("button", name="Create Key").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#confirm-error")).to_have_text("Try again later. (InternalError)")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    snap(page, "11-error-in-dialog")
    page.unroute("**/v1/access-keys")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#keys-error")).to_be_hidden()
