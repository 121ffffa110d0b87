"""PATCH /v1/access-keys/{SecretId}: enable or disable a key; a disable holds from the next request."""

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
@endpoint("UpdateAccessKey")
def lambda_handler(caller: Principal, given: Mapping[str, Any]) -> Reply:
    key = keys.update_access_key(caller, given["SecretId"], given["Status"])
    return Reply(200, {"AccessKey": rest.key_json(key)})
