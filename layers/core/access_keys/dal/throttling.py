"""Turn AWS throttling into the one retryable API error, wherever it happens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from access_keys.errors import RequestLimitExceeded

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "LimitExceededException",
    }
)


@contextmanager
def throttling_as_request_limit() -> Iterator[None]:
    try:
        yield
    except PynamoDBException as error:
        if error.cause_response_code in THROTTLING_CODES:
            raise RequestLimitExceeded() from error
        raise
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in THROTTLING_CODES:
            raise RequestLimitExceeded() from error
        raise
