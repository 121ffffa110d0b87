"""Data access: the only code that talks to DynamoDB (through pynamodb) and KMS (through botocore).

Callers get domain objects (`access_keys.domain`) and service errors, never pynamodb types.
"""
