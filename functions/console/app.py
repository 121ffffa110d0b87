"""GET /console: the API Keys Management page, its scripts and style sheet, and where it signs in.

Static files only, and the page's configuration (`/console/config.json`: the accounts' user pool,
its console client and the Cognito endpoint, none of them a secret). The page signs in to the
user pool in the browser (SRP: the password never leaves it), or signs its own API requests with
an access key, so this function holds no secret and makes no AWS call. Every answer carries a
strict Content-Security-Policy: scripts and styles from this origin only, no inline code, no
framing, and requests to this origin and the Cognito endpoint only.
"""

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STATIC = Path(__file__).parent / "static"
COGNITO_ENDPOINT = os.environ.get("COGNITO_ENDPOINT", "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {_origin(COGNITO_ENDPOINT)}".rstrip()
        + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # As on every answer of the service: no copy in a shared or disk cache, not even one to revalidate.
    "Cache-Control": "no-store",
}
CONFIG = {
    "Region": os.environ.get("AWS_REGION", ""),
    "UserPoolId": os.environ.get("ACCOUNTS_USER_POOL_ID", ""),
    "ClientId": os.environ.get("ACCOUNTS_CLIENT_ID", ""),
    "CognitoEndpoint": COGNITO_ENDPOINT,
}
_SCRIPT = "text/javascript; charset=utf-8"
# path -> (content type, body): read once, at the cold start.
FILES = {
    "/console": ("text/html; charset=utf-8", (STATIC / "index.html").read_text(encoding="utf-8")),
    "/console/console.js": (_SCRIPT, (STATIC / "console.js").read_text(encoding="utf-8")),
    "/console/srp.js": (_SCRIPT, (STATIC / "srp.js").read_text(encoding="utf-8")),
    "/console/cognito.js": (_SCRIPT, (STATIC / "cognito.js").read_text(encoding="utf-8")),
    "/console/console.css": ("text/css; charset=utf-8", (STATIC / "console.css").read_text(encoding="utf-8")),
    "/console/config.json": ("application/json", json.dumps(CONFIG)),
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
