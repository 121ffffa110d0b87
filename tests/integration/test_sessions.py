"""Signed in as the account: the session routes, the account's activity, no lock-out, tenant
isolation across sessions, and the operators' audited commands (docs/api.md, section 11)."""

from __future__ import annotations

import json
import re
import time

import pytest
from harness import Api, Credentials, bootstrap_key, issued, scan_table
from secret_ledger import LEDGER
from sessions import SOURCE_IP, Session, accounts_pool, call, session_event, sign_in

from access_keys.config import settings
from access_keys.domain import Status
from access_keys.errors import AccessKeyActive, AccessKeyNotFound
from access_keys_tools import admin
from access_keys_tools.cli import main
from access_keys_tools.events import load_event

ALICE, BOB = "100000000001", "100000000002"


@pytest.fixture
def pool(aws: None) -> str:
    return accounts_pool()


@pytest.fixture
def alice_session(pool: str) -> Session:
    return sign_in(ALICE, "alice@example.com")


@pytest.fixture
def bob_session(pool: str) -> Session:
    return sign_in(BOB, "bob@example.com")


def activity(api: Api, session: Session) -> list[dict]:
    response = call(api, "ListActivity", session)
    assert response.status == 200
    return response.body["Activity"]


def records_table_items() -> list[dict]:
    return scan_table(settings().records_table_name)


# ------------------------------------------------------------------------- every route
def test_a_signed_in_owner_does_everything_through_the_session_routes(api: Api, alice_session: Session) -> None:
    created = call(api, "CreateAccessKey", alice_session, body={"Description": "made in the console"})
    assert created.status == 201
    key = created.body["AccessKey"]
    assert len(key["SecretKey"]) == 32  # shown this once
    secret_id = key["SecretId"]

    listed = call(api, "ListAccessKeys", alice_session)
    assert listed.status == 200
    assert [listed_key["SecretId"] for listed_key in listed.body["AccessKeys"]] == [secret_id]
    assert "SecretKey" not in listed.raw_body
    got = call(api, "GetAccessKey", alice_session, secret_id=secret_id)
    assert got.body["AccessKey"]["Status"] == "Active"
    assert "SecretKey" not in got.raw_body
    traces = call(api, "ListAccessRecords", alice_session, secret_id=secret_id)
    assert traces.body == {"AccessRecords": [], "FailedAttempts": [], "RequestId": traces.body["RequestId"]}

    disabled = call(api, "UpdateAccessKey", alice_session, secret_id=secret_id, body={"Status": "Inactive"})
    assert disabled.body["AccessKey"]["Status"] == "Inactive"
    assert call(api, "DeleteAccessKey", alice_session, secret_id=secret_id).status == 200
    assert call(api, "GetAccessKey", alice_session, secret_id=secret_id).error_code == "ResourceNotFound.AccessKey"

    *entries, account_made = activity(api, alice_session)
    # The changes, newest first; the reads are not there. The oldest is the operator's.
    assert [(entry["Action"], entry["SecretId"], entry["Result"]) for entry in entries] == [
        ("DeleteAccessKey", secret_id, "Success"),
        ("UpdateAccessKey", secret_id, "Success"),
        ("CreateAccessKey", secret_id, "Success"),
    ]
    assert {entry["Actor"] for entry in entries} == {"user:alice@example.com"}
    assert {entry["SourceIp"] for entry in entries} == {SOURCE_IP}
    assert (account_made["Action"], account_made["Actor"]) == ("CreateAccount", admin.operator())
    assert all(entry["RequestId"] and entry["Time"].endswith("Z") for entry in entries)
    # No key signed any of it: no access record, no failed attempt, nothing the stream would pass on.
    assert [item for item in records_table_items() if "Result" in item] == []


def test_a_session_change_that_fails_is_in_the_activity_with_its_code(api: Api, alice_session: Session) -> None:
    key = call(api, "CreateAccessKey", alice_session).body["AccessKey"]["SecretId"]

    refused = call(api, "DeleteAccessKey", alice_session, secret_id=key)
    bad = call(api, "UpdateAccessKey", alice_session, secret_id=key, body={"Status": "Paused"})

    assert refused.error_code == "OperationDenied.AccessKeyActive"
    assert bad.error_code == "InvalidParameterValue"
    latest = activity(api, alice_session)[:2]
    assert [(entry["Action"], entry["Result"], entry["ErrorCode"]) for entry in latest] == [
        ("UpdateAccessKey", "Failure", "InvalidParameterValue"),
        ("DeleteAccessKey", "Failure", "OperationDenied.AccessKeyActive"),
    ]


def test_the_signed_route_reads_the_same_activity_for_the_keys_account(api: Api, alice_session: Session) -> None:
    call(api, "CreateAccessKey", alice_session)
    owner = bootstrap_key(ALICE)

    signed = api.call("ListActivity/list", owner)

    assert signed.status == 200
    assert signed.body["Activity"] == activity(api, alice_session)
    assert [entry["Action"] for entry in signed.body["Activity"]] == ["CreateAccessKey", "CreateAccount"]


def test_the_stored_session_event_is_what_the_function_serves(api: Api, pool: str) -> None:
    event = load_event("ListAccessKeys/session")
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    bootstrap_key(claims["custom:uin"])

    response = api.invoke("ListAccessKeys", event)

    assert response.status == 200
    assert len(response.body["AccessKeys"]) == 1


# ------------------------------------------------------------------------ never locked out
def test_an_owner_whose_keys_are_both_disabled_signs_in_and_enables_one(api: Api, alice_session: Session) -> None:
    first = bootstrap_key(ALICE)
    second = api.call("CreateAccessKey/create", first).body["AccessKey"]
    for secret_id in (second["SecretId"], first.secret_id):
        assert api.call("UpdateAccessKey/disable", first, secret_id=secret_id).status == 200
    # Locked out as far as keys go: every signed request is refused now.
    assert api.call("ListAccessKeys/list", first).error_code == "AuthFailure.SecretIdNotFound"

    enabled = call(api, "UpdateAccessKey", alice_session, secret_id=first.secret_id, body={"Status": "Active"})

    assert enabled.body["AccessKey"]["Status"] == "Active"
    assert api.call("ListAccessKeys/list", first).status == 200


def test_a_leaked_key_cannot_keep_the_account_from_its_owner(api: Api, alice_session: Session) -> None:
    owners = bootstrap_key(ALICE)
    # The thief, with a copy of the owner's key, makes a key of their own and disables the owner's.
    stolen = api.call("CreateAccessKey/create", owners).body["AccessKey"]
    thief = Credentials.of(stolen)
    assert api.call("UpdateAccessKey/disable", thief, secret_id=owners.secret_id).status == 200

    # The owner signs in with password (and MFA), disables the thief's key and enables their own.
    call(api, "UpdateAccessKey", alice_session, secret_id=thief.secret_id, body={"Status": "Inactive"})
    call(api, "UpdateAccessKey", alice_session, secret_id=owners.secret_id, body={"Status": "Active"})

    assert api.call("ListAccessKeys/list", thief).error_code == "AuthFailure.SecretIdNotFound"
    assert api.call("ListAccessKeys/list", owners).status == 200
    # A request the thief signed before the owner's change cannot undo it when replayed later.
    signed_before = int(time.time()) - 5
    late = api.call(
        "UpdateAccessKey/enable", owners, secret_id=thief.secret_id, body={"Status": "Active"}, timestamp=signed_before
    )
    assert late.error_code == "AuthFailure.SignatureExpire"


# ------------------------------------------------------------------------ tenant isolation
@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("GetAccessKey", None),
        ("UpdateAccessKey", {"Status": "Inactive"}),
        ("DeleteAccessKey", None),
        ("ListAccessRecords", None),
    ],
)
def test_one_accounts_session_never_reaches_anothers_key(
    api: Api, alice_session: Session, bob_session: Session, operation: str, body: dict | None
) -> None:
    victim = call(api, "CreateAccessKey", alice_session).body["AccessKey"]["SecretId"]
    if operation == "DeleteAccessKey":
        call(api, "UpdateAccessKey", alice_session, secret_id=victim, body={"Status": "Inactive"})
    missing = "AKID" + "Z" * 32

    foreign = call(api, operation, bob_session, secret_id=victim, body=body)
    absent = call(api, operation, bob_session, secret_id=missing, body=body)

    assert foreign.status == absent.status == 404
    assert (
        foreign.body["Error"]
        == absent.body["Error"]
        == {
            "Code": "ResourceNotFound.AccessKey",
            "Message": AccessKeyNotFound().message,
        }
    )
    assert call(api, "GetAccessKey", alice_session, secret_id=victim).status == 200
    assert call(api, "ListAccessKeys", bob_session).body["AccessKeys"] == []
    assert [entry["Action"] for entry in activity(api, alice_session)] in (
        ["CreateAccessKey", "CreateAccount"],
        ["UpdateAccessKey", "CreateAccessKey", "CreateAccount"],
    )


# ------------------------------------------------------------------------ what is a session
@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(lambda session: session.access_claims, id="an access token (names no Uin)"),
        pytest.param(lambda session: {**session.id_claims, "token_use": "refresh"}, id="another token_use"),
        pytest.param(
            lambda session: {name: value for name, value in session.id_claims.items() if name != "custom:uin"},
            id="an ID token without a Uin",
        ),
        pytest.param(lambda session: {**session.id_claims, "custom:uin": "../100000000002"}, id="a Uin not valid"),
        pytest.param(lambda session: None, id="no authorizer on the route"),
    ],
)
def test_a_session_route_refuses_what_is_not_an_accounts_id_token(api: Api, alice_session: Session, claims) -> None:
    response = call(api, "CreateAccessKey", claims(alice_session))

    assert response.status == 401
    assert response.error_code == "AuthFailure.TokenFailure"
    assert call(api, "ListAccessKeys", alice_session).body["AccessKeys"] == []
    assert [entry["Action"] for entry in activity(api, alice_session)] == ["CreateAccount"]


def test_claims_on_a_signed_route_are_ignored(api: Api, alice_session: Session) -> None:
    # Only API Gateway sets requestContext; if a signed route ever received claims, they would not
    # stand in for the signature.
    event = session_event("ListAccessKeys", alice_session.id_claims)
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /v1/access-keys"
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/access-keys"

    response = api.invoke("ListAccessKeys", event)

    assert response.status == 401
    assert response.error_code == "AuthFailure.InvalidAuthorization"


# ------------------------------------------------------------------------ operators, audited
def test_create_account_makes_one_sign_in_per_uin_and_per_email(pool: str) -> None:
    created = admin.create_account(ALICE, "Alice@Example.com")

    assert created.email == "alice@example.com"
    assert created.uin == ALICE
    with pytest.raises(admin.AccountExists, match="has a sign-in already"):
        admin.create_account(ALICE, "other@example.com")
    with pytest.raises(admin.AccountExists, match="exists already"):
        admin.create_account(BOB, "alice@example.com")
    # The clash on the email released Bob's Uin: his account can still get a sign-in.
    assert admin.create_account(BOB, "bob@example.com").uin == BOB


def test_every_operator_action_is_in_the_accounts_activity(api: Api, alice_session: Session) -> None:
    key = issued(admin.create_key(ALICE, "for automation")).secret_id
    assert [listed.secret_id for listed in admin.list_keys(ALICE)] == [key]
    assert admin.set_key_status(key, Status.INACTIVE).status is Status.INACTIVE
    assert admin.set_key_status(key, Status.ACTIVE).status is Status.ACTIVE
    with pytest.raises(AccessKeyActive):
        admin.delete_key(key)
    admin.set_key_status(key, Status.INACTIVE)
    assert admin.delete_key(key) == ALICE

    entries = activity(api, alice_session)
    operator = admin.operator()
    assert operator.startswith("operator:arn:aws:")
    assert [(entry["Action"], entry["Result"]) for entry in entries] == [
        ("DeleteAccessKey", "Success"),
        ("UpdateAccessKey", "Success"),
        ("DeleteAccessKey", "Failure"),
        ("UpdateAccessKey", "Success"),
        ("UpdateAccessKey", "Success"),
        ("ListAccessKeys", "Success"),
        ("CreateAccessKey", "Success"),
        ("CreateAccount", "Success"),
    ]
    assert {entry["Actor"] for entry in entries} == {operator}
    assert [entry["SecretId"] for entry in entries] == [key] * 5 + [None, key, None]
    assert entries[2]["ErrorCode"] == "OperationDenied.AccessKeyActive"


def test_an_operator_disable_refuses_the_very_next_request(api: Api, pool: str) -> None:
    leaked = bootstrap_key(ALICE)
    assert api.call("ListAccessKeys/list", leaked).status == 200

    admin.set_key_status(leaked.secret_id, Status.INACTIVE)

    assert api.call("ListAccessKeys/list", leaked).error_code == "AuthFailure.SecretIdNotFound"


def test_the_admin_commands_print_and_audit(pool: str, capsys, monkeypatch) -> None:
    monkeypatch.setattr("access_keys.observability.logger.registered_handler.stream", None, raising=False)
    assert main(["admin", "create-account", "--uin", ALICE, "--email", "alice@example.com", "--output", "json"]) == 0
    account = json.loads(capsys.readouterr().out)
    assert set(account) == {"Uin", "Email", "TemporaryPassword", "UserPoolId"}
    assert main(["admin", "create-key", "--uin", ALICE]) == 0
    printed = capsys.readouterr().out
    LEDGER.saw_response(printed)  # the pair it printed, for the secret scan
    secret_id = json.loads(printed)["AccessKey"]["SecretId"]

    assert main(["admin", "disable-key", secret_id]) == 0
    shown = capsys.readouterr()
    assert "Inactive" in shown.out
    assert '"operator action"' in shown.err  # the log line, on stderr
    assert main(["admin", "activity", "--uin", ALICE]) == 0
    table = capsys.readouterr().out
    headers = ["Time", "(UTC)", "Who", "Action", "SecretId", "Result", "Error", "Source", "IP"]
    assert table.splitlines()[0].split() == headers
    assert "UpdateAccessKey" in table
    assert main(["admin", "disable-key", "AKID" + "Q" * 32]) == 1
    assert "ResourceNotFound.AccessKey" in capsys.readouterr().err
    assert main(["admin", "create-account", "--uin", ALICE, "--email", "x@example.com"]) == 1
    assert "OperationDenied.AccountExists" in capsys.readouterr().err


def test_a_throttled_operator_command_says_so_and_its_activity_shows_it(pool: str, capsys, aws_calls) -> None:
    key = issued(admin.create_key(ALICE, "to disable")).secret_id
    aws_calls.fail_next("dynamodb:UpdateItem", code="ProvisionedThroughputExceededException", status=400, times=20)

    exit_code = main(["admin", "disable-key", key])
    shown = capsys.readouterr()

    assert exit_code == 1
    assert "access-keys: RequestLimitExceeded: " in shown.err
    assert "Traceback" not in shown.err
    latest = admin.list_activity(ALICE)[0]
    assert (latest.action, latest.secret_id, latest.error_code) == ("UpdateAccessKey", key, "RequestLimitExceeded")


def test_an_owner_locked_out_of_the_sign_in_gets_a_new_one_and_keeps_the_keys(api: Api, alice_session: Session) -> None:
    key = call(api, "CreateAccessKey", alice_session).body["AccessKey"]["SecretId"]

    assert admin.remove_sign_in(ALICE) == "alice@example.com"
    with pytest.raises(admin.AccountNotFound):
        admin.remove_sign_in(ALICE)
    again = sign_in(ALICE, "alice@example.com")  # a new user, a new temporary password, a new TOTP

    assert [listed["SecretId"] for listed in call(api, "ListAccessKeys", again).body["AccessKeys"]] == [key]
    latest = [(entry["Action"], entry["Result"]) for entry in activity(api, again)][:4]
    assert latest == [
        ("CreateAccount", "Success"),
        ("RemoveSignIn", "Failure"),
        ("RemoveSignIn", "Success"),
        ("CreateAccessKey", "Success"),
    ]


@pytest.mark.parametrize("skew", [-60, -8, 8, 3600])
def test_an_operator_whose_clock_is_off_changes_nothing(skew: int) -> None:
    aws_date = "Tue, 01 Dec 2026 12:00:00 GMT"
    with pytest.raises(admin.ClockSkew, match=re.escape(f"{skew:+d} s off")):
        admin._check_clock(aws_date, now=1_796_126_400 + skew)


@pytest.mark.parametrize("skew", [-5, 0, 5])
def test_an_operator_clock_within_seconds_of_aws_is_fine(skew: int) -> None:
    admin._check_clock("Tue, 01 Dec 2026 12:00:00 GMT", now=1_796_126_400 + skew)
    admin._check_clock(None)
    admin._check_clock("not a date")
