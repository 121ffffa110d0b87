"""DELETE /v1/access-keys/{SecretId}: delete an Inactive key for good, freeing a quota slot."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("DeleteAccessKey")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    secret_id = request.secret_id()
    request.input()
    keys.delete_access_key(caller, secret_id)
    return Reply(200)
