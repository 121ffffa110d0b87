"""A Python client of the access-key API, signing each request with TC3-HMAC-SHA256.

    from access_keys_tools.client import AccessKeysClient

    client = AccessKeysClient("AKID...", secret_key, endpoint="https://api.example.com")
    for key in client.list_access_keys():
        print(key["SecretId"], key["Status"])

Every method returns the response's document (RequestId included) or raises ApiError with the
API's code and message. It uses only the standard library and the service's own signer, so the
canonical request is defined once, in `access_keys.signing`.

`call_action` speaks Tencent Cloud API 3.0 instead (`POST /`, the action in X-TC-Action):

    client.call_action("ListAccessKeys", {})  # -> {"AccessKeys": [...], "RequestId": "..."}
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from access_keys import signing

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"  # the local stack (`make run`)
CONTENT_TYPE = "application/json"
CAM_VERSION = "2019-01-16"
# A state-changing signature is accepted once (API.md, "Single use"), and two identical requests
# signed in the same second would carry the same one: a random nonce, signed, keeps every request
# of this client distinct, so a script's second identical create is never refused as a replay.
NONCE_HEADER = "x-request-nonce"
REST_SIGNED_HEADERS = ("content-type", "host", NONCE_HEADER)
# Signing the action means a captured signature cannot be resent as another action (API.md,
# "What the signature binds"); the stock SDKs leave it out, so this client is the safer caller.
ACTION_SIGNED_HEADERS = ("content-type", "host", NONCE_HEADER, "x-tc-action")


class ClientError(Exception):
    """The request did not get an answer from the API."""


@dataclass
class ApiError(Exception):
    """The API refused the request: `code` is one of docs/api.md's error codes."""

    status: int
    code: str
    message: str
    request_id: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class AccessKeysClient:
    """Calls the API with one key. Safe to share between threads: each call is its own request."""

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        timeout: float = 10.0,
        user_agent: str = "access-keys-client",
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"the endpoint must be an http:// or https:// URL, not {endpoint!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"the endpoint must have no path, query or fragment: {endpoint!r}")
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc.lower()
        self._timeout = timeout
        self._user_agent = user_agent

    def __repr__(self) -> str:  # never the SecretKey
        return f"AccessKeysClient(secret_id={self.secret_id!r}, endpoint={self.endpoint!r})"

    # ------------------------------------------------------------------ operations
    def create_access_key(self, description: str = "") -> dict[str, Any]:
        """A new key; the response is the only one that ever holds its SecretKey."""
        return self.request("POST", "/v1/access-keys", {"Description": description} if description else {})

    def list_access_keys(self) -> dict[str, Any]:
        return self.request("GET", "/v1/access-keys")

    def get_access_key(self, secret_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/access-keys/{_segment(secret_id)}")

    def update_access_key(self, secret_id: str, status: str) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/access-keys/{_segment(secret_id)}", {"Status": status})

    def delete_access_key(self, secret_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/access-keys/{_segment(secret_id)}")

    def list_access_records(self, secret_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/access-keys/{_segment(secret_id)}/access-records")

    def list_activity(self) -> dict[str, Any]:
        return self.request("GET", "/v1/activity")

    def call_action(self, action: str, document: dict[str, Any], version: str = CAM_VERSION) -> dict[str, Any]:
        """One Tencent Cloud API 3.0 call: its `Response` object, else ApiError with Tencent's code."""
        body = json.dumps(document).encode("utf-8")
        headers = self.signed_headers("POST", "/", body, timestamp=int(time.time()), action=action)
        headers["X-TC-Version"] = version
        envelope = self._send("POST", "/", body, headers)
        response = envelope.get("Response")
        if not isinstance(response, dict):
            raise ClientError("the endpoint answered without a Tencent Cloud API `Response` object")
        error = response.get("Error")
        if isinstance(error, dict):
            # Tencent's envelope says HTTP 200 even for an error, so the status is that too.
            raise ApiError(200, str(error.get("Code")), str(error.get("Message")), response.get("RequestId"))
        return response

    # --------------------------------------------------------------------- transport
    def request(self, method: str, path: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one signed request; the JSON document of a 2xx answer, else ApiError."""
        body = b"" if document is None else json.dumps(document).encode("utf-8")
        headers = self.signed_headers(method, path, body, timestamp=int(time.time()))
        return self._send(method, path, body if document is not None else None, headers)

    def signed_headers(
        self, method: str, path: str, body: bytes, *, timestamp: int, action: str | None = None
    ) -> dict[str, str]:
        """The headers of one request, Authorization included; with `action`, X-TC-Action too, signed."""
        nonce = secrets.token_hex(16)
        to_sign = {"content-type": CONTENT_TYPE, "host": self._host, NONCE_HEADER: nonce}
        if action is not None:
            to_sign["x-tc-action"] = action
        authorization = signing.sign(
            secret_id=self.secret_id,
            secret_key=self._secret_key,
            method=method,
            path=path,
            query="",
            headers=to_sign,
            body=body,
            timestamp=timestamp,
            signed_headers=ACTION_SIGNED_HEADERS if action is not None else REST_SIGNED_HEADERS,
        )
        headers = {
            "Authorization": authorization,
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Timestamp": str(timestamp),
            "X-Request-Nonce": nonce,
            "User-Agent": self._user_agent,
        }
        if action is not None:
            headers["X-TC-Action"] = action
        return headers

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.endpoint + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return _document(response.status, response.read())
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClientError(f"cannot reach {self.endpoint}: {reason}") from None


def _segment(secret_id: str) -> str:
    return quote(secret_id, safe="")


def _document(status: int, raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError:
        raise ClientError(f"the endpoint answered {status} with a body that is not JSON") from None
    if not isinstance(document, dict):
        raise ClientError(f"the endpoint answered {status} with JSON that is not an object")
    return document


def _api_error(status: int, raw: bytes) -> ApiError:
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("Error"), dict):
        error = document["Error"]
        return ApiError(status, str(error.get("Code")), str(error.get("Message")), document.get("RequestId"))
    # Not the API's envelope: API Gateway's own answer (unknown route, throttling) or something else.
    message = document.get("message") if isinstance(document, dict) else None
    return ApiError(status, f"HTTP{status}", str(message or "the endpoint answered without an API error"))
