"""POST /v1/access-keys: a new key for the caller's account; the only response with a SecretKey."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys, validation
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("CreateAccessKey")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    body = request.input(allowed=frozenset({"Description"}))
    created = keys.create_access_key(caller.uin, validation.description(body.get("Description", "")))
    return Reply(201, {"AccessKey": created.to_json()})
