"""One Lambda execution environment of the local stack (see functions.py); not run by hand.

Protocol: one JSON invocation per line on stdin, one JSON reply per line on the original
stdout. Everything the function prints (its logs, its metrics) goes to stderr instead, which
the runner shows tagged with the function's name.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

_PR_SET_PDEATHSIG = 1


@dataclass
class LambdaContext:
    """The `context` a handler is given: what Lambda's Python runtime offers and the service reads.
    Also the tests' context (tests/integration/harness.py), hence the defaults."""

    function_name: str
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "test"
    deadline: float = field(default_factory=lambda: time.time() + 900)  # epoch seconds, Lambda's longest timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def _die_with_parent() -> None:
    """Ask Linux to end this process when the runner ends, however it ends (even SIGKILL)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the runner's shutdown closes our stdin
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the runner ended before prctl took effect
        sys.exit(0)


def _error_reply(kind: str, message: str, error: BaseException | None = None, request_id: str = "") -> dict[str, Any]:
    """A failure, with the error document Lambda's Python runtime makes of it: the exception's type
    and message (nothing else of its state) and the stack below this loop's own frame."""
    frames = traceback.extract_tb(error.__traceback__) if error is not None else []
    document: dict[str, Any] = {"errorMessage": message, "errorType": kind}
    if request_id:
        document["requestId"] = request_id
    document["stackTrace"] = traceback.format_list([frame for frame in frames if frame.filename != __file__])
    return {"error": f"{kind}: {message}", **document}


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    _die_with_parent()
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's prints and logs go to stderr

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    started = time.perf_counter()
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an init error is reported, as Lambda does
        traceback.print_exc()
        if isinstance(error, ImportError):
            kind, message = "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        elif isinstance(error, SyntaxError):
            kind, message = "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}"
        else:
            kind, message = type(error).__name__, str(error)
        reply(_error_reply(kind, message, error))
        return
    handler = getattr(module, attribute, None)
    if handler is None:
        message = f"Handler '{attribute}' missing on module '{module_name}'"
        print(message, file=sys.stderr)
        reply(_error_reply("Runtime.HandlerNotFound", message))
        return
    reply({"ready": round((time.perf_counter() - started) * 1000, 1)})

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    for line in sys.stdin:
        invocation = json.loads(line)
        context = LambdaContext(
            function_name=function_name,
            function_version="$LATEST",
            invoked_function_arn=f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{function_name}",
            memory_limit_in_mb=int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
            aws_request_id=invocation["requestId"],
            log_group_name=os.environ["AWS_LAMBDA_LOG_GROUP_NAME"],
            log_stream_name=os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
            deadline=invocation["deadline"],
        )
        try:
            result = handler(invocation["event"], context)
        except Exception as error:  # a function error is reported, as Lambda does
            traceback.print_exc()
            reply(_error_reply(type(error).__name__, str(error), error, invocation["requestId"]))
            continue
        try:
            reply({"result": json.loads(json.dumps(result))})
        except (TypeError, ValueError) as error:  # what Lambda's runtime says of a result it cannot send
            message = f"Unable to marshal response: {error}"
            print(message, file=sys.stderr)
            reply(_error_reply("Runtime.MarshalError", message, error, invocation["requestId"]))


if __name__ == "__main__":
    main()
