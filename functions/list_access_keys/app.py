"""GET /v1/access-keys: the caller's keys, oldest first, without secrets."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("ListAccessKeys")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    request.input()
    owned = keys.list_access_keys(caller)
    return Reply(200, {"AccessKeys": [key.to_json() for key in owned], "TotalCount": len(owned)})
