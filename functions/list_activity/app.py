"""GET /v1/activity: the account's latest 50 activity entries (what was done without a key)."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import activity
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("ListActivity")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    request.input()
    return Reply(200, {"Activity": [entry.to_json() for entry in activity.list_activity(caller.uin)]})
