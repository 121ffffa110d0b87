"""GET /v1/access-keys: the caller's keys, oldest first, without secrets."""

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
@endpoint("ListAccessKeys")
def lambda_handler(caller: Principal, given: Mapping[str, Any]) -> Reply:
    owned = keys.list_access_keys(caller)
    return Reply(200, {"AccessKeys": [rest.key_json(key) for key in owned], "TotalCount": len(owned)})
