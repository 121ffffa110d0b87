"""`access-keys`: the operator's command line.

    access-keys admin create-key --uin <UIN> [--description D]

makes an account's first key, which cannot be made with a key. It calls the same service
code as CreateAccessKey, against the tables and KMS key named by the same environment
variables as the functions (KEYS_TABLE_NAME, RECORDS_TABLE_NAME, SECRETS_KMS_KEY_ID), in
the region of AWS_REGION / AWS_DEFAULT_REGION, at AWS_ENDPOINT_URL when that is set.
The JSON result goes to stdout and logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="access-keys", description="Operate the access-key service.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    admin = commands.add_parser("admin", help="operator actions that need AWS credentials, not a key")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    create = admin_commands.add_parser(
        "create-key",
        help="create an access key for an account (its first key, typically)",
        description="Create an access key for an account and print it, SecretKey included, once.",
    )
    create.add_argument("--uin", required=True, help="the owning account: 1 to 64 letters, digits, '-' or '_'")
    create.add_argument("--description", default="", help="up to 1024 letters, digits, spaces and + = , . @ : / - _")
    return parser


def _logs_to_stderr() -> None:
    from access_keys.observability import logger

    logger.registered_handler.setStream(sys.stderr)


def _create_key(parser: argparse.ArgumentParser, uin: str, description: str) -> int:
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    from access_keys import keys, validation
    from access_keys.config import ConfigurationError
    from access_keys.errors import InvalidParameter, InvalidParameterValue, ServiceError

    try:
        validation.uin(uin)
        validation.description(description)
    except (InvalidParameter, InvalidParameterValue) as error:
        parser.error(error.message)
    try:
        created = keys.create_access_key(uin, description)
    except ConfigurationError as error:
        print(f"access-keys: {error}; set it as the deployed functions do.", file=sys.stderr)
        return EXIT_FAILED
    except ServiceError as error:
        print(f"access-keys: {error.code}: {error.message}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, ClientError, PynamoDBException) as error:
        print(f"access-keys: the AWS call failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"AccessKey": created.to_json()}, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    _logs_to_stderr()
    if arguments.command == "admin" and arguments.admin_command == "create-key":
        return _create_key(parser, arguments.uin, arguments.description)
    parser.error("unknown command")  # argparse's required sub-commands make this unreachable
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
