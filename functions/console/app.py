"""GET /console: the API Keys Management page, and its script and style sheet.

Static files only: the page signs its own API requests in the browser, so this function holds no
secret and makes no AWS call. Every answer carries a strict Content-Security-Policy: scripts and
styles from this origin only, no inline code, no framing.
"""

from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # As on every answer of the service: no copy in a shared or disk cache, not even one to revalidate.
    "Cache-Control": "no-store",
}
# path -> (content type, body): read once, at the cold start.
FILES = {
    "/console": ("text/html; charset=utf-8", (STATIC / "index.html").read_text(encoding="utf-8")),
    "/console/console.js": ("text/javascript; charset=utf-8", (STATIC / "console.js").read_text(encoding="utf-8")),
    "/console/console.css": ("text/css; charset=utf-8", (STATIC / "console.css").read_text(encoding="utf-8")),
}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = event.get("rawPath") or ""
    found = FILES.get(path.rstrip("/") or path)
    if found is None:
        return {
            "statusCode": 404,
            "headers": {"Content-Type": "application/json", **SECURITY_HEADERS},
            "body": '{"message": "Not Found"}',
        }
    content_type, body = found
    return {"statusCode": 200, "headers": {"Content-Type": content_type, **SECURITY_HEADERS}, "body": body}
