"""The access-key service: TC3-signed requests, keys with a quota of two, access records.

The package is the Lambda layer every function imports. Its modules are named after
what they hold; only `access_keys.dal` talks to DynamoDB or KMS.
"""
