"""`access-keys`: the operator's command line.

    access-keys admin create-key --uin <UIN> [--description D]

makes an account's first key, which cannot be made with a key, and

    access-keys events sign events/<Operation>/<case>.json --secret-id AKID... [--timestamp T]

re-signs a stored API Gateway event with a key and the current time (signatures expire after
300 s), for `sam local invoke <Function> -e <file>`. The SecretKey is read from the environment
variable ACCESS_KEYS_SECRET_KEY, so that it stays out of shell history. It calls the same service
code as CreateAccessKey, against the tables and KMS key named by the same environment
variables as the functions (KEYS_TABLE_NAME, RECORDS_TABLE_NAME, SECRETS_KMS_KEY_ID), in
the region of AWS_REGION / AWS_DEFAULT_REGION, at AWS_ENDPOINT_URL when that is set.
The JSON result goes to stdout and logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_FAILED = 1


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

    events = commands.add_parser("events", help="work with the stored events of events/")
    events_commands = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    sign = events_commands.add_parser(
        "sign",
        help="re-sign a stored HTTP event with a key and the current time; prints the event",
        description="Re-sign a stored API Gateway event. The SecretKey comes from ACCESS_KEYS_SECRET_KEY.",
    )
    sign.add_argument("event", type=Path, help="an HTTP event file, e.g. events/GetAccessKey/get.json")
    sign.add_argument(
        "--secret-id", default=os.environ.get("ACCESS_KEYS_SECRET_ID"), help="default: $ACCESS_KEYS_SECRET_ID"
    )
    sign.add_argument("--timestamp", type=int, help="Unix seconds to sign with (default: now)")
    sign.add_argument("--path-secret-id", help="the SecretId to put in the route's path, for routes that name a key")
    return parser


class _StandardError:
    """Whatever sys.stderr is when a line is written, so that stdout carries only the JSON result."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _logs_to_stderr() -> None:
    from access_keys.observability import logger

    logger.registered_handler.setStream(_StandardError())


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


def _sign_event(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> int:
    from access_keys.signing import SECRET_ID_PATTERN
    from access_keys_tools.events import sign_event, with_path_secret_id

    secret_key = os.environ.get("ACCESS_KEYS_SECRET_KEY", "")
    if not arguments.secret_id or not SECRET_ID_PATTERN.fullmatch(arguments.secret_id):
        parser.error("--secret-id (or ACCESS_KEYS_SECRET_ID) must be AKID followed by 32 letters and digits")
    if not secret_key:
        parser.error("set ACCESS_KEYS_SECRET_KEY to the key's SecretKey")
    try:
        event = json.loads(arguments.event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        parser.error(f"cannot read {arguments.event}: {error}")
    if not isinstance(event, dict) or "routeKey" not in event or "requestContext" not in event:
        parser.error(f"{arguments.event} is not an API Gateway HTTP API event")
    if arguments.path_secret_id:
        if "{SecretId}" not in event["routeKey"]:
            parser.error(f"the route {event['routeKey']} names no key")
        event = with_path_secret_id(event, arguments.path_secret_id)
    signed = sign_event(event, secret_id=arguments.secret_id, secret_key=secret_key, timestamp=arguments.timestamp)
    print(json.dumps(signed, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    _logs_to_stderr()
    if arguments.command == "admin" and arguments.admin_command == "create-key":
        return _create_key(parser, arguments.uin, arguments.description)
    # argparse's required sub-commands leave `events sign` as the only other command.
    return _sign_event(parser, arguments)


if __name__ == "__main__":
    sys.exit(main())
