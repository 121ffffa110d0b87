"""GET /v1/access-keys/{SecretId}/access-records: the key's latest 20 access records and failed attempts."""

from aws_lambda_powertools.logging import correlation_paths

from access_keys import records
from access_keys.api import ApiRequest, Reply, endpoint
from access_keys.domain import Principal
from access_keys.observability import logger, metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@endpoint("ListAccessRecords")
def lambda_handler(request: ApiRequest, caller: Principal) -> Reply:
    secret_id = request.secret_id()
    request.input()
    traces = records.list_access_records(caller, secret_id)
    return Reply(
        200,
        {
            "AccessRecords": [record.to_json() for record in traces.access_records],
            "FailedAttempts": [attempts.to_json() for attempts in traces.failed_attempts],
        },
    )
