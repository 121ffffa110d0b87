"""GET /v1/activity: the account's latest 50 activity entries (what was done without a key)."""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from access_keys import activity, rest
from access_keys.api import Reply
from access_keys.domain import Principal
from access_keys.observability import logger, metrics
from access_keys.rest import endpoint


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("ListActivity")
def lambda_handler(caller: Principal, given: Mapping[str, Any]) -> Reply:
    return Reply(200, {"Activity": [rest.activity_json(entry) for entry in activity.list_activity(caller.uin)]})
