"""POST /v1/access-keys: a new key for the caller's account; the only response with a SecretKey."""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys, rest
from access_keys.api import Reply
from access_keys.domain import Principal
from access_keys.observability import logger, metrics
from access_keys.rest import endpoint


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("CreateAccessKey")
def lambda_handler(caller: Principal, given: Mapping[str, Any]) -> Reply:
    created = keys.create_access_key(caller.uin, given.get("Description", ""))
    return Reply(201, {"AccessKey": rest.created_key_json(created)})
