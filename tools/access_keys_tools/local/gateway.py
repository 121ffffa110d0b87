"""API Gateway (HTTP API, payload format 2.0) in front of the local functions.

Each request becomes the event API Gateway would send: header names lower-cased with their
values as sent (repeated headers joined by commas), rawPath and rawQueryString as received,
the body as text or base64, sourceIp and userAgent, and a fresh request id. The routes are the
HttpApi events of template.yaml. A route that does not exist gets API Gateway's own 404, and a
function that fails gets its 500, both with API Gateway's `{"message": ...}` bodies. A route with
a JWT authorizer gets its token checked as API Gateway checks it (jwt_authorizer.py) before the
function is called, and its claims in the event.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from access_keys_tools.local import names
from access_keys_tools.local.functions import FunctionSpec, InvocationError
from access_keys_tools.local.jwt_authorizer import JwtAuthorizer, Unauthorized, event_claims
from access_keys_tools.template import load_template, resolve, resources_of_type

log = logging.getLogger("access_keys_tools.local")

# API Gateway's own limit on a request's payload.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# Content types API Gateway passes to the function as text; any other body arrives base64-encoded.
_TEXT_TYPES = re.compile(
    r"^(text/[^;]+|application/([\w.+-]*\+)?(json|xml)|application/(javascript|x-www-form-urlencoded))\s*(;.*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Route:
    method: str  # an HTTP method, or ANY
    path: str  # as in template.yaml, e.g. /v1/access-keys/{SecretId}
    function: FunctionSpec
    pattern: re.Pattern[str]
    authorizer: JwtAuthorizer | None = None
    scopes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else {name: unquote(value) for name, value in found.groupdict().items()}


def routes(
    functions: Mapping[str, FunctionSpec], authorizers: Mapping[str, JwtAuthorizer] | None = None
) -> list[Route]:
    """The HttpApi routes of template.yaml, most specific first, as API Gateway matches them.

    A route whose event names an authorizer gets it from `authorizers` (`jwt_authorizers`); one
    that is not there is an error, never a route served without it.
    """
    authorizers = authorizers or {}
    found = []
    for spec in functions.values():
        for name, event in spec.events.items():
            if event["Type"] != "HttpApi":
                continue
            properties = event["Properties"]
            if properties.get("PayloadFormatVersion", "2.0") != "2.0":
                raise ValueError(f"{spec.logical_id}: only payload format 2.0 is served locally")
            auth = properties.get("Auth") or {}
            authorizer = None
            if auth.get("Authorizer") not in (None, "NONE"):
                if auth["Authorizer"] not in authorizers:
                    raise ValueError(f"{spec.logical_id}.{name}: no local authorizer {auth['Authorizer']!r}")
                authorizer = authorizers[auth["Authorizer"]]
            found.append(
                Route(
                    properties["Method"].upper(),
                    properties["Path"],
                    spec,
                    _path_pattern(properties["Path"]),
                    authorizer,
                    tuple(auth.get("AuthorizationScopes") or ()),
                )
            )
    # Literal paths win over parameters, and a greedy {name+} comes last.
    return sorted(found, key=lambda route: (route.path.count("+}"), route.path.count("{"), route.method == "ANY"))


def jwt_authorizers(values: Mapping[str, Any], aws_endpoint: str) -> dict[str, JwtAuthorizer]:
    """The JWT authorizers of template.yaml's HttpApis, issuer and audience resolved with `values`.

    An issuer is a Cognito user pool's (https://cognito-idp.<region>.amazonaws.com/<pool id>); its
    JWKS is read from the same path on the local AWS endpoint, where moto serves it.
    """
    found = {}
    for api in resources_of_type("AWS::Serverless::HttpApi", load_template()).values():
        for name, authorizer in ((api["Properties"].get("Auth") or {}).get("Authorizers") or {}).items():
            configuration = resolve(authorizer["JwtConfiguration"], dict(values))
            source = authorizer.get("IdentitySource", "$request.header.Authorization")
            if not source.startswith("$request.header."):
                raise ValueError(f"authorizer {name}: only a header identity source is served locally")
            issuer = configuration["issuer"]
            found[name] = JwtAuthorizer(
                name=name,
                issuer=issuer,
                audience=tuple(configuration["audience"]),
                jwks_url=f"{aws_endpoint.rstrip('/')}{urlsplit(issuer).path}/.well-known/jwks.json",
                identity_header=source.removeprefix("$request.header.").lower(),
            )
    return found


def _path_pattern(path: str) -> re.Pattern[str]:
    def segment(part: str) -> str:
        parameter = re.fullmatch(r"\{(\w+)(\+?)\}", part)
        if not parameter:
            return re.escape(part)
        name, greedy = parameter.groups()
        return f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"

    return re.compile("/".join(segment(part) for part in path.split("/")))


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # the request target as received: path and query
    headers: list[tuple[str, str]]  # as received, in order, repeats included
    body: bytes
    source_ip: str
    server_port: int


# A Host header as RFC 9110 has it: a DNS name or IPv4 address, or an IPv6 one in brackets, and an
# optional port. `http://127.0.0.1:3000` (what tccli sends with an http:// endpoint) is not one.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_VALID_HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")


def api_gateway_event(route: Route, path_parameters: dict[str, str], request: HttpRequest) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends the route's function for this request."""
    raw_path, _, raw_query = request.target.partition("?")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for received_name, value in request.headers:
        name = received_name.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers["x-forwarded-port"] = str(request.server_port)
    headers["x-forwarded-proto"] = "http"
    host = headers.get("host", f"{names.HOST}:{request.server_port}")
    domain = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    parameters = _query_parameters(raw_query)
    if parameters:
        event["queryStringParameters"] = parameters
    event["requestContext"] = {
        "accountId": names.ACCOUNT_ID,
        "apiId": "local",
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if request.body:
        text = _as_text(request.body, headers.get("content-type", ""))
        event["body"] = text if text is not None else base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name, value = unquote(name.replace("+", " ")), unquote(value.replace("+", " "))
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _as_text(body: bytes, content_type: str) -> str | None:
    if not _TEXT_TYPES.match(content_type.strip()):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Any, request_id: str) -> HttpResponse:
    """What API Gateway sends the client for a function's payload 2.0 result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 treats any other valid JSON as a 200 response body.
        return _json_response(200, result, request_id)
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    headers.append(("apigw-requestid", request_id))
    return HttpResponse(int(result["statusCode"]), headers, raw)


def _authorize(route: Route, event: dict[str, Any]) -> HttpResponse | None:
    """Check the route's JWT, if it has an authorizer: its refusal, or None with the claims put
    in the event as API Gateway puts them."""
    if route.authorizer is None:
        return None
    request_id = event["requestContext"]["requestId"]
    try:
        claims = route.authorizer.claims(event["headers"], scopes=route.scopes)
    except Unauthorized as refused:
        return _unauthorized(refused.reason, request_id)
    except OSError as error:  # the JWKS could not be read: API Gateway answers 500 then
        log.error("JWKS of %s not read: %s", route.authorizer.name, error)
        return gateway_error(500, "Internal Server Error", request_id)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": event_claims(claims), "scopes": None}}
    return None


def _unauthorized(reason: str, request_id: str) -> HttpResponse:
    """A JWT authorizer's refusal, as API Gateway sends it."""
    response = gateway_error(401, "Unauthorized", request_id)
    challenge = f'Bearer scope="" error="invalid_token" error_description="{reason}"'
    return HttpResponse(response.status, [*response.headers, ("www-authenticate", challenge)], response.body)


def gateway_error(status: int, message: str, request_id: str) -> HttpResponse:
    """API Gateway's own answer, which carries no RequestId in its body."""
    return _json_response(status, {"message": message}, request_id)


def _json_response(status: int, document: Any, request_id: str) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("apigw-requestid", request_id)],
        json.dumps(document).encode("utf-8"),
    )


class Frontend(Protocol):
    """What a GatewayServer serves: this module's Gateway, or the Lambda Invoke API (invoke_api.py)."""

    # The largest body the server reads; past it, `transport_error(413)` answers unread.
    max_body_bytes: int

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]: ...

    def transport_error(self, status: int) -> HttpResponse:
        """The answer to a request whose body cannot be read: 400 (malformed) or 413 (too large)."""
        ...


class Gateway:
    """Routes a request to its function and turns the result into the response."""

    max_body_bytes = MAX_PAYLOAD_BYTES

    def __init__(
        self,
        routes: list[Route],
        invoke: Callable[[FunctionSpec, dict[str, Any], str], Any],
        documents: Mapping[str, Path] | None = None,
    ) -> None:
        self._routes = routes
        self._invoke = invoke
        # Files served as they are, unsigned, by the local stack only (not part of the deployed API).
        self._documents = dict(documents or {})

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response, and the name of the function that made it ('-' when none did)."""
        found = self._route(request)
        if isinstance(found, HttpResponse):
            return found, "-"
        route, parameters = found
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return gateway_error(413, "Request Entity Too Large", str(uuid.uuid4())), "-"
        event = api_gateway_event(route, parameters, request)
        request_id = event["requestContext"]["requestId"]
        refusal = _authorize(route, event)
        if refusal is not None:
            return refusal, "-"
        try:
            result = self._invoke(route.function, event, request_id)
        except InvocationError as error:
            log.error("%s failed: %s", route.function.logical_id, error)
            return gateway_error(500, "Internal Server Error", request_id), route.function.short_name
        return http_response(result, request_id), route.function.short_name

    def _route(self, request: HttpRequest) -> tuple[Route, dict[str, str]] | HttpResponse:
        """The route the request matches, with its path parameters, or what API Gateway answers
        before any route: a bad Host, a local document, or no such route."""
        hosts = [value for name, value in request.headers if name.lower() == "host"]
        if len(hosts) > 1 or (hosts and not _VALID_HOST.fullmatch(hosts[0].strip())):
            # API Gateway answers a Host that is not `name[:port]` itself, before any route.
            return gateway_error(400, "Bad Request", str(uuid.uuid4()))
        path = urlsplit(request.target).path if request.target.startswith("http") else request.target
        path = path.partition("?")[0]
        if path in self._documents and request.method in ("GET", "HEAD"):
            document = self._documents[path]
            content_type = "application/yaml" if document.suffix in (".yaml", ".yml") else "application/json"
            headers = [("Content-Type", content_type), ("apigw-requestid", str(uuid.uuid4()))]
            return HttpResponse(200, headers, document.read_bytes())
        for route in self._routes:
            parameters = route.match(request.method, path)
            if parameters is not None:
                return route, parameters
        return gateway_error(404, "Not Found", str(uuid.uuid4()))

    def transport_error(self, status: int) -> HttpResponse:
        message = "Request Entity Too Large" if status == 413 else "Bad Request"
        return gateway_error(status, message, str(uuid.uuid4()))


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway allows
    server_version = "access-keys-local"
    server: GatewayServer

    def _serve(self) -> None:
        started = time.perf_counter()
        body = self._read_body()
        if body is None:
            return
        client = self.client_address[0]
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=client,
            server_port=self.server.server_port,
        )
        response, function = self.server.gateway.handle(request)
        self._send(response)
        elapsed = (time.perf_counter() - started) * 1000
        path = self.path.partition("?")[0]
        log.info("%s %s -> %d %s %.0f ms", self.command, path, response.status, function, elapsed)

    def _read_body(self) -> bytes | None:
        frontend = self.server.gateway
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            try:
                return self._read_chunks(frontend.max_body_bytes)
            except ValueError:
                self._send(frontend.transport_error(400))
                self.close_connection = True
                return None
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            self._send(frontend.transport_error(400))
            self.close_connection = True
            return None
        if int(length) > frontend.max_body_bytes:
            self._send(frontend.transport_error(413))
            self.close_connection = True
            return None
        return self.rfile.read(int(length))

    def _read_chunks(self, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(64).split(b";", 1)[0].strip(), 16)
            total += size
            if total > max_bytes:
                raise ValueError("payload too large")
            if size == 0:
                while self.rfile.readline(8192).strip():
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(2)

    def _send(self, response: HttpResponse) -> None:
        self.send_response_only(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "date"):
                self.send_header(name, value)
        self.send_header("Date", formatdate(usegmt=True))
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _serve logs one line per request, without the query string


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when a few dozen clients connect
    # at once; API Gateway never does that.
    request_queue_size = 1024

    def __init__(self, port: int, gateway: Frontend, tls: ssl.SSLContext | None = None) -> None:
        self.gateway = gateway
        self.tls = tls
        super().__init__((names.HOST, port), _RequestHandler)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        if self.tls is not None:
            # The handshake happens on the connection's own thread, at its first read, so a
            # slow or failing client never holds up the accept loop.
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ssl.SSLError | ConnectionError):
            # A client that does not trust the certificate, or hangs up mid-handshake.
            log.warning("TLS connection from %s:%s failed: %s", *client_address[:2], error)
            return
        super().handle_error(request, client_address)
