"""`make bench`: every performance figure of the service with its budget, written to docs/benchmarks.md.

    python -m access_keys_tools.bench [--build-dir .aws-sam/build] [--runs 7] [--no-write]

`make bench` runs `make build` first, so the figures are those of what `sam build` ships. Steps:

1. cold start of each function against a boto3 baseline (`bench.cold_start`);
2. AWS calls per operation, 4. the stream and 5. one hot key: the counting tests of
   tests/integration/test_call_budgets.py, run here at full size (HOT_KEY_RECORDS=10000);
3. verification CPU against Tencent Cloud's SDK signer, and the handler's overhead
   (`bench.verification`);
6. the size of each artifact;
7. the local stack's throughput, serving the built artifacts, under 8 signed clients;
8. the cost of a million verified requests, from 2 and 3, with the single-use guard's writes, for
   a stated mix of requests and for the worst case, every request guarded (`bench.cost`);
9. one ListAccessRecords read with a fixed latency per DynamoDB call, its Queries in turn against
   at once (`bench.records_read`).

Timings are ratios of runs side by side in this one run, because this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from access_keys_tools.bench import cold_start, cost, records_read, verification
from access_keys_tools.local import load, names
from access_keys_tools.template import PROJECT_ROOT, load_template, resources_of_type

DOCUMENT = PROJECT_ROOT / "docs" / "benchmarks.md"
COUNTING_TESTS = "tests/integration/test_call_budgets.py"
HOT_KEY_RECORDS = 10_000
LAYER_BUDGET_BYTES = 15_000_000
LOAD_CLIENTS = 8
LOAD_SECONDS = 10.0
BANNER_END = "Then:"
CALLS_BUDGET = (
    "warm: GetItem 1 + PutItem 1 + what the operation needs, no KMS, and PutItem 1 more (the guard) "
    "if state-changing or on POST / with x-tc-action unsigned; cold: + KMS Decrypt 1"
)
# The longest Action a used-signature item can hold: no more of X-TC-Action is kept.
GUARD_ACTION_MAX_CHARS = 64


@dataclass(frozen=True)
class Figure:
    item: str
    value: str
    budget: str
    met: bool | None  # None: a figure without a budget


def _machine() -> str:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    return (
        f"{model or platform.processor()}, {os.cpu_count()} cores, {memory_kb / 1024**2:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def _counted_figures() -> list[str]:
    """Run the counting tests at full size; their figures, one line each."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as figures_file:
        environment = {**os.environ, "FIGURES_FILE": figures_file.name, "HOT_KEY_RECORDS": str(HOT_KEY_RECORDS)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", COUNTING_TESTS]
        outcome = subprocess.run(  # noqa: S603 - pytest on the project's own tests
            command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, check=False
        )
        if outcome.returncode != 0:
            print(outcome.stdout[-5000:], file=sys.stderr)
            raise SystemExit("the counting tests failed: a budget of items 2, 4 or 5 is not met")
        return [line for line in figures_file.read().splitlines() if not line.startswith("secret scan")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((names.HOST, 0))
        return probe.getsockname()[1]


def _local_throughput(build_dir: Path) -> load.LoadFigures:
    from access_keys.observability import logger

    logger.setLevel("WARNING")  # the load's own bootstrap key is not news
    port, aws_port = _free_port(), _free_port()
    environment = {**os.environ, "PORT": str(port), "MOTO_PORT": str(aws_port), "BUILD_DIR": str(build_dir)}
    environment["HTTPS_PORT"] = str(_free_port())
    environment["LAMBDA_PORT"] = str(_free_port())
    environment["LOG_LEVEL"] = "WARNING"
    stack = subprocess.Popen(
        [sys.executable, "-m", "access_keys_tools.local"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        for line in stack.stdout or ():
            if line.startswith(BANNER_END):
                break
        else:
            raise SystemExit("the local stack did not start")
        return load.measure(
            names.api_url(port), names.aws_url(aws_port), clients=LOAD_CLIENTS, seconds=LOAD_SECONDS, warm_up=3.0
        )
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(timeout=30)


def _artifact_sizes(build_dir: Path) -> dict[str, int]:
    return {
        artifact.name: sum(path.stat().st_size for path in artifact.rglob("*") if path.is_file())
        for artifact in sorted(build_dir.iterdir())
        if artifact.is_dir()
    }


def _guard_item_bytes() -> int:
    """The largest used-signature item the single-use guard's conditional PutItem writes."""
    from access_keys.dal.models import UsedSignatureItem

    item = UsedSignatureItem(
        UsedSignatureItem.id_for("f" * 64),  # a TC3 signature: 64 hexadecimal digits
        action="A" * GUARD_ACTION_MAX_CHARS,
        reusable=True,
        expires_at=datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC),
    )
    return cost.item_bytes(item.serialize())


def _figure_line(lines: list[str], prefix: str) -> str:
    return next(line for line in lines if line.startswith(prefix))


def _write(document: str) -> None:
    DOCUMENT.write_text(document, encoding="utf-8")
    print(f"\nwritten to {DOCUMENT.relative_to(PROJECT_ROOT)}")


def _render(
    figures: list[Figure],
    bill: cost.Cost,
    worst: cost.Cost,
    guard_bytes: int,
    *,
    log_bytes: dict[str, int],
    memory_mb: int,
    handler_us: float,
    elapsed: float,
    runs: int,
) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = "\n".join(
        f"| {cell(figure.item)} | {cell(figure.value)} | {cell(figure.budget) or '-'} | "
        f"{'-' if figure.met is None else ('met' if figure.met else '**not met**')} |"
        for figure in figures
    )

    def lines(items: list[cost.Line]) -> str:
        return "\n".join(f"| {line.item} | {cell(line.arithmetic)} | ${line.dollars:.3f} |" for line in items)

    budgeted, beyond, worst_budgeted = lines(bill.budgeted), lines(bill.beyond), lines(worst.budgeted)
    mix = "\n".join(f"| {kind.share:.0%} | {kind.name} |" for kind in bill.mix)
    verdict = "meets" if bill.total <= cost.BUDGET_PER_MILLION else "**misses**"
    worst_verdict = "within" if worst.total <= cost.BUDGET_PER_MILLION else "**over**"
    # What a guarded request pays before any Lambda duration: the request, the invocation, the
    # key's read unit and two write units (its record, the guard).
    floor = (
        cost.HTTP_API_PER_MILLION
        + cost.LAMBDA_REQUESTS_PER_MILLION
        + cost.DYNAMODB_READ_UNITS_PER_MILLION
        + 2 * cost.DYNAMODB_WRITE_UNITS_PER_MILLION
    )
    floor_note = (
        f"\nWith two writes a guarded request is over the budget whatever its duration: the request, the\n"
        f"invocation, one read unit and two write units are ${floor:.3f} per million already.\n"
        if floor > cost.BUDGET_PER_MILLION
        else ""
    )
    logs = "\n".join(f"- {name}: {size} bytes" for name, size in log_bytes.items())
    cpu_ms = handler_us / 1000 * (cost.FULL_VCPU_MB / memory_mb) * cost.SLOWER_CORE_ALLOWANCE
    return f"""# Benchmarks

Produced by `make bench` (which runs `make build`, then `python -m access_keys_tools.bench`) on
{datetime.datetime.now(datetime.UTC):%Y-%m-%d}, in {elapsed:.0f} s, on this machine:
{_machine()}.
The machine is shared and noisy, so every timing is a ratio against something measured side by
side in the same run. The counts (calls per request, stream updates, hot-key partitions) are
deterministic, and `make test` asserts them (tests/integration/test_call_budgets.py).

## Figures

| Figure | Value | Budget | |
|---|---|---|---|
{rows}

## How each is measured

1. **Cold start** (`python -m access_keys_tools.bench.cold_start`). For each function, a new
   process (`python -I -S`, nothing but the artifact, its layer and the standard library on the
   path) imports the handler from what `sam build` wrote; the median of {runs}
   interleaved runs. The baseline imports boto3 and makes one DynamoDB client, from a compiled
   boto3 as the Lambda runtime has it. "From source only" is the same build without its `.pyc`
   files, loaded with `-B`: what every cold start pays when the zip has no bytecode. The first
   request of a request function also makes its DynamoDB and KMS clients (one botocore session,
   one DynamoDB client for both tables); that row includes them.
2. **Calls per request**: botocore `before-call` hooks on the service's clients, on moto, per
   operation, warm (signing key cached) and cold (one KMS Decrypt more). The single-use guard
   is one conditional PutItem (the used-signature item, in the records table) on CreateAccessKey,
   UpdateAccessKey and DeleteAccessKey, and on a `POST /` read whose `SignedHeaders` leave out
   x-tc-action; a read on a REST route, or on `POST /` with x-tc-action signed, makes none.
   The guard's item is sized here from its model, the largest it can be.
3. **Verification CPU** (`python -m access_keys_tools.bench.verification`):
   `authentication.authenticate` of a warm read on a REST route (a signed GET of one key, no
   body): `key_store.get_key` stubbed to return the key item, its signing key in key_material's
   cache, no guard (a read on a REST route spends nothing), whole, Verdict included. Against the
   SDK's `_get_tc3_signature` for the same request, alternating, median of rounds. The stubs
   count their calls: a round that needed a KMS Decrypt, a guard or a failed-attempt count would
   stop the bench. The handler overhead runs the whole GetAccessKey handler, Powertools
   decorators included, with the same stubs (the key's GetItem, the record's PutItem); a stack
   sampler attributes its time to Powertools, pydantic (not installed: the service does not use
   it) or our code, standard-library time going to its caller.
4. **Stream**: 10,000 stream records over 10 keys, in batches of 100, through RecordLastAccess on
   moto; conditional updates counted. The records/s is moto's pace more than ours.
5. **One hot key**: {HOT_KEY_RECORDS:,} records of one key written through the record writer, their
   access times spread over one second; each partition key value's share of them, times
   10,000/s. The newest-20 read is one Query per shard, each of at most 20 items, so its read
   units do not grow with the key's records: the same at 1,000 and {HOT_KEY_RECORDS:,} records.
6. **Package size**: the bytes of every file `sam build` wrote, per artifact, unzipped.
7. **Local stack**: `python -m access_keys_tools.local` serving the built artifacts (`BUILD_DIR`),
   {LOAD_CLIENTS} threads of signed GetAccessKey requests for {LOAD_SECONDS:g} s after a warm-up, on
   the same 2 cores as the stack. moto serves one call at a time, about 6 ms each, and is the
   ceiling here; it says nothing about the deployed service.
8. **Cost**: below.
9. **ListAccessRecords read** (`python -m access_keys_tools.bench.records_read`): `record_store.
   latest_traces` of one key with {records_read.RECORDS} records over every shard and
   {records_read.FAILED_GROUPS} failed-attempt groups: 16 shard Queries and 1 of the failed attempts,
   sent one after another (as before) and at once, alternating, median of 15 each. Each call waits
   {records_read.LATENCY_MS:g} ms (a botocore `before-send` hook), and is answered with moto's own
   answer to the same request, recorded in-process beforehand: moto's work would hold this process's
   GIL, while DynamoDB's is done elsewhere. The concurrent read is checked to answer as the
   sequential one does. At most as many calls are in flight as the client's connection pool holds.

## Cost per million verified requests

A verified request is one signed call: API Gateway, one Lambda invocation, one strongly
consistent GetItem (the key, under 4 KB) and one PutItem (its access record, under 1 KB), and
no KMS call once warm (item 2). A request whose signature is guarded makes one conditional
PutItem more before its operation (the used-signature item, {guard_bytes} bytes at most: one
write unit, whether the condition holds or not). The stream delivers no used-signature item
to RecordLastAccess (the template's filter takes only records), and TTL deletes them for free.
A request that names a key without its signature is not a verified request and is not costed
here: it makes no guard, and one UpdateItem of its failed-attempt group instead of a record.
The duration is our measured handler time, {handler_us:.0f} us on one core here, scaled to the
function's {memory_mb} MB share of a vCPU (full at {cost.FULL_VCPU_MB} MB) and a core
{cost.SLOWER_CORE_ALLOWANCE}x slower: {cpu_ms:.2f} ms of CPU, plus {cost.DYNAMODB_CALL_MS:g} ms
for each DynamoDB call, rounded up to whole milliseconds per request. What an operation needs
beyond verification and its record (a create's transaction, a list's reads) is not counted here.
Prices: AWS's public on-demand prices for us-east-1 (HTTP API, Lambda arm64, DynamoDB on-demand,
as reduced in November 2024: $0.625 per million write units, $0.125 per million read units).

How many requests are guarded depends on the traffic. The budget is judged on this mix:

| Share | Requests |
|---|---|
{mix}

| Item | Arithmetic | Per million |
|---|---|---|
{budgeted}
| **Total (budget <= ${cost.BUDGET_PER_MILLION:.2f})** | | **${bill.total:.2f}** |

The mix {verdict} the budget. In the worst case every request is guarded (traffic that is all
creates, updates and deletes, or all reads sent on `POST /` by Tencent's stock SDKs, which do
not sign x-tc-action):

| Item | Arithmetic | Per million |
|---|---|---|
{worst_budgeted}
| **Total, every request guarded** | | **${worst.total:.2f}** ({worst_verdict} the budget) |
{floor_note}
What a deployment also pays per request, outside the budget's three services:

| Item | Arithmetic | Per million |
|---|---|---|
{beyond}

All in, that is ${bill.all_in_low:.2f} to ${bill.all_in_high:.2f} per million for the mix
(${worst.all_in_low:.2f} to ${worst.all_in_high:.2f} with every request guarded), depending on
how many distinct keys share a stream batch. The log bytes per request:

{logs}

KMS adds one Decrypt ($0.03 per 10,000) per cold start, and nothing per warm request.

The unit counts hold for the largest items ASCII text makes (the "item sizes" row, asserted by
`make test`). Text of multi-byte characters can cross them: a key whose Description is 1,024
four-byte characters is over 4 KB (2 read units per verification), and a User-Agent of
multi-byte characters can make a record 2 or 3 write units.
"""


def main() -> int:  # noqa: PLR0915 - one straight sequence of measurements, then the report
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", type=Path, default=PROJECT_ROOT / ".aws-sam" / "build")
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per cold-start figure (median)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    arguments = parser.parse_args()
    build_dir = arguments.build_dir.resolve()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.monotonic()
    figures: list[Figure] = []

    def report(figure: Figure) -> None:
        figures.append(figure)
        verdict = "" if figure.met is None else ("  [met]" if figure.met else "  [NOT MET]")
        budget = f"  (budget: {figure.budget})" if figure.budget else ""
        print(f"{figure.item}: {figure.value}{budget}{verdict}", flush=True)

    print("1. cold start ...", flush=True)
    starts = cold_start.measure(build_dir, arguments.runs)
    modules, compiled = cold_start.bytecode_coverage(build_dir)
    top = cold_start.top_imports(build_dir)
    for row in starts.functions:
        report(
            Figure(
                f"cold start, {row.function.removesuffix('Function')}",
                f"{row.built_ms:.0f} ms = {row.built_ratio:.2f}x baseline as built (with bytecode); "
                f"{row.source_ms:.0f} ms = {row.source_ratio:.2f}x from source only",
                f"<= {cold_start.BUDGET}x baseline ({row.baseline_ms:.0f} ms)",
                row.built_ratio <= cold_start.BUDGET,
            )
        )
    with_clients_ratio = starts.with_clients_ms / starts.baseline_ms
    # The budget is for the import and module-level init, as above. This row adds what the first
    # request does before its first call (the baseline makes one client, this makes two): shown
    # for what a cold request costs, not judged.
    report(
        Figure(
            f"cold start, {cold_start.WITH_CLIENTS.removesuffix('Function')} and its first request's two clients",
            f"{starts.with_clients_ms:.0f} ms = {with_clients_ratio:.2f}x baseline (context, no budget)",
            "",
            None,
        )
    )
    report(Figure("bytecode shipped", f"{compiled} of {modules} modules have a .pyc", "all", compiled == modules))
    for kind, costs in (("module", top.modules), ("package", top.packages)):
        imports = ", ".join(f"{name} {milliseconds:.1f} ms" for name, milliseconds in costs)
        report(Figure(f"top 5 imports by {kind} (GetAccessKey, -X importtime, self time)", imports, "", None))

    print("2, 4, 5. counted calls, the stream, one hot key ...", flush=True)
    counted = _counted_figures()
    for line in counted:
        if line.startswith("calls per request"):
            name, value = line.split(":", 1)
            report(Figure(name, value.strip(), CALLS_BUDGET, True))  # the test asserted it, or we stopped above
    sizes_line = _figure_line(counted, "item sizes:")
    units = "key < 4 KB, record < 1 KB (1 unit each)"
    report(Figure("item sizes", sizes_line.removeprefix("item sizes: "), units, True))
    guard_bytes = _guard_item_bytes()
    report(
        Figure(
            "single-use guard item size",
            f"largest used-signature item {guard_bytes} bytes (a {GUARD_ACTION_MAX_CHARS}-character Action)",
            "< 1 KB (1 write unit)",
            guard_bytes <= 1024,
        )
    )
    stream = _figure_line(counted, "stream:")
    report(Figure("stream", stream.removeprefix("stream: "), "<= 1 update per distinct key per batch", True))
    hot_key = _figure_line(counted, "hot key:")
    busiest = int(re.search(r"busiest partition ([\d,]+) writes/s", hot_key).group(1).replace(",", ""))  # type: ignore[union-attr]
    report(Figure("one hot key", hot_key.removeprefix("hot key: "), "<= 1,000 writes/s per partition", busiest <= 1000))

    print("3. verification CPU ...", flush=True)
    verify = verification.measure(arguments.runs, 2000)
    report(
        Figure(
            "verification CPU, warm REST read",
            f"authenticate {verify['ours_us']:.1f} us, SDK signer {verify['sdk_us']:.1f} us: {verify['ratio']:.2f}x",
            f"<= {verification.BUDGET}x",
            verify["ratio"] <= verification.BUDGET,
        )
    )
    overhead = verification.handler_overhead(2000)
    shares = ", ".join(f"{owner} {share:.0%}" for owner, share in overhead.shares.items())
    report(
        Figure(
            "warm handler overhead, AWS stubbed",
            f"{overhead.microseconds:.0f} us per request ({shares})",
            "",
            None,
        )
    )
    verify_overhead = verification.verify_handler_overhead(2000)
    shares = ", ".join(f"{owner} {share:.0%}" for owner, share in verify_overhead.shares.items())
    report(
        Figure(
            "warm VerifyRequest handler overhead, AWS stubbed (a read, as another service sends it)",
            f"{verify_overhead.microseconds:.0f} us per request, "
            f"{verify_overhead.microseconds / overhead.microseconds:.2f}x the REST handler's ({shares})",
            "",
            None,
        )
    )

    print("9. ListAccessRecords read ...", flush=True)
    listing = records_read.measure_apart(latency_ms=records_read.LATENCY_MS)
    report(
        Figure(
            "ListAccessRecords read, fixed latency per call",
            records_read.describe(listing),
            f"concurrent <= {records_read.BUDGET}x sequential",
            listing.ratio <= records_read.BUDGET,
        )
    )

    print("6. package sizes ...", flush=True)
    sizes = _artifact_sizes(build_dir)
    for artifact, size in sizes.items():
        is_layer = artifact == cold_start.LAYER
        report(
            Figure(
                f"unzipped size, {artifact}",
                f"{size / 1e6:.2f} MB" if is_layer else f"{size / 1e3:.1f} kB",
                f"<= {LAYER_BUDGET_BYTES / 1e6:.0f} MB" if is_layer else "",
                size <= LAYER_BUDGET_BYTES if is_layer else None,
            )
        )

    print("7. local stack throughput ...", flush=True)
    throughput = _local_throughput(build_dir)
    report(
        Figure(
            "local stack, 8 signed clients",
            f"{throughput.per_second:.0f} req/s, p50 {throughput.p50_ms:.0f} ms, p99 {throughput.p99_ms:.0f} ms, "
            f"{throughput.refused} refused",
            "",
            None,
        )
    )

    template = load_template()
    memory_mb = int(template["Globals"]["Function"]["MemorySize"])
    log_format = resources_of_type("AWS::Serverless::HttpApi")["AccessKeysApi"]["Properties"]["AccessLogSettings"]
    log_bytes = {
        "Powertools metrics line (measured)": overhead.log_bytes,
        "Lambda START/END/REPORT/XRAY lines": len(cost.PLATFORM_LOG_LINES.encode()),
        "API Gateway access log line": cost.access_log_bytes(log_format["Format"]),
    }
    bills = {
        mix: cost.per_million(
            handler_us=overhead.microseconds,
            memory_mb=memory_mb,
            reads=1,
            writes=1,
            mix=mix,
            guard_bytes=guard_bytes,
            log_bytes=sum(log_bytes.values()),
            stream_batch=100,
        )
        for mix in (cost.REALISTIC_MIX, cost.WORST_CASE)
    }
    bill, worst = bills[cost.REALISTIC_MIX], bills[cost.WORST_CASE]
    guarded = cost.guarded_share(cost.REALISTIC_MIX)
    report(
        Figure(
            "cost per million verified requests",
            f"${bill.total:.2f} (HTTP API, Lambda, DynamoDB) with {guarded:.0%} of requests guarded (the mix below); "
            f"all in, with logs, X-Ray and last-access updates: ${bill.all_in_low:.2f} to ${bill.all_in_high:.2f}",
            f"<= ${cost.BUDGET_PER_MILLION:.2f}",
            bill.total <= cost.BUDGET_PER_MILLION,
        )
    )
    # Not judged: the budget is for the mix. Shown so that a deployment whose traffic is all
    # guarded knows what it pays.
    over = worst.total - cost.BUDGET_PER_MILLION
    report(
        Figure(
            "cost per million, worst case: every request guarded",
            f"${worst.total:.2f} (HTTP API, Lambda, DynamoDB), "
            + (f"${over:.2f} over" if over > 0 else f"${-over:.2f} under")
            + f" the mix's ${cost.BUDGET_PER_MILLION:.2f} budget; all in: "
            f"${worst.all_in_low:.2f} to ${worst.all_in_high:.2f} (context, no budget)",
            "",
            None,
        )
    )
    elapsed = time.monotonic() - started
    missed = [figure.item for figure in figures if figure.met is False]
    print(f"\n{sum(1 for figure in figures if figure.met)} budgets met, {len(missed)} not {missed}, in {elapsed:.0f} s")
    if not arguments.no_write:
        _write(
            _render(
                figures,
                bill,
                worst,
                guard_bytes,
                log_bytes=log_bytes,
                memory_mb=memory_mb,
                handler_us=overhead.microseconds,
                elapsed=elapsed,
                runs=arguments.runs,
            )
        )
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
