"""Settings every test shares: a fake AWS account and region, never a real one."""

import os

# Set before anything reads them: the service reads its settings once per process.
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "KEYS_TABLE_NAME": "access-keys-test",
    "RECORDS_TABLE_NAME": "access-records-test",
    "SECRETS_KMS_KEY_ID": "alias/access-keys-test",
    "POWERTOOLS_SERVICE_NAME": "access-keys",
    "POWERTOOLS_METRICS_NAMESPACE": "AccessKeysTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}
for _name, _value in _ENVIRONMENT.items():
    os.environ[_name] = _value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)
