"""Hostile input never breaks the service: no unhandled exception, no 5xx, and every refusal is an API error.

Two halves:

- Fuzzing with hypothesis: the Authorization header, X-TC-Timestamp, the header set, the body and the
  path's SecretId, through the real handlers (events from events/, signed where the point is to reach
  the handler's own parsing), and through the pure parsers where that is cheaper. Each handler test
  runs all its examples in one moto account. HOSTILE_EXAMPLES sets the examples per handler test
  (default 20; the parser tests run ten times as many); a slow run sets it to thousands.
- Hand-made cases, each with the exact status and code docs/api.md gives it.

Every response must be well formed: status < 500, the envelope `{"Error": {"Code", "Message"},
"RequestId"}` with a code of access_keys.errors and its status, `X-Request-Id` equal to RequestId,
and nothing that echoes the caller's SecretKey or the request's signature.

This suite found three inputs that got a 500 (a JSON body nested 10,000 deep; a timestamp with a
control character U+001C..U+001F; a timestamp past 9999-12-31) and a body in UTF-8-encoded
surrogates read as JSON; each is now a hand-made case with its documented answer.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from figures import figure
from harness import NONCE_HEADER, Api, Credentials, Response, bootstrap_key, fresh_service
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from access_keys import cloud_api, errors, rest, signing
from access_keys.api import MAX_BODY_BYTES, ApiRequest
from access_keys.errors import ServiceError
from access_keys_tools.events import http_event, load_event

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "20"))
PARSER_EXAMPLES = EXAMPLES * 10

ALICE_UIN = "100000000001"
UNKNOWN_SECRET_ID = "AKID" + "0" * 32
# Every code of the contract, with its status: the ServiceError subclasses of access_keys.errors.
API_ERRORS: dict[str, int] = {
    cls.code: cls.status for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, ServiceError)
}
_SIGNATURE_IN_HEADER = re.compile(r"Signature=([0-9A-Fa-f]{32,})")

# Inputs actually run, per category; the answers the handlers gave; the inputs that hit a known defect.
# Printed once the module is done.
CASES: Counter[str] = Counter()
ANSWERS: dict[str, Counter[str]] = {}


def fuzz(examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written to the working tree
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


@pytest.fixture(scope="module", autouse=True)
def _print_counts() -> Iterator[None]:
    yield
    print()
    for category, answers in sorted(ANSWERS.items()):
        print(f"  {category} answered: " + ", ".join(f"{answer} {count}" for answer, count in answers.most_common()))
    detail = ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
    figure(f"hostile input: {sum(CASES.values())} cases ({detail})")


# -- the checks every response passes ----------------------------------------------------------------


def assert_well_formed(response: Response, *, secrets: tuple[str, ...], authorization: str | None) -> None:
    """No 5xx; the documented envelope with an API code; no echoed SecretKey or signature."""
    assert response.status < 500, response.raw_body
    assert response.headers.get("Content-Type") == "application/json"
    body = json.loads(response.raw_body)
    assert isinstance(body, dict), response.raw_body
    assert body.get("RequestId"), response.raw_body
    assert body["RequestId"] == response.headers.get("X-Request-Id")
    if 200 <= response.status < 300:
        assert "Error" not in body
    else:
        assert set(body) == {"Error", "RequestId"}, response.raw_body
        assert set(body["Error"]) == {"Code", "Message"}, response.raw_body
        code = body["Error"]["Code"]
        assert code in API_ERRORS, f"{code!r} is not an API error code"
        assert API_ERRORS[code] == response.status, f"{code} answered with {response.status}"
        assert isinstance(body["Error"]["Message"], str)
        assert body["Error"]["Message"]
    echoed = [*secrets, *_SIGNATURE_IN_HEADER.findall(authorization or "")]
    everything = response.raw_body + json.dumps(response.headers)
    for secret in echoed:
        assert secret not in everything, "the response echoes a SecretKey or a signature"


def invoke_checked(
    api: Api, operation: str, event: dict[str, Any], *, secrets: tuple[str, ...], category: str
) -> Response:
    """Invoke the handler and check its response."""
    CASES[category] += 1
    response = api.invoke(operation, event)
    assert_well_formed(response, secrets=secrets, authorization=(event.get("headers") or {}).get("authorization"))
    ANSWERS.setdefault(category, Counter())[f"{response.status} {response.error_code or ''}".strip()] += 1
    return response


def expect(response: Response, status: int, code: str | None) -> None:
    assert response is not None
    assert (response.status, response.error_code if response.status >= 300 else None) == (status, code), (
        response.raw_body
    )


# -- building hostile events -------------------------------------------------------------------------


def server_body(event: dict[str, Any]) -> bytes:
    """The bytes the service hashes: the body as it decodes it."""
    return ApiRequest.from_event(event, "signer").body


def tc3(
    event: dict[str, Any],
    credentials: Credentials,
    *,
    timestamp: int,
    date: str | None = None,
    service: str = signing.SERVICE,
    terminator: str = signing.TERMINATOR,
    signed_headers: tuple[str, ...] = ("content-type", "host"),
    secret_id: str | None = None,
) -> str:
    """An Authorization value over the event as it stands, with any scope (a wrong one, on purpose)."""
    headers = {name.lower(): value for name, value in event["headers"].items()}
    canonical = signing.canonical_request(
        method=event["requestContext"]["http"]["method"],
        path=event["rawPath"],
        query=event.get("rawQueryString", ""),
        headers=headers,
        signed_headers=signed_headers,
        body=server_body(event),
    )
    date = signing.utc_date(timestamp) if date is None else date
    scope = f"{date}/{service}/{terminator}"
    value = signing.signature(
        signing.signing_key(credentials.secret_key, date, service, terminator),
        signing.string_to_sign(timestamp, scope, signing.hashed(canonical)),
    )
    return (
        f"{signing.ALGORITHM} Credential={secret_id or credentials.secret_id}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={value}"
    )


def sign(
    event: dict[str, Any],
    credentials: Credentials,
    *,
    timestamp: int | None = None,
    timestamp_header: str | None = None,
    **scope: Any,
) -> dict[str, Any]:
    """A copy of `event` signed over exactly what the service will hash, with a fresh RequestId.

    `timestamp_header` is the X-TC-Timestamp text sent, when it is not simply `timestamp`. Unless
    the case signs headers of its own, a signed nonce makes each case's request distinct: two cases
    that send the same bytes in the same second are two requests, not a replay of one.
    """
    signed = copy.deepcopy(event)
    if "signed_headers" not in scope:
        signed["headers"][NONCE_HEADER] = uuid.uuid4().hex
        scope["signed_headers"] = ("content-type", "host", NONCE_HEADER)
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed["headers"]["x-tc-timestamp"] = str(timestamp) if timestamp_header is None else timestamp_header
    signed["headers"]["authorization"] = tc3(signed, credentials, timestamp=timestamp, **scope)
    signed["requestContext"]["requestId"] = str(uuid.uuid4())
    return signed


def with_body(event: dict[str, Any], body: bytes | str, *, base64_encoded: bool = False) -> dict[str, Any]:
    """The event with a body as API Gateway passes it: text, or base64 for bytes that are not text."""
    event = copy.deepcopy(event)
    if base64_encoded:
        raw = body if isinstance(body, bytes) else body.encode("utf-8")
        event["body"] = base64.b64encode(raw).decode("ascii")
    else:
        event["body"] = body if isinstance(body, str) else body.decode("utf-8")
    event["isBase64Encoded"] = base64_encoded
    event["headers"]["content-length"] = str(len(server_body(event)))
    return event


def with_path(event: dict[str, Any], parameter: str, raw_segment: str | None = None) -> dict[str, Any]:
    """The event of a `{SecretId}` route as API Gateway builds it for a request to `raw_segment`:
    rawPath as sent (percent-encoded), pathParameters decoded."""
    event = copy.deepcopy(event)
    raw_segment = quote(parameter, safe="") if raw_segment is None else raw_segment
    raw_path = event["routeKey"].split(" ", 1)[1].replace("{SecretId}", raw_segment)
    event["rawPath"] = raw_path
    event["requestContext"]["http"]["path"] = raw_path
    event["pathParameters"] = {"SecretId": parameter}
    return event


def without_signature(event: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["headers"].pop("authorization", None)
    event["headers"].pop("x-tc-timestamp", None)
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event


def operation_of(name: str) -> str:
    return name.split("/", maxsplit=1)[0]


def fullwidth(text: str) -> str:
    """The fullwidth form of ASCII letters and digits: NFKC folds it back to `text`."""
    return "".join(chr(ord(char) + 0xFEE0) if char.isalnum() else char for char in text)


# -- strategies ------------------------------------------------------------------------------------

# Characters that break parsers: NUL, controls, separators, RTL marks, BOM, non-ASCII letters, emoji.
NASTY = st.sampled_from(
    [
        "\x00",
        "\x1c",
        "\x1f",
        "\x7f",
        "\r\n",
        "\t",
        "\u00a0",
        "\u200b",
        "\u200f",
        "\u202e",
        "\u2028",
        "\ufeff",
        "\uffff",
        "\u00e9",
        "\u0130",
        "\uff10",
        "\U0001f600",
        ",",
        ";",
        "=",
        "/",
        "\\",
        '"',
        "%2F",
        "../",
        " ",
    ]
)
ANY_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="ascii"), max_size=80),
    st.lists(NASTY, max_size=8).map("".join),
)


def either(*choices: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of `choices`, each equally likely (st.one_of flattens nested one_ofs, weighting their branches)."""
    return st.integers(0, len(choices) - 1).flatmap(lambda index: choices[index])


def huge(parts: st.SearchStrategy[str], *, most: int = 200_000) -> st.SearchStrategy[str]:
    """A short piece repeated up to `most` characters: a huge value, cheap to generate."""
    return st.builds(lambda piece, times: (piece * times)[:most], parts.filter(bool), st.integers(1, most))


HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
COMPONENTS = st.sampled_from(["Credential", "SignedHeaders", "Signature"])
# Mutations of a valid Authorization header, applied in order; each a tuple, so a failure prints plainly.
AUTHORIZATION_MUTATIONS = st.one_of(
    st.tuples(
        st.just("algorithm"),
        st.sampled_from(["TC3-HMAC-SHA1", "tc3-hmac-sha256", "AWS4-HMAC-SHA256", "TC3-HMAC-SHA256 ", "", "Bearer"])
        | ANY_TEXT,
    ),
    st.tuples(st.just("drop"), COMPONENTS),
    st.tuples(st.just("duplicate"), COMPONENTS),
    st.tuples(st.just("extra"), st.sampled_from(["Foo", "credential", "Signature ", ""]) | ANY_TEXT, ANY_TEXT),
    st.tuples(st.just("reorder"), st.integers(1, 2)),
    st.tuples(st.just("separator"), st.sampled_from([",", " , ", ",\t", ";", " ", ",,", "", ", ,"])),
    st.tuples(st.just("credential-slashes"), st.integers(0, 4), st.integers(1, 3)),
    st.tuples(st.just("credential-part"), st.integers(0, 4), ANY_TEXT | st.sampled_from(["cvm", "..", "AKID"])),
    st.tuples(st.just("credential-append"), st.sampled_from(["extra", "", "tc3_request", ".."])),
    st.tuples(
        st.just("secret-id"),
        st.sampled_from(["lower", "unknown", "short", "long", "fullwidth", "rtl"]) | ANY_TEXT,
    ),
    st.tuples(
        st.just("signed-headers"),
        st.sampled_from(
            [
                "",
                "host",
                "content-type",
                "host;content-type",
                "content-type;content-type;host",
                "Content-Type;Host",
                "content-type;host;x-tc-timestamp",
                "content-type;host;x-missing",
                "content-type;;host",
            ]
        )
        | ANY_TEXT,
    ),
    st.tuples(st.just("signature"), HEX64 | st.sampled_from(["upper", "short", "long", ""]) | ANY_TEXT),
    st.tuples(st.just("insert"), st.integers(0, 400), ANY_TEXT.filter(bool)),
    st.tuples(st.just("pad"), st.sampled_from(["start", "end", "signature", "credential"]), st.integers(1, 200_000)),
)


@dataclass
class AuthorizationParts:
    algorithm: str
    components: list[tuple[str, str]]
    separator: str = ", "

    @classmethod
    def parse(cls, header: str) -> AuthorizationParts:
        algorithm, _, rest = header.partition(" ")
        components = [part.strip().partition("=") for part in rest.split(",")]
        return cls(algorithm, [(name, value) for name, _, value in components])

    def render(self) -> str:
        return f"{self.algorithm} " + self.separator.join(f"{name}={value}" for name, value in self.components)

    def edit(self, name: str, change: Callable[[str], str]) -> None:
        self.components = [(key, change(value) if key == name else value) for key, value in self.components]


def _secret_id_variant(kind: str, secret_id: str) -> str:
    return {
        "lower": secret_id.lower(),
        "unknown": UNKNOWN_SECRET_ID,
        "short": secret_id[:-1],
        "long": secret_id + "A",
        "fullwidth": fullwidth(secret_id),
        "rtl": secret_id[:10] + "\u200f" + secret_id[10:],
    }.get(kind, kind)


def _credential_slashes(value: str, index: int, count: int) -> str:
    parts = value.split("/")
    index = min(index, len(parts))
    return "/".join(parts[:index]) + "/" * count + "/".join(parts[index:])


def _credential_part(value: str, index: int, text: str) -> str:
    parts = value.split("/")
    parts[min(index, len(parts) - 1)] = text
    return "/".join(parts)


def _signature_variant(kind: str, signature: str) -> str:
    return {"upper": signature.upper(), "short": signature[:63], "long": signature + "0"}.get(kind, kind)


def mutate_authorization(header: str, mutations: list[tuple[Any, ...]]) -> str:
    """Apply the drawn mutations to a valid header."""
    parts = AuthorizationParts.parse(header)
    tail: list[tuple[Any, ...]] = []
    for mutation in mutations:
        kind, *args = mutation
        if kind in ("insert", "pad"):
            tail.append(mutation)  # textual: on the rendered header, last
        elif kind == "algorithm":
            parts.algorithm = args[0]
        elif kind == "drop":
            parts.components = [(name, value) for name, value in parts.components if name != args[0]]
        elif kind == "duplicate":
            parts.components += [(name, value) for name, value in parts.components if name == args[0]][:1]
        elif kind == "extra":
            parts.components.append((args[0], args[1]))
        elif kind == "reorder":
            parts.components = parts.components[args[0] :] + parts.components[: args[0]]
        elif kind == "separator":
            parts.separator = args[0]
        else:
            _edit_component(parts, kind, args)
    rendered = parts.render()
    for kind, *args in tail:
        rendered = _insert(rendered, *args) if kind == "insert" else _pad(rendered, *args)
    return rendered


def _insert(header: str, position: int, text: str) -> str:
    return header[:position] + text + header[position:]


def _pad(header: str, where: str, amount: int) -> str:
    if where == "start":
        return "x" * amount + header
    if where == "end":
        return header + "," * amount
    name = "Signature" if where == "signature" else "Credential"
    return header.replace(f"{name}=", f"{name}=" + "a" * amount, 1)


def _edit_component(parts: AuthorizationParts, kind: str, args: list[Any]) -> None:
    edits: dict[str, tuple[str, Callable[[str], str]]] = {
        "credential-slashes": ("Credential", lambda value: _credential_slashes(value, args[0], args[-1])),
        "credential-part": ("Credential", lambda value: _credential_part(value, args[0], args[-1])),
        "credential-append": ("Credential", lambda value: f"{value}/{args[0]}"),
        "secret-id": (
            "Credential",
            lambda value: _secret_id_variant(args[0], value.split("/", 1)[0]) + "/" + value.split("/", 1)[-1],
        ),
        "signed-headers": ("SignedHeaders", lambda _: args[0]),
        "signature": ("Signature", lambda value: _signature_variant(args[0], value)),
    }
    name, change = edits[kind]
    parts.edit(name, change)


TIMESTAMP_TEXT = st.one_of(
    st.integers(-(10**13), 10**13).map(str),
    st.integers(253_402_300_700, 253_402_300_900).map(str),  # around the last second of year 9999
    st.text(alphabet="0123456789", max_size=60),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=14),
    st.tuples(st.lists(NASTY | st.sampled_from([" ", "\t"]), max_size=3), st.integers(0, 10**12)).map(
        lambda drawn: "".join(drawn[0]) + str(drawn[1]) + "".join(reversed(drawn[0]))
    ),
    st.sampled_from(["", " ", "soon", "1.5e9", "0x6B0A6E9C", "+1", "1_000", "-0", "NaN", "1795721444.0"]),
    ANY_TEXT,
    huge(st.sampled_from(["9", "0", "1 "]), most=100_000),
)

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40), st.sampled_from(["Active", "Inactive"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
)
FIELD_NAMES = st.sampled_from(["Description", "Status", "SecretId", "description", "Status ", ""]) | st.text(
    max_size=12
)


def _nested(opener: str, depth: int, closed: bool) -> str:
    closer = {"[": "]", '{"a":': "}", '{"Description":': "}"}[opener]
    inner = opener * depth + "1"
    return inner + closer * depth if closed else inner


def _json(value: Any, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


BODY_TEXT = st.one_of(
    st.builds(_json, st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=4), st.booleans()),
    st.builds(_json, JSON_VALUES, st.booleans()),
    st.builds(
        _nested,
        st.sampled_from(["[", '{"a":', '{"Description":']),
        st.one_of(st.integers(1, 300), st.integers(5_000, 30_000)),
        st.booleans(),
    ),
    st.integers(1, 12_000).map(lambda digits: '{"Description": ' + "9" * digits + "}"),
    st.sampled_from(["1e999999", "-1e999999", "NaN", "Infinity", "-0", '{"Status": 1e400}', "9" * 5_000]),
    st.sampled_from(
        [
            '{"Description": "\\ud800"}',
            '{"\\udfff": 1}',
            '{"Status": "Active\\u0000"}',
            '{"Description": "a\\u202eb"}',
            '{"Status": "Active", "Status": "Inactive"}',
            '{"Description": "a\x00b"}',
            "\x00",
        ]
    ),
    # Near the 64 KiB limit: a valid object padded with spaces to 65,530..65,540 bytes.
    st.integers(MAX_BODY_BYTES - 6, MAX_BODY_BYTES + 4).map('{"Status": "Active"}'.ljust),
    st.text(max_size=200),
)
# (what API Gateway puts in "body", isBase64Encoded)
BODIES = st.one_of(
    BODY_TEXT.map(lambda text: (text, False)),
    BODY_TEXT.map(lambda text: (base64.b64encode(text.encode("utf-8")).decode("ascii"), True)),
    st.binary(max_size=300).map(lambda raw: (base64.b64encode(raw).decode("ascii"), True)),
    st.binary(max_size=60).map(
        lambda raw: (base64.b64encode(b'{"Description": "' + raw + b'"}').decode("ascii"), True)
    ),
    st.text(max_size=80).map(lambda text: (text, True)),  # flagged base64, mostly is not
)


# -- parsers, directly -------------------------------------------------------------------------------


@fuzz(PARSER_EXAMPLES)
@given(header=either(ANY_TEXT, huge(ANY_TEXT), st.lists(AUTHORIZATION_MUTATIONS, max_size=4)))
def test_parsing_any_authorization_header_gives_a_header_or_invalid_authorization(header: Any):
    if isinstance(header, list):
        valid = signing.sign(
            secret_id="AKID" + "A" * 32,
            secret_key="k" * 32,
            method="GET",
            path="/v1/access-keys",
            headers={"content-type": "application/json", "host": "example.com"},
            timestamp=1_795_721_444,
        )
        header = mutate_authorization(valid, header)
    CASES["authorization (parser)"] += 1

    try:
        parsed = signing.parse_authorization(header)
    except errors.InvalidAuthorization:
        pass
    else:
        assert signing.SECRET_ID_PATTERN.fullmatch(parsed.secret_id)
        assert re.fullmatch(r"[0-9a-f]{64}", parsed.signature)
        assert {"content-type", "host"} <= set(parsed.signed_headers)
    claimed = signing.claimed_secret_id(header)
    assert claimed is None or signing.SECRET_ID_PATTERN.fullmatch(claimed)


@fuzz(PARSER_EXAMPLES)
@given(value=st.none() | TIMESTAMP_TEXT)
def test_parsing_any_timestamp_gives_unix_seconds_with_a_date_or_invalid_authorization(value: str | None):
    CASES["timestamp (parser)"] += 1

    try:
        timestamp = signing.parse_timestamp(value)
    except errors.InvalidAuthorization:
        return
    assert timestamp >= 0
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", signing.utc_date(timestamp))


@fuzz(50)
@example(value="1795721444\x1c")
@example(value="253402300800")
@given(value=TIMESTAMP_TEXT)
def test_every_timestamp_the_parser_accepts_has_a_utc_date(value: str):
    try:
        timestamp = signing.parse_timestamp(value)
    except errors.InvalidAuthorization:
        return
    signing.utc_date(timestamp)


@fuzz(PARSER_EXAMPLES)
@given(
    body=BODIES,
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=5),
    action=st.sampled_from(["CreateAccessKey", "UpdateAccessKey", "ListAccessKeys"]),
)
def test_decoding_any_event_gives_a_document_or_a_service_error(
    body: tuple[str, bool], headers: dict[str, str], action: str
):
    CASES["body (decoder)"] += 1
    event = with_body(http_event("CreateAccessKey/create", headers=headers), "")
    event["body"], event["isBase64Encoded"] = body
    event["pathParameters"] = {"SecretId": "AKID" + "0" * 32}

    request = ApiRequest.from_event(event, action)
    refused: ServiceError | None = None
    try:
        rest.ROUTES[action].input(request)
    except ServiceError as error:
        refused = error

    if refused is not None:
        assert refused.status < 500
        assert refused.code in API_ERRORS


# -- handlers, with fuzzed input ---------------------------------------------------------------------


@fuzz()
@given(
    header=either(
        ANY_TEXT,
        huge(ANY_TEXT, most=100_000),
        st.lists(AUTHORIZATION_MUTATIONS, min_size=1, max_size=1),
        st.lists(AUTHORIZATION_MUTATIONS, min_size=1, max_size=4),
    ),
    operation=st.sampled_from(["ListAccessKeys/list", "CreateAccessKey/create", "GetAccessKey/get"]),
)
def test_any_authorization_header_is_answered_with_an_api_code(
    api: Api, alice: Credentials, header: str | list[tuple[Any, ...]], operation: str
):
    event = http_event(operation, secret_id=alice.secret_id if "{" in load_event(operation)["routeKey"] else None)
    event = sign(event, alice)
    if isinstance(header, list):
        header = mutate_authorization(event["headers"]["authorization"], header)
    event["headers"]["authorization"] = header

    response = invoke_checked(
        api, operation_of(operation), event, secrets=(alice.secret_key,), category="authorization (handler)"
    )

    assert response is not None
    try:
        signing.parse_authorization(header)
    except errors.InvalidAuthorization:
        expect(response, 401, "AuthFailure.InvalidAuthorization")


PADDING = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\x00", "\x1c", "\x1f", "\u200b"])


SKEWS = st.integers(-280, 280) | st.integers(-100_000, 100_000)


@fuzz()
@given(value=either(TIMESTAMP_TEXT, st.tuples(SKEWS, PADDING, PADDING)))
def test_any_timestamp_is_answered_with_an_api_code(api: Api, alice: Credentials, value: str | tuple[int, str, str]):
    """Arbitrary text, or now+skew wrapped in padding; signed for the timestamp it holds when it has a date."""
    now = int(time.time())
    if isinstance(value, tuple):
        skew, before, after = value
        value = f"{before}{now + skew}{after}"
    try:
        timestamp = signing.parse_timestamp(value)
        date = signing.utc_date(timestamp)
        correctly_signed = True
    except (ServiceError, ValueError):
        timestamp, date, correctly_signed = now, signing.utc_date(now), False
    event = sign(http_event("ListAccessKeys/list"), alice, timestamp=timestamp, timestamp_header=value, date=date)

    response = invoke_checked(api, "ListAccessKeys", event, secrets=(alice.secret_key,), category="timestamp")

    if response is None:
        return
    try:
        signing.parse_timestamp(value)
    except errors.InvalidAuthorization:
        expect(response, 401, "AuthFailure.InvalidAuthorization")
        return
    off_by = abs(time.time() - timestamp)
    if correctly_signed and off_by < 290:
        expect(response, 200, None)
    elif correctly_signed and off_by > 310:
        expect(response, 401, "AuthFailure.SignatureExpire")


AUTH_HEADERS = ("authorization", "x-tc-timestamp", "content-type", "host")
HEADER_NAMES = st.one_of(
    st.text(min_size=1, max_size=30),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.ABCXYZ0123456789", min_size=1, max_size=30),
    st.sampled_from(
        ["user-agent", "User-Agent", "content-length", "x-forwarded-for", "x-tc-action", "x-amz-date", "cookie"]
    ),
    st.sampled_from([*AUTH_HEADERS, "Authorization", "X-TC-Timestamp", "CONTENT-TYPE", "Host"]),
)
HEADER_VALUES = st.one_of(ANY_TEXT, huge(ANY_TEXT, most=50_000))


@fuzz()
@given(
    added=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5),
    duplicated=st.lists(st.tuples(st.sampled_from(AUTH_HEADERS), st.none() | HEADER_VALUES), max_size=2),
    removed=st.lists(st.sampled_from([*AUTH_HEADERS, "user-agent", "accept"]), max_size=2),
    operation=st.sampled_from(["ListAccessKeys/list", "GetAccessKey/get", "ListAccessRecords/list"]),
)
def test_any_header_set_is_answered_with_an_api_code(
    api: Api,
    alice: Credentials,
    *,
    added: list[tuple[str, str]],
    duplicated: list[tuple[str, str | None]],
    removed: list[str],
    operation: str,
):
    """Headers as API Gateway passes them: names lower-cased, a repeated header's values joined by commas."""
    path_id = alice.secret_id if "{" in load_event(operation)["routeKey"] else None
    event = sign(http_event(operation, secret_id=path_id), alice)
    headers: dict[str, str] = event["headers"]
    touched: set[str] = set()

    def add(name: str, value: str) -> None:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
        touched.add(key)

    for name, value in added:
        add(name, value)
    for name, again in duplicated:
        if name in headers:
            add(name, headers[name] if again is None else again)
    for name in removed:
        headers.pop(name, None)
        touched.add(name)

    response = invoke_checked(api, operation_of(operation), event, secrets=(alice.secret_key,), category="header set")

    if response is not None and not touched & set(AUTH_HEADERS):
        expect(response, 200, None)  # headers nobody signed change nothing


TARGETS: dict[str, Credentials] = {}  # alice's SecretId -> the second key the body test updates, made once per test


@fuzz()
@given(
    body=BODIES,
    operation=st.sampled_from(
        ["CreateAccessKey/create", "UpdateAccessKey/enable", "UpdateAccessKey/disable", "ListAccessKeys/list"]
    ),
)
def test_any_body_is_answered_with_an_api_code(api: Api, alice: Credentials, body: tuple[str, bool], operation: str):
    """Signed over the bytes the service will hash, so that the body reaches the handler's parsing.

    Updates go to a second key of alice's; with two keys, a valid create is refused at the quota.
    """
    if alice.secret_id not in TARGETS:
        TARGETS[alice.secret_id] = bootstrap_key(ALICE_UIN, "target")
    target = TARGETS[alice.secret_id]
    path_id = target.secret_id if operation.startswith("Update") else None
    event = http_event(operation, secret_id=path_id)
    event["body"], event["isBase64Encoded"] = body
    event = sign(event, alice)
    sent = server_body(event)

    secrets = (alice.secret_key, target.secret_key)
    response = invoke_checked(api, operation_of(operation), event, secrets=secrets, category="body")

    if response is None:
        return
    if len(sent) > MAX_BODY_BYTES:
        expect(response, 413, "RequestSizeLimitExceeded")
    elif sent.strip():
        try:
            document = json.loads(sent)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            expect(response, 400, "InvalidParameter")


# What Tencent Cloud API 3.0 (`POST /`) may answer: every service code but InternalError, as CAM names it.
CLOUD_API_CODES = {
    cloud_api.CLOUD_API.code_of(error())
    for error in vars(errors).values()
    if isinstance(error, type) and issubclass(error, ServiceError) and error not in (ServiceError, errors.InternalError)
}


@fuzz()
@given(
    body=BODIES,
    action=st.one_of(st.sampled_from(sorted(cloud_api.ACTIONS)), ANY_TEXT),
    version=st.one_of(st.just(cloud_api.VERSION), ANY_TEXT),
)
def test_any_tencent_cloud_api_call_is_answered_in_tencents_envelope(
    api: Api, alice: Credentials, body: tuple[str, bool], action: str, version: str
) -> None:
    """Any action, version and body, signed: HTTP 200, `{"Response": ...}`, and a CAM code if refused."""
    event = http_event("TencentCloudApi/list-access-keys", headers={"x-tc-action": action, "x-tc-version": version})
    event["body"], event["isBase64Encoded"] = body
    event = sign(event, alice)
    CASES["tencent cloud api"] += 1

    response = api.invoke("TencentCloudApi", event)

    assert (response.status, response.headers.get("Content-Type")) == (200, "application/json"), response.raw_body
    document = json.loads(response.raw_body)
    assert set(document) == {"Response"}, response.raw_body
    inner = document["Response"]
    assert inner["RequestId"] == response.headers["X-Request-Id"]
    if "Error" in inner:
        assert set(inner) == {"Error", "RequestId"}, response.raw_body
        assert inner["Error"]["Code"] in CLOUD_API_CODES, response.raw_body
        assert isinstance(inner["Error"]["Message"], str)
        assert inner["Error"]["Message"]
    code = inner.get("Error", {}).get("Code", "")
    ANSWERS.setdefault("tencent cloud api", Counter())[f"200 {code}".strip()] += 1
    for secret in (alice.secret_key, *_SIGNATURE_IN_HEADER.findall(event["headers"]["authorization"])):
        assert secret not in response.raw_body


@fuzz()
@given(
    secret_id=st.one_of(
        ANY_TEXT,
        st.builds(
            lambda prefix, middle, suffix: prefix + middle + suffix,
            st.sampled_from(["AKID", "akid", "", "../", "AKID/../"]),
            st.text(max_size=40),
            st.sampled_from(["", "/..", "\n", "\x00", "\u200f", "/access-records"]),
        ),
        st.tuples(st.integers(0, 35), NASTY | st.sampled_from("aZ09")).map(lambda drawn: ("ALICE", *drawn)),
    ),
    operation=st.sampled_from(
        ["GetAccessKey/get", "ListAccessRecords/list", "UpdateAccessKey/enable", "DeleteAccessKey/delete"]
    ),
)
def test_any_secret_id_in_the_path_is_answered_with_an_api_code(
    api: Api, alice: Credentials, secret_id: str | tuple[str, int, str], operation: str
):
    """A path SecretId: arbitrary text, traversal, or alice's own id with one character replaced."""
    if isinstance(secret_id, tuple):
        _, index, char = secret_id
        secret_id = alice.secret_id[:index] + char + alice.secret_id[index + 1 :]
    event = sign(with_path(http_event(operation), secret_id), alice)

    response = invoke_checked(api, operation_of(operation), event, secrets=(alice.secret_key,), category="path")

    assert response is not None
    if not signing.SECRET_ID_PATTERN.fullmatch(secret_id):
        expect(response, 400, "InvalidParameterValue")
    elif secret_id != alice.secret_id:
        expect(response, 404, "ResourceNotFound.AccessKey")


# -- hand-made cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    api: Api
    alice: Credentials


@pytest.fixture(scope="class")
def account() -> Iterator[Account]:
    """One moto account for a class of hand-made cases: none of them changes a key."""
    with fresh_service():
        yield Account(Api(), bootstrap_key(ALICE_UIN, "alice bootstrap"))


def run_case(account: Account, operation: str, event: dict[str, Any]) -> Response:
    return invoke_checked(account.api, operation, event, secrets=(account.alice.secret_key,), category="hand-made")


ALICE = "{alice}"  # stands for alice's SecretId in a case's path
LONG = "AKID" + "A" * 10_000


@pytest.mark.usefixtures("account")
class TestPathSecretId:
    @pytest.mark.parametrize(
        ("operation", "parameter", "raw_segment"),
        [
            pytest.param("GetAccessKey/get", "../../etc/passwd", "../../etc/passwd", id="traversal"),
            pytest.param("GetAccessKey/get", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", id="encoded-traversal"),
            pytest.param("GetAccessKey/get", "..%2F..%2F", "..%252F..%252F", id="double-encoded-traversal"),
            pytest.param("GetAccessKey/get", f"{ALICE}/../{ALICE}", f"{ALICE}/../{ALICE}", id="own-id-dotdot-own-id"),
            pytest.param(
                "GetAccessKey/get", f"{ALICE}/../{ALICE}", f"{ALICE}%2F..%2F{ALICE}", id="own-id-encoded-dotdot"
            ),
            pytest.param("UpdateAccessKey/disable", "../../etc/passwd", None, id="traversal-on-update"),
            pytest.param("DeleteAccessKey/delete", "../../etc/passwd", None, id="traversal-on-delete"),
            pytest.param("ListAccessRecords/list", f"../{ALICE}", None, id="traversal-on-access-records"),
            pytest.param("GetAccessKey/get", "AKID" + "\u00e9" * 32, None, id="non-ascii-letters"),
            pytest.param("GetAccessKey/get", "AKID" + "\uff11" * 32, None, id="fullwidth-digits"),
            pytest.param("GetAccessKey/get", f"fullwidth:{ALICE}", None, id="own-id-in-fullwidth"),
            pytest.param("GetAccessKey/get", f"{ALICE}\u200f", None, id="own-id-with-rtl-mark"),
            pytest.param("GetAccessKey/get", f"\u202e{ALICE}", None, id="own-id-after-rtl-override"),
            pytest.param("GetAccessKey/get", "AKID" + "\U0001f511" * 32, None, id="emoji"),
            pytest.param("GetAccessKey/get", f"{ALICE}\n", None, id="own-id-with-newline"),
            pytest.param("GetAccessKey/get", f"{ALICE}\x00", None, id="own-id-with-nul"),
            pytest.param("GetAccessKey/get", f"lower:{ALICE}", None, id="own-id-lower-case"),
            pytest.param("GetAccessKey/get", "", "", id="empty"),
            pytest.param("GetAccessKey/get", LONG, None, id="ten-thousand-characters"),
        ],
    )
    def test_a_path_secret_id_that_is_not_akid_and_32_letters_or_digits_is_an_invalid_value(
        self, account: Account, operation: str, parameter: str, raw_segment: str | None
    ):
        def resolve(text: str) -> str:
            if text.startswith("fullwidth:"):
                return fullwidth(account.alice.secret_id)
            if text.startswith("lower:"):
                return account.alice.secret_id.lower()
            return text.replace(ALICE, account.alice.secret_id)

        raw = None if raw_segment is None else resolve(raw_segment)
        event = sign(with_path(http_event(operation), resolve(parameter), raw), account.alice)

        expect(run_case(account, operation_of(operation), event), 400, "InvalidParameterValue")


KIB_64 = MAX_BODY_BYTES
DEEP = 10_000
ACTIVE_64_KIB = '{"Status": "Active"}'.ljust(KIB_64)  # valid JSON: spaces may follow a value
ACTIVE_64_KIB_PLUS_1 = ACTIVE_64_KIB + " "
MULTIBYTE_64_KIB_PLUS_1 = '{"Description": "' + "\u00e9" * 32_758 + 'xx"}'  # 32,779 characters


def test_the_size_cases_are_the_sizes_they_say():
    assert len(ACTIVE_64_KIB.encode("utf-8")) == 65_536
    assert len(ACTIVE_64_KIB_PLUS_1.encode("utf-8")) == 65_537
    assert len(MULTIBYTE_64_KIB_PLUS_1.encode("utf-8")) == 65_537
    assert len(MULTIBYTE_64_KIB_PLUS_1) == 32_779


@pytest.mark.usefixtures("account")
class TestBody:
    """Bodies signed over the bytes the service reads, so they reach the handler's parsing.

    `sent` is how API Gateway passes the body: "text", "base64" (what it does for bytes that are not
    text), or "flagged" (isBase64Encoded true on a body that is not base64 at all).
    """

    @pytest.mark.parametrize(
        ("operation", "body", "sent", "status", "code"),
        [
            pytest.param("CreateAccessKey/create", '{"Description": "a\x00b"}', "text", 400, "InvalidParameter",
                         id="raw-nul-in-a-string"),
            pytest.param("CreateAccessKey/create", "\x00", "text", 400, "InvalidParameter", id="a-lone-nul"),
            pytest.param("CreateAccessKey/create", '{"Description": "a\\u0000b"}', "text", 400,
                         "InvalidParameterValue", id="escaped-nul-in-description"),
            pytest.param("UpdateAccessKey/enable", '{"Status": "Active\\u0000"}', "text", 400,
                         "InvalidParameterValue", id="escaped-nul-in-status"),
            pytest.param("CreateAccessKey/create", b'{"Description": "\xff\xfe"}', "base64", 400,
                         "InvalidParameter", id="invalid-utf8-in-a-string"),
            pytest.param("CreateAccessKey/create", b"\xc3\x28", "base64", 400, "InvalidParameter",
                         id="invalid-utf8"),
            pytest.param("CreateAccessKey/create", b'{"Description": "\xc0\xaf"}', "base64", 400,
                         "InvalidParameter", id="overlong-utf8-slash"),
            pytest.param("CreateAccessKey/create", b'{"Description": "\xed\xa0\x80"}', "base64", 400,
                         "InvalidParameter", id="utf8-encoded-surrogate"),
            pytest.param("CreateAccessKey/create", "!!! not base64 !!!", "flagged", 400, "InvalidParameter",
                         id="flagged-base64-but-not"),
            pytest.param("CreateAccessKey/create", "[" * 1_000 + "]" * 1_000, "text", 400, "InvalidParameter",
                         id="array-1000-deep"),
            pytest.param("CreateAccessKey/create", "[" * DEEP, "text", 400, "InvalidParameter",
                         id="array-10000-deep"),
            pytest.param("CreateAccessKey/create", '{"a":' * DEEP + "1" + "}" * DEEP, "text", 400,
                         "InvalidParameter", id="object-10000-deep"),
            pytest.param("UpdateAccessKey/enable", '{"Status": ' + "[" * DEEP + "]" * DEEP + "}", "text", 400,
                         "InvalidParameter", id="status-10000-deep"),
            pytest.param("CreateAccessKey/create", "null", "text", 400, "InvalidParameter", id="json-null"),
            pytest.param("CreateAccessKey/create", '"Description"', "text", 400, "InvalidParameter",
                         id="json-string"),
            pytest.param("CreateAccessKey/create", "[]", "text", 400, "InvalidParameter", id="json-array"),
            pytest.param("CreateAccessKey/create", "9" * 10_000, "text", 400, "InvalidParameter",
                         id="bare-10000-digit-number"),
            pytest.param("CreateAccessKey/create", '{"Description": ' + "9" * 10_000 + "}", "text", 400,
                         "InvalidParameter", id="10000-digit-description"),
            pytest.param("CreateAccessKey/create", '{"Description": 1e999999}', "text", 400, "InvalidParameter",
                         id="overflowing-float-description"),
            pytest.param("UpdateAccessKey/enable", ACTIVE_64_KIB, "text", 200, None,
                         id="exactly-64-kib-is-read"),
            pytest.param("UpdateAccessKey/enable", ACTIVE_64_KIB, "base64", 200, None,
                         id="exactly-64-kib-decoded-from-base64-is-read"),
            pytest.param("UpdateAccessKey/enable", ACTIVE_64_KIB_PLUS_1, "text", 413,
                         "RequestSizeLimitExceeded", id="64-kib-plus-1"),
            pytest.param("UpdateAccessKey/enable", ACTIVE_64_KIB_PLUS_1, "base64", 413,
                         "RequestSizeLimitExceeded", id="64-kib-plus-1-decoded-from-base64"),
            pytest.param("CreateAccessKey/create", MULTIBYTE_64_KIB_PLUS_1, "text", 413, "RequestSizeLimitExceeded",
                         id="32779-characters-of-65537-bytes"),
        ],
    )  # fmt: skip
    def test_a_hostile_body_gets_its_documented_answer(
        self, account: Account, *, operation: str, body: str | bytes, sent: str, status: int, code: str | None
    ):
        path_id = account.alice.secret_id if operation.startswith("Update") else None
        event = with_body(http_event(operation, secret_id=path_id), body, base64_encoded=sent == "base64")
        if sent == "flagged":
            event["isBase64Encoded"] = True
        event = sign(event, account.alice)

        expect(run_case(account, operation_of(operation), event), status, code)

    def test_a_body_over_64_kib_is_refused_before_authentication(self, account: Account):
        event = without_signature(with_body(http_event("CreateAccessKey/create"), "x" * (KIB_64 + 1)))

        expect(run_case(account, "CreateAccessKey", event), 413, "RequestSizeLimitExceeded")


@pytest.mark.usefixtures("account")
class TestDuplicateHeaders:
    """API Gateway passes a repeated header once, its values joined by commas."""

    @pytest.mark.parametrize(
        ("name", "second", "sign_joined", "status", "code"),
        [
            pytest.param("authorization", "another-signature", False, 401, "AuthFailure.InvalidAuthorization",
                         id="two-signed-authorizations"),
            pytest.param("authorization", "same", False, 401, "AuthFailure.InvalidAuthorization",
                         id="the-same-authorization-twice"),
            pytest.param("authorization", "Bearer abc", False, 401, "AuthFailure.InvalidAuthorization",
                         id="authorization-and-a-bearer-token"),
            pytest.param("x-tc-timestamp", "same", False, 401, "AuthFailure.InvalidAuthorization",
                         id="the-same-timestamp-twice"),
            pytest.param("x-tc-timestamp", "1795721444", False, 401, "AuthFailure.InvalidAuthorization",
                         id="two-timestamps"),
            pytest.param("content-type", "text/plain", False, 401, "AuthFailure.SignatureFailure",
                         id="two-content-types-one-signed"),
            pytest.param("content-type", "application/json", True, 200, None,
                         id="two-content-types-both-signed"),
            pytest.param("host", "evil.example.com", False, 401, "AuthFailure.SignatureFailure",
                         id="two-hosts-one-signed"),
        ],
    )  # fmt: skip
    def test_a_repeated_header_gets_its_documented_answer(
        self, account: Account, *, name: str, second: str, sign_joined: bool, status: int, code: str | None
    ):
        alice = account.alice
        event = sign(http_event("ListAccessKeys/list"), alice)
        headers = event["headers"]
        timestamp = int(headers["x-tc-timestamp"])
        if second == "same":
            second = headers[name]
        elif second == "another-signature":
            second = tc3(event, alice, timestamp=timestamp - 1)
        headers[name] = f"{headers[name]},{second}"
        if sign_joined:
            headers["authorization"] = tc3(event, alice, timestamp=timestamp)

        expect(run_case(account, "ListAccessKeys", event), status, code)


YEAR_3000 = 32_503_680_000
LAST_SECOND_OF_9999 = 253_402_300_799


def _digits_of(zero: int) -> Callable[[int], str]:
    return lambda now: "".join(chr(zero + int(digit)) for digit in str(now))


@pytest.mark.usefixtures("account")
class TestTimestamp:
    """The header is `header(now)`; the Authorization is signed for `signed_for` (now if None), on `date`."""

    @pytest.mark.parametrize(
        ("header", "signed_for", "date", "status", "code"),
        [
            pytest.param(lambda now: "0", 0, None, 401, "AuthFailure.SignatureExpire", id="zero"),
            pytest.param(lambda now: "-1", None, None, 401, "AuthFailure.InvalidAuthorization", id="minus-one"),
            pytest.param(lambda now: f"-{now}", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="minus-now"),
            pytest.param(lambda now: str(YEAR_3000), YEAR_3000, None, 401, "AuthFailure.SignatureExpire",
                         id="year-3000"),
            pytest.param(lambda now: str(LAST_SECOND_OF_9999), LAST_SECOND_OF_9999, None, 401,
                         "AuthFailure.SignatureExpire", id="last-second-of-9999"),
            pytest.param(lambda now: str(LAST_SECOND_OF_9999 + 1), LAST_SECOND_OF_9999 + 1, "9999-12-31", 401,
                         "AuthFailure.InvalidAuthorization", id="first-second-of-10000"),
            pytest.param(lambda now: "999999999999", 999_999_999_999, "9999-12-31", 401,
                         "AuthFailure.InvalidAuthorization", id="largest-12-digits"),
            pytest.param(lambda now: f"{now}000", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="milliseconds"),
            pytest.param(lambda now: "1" * 40, None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="forty-digits"),
            pytest.param(lambda now: "soon", None, None, 401, "AuthFailure.InvalidAuthorization", id="a-word"),
            pytest.param(lambda now: f"{now}.0", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="a-decimal"),
            pytest.param(lambda now: f"{now / 1e9}e9", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="an-exponent"),
            pytest.param(hex, None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="hexadecimal"),
            pytest.param(lambda now: f"+{now}", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="plus-sign"),
            pytest.param(lambda now: f"{now:_}", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="underscores"),
            pytest.param(lambda now: f"{str(now)[:5]} {str(now)[5:]}", None, None, 401,
                         "AuthFailure.InvalidAuthorization", id="a-space-inside"),
            pytest.param(lambda now: f" {now} ", None, None, 200, None, id="spaces-around"),
            pytest.param(lambda now: fullwidth(str(now)), None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="fullwidth-digits"),
            pytest.param(_digits_of(0x0660), None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="arabic-indic-digits"),
            pytest.param(lambda now: f"{now}\x00", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="trailing-nul"),
            pytest.param(lambda now: f"{now}\x1c", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="trailing-file-separator"),
            pytest.param(lambda now: f"\x1f{now}", None, None, 401, "AuthFailure.InvalidAuthorization",
                         id="leading-unit-separator"),
            pytest.param(lambda now: "", None, None, 401, "AuthFailure.InvalidAuthorization", id="empty"),
        ],
    )  # fmt: skip
    def test_a_hostile_timestamp_gets_its_documented_answer(
        self,
        account: Account,
        *,
        header: Callable[[int], str],
        signed_for: int | None,
        date: str | None,
        status: int,
        code: str | None,
    ):
        now = int(time.time())
        timestamp = now if signed_for is None else signed_for
        event = http_event("ListAccessKeys/list")
        event = sign(event, account.alice, timestamp=timestamp, timestamp_header=header(now), date=date)

        expect(run_case(account, "ListAccessKeys", event), status, code)


@pytest.mark.usefixtures("account")
class TestCredential:
    """Signed with alice's SecretKey over the scope the Credential names, so only the Credential is wrong."""

    @pytest.mark.parametrize(
        ("credential", "scope", "code"),
        [
            pytest.param("{id}/{date}//cam/tc3_request", {}, "AuthFailure.InvalidAuthorization",
                         id="an-empty-part-from-a-double-slash"),
            pytest.param("{id}/{date}/cam/tc3_request/extra", {}, "AuthFailure.InvalidAuthorization",
                         id="a-fifth-part"),
            pytest.param("{id}/{date}/cam/tc3_request/", {}, "AuthFailure.InvalidAuthorization",
                         id="a-trailing-slash"),
            pytest.param("/{id}/{date}/cam/tc3_request", {}, "AuthFailure.InvalidAuthorization",
                         id="a-leading-slash"),
            pytest.param("{id}/{date}/cam", {}, "AuthFailure.InvalidAuthorization", id="three-parts"),
            pytest.param("{id}//cam/tc3_request", {}, "AuthFailure.InvalidAuthorization", id="an-empty-date"),
            pytest.param("{fullwidth_id}/{date}/cam/tc3_request", {}, "AuthFailure.InvalidAuthorization",
                         id="a-fullwidth-secret-id"),
            pytest.param("{id}\u200f/{date}/cam/tc3_request", {}, "AuthFailure.InvalidAuthorization",
                         id="an-rtl-mark-after-the-secret-id"),
            pytest.param("{id}/{date}/cvm/tc3_request", {"service": "cvm"}, "AuthFailure.SignatureFailure",
                         id="the-wrong-service"),
            pytest.param("{id}/{date}/CAM/tc3_request", {"service": "CAM"}, "AuthFailure.SignatureFailure",
                         id="the-service-in-upper-case"),
            pytest.param("{id}/{date}/cam/tc3_response", {"terminator": "tc3_response"},
                         "AuthFailure.SignatureFailure", id="the-wrong-terminator"),
            # A date the server would never accept is refused before any key material is read.
            pytest.param("{id}/2020-01-01/cam/tc3_request", {"date": "2020-01-01"}, "AuthFailure.SignatureExpire",
                         id="a-date-far-from-the-servers-day"),
            pytest.param("{id}/{compact}/cam/tc3_request", {"date": "{compact}"}, "AuthFailure.SignatureExpire",
                         id="a-date-without-dashes"),
            pytest.param("{id}/..%2F/cam/tc3_request", {"date": "..%2F"}, "AuthFailure.SignatureExpire",
                         id="an-encoded-traversal-as-date"),
        ],
    )  # fmt: skip
    def test_a_malformed_credential_is_a_401_with_its_documented_code(
        self, account: Account, credential: str, scope: dict[str, str], code: str
    ):
        alice = account.alice
        now = int(time.time())
        names = {
            "id": alice.secret_id,
            "fullwidth_id": fullwidth(alice.secret_id),
            "date": signing.utc_date(now),
            "compact": signing.utc_date(now).replace("-", ""),
        }
        event = sign(
            http_event("ListAccessKeys/list"),
            alice,
            timestamp=now,
            **{name: value.format(**names) for name, value in scope.items()},
        )
        wanted = credential.format(**names)
        header = event["headers"]["authorization"]
        event["headers"]["authorization"] = re.sub(r"Credential=[^,]*", lambda _: f"Credential={wanted}", header)

        expect(run_case(account, "ListAccessKeys", event), 401, code)


@pytest.mark.usefixtures("account")
class TestAuthorizationShape:
    @pytest.mark.parametrize(
        ("change", "code"),
        [
            pytest.param(lambda h: h.replace("TC3-HMAC-SHA256", "TC3-HMAC-SHA1"), "AuthFailure.InvalidAuthorization",
                         id="the-wrong-algorithm"),
            pytest.param(lambda h: h.replace("TC3-HMAC-SHA256", "tc3-hmac-sha256"),
                         "AuthFailure.InvalidAuthorization", id="the-algorithm-in-lower-case"),
            pytest.param(lambda h: h + ", Signature=" + "0" * 64, "AuthFailure.InvalidAuthorization",
                         id="a-second-signature"),
            pytest.param(lambda h: h + ", Region=us-east-1", "AuthFailure.InvalidAuthorization",
                         id="an-extra-component"),
            pytest.param(lambda h: re.sub(r", SignedHeaders=[^,]*", "", h), "AuthFailure.InvalidAuthorization",
                         id="no-signed-headers"),
            pytest.param(lambda h: h.replace("Signature=", "signature="), "AuthFailure.InvalidAuthorization",
                         id="a-component-name-in-lower-case"),
            pytest.param(lambda h: h[: -64] + h[-64:].upper(), "AuthFailure.InvalidAuthorization",
                         id="the-signature-in-upper-case"),
            pytest.param(lambda h: h.replace("Signature=", "Signature=\x00"), "AuthFailure.InvalidAuthorization",
                         id="a-nul-in-the-signature"),
            pytest.param(lambda h: h + "a" * 1_000_000, "AuthFailure.InvalidAuthorization",
                         id="a-megabyte-signature"),
            pytest.param(lambda h: "\U0001f511" * 100_000, "AuthFailure.InvalidAuthorization",
                         id="a-hundred-thousand-emoji"),
            pytest.param(lambda h: h.replace(", ", " ,\t").replace(" ", "  ", 1), None,
                         id="other-spaces-around-the-parts-are-ignored"),
        ],
    )  # fmt: skip
    def test_a_malformed_authorization_header_is_a_401_with_its_documented_code(
        self, account: Account, change: Callable[[str], str], code: str | None
    ):
        event = sign(http_event("ListAccessKeys/list"), account.alice)
        event["headers"]["authorization"] = change(event["headers"]["authorization"])

        expect(run_case(account, "ListAccessKeys", event), 200 if code is None else 401, code)
