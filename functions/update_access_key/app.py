"""PATCH /v1/access-keys/{SecretId}: enable or disable a key; a disable holds from the next request."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys, validation
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("UpdateAccessKey")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    secret_id = request.secret_id()
    body = request.input(allowed=frozenset({"Status"}), required=frozenset({"Status"}))
    key = keys.update_access_key(caller, secret_id, validation.status(body["Status"]))
    return Reply(200, {"AccessKey": key.to_json()})
