"""The local stack: template.yaml's API, functions, tables and triggers on one machine, no Docker.

`python -m access_keys_tools.local` (what `make run` starts) serves the API at 127.0.0.1:3000,
and the Lambda Invoke API of every function at 127.0.0.1:3001, as `sam local start-lambda` does.
Beside it, a platform service's own template (the example of examples/instances/, at
127.0.0.1:3010) is served the same way, verifying its requests through that Invoke API.
It is a thin adapter: the handlers, their environment, the routes, the tables and the triggers
all come from template.yaml, and moto's server stands in for DynamoDB, DynamoDB Streams and KMS.
Only the transport is local; no rule of the service is implemented here.
"""
