"""POST /: Tencent Cloud API 3.0 for CAM's access-key actions (X-TC-Action), so Tencent's SDKs work unchanged."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from access_keys import cloud_api
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return cloud_api.handle_event(event)
