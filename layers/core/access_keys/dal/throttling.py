"""AWS's throttling, as the data layer reports it: `Throttled`, whatever the call and the client.

It is not an API error. The HTTP routes and the verification answer it as RequestLimitExceeded
(`errors.refusal_of`); the stream and the schedule, which have no HTTP, let it fail the batch or
the run, for Lambda to retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "LimitExceededException",
    }
)


class Throttled(Exception):
    """AWS refused a call for its rate, or a transaction kept meeting another: back off and retry.

    `advice` says so to a person, if something more precise than the default is known.
    """

    def __init__(self, advice: str | None = None) -> None:
        self.advice = advice
        super().__init__(advice or "throttled by AWS")


@contextmanager
def reporting_throttling() -> Iterator[None]:
    """Raise AWS's throttling errors, from pynamodb or botocore, as `Throttled`; any other as it is."""
    try:
        yield
    except PynamoDBException as error:
        if error.cause_response_code in THROTTLING_CODES:
            raise Throttled() from error
        raise
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in THROTTLING_CODES:
            raise Throttled() from error
        raise
