"""What a verification ends in: the `Caller` who signed the request, or a `Refusal` to answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTERNAL_ERROR = "InternalError"
# Said to the caller whenever the access-key service could not be asked or its answer not read:
# nothing about the failure itself, which goes to the log.
COULD_NOT_VERIFY = "The request could not be verified. Try again later."

_PARAMETER_CODES = frozenset({"InvalidParameter", "InvalidParameterValue", "MissingParameter", "UnknownParameter"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who signed an accepted request: the key, its account, and the access record it made.

    `record_id` is opaque; `report_refusal(caller, code)` takes the Caller back to mark that
    record failed when the service refuses the request after all. `verified_by` is the Verifier
    that accepted it (so the report goes to the same function, for the same service).
    """

    secret_id: str
    uin: str
    record_id: str
    verified_by: Any = field(default=None, repr=False, compare=False)


class Refusal(Exception):
    """A request not accepted: the API error `code` and `message` to answer, with HTTP `status`.

    `record_id` is the access record the refusal left in the key's records, or None when it left
    none (refused before the access-key service was asked, a malformed VerifyRequest, or the
    service unreachable). Answer the request with it; never serve it.
    """

    def __init__(self, code: str, message: str, status: int | None = None, record_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status_of(code) if status is None else status
        self.record_id = record_id

    def __repr__(self) -> str:
        return f"Refusal({self.code!r}, {self.message!r}, status={self.status}, record_id={self.record_id!r})"

    @classmethod
    def internal_error(cls) -> Refusal:
        """The verifier could not decide: refuse (fail closed), saying nothing internal."""
        return cls(INTERNAL_ERROR, COULD_NOT_VERIFY, 500)


def status_of(code: str) -> int:
    """The HTTP status to answer a refusal code with (API.md's table).

    401 for `AuthFailure` and `AuthFailure.*`, 429 for `RequestLimitExceeded`, 400 for the
    parameter codes (a malformed VerifyRequest), and 500 for `InternalError` and for any code
    this package does not know: the service is then refused all the same.
    """
    family = code.split(".", 1)[0]
    if family == "AuthFailure":
        return 401
    if family == "RequestLimitExceeded":
        return 429
    if family in _PARAMETER_CODES:
        return 400
    return 500
