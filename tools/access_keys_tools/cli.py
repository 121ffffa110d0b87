"""`access-keys`: the command line of the access-key service.

Client commands, signed with a key (see `access-keys --help`):

    access-keys create [--description D] [--save-profile NAME]
    access-keys list | get ID | disable ID | enable ID | delete ID [--yes] | records ID | activity
    access-keys configure [--profile NAME]

They take the key from ACCESS_KEYS_SECRET_ID / ACCESS_KEYS_SECRET_KEY, or from a profile file
(`--profile`, default "default"; see access_keys_tools.profiles), and the endpoint from
`--endpoint`, ACCESS_KEYS_ENDPOINT, the profile, or else the local stack at 127.0.0.1:3000.
Output is a table, or the API's JSON with `--output json`. An API error prints its code and
message on stderr and exits 1; a usage error exits 2. Text from the API reaches the terminal only
through `terminal_text` (tables, details, error messages) or `terminal_json`: a User-Agent in an
access record is chosen by whoever sent the request, and a SecretId is public.

Operator commands, with AWS credentials rather than a key (access_keys_tools.admin):

    access-keys admin create-account --uin UIN --email EMAIL     the account's sign-in, temporary password shown once
    access-keys admin remove-sign-in --uin UIN                   delete it, for an owner locked out of it
    access-keys admin create-key --uin UIN [--description D] [--save-profile NAME]
    access-keys admin list-keys --uin UIN
    access-keys admin disable-key ID | enable-key ID | delete-key ID
    access-keys admin activity --uin UIN

call the same service code as the API against the tables, KMS key and user pool named by the
functions' environment variables (KEYS_TABLE_NAME, RECORDS_TABLE_NAME, SECRETS_KMS_KEY_ID,
ACCOUNTS_USER_POOL_ID, AWS_REGION, AWS_ENDPOINT_URL), or the local stack's with `--local [URL]`.
Each is audited: an entry in the account's activity, a log line on stderr, a metric.
`create-key` prints the create response's JSON on stdout.

    access-keys events sign events/<Operation>/<case>.json --secret-id AKID... [--timestamp T]

re-signs a stored API Gateway event for `sam local invoke`, with the SecretKey taken from
ACCESS_KEYS_SECRET_KEY so that it stays out of shell history.

Logs go to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from access_keys_tools.local import names

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DESCRIPTION_HELP = "up to 1024 letters, digits, spaces and + = , . @ : / - _"
SAVE_PROFILE_HELP = "also save the new key as this profile of the profile file (0600), for later commands"


class UsageError(Exception):
    """Exits with EXIT_USAGE, like argparse's own errors."""


# ------------------------------------------------------------------------------- parser
def _parser() -> argparse.ArgumentParser:
    # The global options are accepted before or after the command: SUPPRESS keeps a
    # sub-command's unset option from overwriting the value given before the command.
    def add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
        default = (lambda value: value) if defaults else (lambda _: argparse.SUPPRESS)
        parser.add_argument(
            "--endpoint",
            default=default(None),
            help="the API's base URL (default: $ACCESS_KEYS_ENDPOINT, the profile's, else http://127.0.0.1:3000)",
        )
        parser.add_argument(
            "--profile",
            default=default(None),
            help="the profile to sign with (default: $ACCESS_KEYS_PROFILE; else the ACCESS_KEYS_SECRET_* "
            "variables; else 'default')",
        )
        parser.add_argument(
            "--output", choices=("table", "json"), default=default("table"), help="table (default) or json"
        )

    parser = argparse.ArgumentParser(
        prog="access-keys",
        description="Manage access keys of the access-key service, and operate it.",
        epilog="Credentials: ACCESS_KEYS_SECRET_ID and ACCESS_KEYS_SECRET_KEY, or a profile saved by "
        "`access-keys configure` or `--save-profile`.",
    )
    add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        add_global_options(sub, defaults=False)
        return sub

    create = command("create", "create a key; its SecretKey is shown this once")
    create.add_argument("--description", default="", help=DESCRIPTION_HELP)
    create.add_argument("--save-profile", metavar="NAME", help=SAVE_PROFILE_HELP)
    command("list", "list your keys, oldest first")
    for name, help_text in (
        ("get", "show one key, with its last access time"),
        ("disable", "disable a key: it is refused from the very next request"),
        ("enable", "enable a disabled key again"),
        (
            "records",
            "show a key's access records and failed attempts of the past 90 days, the latest 20 of each, newest first",
        ),
    ):
        command(name, help_text).add_argument("secret_id", metavar="ID", help="the key's SecretId")
    delete = command("delete", "delete a disabled key, for good")
    delete.add_argument("secret_id", metavar="ID", help="the key's SecretId")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command(
        "activity",
        "show your account's activity (what was done in the console and by operators), the latest 50 of 90 days",
    )
    command("configure", "save a key (and optionally an endpoint) as a profile, prompting for the SecretKey")

    admin = commands.add_parser("admin", help="operator actions that need AWS credentials, not a key")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")

    def admin_command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        sub = admin_commands.add_parser(name, help=help_text, description=description)
        sub.add_argument(
            "--local",
            nargs="?",
            const=names.aws_url(),
            metavar="URL",
            help=f"use the local stack of `make run` (its moto at URL, default {names.aws_url()}) "
            "instead of the environment's tables, KMS key and user pool",
        )
        sub.add_argument(
            "--output", choices=("table", "json"), default=argparse.SUPPRESS, help="table (default) or json"
        )
        return sub

    uin_help = "the account: 1 to 64 letters, digits, '-' or '_'"
    account = admin_command(
        "create-account",
        "create an account's sign-in (a user of the accounts' user pool)",
        "Create the sign-in of an account: a Cognito user with its Uin, and a temporary password, shown once, "
        "that the owner replaces at the first sign-in to the console (setting up TOTP when MFA is on).",
    )
    account.add_argument("--uin", required=True, help=uin_help)
    account.add_argument("--email", required=True, help="the owner's email address, with which they sign in")
    admin_command(
        "remove-sign-in",
        "delete an account's sign-in, for an owner locked out of it",
        "Delete an account's sign-in (its user in the accounts' user pool), for an owner who lost both the "
        "password and the TOTP device; its keys and records stay. Then create-account makes a new one.",
    ).add_argument("--uin", required=True, help=uin_help)
    admin_create = admin_command(
        "create-key",
        "create an access key for an account",
        "Create an access key for an account and print it, SecretKey included, once.",
    )
    admin_create.add_argument("--uin", required=True, help=uin_help)
    admin_create.add_argument("--description", default="", help=DESCRIPTION_HELP)
    admin_create.add_argument("--save-profile", metavar="NAME", help=SAVE_PROFILE_HELP)
    admin_command("list-keys", "list an account's keys", "List an account's keys, oldest first.").add_argument(
        "--uin", required=True, help=uin_help
    )
    for name, help_text in (
        ("disable-key", "disable a key at once, for any account (a reported leak)"),
        ("enable-key", "enable a disabled key again"),
        ("delete-key", "delete a disabled key, for good"),
    ):
        admin_command(name, help_text, help_text[0].upper() + help_text[1:] + ".").add_argument(
            "secret_id", metavar="ID", help="the key's SecretId"
        )
    admin_command(
        "activity", "show an account's activity", "Show an account's activity: the latest 50 entries of 90 days."
    ).add_argument("--uin", required=True, help=uin_help)

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


# ----------------------------------------------------------------------------- output
# What a terminal would act on rather than show: C0 controls and DEL (ESC starts the sequences
# that clear the screen, recolour, retitle the window, or make the terminal type a reply into the
# shell), C1 controls (0x9B is a one-character CSI), and the bidi controls that make text read in
# another order than it is stored. Lone surrogates are not text and would stop print() with an error.
_C0_AND_DEL = [*range(0x00, 0x20), 0x7F]
_C1 = list(range(0x80, 0xA0))
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_SURROGATES = list(range(0xD800, 0xE000))
# Tabs and line breaks become a space, so that "a\nb" still reads as two words, on one line.
_SPACING = [ord(character) for character in "\t\n\v\f\r\x85"]
_TERMINAL_TEXT = (
    dict.fromkeys([*_C0_AND_DEL, *_C1, *_BIDI])
    | dict.fromkeys(_SPACING, " ")
    | dict.fromkeys(_SURROGATES, "\N{REPLACEMENT CHARACTER}")
)
# json.dumps already writes C0 controls as \u escapes; with ensure_ascii=False it writes these raw.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (0x7F, *_C1, *_BIDI, *_SURROGATES)}


def terminal_text(value: object) -> str:
    """`value` as text that a terminal shows as it is, and that cannot rearrange the line it is on."""
    return str(value).translate(_TERMINAL_TEXT)


def terminal_json(document: object) -> str:
    """The document as JSON that loads back equal to it, with nothing in it that a terminal acts on.

    Only string contents can hold those characters, and a \\u escape there means the same string,
    so nothing is lost; other non-ASCII text stays readable.
    """
    return json.dumps(document, indent=2, ensure_ascii=False).translate(_JSON_ESCAPES)


def _time(value: str | None) -> str:
    """2026-11-26T19:30:44.123Z -> 2026-11-26 19:30:44 (the tables say UTC in their headers)."""
    return "never" if value is None else value.replace("T", " ")[:19]


def _table(rows: Sequence[Sequence[object]], headers: list[str]) -> str:
    # Widths are measured on the text as shown, so that a stripped control cannot skew the columns.
    shown = [[terminal_text(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(cell) for cell in column) for column in zip(*shown, strict=True)]
    lines = [shown[0], ["-" * width for width in widths], *shown[1:]]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _key_rows(keys: list[dict[str, Any]]) -> str:
    rows = [
        [key["SecretId"], key["Status"], _time(key["CreateTime"]), _time(key.get("LastAccessTime")), key["Description"]]
        for key in keys
    ]
    return _table(rows, ["SecretId", "Status", "Created (UTC)", "Last Access (UTC)", "Description"])


def _key_details(key: dict[str, Any]) -> str:
    fields = [("SecretId", key["SecretId"])]
    if "SecretKey" in key:
        fields.append(("SecretKey", key["SecretKey"]))
    fields += [("Status", key["Status"]), ("Created (UTC)", _time(key["CreateTime"]))]
    if "LastAccessTime" in key:
        fields.append(("Last Access (UTC)", _time(key["LastAccessTime"])))
    fields.append(("Description", key["Description"]))
    width = max(len(name) for name, _ in fields)
    return "\n".join(f"{name.ljust(width)}  {terminal_text(value)}" for name, value in fields)


def _record_rows(records: list[dict[str, Any]]) -> str:
    if not records:
        return "No access records in the past 90 days."
    rows = [
        [
            _time(record["AccessTime"]),
            record.get("Service") or "-",
            record["Action"],
            record["Result"],
            record.get("ErrorCode") or "-",
            record.get("SourceIp") or "-",
            record.get("UserAgent") or "-",
        ]
        for record in records
    ]
    return _table(rows, ["Time (UTC)", "Service", "Action", "Result", "Error", "Source IP", "User Agent"])


def _failed_attempt_rows(attempts: list[dict[str, Any]]) -> str:
    if not attempts:
        return "No failed attempts in the past 90 days."
    rows = [
        [
            _time(attempt["FirstTime"]),
            _time(attempt["LastTime"]),
            attempt["Count"],
            attempt.get("SourceIp") or "-",
            attempt.get("ErrorCode") or "-",
            attempt.get("UserAgent") or "-",
        ]
        for attempt in attempts
    ]
    table = _table(rows, ["First (UTC)", "Last (UTC)", "Count", "Source IP", "Error code", "User agent"])
    return f"Failed attempts (not signed with this key's SecretKey), per source IP, code and hour:\n{table}"


def _access_records(document: dict[str, Any]) -> str:
    # A server from before FailedAttempts sends none; for it, none is what there is to show.
    failed_attempts = document.get("FailedAttempts") or []
    return f"{_record_rows(document['AccessRecords'])}\n\n{_failed_attempt_rows(failed_attempts)}"


# ------------------------------------------------------------------------ credentials
def _credentials(arguments: argparse.Namespace) -> tuple[str, str, str | None]:
    from access_keys_tools.profiles import load_profile, profiles_path

    profile_name = arguments.profile or os.environ.get("ACCESS_KEYS_PROFILE", "").strip() or None
    secret_id = os.environ.get("ACCESS_KEYS_SECRET_ID", "").strip()
    secret_key = os.environ.get("ACCESS_KEYS_SECRET_KEY", "").strip()
    if profile_name is None and (secret_id or secret_key):
        if not (secret_id and secret_key):
            raise UsageError("set both ACCESS_KEYS_SECRET_ID and ACCESS_KEYS_SECRET_KEY, or neither")
        return secret_id, secret_key, None
    profile = load_profile(profile_name or "default")
    if profile is None:
        if profile_name:
            raise UsageError(f"no profile {profile_name!r} in {profiles_path()}")
        raise UsageError(
            "no credentials: set ACCESS_KEYS_SECRET_ID and ACCESS_KEYS_SECRET_KEY, "
            "or save a profile with `access-keys configure`"
        )
    return profile.secret_id, profile.secret_key, profile.endpoint


def _client(arguments: argparse.Namespace) -> Any:
    from access_keys_tools.client import DEFAULT_ENDPOINT, AccessKeysClient

    secret_id, secret_key, profile_endpoint = _credentials(arguments)
    endpoint = (
        arguments.endpoint or os.environ.get("ACCESS_KEYS_ENDPOINT", "").strip() or profile_endpoint or DEFAULT_ENDPOINT
    )
    try:
        return AccessKeysClient(secret_id, secret_key, endpoint, user_agent="access-keys-cli")
    except ValueError as error:
        raise UsageError(str(error)) from None


def _save_profile(name: str, secret_id: str, secret_key: str, endpoint: str | None = None) -> None:
    from access_keys_tools.profiles import Profile, save_profile

    path = save_profile(Profile(name, secret_id, secret_key, endpoint))
    print(f"Saved as profile {name!r} in {path} (mode 0600).", file=sys.stderr)


# --------------------------------------------------------------------------- commands
def _print(arguments: argparse.Namespace, document: dict[str, Any], table: Callable[[dict[str, Any]], str]) -> None:
    print(terminal_json(document) if arguments.output == "json" else table(document))


def _create(arguments: argparse.Namespace) -> int:
    document = _client(arguments).create_access_key(arguments.description)
    key = document["AccessKey"]
    _print(arguments, document, lambda document: _key_details(document["AccessKey"]))
    print("Save the SecretKey now: it is shown this once and can never be shown again.", file=sys.stderr)
    if arguments.save_profile:
        _save_profile(arguments.save_profile, key["SecretId"], key["SecretKey"])
    return 0


def _delete(arguments: argparse.Namespace) -> int:
    if not arguments.yes:
        if not sys.stdin.isatty():
            raise UsageError("delete is final: add --yes to confirm it (there is no terminal to ask on)")
        # The question goes to stderr, like the other messages, so stdout holds only the result.
        print(f"Delete {arguments.secret_id}? This is final and cannot be undone. [y/N] ", end="", file=sys.stderr)
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if answer.strip().lower() not in ("y", "yes"):
            print("Not deleted.", file=sys.stderr)
            return EXIT_FAILED
    document = _client(arguments).delete_access_key(arguments.secret_id)
    _print(arguments, document, lambda _: f"Deleted {arguments.secret_id}.")
    return 0


def _configure(arguments: argparse.Namespace) -> int:
    from access_keys.signing import SECRET_ID_PATTERN

    name = arguments.profile or "default"
    interactive = sys.stdin.isatty()
    secret_id = (input("SecretId: ") if interactive else sys.stdin.readline()).strip()
    if not SECRET_ID_PATTERN.fullmatch(secret_id):
        raise UsageError("a SecretId is AKID followed by 32 letters and digits")
    secret_key = (getpass.getpass("SecretKey (not echoed): ") if interactive else sys.stdin.readline()).strip()
    if not secret_key:
        raise UsageError("no SecretKey given")
    _save_profile(name, secret_id, secret_key, arguments.endpoint)
    return 0


def _client_command(arguments: argparse.Namespace) -> int:
    client = _client(arguments)
    command = arguments.command
    if command == "list":
        _print(arguments, client.list_access_keys(), lambda document: _key_rows(document["AccessKeys"]))
    elif command == "get":
        _print(arguments, client.get_access_key(arguments.secret_id), lambda d: _key_details(d["AccessKey"]))
    elif command in ("disable", "enable"):
        status = "Inactive" if command == "disable" else "Active"
        document = client.update_access_key(arguments.secret_id, status)
        _print(arguments, document, lambda d: _key_details(d["AccessKey"]))
    elif command == "activity":
        _print(arguments, client.list_activity(), lambda d: _activity_rows(d["Activity"]))
    else:  # records
        document = client.list_access_records(arguments.secret_id)
        _print(arguments, document, _access_records)
    return 0


# ---------------------------------------------------------------------- operator commands
class _StandardError:
    """Whatever sys.stderr is when a line is written, so that stdout carries only the JSON result."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _activity_rows(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "No activity in the past 90 days."
    rows = [
        [
            _time(entry["Time"]),
            entry["Actor"],
            entry["Action"],
            entry.get("SecretId") or "-",
            entry["Result"],
            entry.get("ErrorCode") or "-",
            entry.get("SourceIp") or "-",
        ]
        for entry in entries
    ]
    return _table(rows, ["Time (UTC)", "Who", "Action", "SecretId", "Result", "Error", "Source IP"])


def _account_details(account: dict[str, Any]) -> str:
    return (
        f"Account {terminal_text(account['Uin'])}: sign-in created for {terminal_text(account['Email'])}.\n"
        f"Temporary password (shown once; the first sign-in replaces it): {account['TemporaryPassword']}\n"
        "Sign in to the console with the email and this password."
    )


def _admin(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> int:
    if arguments.local is not None:
        os.environ.update(names.service_environment(arguments.local.rstrip("/")))
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "access-keys")  # as the functions' logs say

    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
    from pynamodb.exceptions import PynamoDBException

    from access_keys.config import ConfigurationError
    from access_keys.dal.throttling import Throttled
    from access_keys.errors import InvalidParameter, InvalidParameterValue, ServiceError, refusal_of
    from access_keys.observability import logger
    from access_keys_tools import admin

    logger.registered_handler.setStream(_StandardError())
    try:
        if arguments.local is not None and arguments.admin_command in ("create-account", "remove-sign-in"):
            os.environ["ACCOUNTS_USER_POOL_ID"] = names.local_user_pool_id(arguments.local.rstrip("/"))
        return _run_admin(arguments, admin)
    except (InvalidParameter, InvalidParameterValue) as error:
        parser.error(error.message)
    except ConfigurationError as error:
        print(f"access-keys: {error}; set it as the deployed functions do, or use --local.", file=sys.stderr)
    except (ServiceError, Throttled) as raised:
        error = refusal_of(raised)
        print(terminal_text(f"access-keys: {error.code}: {error.message}"), file=sys.stderr)
    except (admin.AuditNotWritten, admin.ClockSkew, LookupError) as error:
        print(terminal_text(f"access-keys: {error}"), file=sys.stderr)
    except (BotoCoreError, ClientError, PynamoDBException) as error:
        if arguments.local is not None and _caused_by(error, EndpointConnectionError):
            print(
                f"access-keys: no local stack answers at {arguments.local}: start it with `make run`", file=sys.stderr
            )
        else:
            print(terminal_text(f"access-keys: the AWS call failed: {error}"), file=sys.stderr)
    return EXIT_FAILED


def _run_admin(arguments: argparse.Namespace, admin: Any) -> int:
    from access_keys import rest  # what the operator sees is what the REST routes answer
    from access_keys.domain import Status

    command = arguments.admin_command
    if command == "create-key":
        created = admin.create_key(arguments.uin, arguments.description)
        print(json.dumps({"AccessKey": rest.created_key_json(created)}, indent=2))
        if arguments.save_profile:
            _save_profile(arguments.save_profile, created.key.secret_id, created.secret_key)
    elif command == "create-account":
        _print(arguments, admin.create_account(arguments.uin, arguments.email).to_json(), _account_details)
    elif command == "remove-sign-in":
        email = admin.remove_sign_in(arguments.uin)
        _print(
            arguments,
            {"Uin": arguments.uin, "Email": email},
            lambda d: f"Removed the sign-in {terminal_text(d['Email'])} of account {terminal_text(d['Uin'])}.",
        )
    elif command == "list-keys":
        document = {"AccessKeys": [rest.key_json(key) for key in admin.list_keys(arguments.uin)]}
        _print(arguments, document, lambda d: _key_rows(d["AccessKeys"]))
    elif command in ("disable-key", "enable-key"):
        status = Status.INACTIVE if command == "disable-key" else Status.ACTIVE
        key = admin.set_key_status(arguments.secret_id, status)
        _print(arguments, {"AccessKey": rest.key_json(key)}, lambda d: _key_details(d["AccessKey"]))
    elif command == "delete-key":
        uin = admin.delete_key(arguments.secret_id)
        document = {"SecretId": arguments.secret_id, "Uin": uin}
        _print(arguments, document, lambda d: f"Deleted {d['SecretId']} of account {terminal_text(d['Uin'])}.")
    else:  # activity
        document = {"Activity": [rest.activity_json(entry) for entry in admin.list_activity(arguments.uin)]}
        _print(arguments, document, lambda d: _activity_rows(d["Activity"]))
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


# ------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    from access_keys_tools.client import ApiError, ClientError
    from access_keys_tools.profiles import ProfileError

    commands: dict[str, Callable[[], int]] = {
        "admin": lambda: _admin(parser, arguments),
        "events": lambda: _sign_event(parser, arguments),
        "create": lambda: _create(arguments),
        "delete": lambda: _delete(arguments),
        "configure": lambda: _configure(arguments),
    }
    try:
        return commands.get(arguments.command, lambda: _client_command(arguments))()
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"access-keys: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as error:
        request = f" (RequestId {error.request_id})" if error.request_id else ""
        print(terminal_text(f"access-keys: {error.code}: {error.message}{request}"), file=sys.stderr)
        return EXIT_FAILED
    except (ClientError, ProfileError) as error:
        # Not API text, but it quotes settings and OS errors verbatim: one rule for every line is easier to trust.
        print(terminal_text(f"access-keys: {error}"), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
