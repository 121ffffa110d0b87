"""Lambda Invoke, from the platform's other services: VerifyRequest and ReportAccessOutcome."""

from typing import Any

from access_keys import verification
from access_keys.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return verification.handle(event)
