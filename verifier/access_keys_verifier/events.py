"""A request as the service received it, given by its parts or read from an API Gateway proxy event."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

from .canonical import canonical_request_hash, lower_case_names, signed_headers_of


@dataclass(frozen=True, slots=True)
class Request:
    """What the signature covers, and what the access record shows. Header names are lower-case."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    source_ip: str
    request_id: str
    user_agent: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", lower_case_names(self.headers))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def canonical_request_hash(self) -> str:
        """The hash VerifyRequest carries; a Refusal (AuthFailure.InvalidAuthorization) if none can be built."""
        return canonical_request_hash(
            method=self.method,
            path=self.path,
            query=self.query,
            headers=self.headers,
            body=self.body,
            signed_headers=signed_headers_of(self.header("authorization")),
        )

    @classmethod
    def from_event(cls, event: Any, *, path: str | None = None) -> Request:
        """The request an API Gateway Lambda proxy event carries, payload format 1.0 or 2.0.

        **2.0** (HTTP API): `requestContext.http.method`, `rawPath`, `rawQueryString` as sent,
        `headers` (API Gateway joins a repeated header's values with commas) plus `cookies`
        as the `cookie` header, `requestContext.http.sourceIp` and `userAgent`.

        **1.0** (REST API, or HTTP API with payload 1.0): `httpMethod`, `path` (the resource
        path as sent, without a REST API's stage), `multiValueHeaders` (joined with commas, as
        2.0 does) else `headers`, `requestContext.identity.sourceIp` and `userAgent`. Payload
        1.0 does not carry the raw query string, only its decoded parameters, so the query is
        **reconstructed**: `multiValueQueryStringParameters` (else `queryStringParameters`),
        in the order the event lists them, re-encoded as `urllib.parse.urlencode` encodes
        them (`application/x-www-form-urlencoded`: space as `+`, everything but letters,
        digits and `_.-~` percent-encoded in upper-case hex), which is what Tencent Cloud's
        SDKs send. A query sent otherwise (`%20` for a space, a `,` or `:` left unescaped,
        one name repeated around another, a name without `=`) is rebuilt differently, and its
        signature then fails: refused, never accepted. Serve such clients with payload 2.0.

        Both: `requestContext.requestId` (a fresh UUID if absent), the body base64-decoded when
        `isBase64Encoded`, header names in any case. `path` overrides the event's path with the
        one the client signed, for an API reached through a stage or a base-path mapping.
        """
        event = event if isinstance(event, Mapping) else {}
        context = _mapping(event.get("requestContext"))
        if event.get("version") == "2.0" or "rawPath" in event:
            http = _mapping(context.get("http"))
            headers = _headers(_mapping(event.get("headers")))
            cookies = event.get("cookies")
            if cookies and "cookie" not in headers:
                headers["cookie"] = "; ".join(str(cookie) for cookie in cookies)
            method = str(http.get("method") or "")
            received_path = str(event.get("rawPath") or http.get("path") or "")
            query = str(event.get("rawQueryString") or "")
            source_ip = str(http.get("sourceIp") or "")
            user_agent = http.get("userAgent") or headers.get("user-agent")
        else:
            identity = _mapping(context.get("identity"))
            headers = _headers(_mapping(event.get("headers")))
            for name, values in _mapping(event.get("multiValueHeaders")).items():
                listed = [str(value) for value in _listed(values)]
                if listed:
                    headers[str(name).lower()] = ",".join(listed)
            method = str(event.get("httpMethod") or "")
            received_path = str(event.get("path") or "")
            query = rebuilt_query(event)
            source_ip = str(identity.get("sourceIp") or "")
            user_agent = identity.get("userAgent") or headers.get("user-agent")
        return cls(
            method=method,
            path=received_path if path is None else path,
            query=query,
            headers=headers,
            body=_body(event),
            source_ip=source_ip,
            request_id=str(context.get("requestId") or uuid.uuid4()),
            user_agent=str(user_agent) if user_agent else None,
        )


def rebuilt_query(event: Mapping[str, Any]) -> str:
    """A payload 1.0 event's query string, re-encoded from its decoded parameters (see `Request.from_event`)."""
    pairs: list[tuple[str, str]] = []
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, Mapping) and multi:
        for name, values in multi.items():
            pairs.extend((str(name), str(value)) for value in _listed(values))
    else:
        single = _mapping(event.get("queryStringParameters"))
        pairs.extend((str(name), str(value)) for name, value in single.items() if value is not None)
    return urlencode(pairs, quote_via=quote_plus)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _listed(values: Any) -> Iterable[Any]:
    if isinstance(values, list):
        return (value for value in values if value is not None)
    return () if values is None else (values,)


def _headers(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items() if value is not None}


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    text = str(body)
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass  # not base64 after all: hashed as sent, so its signature fails rather than matches by chance
    return text.encode("utf-8", "surrogatepass")
