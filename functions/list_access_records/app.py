"""GET /v1/access-keys/{SecretId}/access-records: the key's latest 20 access records and failed attempts."""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from access_keys import records, rest
from access_keys.api import Reply
from access_keys.domain import Principal
from access_keys.observability import logger, metrics
from access_keys.rest import endpoint


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("ListAccessRecords")
def lambda_handler(caller: Principal, given: Mapping[str, Any]) -> Reply:
    traces = records.list_access_records(caller, given["SecretId"])
    return Reply(
        200,
        {
            "AccessRecords": [rest.record_json(record) for record in traces.access_records],
            "FailedAttempts": [rest.failed_attempts_json(attempts) for attempts in traces.failed_attempts],
        },
    )
