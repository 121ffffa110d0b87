"""GET /v1/access-keys/{SecretId}: one of the caller's keys, with its last access time."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("GetAccessKey")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    secret_id = request.secret_id()
    request.input()
    return Reply(200, {"AccessKey": keys.get_access_key(caller, secret_id).to_json()})
