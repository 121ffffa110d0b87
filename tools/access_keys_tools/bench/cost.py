"""What a million verified requests cost on AWS, from the counted calls and the measured duration.

Prices are AWS's public on-demand list prices for us-east-1 (HTTP API, Lambda on arm64,
DynamoDB on-demand), as published when these figures were made; other regions differ a little.
The arithmetic is kept here, in one place, and docs/benchmarks.md shows it line by line.

A request whose signature is guarded (a state-changing one, or a read on `POST /` whose
X-TC-Action is not signed) makes one conditional PutItem more, of the used-signature item, before
its operation: one write unit, and one DynamoDB call more of Lambda duration. How many requests
that is depends on the traffic, so the cost is given for a stated mix (`REALISTIC_MIX`) and for
the worst case, every request guarded (`WORST_CASE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PER_MILLION = 1_000_000

HTTP_API_PER_MILLION = 1.00  # first 300 million requests a month
LAMBDA_REQUESTS_PER_MILLION = 0.20
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
DYNAMODB_WRITE_UNITS_PER_MILLION = 0.625  # on-demand write request units
DYNAMODB_READ_UNITS_PER_MILLION = 0.125  # on-demand read request units
LOGS_INGESTED_PER_GB = 0.50  # CloudWatch Logs, standard class
XRAY_TRACES_PER_MILLION = 5.00  # traces recorded
XRAY_SAMPLED_SHARE = 0.05  # Lambda's default rule: the first request each second, then 5%

BUDGET_PER_MILLION = 2.50

# A Lambda function gets CPU in proportion to its memory: one full vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
# This machine's core against a Graviton core, a generous allowance for a slower one.
SLOWER_CORE_ALLOWANCE = 1.5
# One in-region DynamoDB call, generously: AWS quotes single-digit milliseconds.
DYNAMODB_CALL_MS = 10.0


@dataclass(frozen=True)
class RequestKind:
    """One kind of verified request in a mix: its share of the requests, and whether its signature
    is guarded (one conditional PutItem more)."""

    name: str
    share: float
    guarded: bool


# Most calls are reads; our client and console sign x-tc-action, Tencent's stock SDKs do not; keys
# change rarely (two per account at most, each created, disabled and deleted once).
REALISTIC_MIX = (
    RequestKind("reads on a REST route, or on POST / with x-tc-action signed: no guard", 0.90, guarded=False),
    RequestKind("reads on POST / with x-tc-action unsigned (Tencent's stock SDKs): a guard write", 0.05, guarded=True),
    RequestKind("state-changing (Create, Update or DeleteAccessKey): a guard write", 0.05, guarded=True),
)
# Every request guarded: all state-changing, or every read sent by a stock SDK on POST /.
WORST_CASE = (RequestKind("every request guarded", 1.0, guarded=True),)


def describe(mix: tuple[RequestKind, ...]) -> str:
    return "; ".join(f"{kind.share:.0%} {kind.name}" for kind in mix)


def guarded_share(mix: tuple[RequestKind, ...]) -> float:
    return sum(kind.share for kind in mix if kind.guarded)


def item_bytes(item: dict[str, dict[str, object]]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (a number at most 21 bytes,
    a boolean 1)."""
    size = 0
    for name, value in item.items():
        ((kind, content),) = value.items()
        size += len(name.encode())
        if kind == "S":
            size += len(str(content).encode())
        elif kind == "N":
            size += min(21, len(str(content).lstrip("-").replace(".", "")) // 2 + 1)
        elif kind == "BOOL":
            size += 1
        elif kind == "B" and isinstance(content, bytes):
            size += len(content)
        else:
            raise ValueError(f"no size rule for {kind}")
    return size


@dataclass(frozen=True)
class Line:
    item: str
    arithmetic: str
    dollars: float
    case: str = ""  # "best" or "worst" for the two ends of a range; "" for what is always paid


@dataclass(frozen=True)
class Cost:
    budgeted: list[Line]  # what the budget covers: HTTP API, Lambda, DynamoDB
    beyond: list[Line]  # what else a deployment pays per request, shown, not budgeted
    mix: tuple[RequestKind, ...] = ()

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.budgeted)

    @property
    def all_in_low(self) -> float:
        return self.total + sum(line.dollars for line in self.beyond if line.case != "worst")

    @property
    def all_in_high(self) -> float:
        return self.total + sum(line.dollars for line in self.beyond if line.case != "best")


def warm_duration_ms(handler_us: float, memory_mb: int, dynamodb_calls: int) -> int:
    """Billed milliseconds of a warm request: our CPU time scaled to the function's share of a
    slower core, plus its DynamoDB calls, rounded up to Lambda's 1 ms billing unit."""
    cpu_ms = handler_us / 1000 * (FULL_VCPU_MB / memory_mb) * SLOWER_CORE_ALLOWANCE
    return math.ceil(cpu_ms + dynamodb_calls * DYNAMODB_CALL_MS)


def per_million(
    *,
    handler_us: float,
    memory_mb: int,
    reads: int,
    writes: int,
    mix: tuple[RequestKind, ...],
    guard_bytes: int,
    log_bytes: int,
    stream_batch: int,
) -> Cost:
    """`reads` and `writes` are every verified request's own (the key's GetItem, its record's
    PutItem); a guarded request of `mix` adds one conditional PutItem of `guard_bytes`."""
    if abs(sum(kind.share for kind in mix) - 1) > 1e-9:
        raise ValueError(f"the shares of the mix add up to {sum(kind.share for kind in mix)}, not 1")
    guarded = guarded_share(mix)
    # Each request is billed its own whole milliseconds: the average of the rounded durations.
    unguarded_ms = warm_duration_ms(handler_us, memory_mb, reads + writes)
    guarded_ms = warm_duration_ms(handler_us, memory_mb, reads + writes + 1)
    parts = [(1 - guarded, unguarded_ms), (guarded, guarded_ms)]
    duration_ms = sum(share * milliseconds for share, milliseconds in parts)
    gb_seconds = duration_ms / 1000 * memory_mb / 1024
    billed = " + ".join(f"{share:.0%} x {milliseconds} ms" for share, milliseconds in parts if share)
    guard_units = -(-guard_bytes // 1024)
    budgeted = [
        Line("API Gateway HTTP API", f"1 request x ${HTTP_API_PER_MILLION:.2f}/M", HTTP_API_PER_MILLION),
        Line(
            "Lambda requests",
            f"1 invocation x ${LAMBDA_REQUESTS_PER_MILLION:.2f}/M",
            LAMBDA_REQUESTS_PER_MILLION,
        ),
        Line(
            "Lambda duration",
            f"{billed} (a guarded request: one DynamoDB call more) = {duration_ms:.1f} ms x {memory_mb / 1024:g} GB "
            f"= {gb_seconds:.4f} GB-s x ${LAMBDA_ARM64_PER_GB_SECOND:.10f}/GB-s x 1M",
            gb_seconds * LAMBDA_ARM64_PER_GB_SECOND * PER_MILLION,
        ),
        Line(
            "DynamoDB reads",
            f"{reads} strongly consistent GetItem of < 4 KB = {reads} RRU x ${DYNAMODB_READ_UNITS_PER_MILLION}/M",
            reads * DYNAMODB_READ_UNITS_PER_MILLION,
        ),
        Line(
            "DynamoDB writes, access record",
            f"{writes} PutItem of < 1 KB = {writes} WRU x ${DYNAMODB_WRITE_UNITS_PER_MILLION}/M",
            writes * DYNAMODB_WRITE_UNITS_PER_MILLION,
        ),
        Line(
            "DynamoDB writes, single-use guard",
            f"{guarded:.0%} of requests x 1 conditional PutItem of <= {guard_bytes} bytes ({guard_units} WRU) "
            f"= {guarded * guard_units:.2f} WRU a request x ${DYNAMODB_WRITE_UNITS_PER_MILLION}/M",
            guarded * guard_units * DYNAMODB_WRITE_UNITS_PER_MILLION,
        ),
    ]
    beyond = [
        Line(
            "CloudWatch Logs",
            f"about {log_bytes} bytes a request x ${LOGS_INGESTED_PER_GB:.2f}/GB",
            log_bytes * PER_MILLION / 1e9 * LOGS_INGESTED_PER_GB,
        ),
        Line(
            "X-Ray (Tracing: Active)",
            f"{XRAY_SAMPLED_SHARE:.0%} sampled x ${XRAY_TRACES_PER_MILLION:.2f}/M traces",
            XRAY_SAMPLED_SHARE * XRAY_TRACES_PER_MILLION,
        ),
        Line(
            "last-access updates (best case)",
            f"one key: 1 UpdateItem per batch of {stream_batch} records x ${DYNAMODB_WRITE_UNITS_PER_MILLION}/M WRU",
            DYNAMODB_WRITE_UNITS_PER_MILLION / stream_batch,
            case="best",
        ),
        Line(
            "last-access updates (worst case)",
            f"every record of a batch another key: 1 UpdateItem per record x ${DYNAMODB_WRITE_UNITS_PER_MILLION}/M WRU",
            DYNAMODB_WRITE_UNITS_PER_MILLION,
            case="worst",
        ),
    ]
    return Cost(budgeted, beyond, mix)


# What Lambda itself logs per invocation with active tracing, as it writes it (the ids are examples).
PLATFORM_LOG_LINES = (
    "START RequestId: 6f9a7c4e-2b1d-4f0e-9c3a-5d8e7f6a1b2c Version: $LATEST\n"
    "END RequestId: 6f9a7c4e-2b1d-4f0e-9c3a-5d8e7f6a1b2c\n"
    "REPORT RequestId: 6f9a7c4e-2b1d-4f0e-9c3a-5d8e7f6a1b2c\tDuration: 21.37 ms\tBilled Duration: 22 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 91 MB\t\n"
    "XRAY TraceId: 1-6746a1b2-3c4d5e6f7a8b9c0d1e2f3a4b\tSegmentId: 5a6b7c8d9e0f1a2b\tSampled: false\t\n"
)

# One API Gateway access-log line's variables, as a typical signed request fills them.
ACCESS_LOG_VALUES = {
    "$context.requestId": "Dk3m9hXpIAMEbQw=",
    "$context.requestTimeEpoch": "1795721444123",
    "$context.identity.sourceIp": "203.0.113.10",
    "$context.identity.userAgent": "tencentcloud-sdk-python/3.0.1400",
    "$context.routeKey": "GET /v1/access-keys/{SecretId}",
    "$context.status": "200",
    "$context.responseLength": "251",
    "$context.responseLatency": "24",
    "$context.integrationErrorMessage": "-",
}


def access_log_bytes(log_format: str) -> int:
    """The size of one access-log line of template.yaml's format, filled as ACCESS_LOG_VALUES says."""
    line = log_format
    for variable in sorted(ACCESS_LOG_VALUES, key=len, reverse=True):
        line = line.replace(variable, ACCESS_LOG_VALUES[variable])
    return len(line.encode()) + 1
