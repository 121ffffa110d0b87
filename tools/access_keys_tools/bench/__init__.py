"""Benchmarks of the access-key service: figures printed with their budgets (docs/benchmarks.md).

The in-process benchmarks run the service's code outside Lambda, so the environment Lambda would
give it is set here, before any of them imports the service (which reads it once). Nothing is
called on AWS with it: each benchmark stubs or counts the calls it makes.
"""

import os

LAMBDA_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "access-keys-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "POWERTOOLS_SERVICE_NAME": "access-keys",
    "POWERTOOLS_METRICS_NAMESPACE": "AccessKeys",
    "KEYS_TABLE_NAME": "keys",
    "RECORDS_TABLE_NAME": "records",
    "SECRETS_KMS_KEY_ID": "alias/access-keys",
}

for _name, _value in LAMBDA_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
