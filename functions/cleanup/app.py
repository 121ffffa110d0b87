"""EventBridge schedule: remove deleted keys' records and TTL leftovers; report unused keys."""

from dataclasses import asdict
from typing import Any

from access_keys import cleanup
from access_keys.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = cleanup.run_cleanup(cleanup.Deadline(context.get_remaining_time_in_millis))
    return {
        "ran": outcome.ran,
        "passCompleted": outcome.pass_completed,
        "stoppedEarly": outcome.stopped_early,
        "progress": asdict(outcome.progress),
    }
