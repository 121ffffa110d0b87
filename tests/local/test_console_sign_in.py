"""The console's first way in, as the account (`GET /console`), in a real browser: Debian's chromium.

An operator creates the account's sign-in (`access-keys admin create-account --local`, which shows
a temporary password once); its owner signs in with email and that password, chooses a new
password, sets up an authenticator app from the secret the page shows (this test is the app: it
computes the RFC 6238 codes), and manages the keys through the session routes (/v1/session/...),
each change in the account's Activity panel with the owner's email. Later sign-ins take the
password and a code. Wrong passwords and codes say so; the password is never kept, the tokens are
kept in memory, or in sessionStorage when "Remember in this tab" is ticked, never in localStorage
or a cookie; a sign-out revokes the refresh token; 15 idle minutes sign out.

Screenshots go to test-artifacts/console/ (not committed); the README's copies are
docs/images/console-<name>.png. Without chromium the test is skipped, as test_console.py is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import console_page
import pytest
from console_page import KEPT_AND_SHOWN, confirm, row
from running_stack import CHROMIUM, NEEDS_CHROMIUM, LocalStack
from secret_ledger import LEDGER
from stack_process import unique_uin

ACCOUNT_STORAGE_KEY = "access-keys-console-account"  # the page's sessionStorage item for a sign-in
TOTP_STEP_SECONDS = 30

pytestmark = NEEDS_CHROMIUM

if CHROMIUM is not None:
    from playwright.sync_api import Page, Response, expect


@pytest.fixture
def page(open_page: Callable[[int, int], Page]) -> Page:
    return open_page(1280, 800)


def snap(page: Page, name: str, part: str | None = None) -> None:
    """The viewport, or only the element `part` names: each a small PNG, fit for the README."""
    console_page.snap(page, f"sign-in-{name}", part=part, full_page=False)


# ---------------------------------------------------------------------------- the account


@dataclass
class Account:
    uin: str
    email: str
    temporary_password: str
    password: str = field(default_factory=lambda: f"Console-{secrets.token_hex(6)}-9!")


def create_account(local_stack: LocalStack) -> Account:
    """An account's sign-in, made as an operator makes it: `access-keys admin create-account`."""
    uin = unique_uin()
    created = local_stack.create_account(uin, f"owner-{uin}@example.com")
    return Account(created["Uin"], created["Email"], created["TemporaryPassword"])


def totp(secret: str, step: int) -> str:
    """RFC 6238's code (HOTP-SHA1, 6 digits) of a 30-second step: an authenticator app's."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


@dataclass
class Authenticator:
    """The app the owner added the account to. Cognito takes each code once: a second sign-in in
    the same 30 seconds waits for the next step, as a person waits for the next code."""

    secret: str
    last_step: int = -1

    def code(self) -> str:
        step = int(time.time()) // TOTP_STEP_SECONDS
        if step <= self.last_step:
            time.sleep((self.last_step + 1) * TOTP_STEP_SECONDS - time.time() + 0.2)
            step = self.last_step + 1
        self.last_step = step
        return totp(self.secret, step)

    def wrong_code(self) -> str:
        now = int(time.time()) // TOTP_STEP_SECONDS
        near = {totp(self.secret, step) for step in range(now - 2, now + 3)}
        return next(code for code in ("000000", "123456", "999999", "314159") if code not in near)


class CognitoAnswers:
    """The tokens Cognito gave the page, read from its answers to the page's requests."""

    def __init__(self, page: Page, local_stack: LocalStack) -> None:
        self._endpoint = local_stack.aws_url.rstrip("/")
        self._responses: list[Response] = []
        page.on("response", self._seen)

    def _seen(self, response: Response) -> None:
        if response.url.rstrip("/") == self._endpoint and response.request.method == "POST":
            self._responses.append(response)

    def targets(self) -> list[str]:
        return [response.request.headers.get("x-amz-target", "") for response in self._responses]

    def tokens(self) -> dict[str, str]:
        """The latest of each token: read before the page navigates (its bodies go with it)."""
        found: dict[str, str] = {}
        for response in self._responses:
            if response.ok:
                result = response.json().get("AuthenticationResult") or {}
                for name in ("IdToken", "AccessToken", "RefreshToken"):
                    if result.get(name):
                        found[name] = result[name]
        return found


def console_config(local_stack: LocalStack) -> dict[str, str]:
    with urllib.request.urlopen(f"{local_stack.url}/console/config.json") as response:  # noqa: S310 - loopback
        return json.load(response)


def refresh_token_works(local_stack: LocalStack, refresh_token: str) -> bool:
    cognito = local_stack.aws("cognito-idp")
    try:
        cognito.initiate_auth(  # type: ignore[attr-defined]
            ClientId=console_config(local_stack)["ClientId"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except cognito.exceptions.NotAuthorizedException:  # type: ignore[attr-defined]
        return False
    return True


def eventually(condition: Callable[[], bool], seconds: float = 5) -> bool:
    """The page revokes a refresh token without waiting for Cognito's answer."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# ---------------------------------------------------------------------------- the steps


def submit_password(page: Page, email: str, password: str, *, remember: bool = False) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    if remember:
        page.get_by_label("Remember in this tab").check()
    page.get_by_role("button", name="Sign in", exact=True).click()


def choose_password(page: Page, password: str, again: str | None = None) -> None:
    view = page.locator("#new-password-view")
    view.get_by_label("New password", exact=True).fill(password)
    view.get_by_label("New password, again", exact=True).fill(password if again is None else again)
    view.get_by_role("button", name="Set password").click()


def enter_code(page: Page, view_id: str, code: str) -> None:
    view = page.locator(f"#{view_id}")
    view.get_by_role("textbox").fill(code)
    view.get_by_role("button", name="Verify").click()


def totp_secret(page: Page) -> str:
    view = page.locator("#totp-setup-view")
    expect(view).to_be_visible()
    return view.locator("#totp-secret").inner_text().replace(" ", "")


def signed_in(page: Page, account: Account) -> None:
    expect(page.locator("#who")).to_contain_text(f"Signed in as {account.email}")
    expect(page.get_by_role("heading", name="Access keys")).to_be_visible()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()


def first_sign_in(page: Page, account: Account, *, remember: bool = False) -> Authenticator:
    page.goto("/console")
    submit_password(page, account.email, account.temporary_password, remember=remember)
    choose_password(page, account.password)
    authenticator = Authenticator(totp_secret(page))
    enter_code(page, "totp-setup-view", authenticator.code())
    signed_in(page, account)
    return authenticator


def create_key(page: Page, description: str) -> tuple[str, str]:
    page.get_by_role("button", name="Create Key").click()
    page.get_by_label("Description").fill(description)
    confirm(page)
    created = page.locator("#created-dialog")
    expect(created).to_contain_text("cannot be shown again")
    secret_id = created.locator("#created-id").inner_text()
    secret_key = created.locator("#created-secret").input_value()
    LEDGER.issue(secret_id, secret_key)  # so the secret scan looks for it in the stack's logs
    return secret_id, secret_key


def saved_it(page: Page) -> None:
    page.locator("#created-dialog").get_by_role("button", name="I have saved it").click()
    expect(page.locator("#created-dialog")).to_be_hidden()


def nothing_kept_but_memory(page: Page, *secrets_: str) -> dict:
    kept = page.evaluate(KEPT_AND_SHOWN)
    assert kept["local"] == "{}"
    assert kept["cookie"] == ""
    assert page.context.cookies() == []
    for secret in secrets_:
        assert secret not in kept["session"]
        assert secret not in kept["page"]
        assert all(secret not in value for value in kept["inputs"])
    return kept


# ---------------------------------------------------------------------------- the tests


def test_an_owner_signs_in_as_the_account_and_manages_its_keys(page: Page, local_stack: LocalStack) -> None:  # noqa: PLR0915 - one walk, in order
    account = create_account(local_stack)
    cognito = CognitoAnswers(page, local_stack)

    # The first screen: the account's sign-in; the key's is one link away.
    page.goto("/console")
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with an access key instead")).to_be_visible()
    expect(page.locator("#sign-in-view")).to_be_hidden()
    page.get_by_label("Email", exact=True).fill(account.email)
    snap(page, "01-account")

    # A wrong password: said in plain words, and the field gave it up at once.
    submit_password(page, account.email, "Not-the-password-1!")
    expect(page.locator("#account-error")).to_have_text("Wrong email or password. (NotAuthorizedException)")
    assert page.get_by_label("Password", exact=True).input_value() == ""

    # The temporary password: a new one is asked for, twice, with the policy said.
    submit_password(page, account.email, account.temporary_password)
    view = page.locator("#new-password-view")
    expect(view).to_be_visible()
    expect(view).to_contain_text("at least 12 characters, with an upper-case letter, a lower-case letter")
    nothing_kept_but_memory(page, account.temporary_password)
    snap(page, "02-new-password")
    choose_password(page, account.password, again=account.password + "x")
    expect(view.locator("#new-password-error")).to_have_text(
        "The two passwords differ: type the same new password twice."
    )
    choose_password(page, "short1!A")
    expect(view.locator("#new-password-error")).to_have_text("The new password needs at least 12 characters.")
    choose_password(page, "no-digits-or-capitals!")
    expect(view.locator("#new-password-error")).to_have_text("The new password needs an upper-case letter, a digit.")
    assert view.get_by_label("New password", exact=True).input_value() == ""
    choose_password(page, account.password)

    # The authenticator app: the secret in groups, the otpauth link, then a code.
    secret = totp_secret(page)
    expect(page.locator("#totp-secret")).to_have_text(" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)))
    link = page.locator("#totp-uri")
    expect(link).to_have_text(
        f"otpauth://totp/Access%20keys:{account.email.replace('@', '%40')}?secret={secret}&issuer=Access%20keys"
    )
    assert link.get_attribute("href") == link.inner_text()
    nothing_kept_but_memory(page, account.temporary_password, account.password)
    snap(page, "03-totp-setup")
    authenticator = Authenticator(secret)
    enter_code(page, "totp-setup-view", "12345")
    expect(page.locator("#totp-setup-error")).to_have_text("Enter the 6 digits your authenticator app shows.")
    enter_code(page, "totp-setup-view", authenticator.code())

    signed_in(page, account)
    expect(page.locator("#keys-empty")).to_have_text("No keys.")
    expect(page.locator("#totp-secret")).to_have_text("")
    tokens = cognito.tokens()
    assert set(tokens) == {"IdToken", "AccessToken", "RefreshToken"}
    # Without Remember: nothing in sessionStorage either, and no password or token on the page.
    kept = nothing_kept_but_memory(page, account.temporary_password, account.password, *tokens.values())
    assert kept["session"] == "{}"

    # Create: the SecretKey once, over the list.
    first_id, first_key = create_key(page, "made by the owner")
    expect(row(page, first_id)).to_contain_text("Active")
    expect(page.locator("#activity tr", has_text="CreateAccessKey")).to_have_count(1)
    snap(page, "04-keys-secret-key-shown")
    saved_it(page)
    assert first_key not in page.evaluate(KEPT_AND_SHOWN)["page"]
    assert page.locator("#created-secret").input_value() == ""
    second_id, _ = create_key(page, "the second")
    saved_it(page)
    expect(page.get_by_role("button", name="Create Key")).to_be_disabled()

    # Disable both: with a session, no key is the page's own, so neither signs the page out.
    for secret_id in (first_id, second_id):
        row(page, secret_id).get_by_role("button", name="Disable").click()
        expect(page.locator("#confirm-warning")).to_be_hidden()
        confirm(page)
        expect(row(page, secret_id)).to_contain_text("Inactive")
    signed_in(page, account)

    # Sign out: back to the account's sign-in, everything forgotten, the refresh token revoked.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#notice")).to_have_text("Signed out.")
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    expect(page.locator("#who")).to_be_hidden()
    assert page.locator("#keys tr").count() == 0
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    assert eventually(lambda: not refresh_token_works(local_stack, tokens["RefreshToken"]))

    # Again: the password, then a code; a wrong code says so and the right one goes on.
    submit_password(page, account.email, account.password)
    expect(page.locator("#totp-view")).to_be_visible()
    enter_code(page, "totp-view", authenticator.wrong_code())
    expect(page.locator("#totp-error")).to_have_text(
        "Wrong code: enter the 6-digit code your authenticator app shows now. (CodeMismatchException)"
    )
    assert page.locator("#totp-code").input_value() == ""
    enter_code(page, "totp-view", authenticator.code())
    signed_in(page, account)
    expect(row(page, first_id)).to_contain_text("Inactive")
    expect(row(page, second_id)).to_contain_text("Inactive")

    # Enable one.
    row(page, first_id).get_by_role("button", name="Enable").click()
    confirm(page)
    expect(row(page, first_id)).to_contain_text("Active")
    expect(row(page, first_id).get_by_role("button", name="Delete")).to_have_count(0)

    # Records, through the session route: no request was signed with either key.
    row(page, first_id).get_by_role("button", name="More Access Records").click()
    panel = page.locator("#records-panel")
    expect(panel.locator("#records-empty")).to_have_text("No access records in the past 90 days.")
    expect(panel.locator("#attempts-empty")).to_have_text("No failed attempts in the past 90 days.")
    expect(panel.locator("#records-error")).to_be_hidden()
    panel.get_by_role("button", name="Close").click()

    # The activity: each change, newest first, by the owner's email, from this browser.
    by_owner = page.locator("#activity tr").filter(has_text=account.email)
    expect(by_owner).to_have_count(5)
    entries = [entry.locator("td").all_inner_texts() for entry in by_owner.all()]
    assert [entry[2] for entry in entries] == ["UpdateAccessKey"] * 3 + ["CreateAccessKey"] * 2
    assert [entry[3] for entry in entries] == [first_id, second_id, first_id, second_id, first_id]
    assert {entry[1] for entry in entries} == {account.email}
    assert {(entry[4], entry[5], entry[6]) for entry in entries} == {("127.0.0.1", "Success", "-")}
    # Anything else is the operator's: the account's creation.
    others = [row.locator("td").all_inner_texts() for row in page.locator("#activity tr").all()][5:]
    assert all(entry[1].startswith("operator ") for entry in others), others
    snap(page, "05-activity", part="#activity-view")

    # Delete, once disabled: final, and in the activity too.
    row(page, second_id).get_by_role("button", name="Delete").click()
    expect(page.locator("#confirm-warning")).to_contain_text("final")
    confirm(page)
    expect(row(page, second_id)).to_have_count(0)
    expect(page.locator("#activity tr").first).to_contain_text("DeleteAccessKey")
    expect(page.locator("#activity tr").first).to_contain_text(second_id)

    tokens = cognito.tokens()
    nothing_kept_but_memory(page, account.temporary_password, account.password, *tokens.values())
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"


def test_remember_keeps_the_sign_in_in_this_tab_and_never_the_password(page: Page, local_stack: LocalStack) -> None:
    account = create_account(local_stack)
    cognito = CognitoAnswers(page, local_stack)
    first_sign_in(page, account, remember=True)
    tokens = cognito.tokens()

    kept = nothing_kept_but_memory(page, account.temporary_password, account.password, tokens["AccessToken"])
    stored = json.loads(json.loads(kept["session"])[ACCOUNT_STORAGE_KEY])
    assert set(stored) == {"email", "idToken", "refreshToken", "expiresAt", "endsAt"}
    assert stored["email"] == account.email
    assert stored["idToken"] == tokens["IdToken"]
    assert stored["refreshToken"] == tokens["RefreshToken"]
    # The sign-in ends with the refresh token's 12 hours.
    assert stored["endsAt"] - page.evaluate("Date.now()") == pytest.approx(12 * 3600 * 1000, abs=60_000)

    # A reload signs in again from that alone: no password, no code.
    asked = len(cognito.targets())
    page.reload()
    signed_in(page, account)
    assert not any(target.endswith(("InitiateAuth", "RespondToAuthChallenge")) for target in cognito.targets()[asked:])

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    assert eventually(lambda: not refresh_token_works(local_stack, tokens["RefreshToken"]))


def test_a_refused_id_token_is_renewed_once_and_a_refused_renewal_signs_out(
    page: Page, local_stack: LocalStack
) -> None:
    account = create_account(local_stack)
    cognito = CognitoAnswers(page, local_stack)
    first_sign_in(page, account)
    refresh_token = cognito.tokens()["RefreshToken"]
    unauthorized = {"status": 401, "json": {"message": "Unauthorized"}}

    # API Gateway refuses the ID token once (as it does an expired one): renewed, then sent again.
    refused: list[str] = []

    def refuse_once(route) -> None:
        if refused:
            route.continue_()
        else:
            refused.append(route.request.headers["authorization"])
            route.fulfill(**unauthorized)

    page.route("**/v1/session/access-keys", refuse_once)
    asked = len(cognito.targets())
    with page.expect_response(lambda response: "/v1/session/access-keys" in response.url and response.ok):
        page.get_by_role("button", name="Refresh", exact=True).click()
    assert len(refused) == 1
    assert cognito.targets()[asked:] == ["AWSCognitoIdentityProviderService.InitiateAuth"]
    expect(page.locator("#keys-empty")).to_have_text("No keys.")
    expect(page.locator("#keys-error")).to_be_hidden()
    page.unroute("**/v1/session/access-keys")

    # The refresh token revoked elsewhere: the renewal is refused, and the page signs out.
    local_stack.aws("cognito-idp").revoke_token(  # type: ignore[attr-defined]
        Token=refresh_token, ClientId=console_config(local_stack)["ClientId"]
    )
    page.route("**/v1/session/access-keys", lambda route: route.fulfill(**unauthorized))
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Signed out: this sign-in could not be renewed. Sign in again.")
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    expect(page.locator("#who")).to_be_hidden()


def test_an_idle_sign_in_ends_after_15_minutes(page: Page, local_stack: LocalStack) -> None:
    account = create_account(local_stack)
    cognito = CognitoAnswers(page, local_stack)
    first_sign_in(page, account, remember=True)
    refresh_token = cognito.tokens()["RefreshToken"]
    assert ACCOUNT_STORAGE_KEY in page.evaluate("JSON.stringify(sessionStorage)")

    # The ID token lasts 15 minutes: renewed shortly before it ends, the page being signed in.
    with page.expect_response(lambda response: response.url.startswith(local_stack.aws_url)) as renewal:
        page.clock.run_for("14:00")
    assert renewal.value.request.headers["x-amz-target"].endswith("InitiateAuth")
    assert renewal.value.ok
    signed_in(page, account)
    page.clock.run_for("01:10")

    expect(page.locator("#notice")).to_have_text("Signed out after 15 minutes without activity.")
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    assert eventually(lambda: not refresh_token_works(local_stack, refresh_token))
    snap(page, "06-idle-signed-out")
