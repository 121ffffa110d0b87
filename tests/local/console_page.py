"""What the two browser tests of the console (test_console.py, test_console_sign_in.py) share:
where screenshots go, what a page script could keep, and the key table's row and confirm dialog."""

from __future__ import annotations

from typing import Any

from access_keys_tools.template import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "console"
_KEPT_FIELDS = """
  session: JSON.stringify(sessionStorage),
  local: JSON.stringify(localStorage),
  cookie: document.cookie,
  inputs: Array.from(document.querySelectorAll("input"), (input) => input.value),"""
# Everything a page script could keep between two requests, as text.
KEPT = f"() => ({{{_KEPT_FIELDS}\n}})"
# The same, and what the page shows (a SecretKey is shown once, on purpose, after a create).
KEPT_AND_SHOWN = f"() => ({{{_KEPT_FIELDS}\n  page: document.documentElement.outerHTML,\n}})"


def snap(page: Any, name: str, *, part: str | None = None, full_page: bool = True) -> None:
    """A PNG of the page, of its viewport only (`full_page=False`), or of the element `part` names."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = str(ARTIFACTS / f"{name}.png")
    if part is None:
        page.screenshot(path=path, full_page=full_page)
        return
    box = page.locator(part).bounding_box()
    assert box is not None, f"{part} is not shown"
    margin = 16
    clip = {
        "x": max(box["x"] - margin, 0),
        "y": max(box["y"] - margin, 0),
        "width": box["width"] + 2 * margin,
        "height": box["height"] + 2 * margin,
    }
    page.screenshot(path=path, clip=clip, full_page=True)


def row(page: Any, secret_id: str) -> Any:
    """The key table's row of `secret_id`."""
    return page.locator("#keys tr", has_text=secret_id)


def confirm(page: Any) -> None:
    """Confirm the open confirmation dialog, and see it close."""
    from playwright.sync_api import expect

    dialog = page.locator("#confirm-dialog")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
