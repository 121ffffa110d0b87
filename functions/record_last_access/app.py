"""DynamoDB stream of AccessRecords (INSERTs only): each key's LastAccessTime, one update per key per batch."""

from typing import Any

from access_keys import last_access
from access_keys.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return last_access.process_batch(event)
