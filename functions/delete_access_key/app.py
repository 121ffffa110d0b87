"""DELETE /v1/access-keys/{SecretId}: delete an Inactive key for good, freeing a quota slot."""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from access_keys import keys
from access_keys.api import Reply
from access_keys.domain import Principal
from access_keys.observability import logger, metrics
from access_keys.rest import endpoint


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("DeleteAccessKey")
def lambda_handler(caller: Principal, given: Mapping[str, Any]) -> Reply:
    keys.delete_access_key(caller, given["SecretId"])
    return Reply(200)
