"""The local stack's Cognito (access_keys_tools.local.cognito) against pycognito's AWSSRP.

pycognito is an independent client of Cognito's USER_SRP_AUTH, known to work against the real
service; on moto unpatched it "signs in" with any password. Codes come from cryptography's TOTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from moto import mock_aws
from pycognito import aws_srp
from pycognito.aws_srp import AWSSRP
from pycognito.exceptions import SoftwareTokenMFAChallengeException

from access_keys_tools.local import cognito

# pycognito stamps its claims with datetime.utcnow().
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")

EMAIL = "owner@example.com"
TEMPORARY_PASSWORD = "Temporary-Passw0rd!"
NEW_PASSWORD = "Chosen-Passw0rd-2026!"
UIN = "100042"


@dataclass(frozen=True)
class Pool:
    idp: Any  # boto3's cognito-idp client
    pool_id: str
    client_id: str

    def srp(self, email: str = EMAIL, password: str = TEMPORARY_PASSWORD) -> AWSSRP:
        return AWSSRP(email, password, self.pool_id, self.client_id, client=self.idp)

    def respond(self, challenge: str, session: str | None = None, **answers: str) -> dict[str, Any]:
        return self.idp.respond_to_auth_challenge(
            ClientId=self.client_id,
            ChallengeName=challenge,
            ChallengeResponses=answers,
            **({"Session": session} if session else {}),
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self.idp.initiate_auth(
            ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
        )["AuthenticationResult"]


@dataclass(frozen=True)
class SignedIn:
    tokens: dict[str, Any]
    username: str  # moto's, the user's sub
    totp_secret: str


@pytest.fixture
def pool() -> Iterator[Pool]:
    """A pool as template.yaml's: email usernames, TOTP MFA on, an immutable custom:uin, an owner."""
    cognito.install()
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = idp.create_user_pool(
            PoolName="accounts",
            UsernameAttributes=["email"],
            MfaConfiguration="ON",
            Schema=[
                {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True},
                {"Name": "uin", "AttributeDataType": "String", "Mutable": False},
            ],
        )["UserPool"]["Id"]
        idp.set_user_pool_mfa_config(
            UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
        )
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="console",
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            IdTokenValidity=15,
            AccessTokenValidity=20,
            RefreshTokenValidity=12,
            TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=EMAIL,
            TemporaryPassword=TEMPORARY_PASSWORD,
            UserAttributes=[{"Name": "custom:uin", "Value": UIN}],
            MessageAction="SUPPRESS",
        )
        yield Pool(idp, pool_id, client_id)


def totp(secret: str, steps_ahead: int = 0) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    generator = TOTP(key, 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303 - RFC 6238 is HMAC-SHA1
    return generator.generate(time.time() + 30 * steps_ahead).decode()


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def first_sign_in(pool: Pool) -> SignedIn:
    """Temporary password, a new one, then TOTP set up: the owner's first visit to the console."""
    new_password = pool.srp().set_new_password_challenge(NEW_PASSWORD)
    assert new_password["ChallengeName"] == "MFA_SETUP"
    username = pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=EMAIL)["Username"]
    association = pool.idp.associate_software_token(Session=new_password["Session"])
    verified = pool.idp.verify_software_token(Session=association["Session"], UserCode=totp(association["SecretCode"]))
    assert verified["Status"] == "SUCCESS"
    signed_in = pool.respond("MFA_SETUP", verified["Session"], USERNAME=username)
    return SignedIn(signed_in["AuthenticationResult"], username, association["SecretCode"])


def test_the_srp_math_is_pycognitos() -> None:
    client = AWSSRP("someone", "a password", "us-east-1_pool", "client", client=object())
    salt, b = 0x8F00_1234, 0x1234_5678_9ABC_DEF0
    assert client.big_n == cognito.N
    assert client.val_g == cognito.G
    assert client.val_k == cognito.K
    for value in (0, 0x7F, 0x80, 0x100, salt, client.big_n - 1):
        assert cognito.pad(value).hex() == aws_srp.pad_hex(value).lower()

    big_b, key = cognito.srp_server_step(
        pool_name="pool", user_id="someone", password="a password", salt=salt, big_a=client.large_a_value, b=b
    )

    assert key == client.get_password_authentication_key("someone", "a password", big_b, aws_srp.pad_hex(salt))
    secret_block = base64.b64encode(b"a secret block").decode()
    answer = client.process_challenge(
        {
            "USER_ID_FOR_SRP": "someone",
            "SALT": aws_srp.pad_hex(salt),
            "SRP_B": f"{big_b:x}",
            "SECRET_BLOCK": secret_block,
        },
        {"USERNAME": "someone"},
    )
    assert answer["PASSWORD_CLAIM_SIGNATURE"] == cognito.password_claim_signature(
        key, "pool", "someone", b"a secret block", answer["TIMESTAMP"]
    )


def test_the_first_sign_in_sets_a_password_and_totp_and_gets_tokens_with_the_uin(pool: Pool) -> None:
    cognito.install()  # a second time changes nothing

    signed_in = first_sign_in(pool)

    id_token = claims(signed_in.tokens["IdToken"])
    assert id_token["custom:uin"] == UIN
    assert id_token["email"] == EMAIL
    assert id_token["exp"] - id_token["iat"] == 15 * 60
    access_token = claims(signed_in.tokens["AccessToken"])
    assert access_token["exp"] - access_token["iat"] == signed_in.tokens["ExpiresIn"] == 20 * 60
    assert pool.idp.get_user(AccessToken=signed_in.tokens["AccessToken"])["Username"] == signed_in.username


def test_a_second_sign_in_asks_for_a_fresh_totp_code(pool: Pool) -> None:
    signed_in = first_sign_in(pool)

    with pytest.raises(SoftwareTokenMFAChallengeException) as challenge:
        pool.srp(password=NEW_PASSWORD).authenticate_user()
    session = challenge.value.get_tokens()["Session"]

    code_used_at_set_up = totp(signed_in.totp_secret)
    for code in (another_code(code_used_at_set_up), code_used_at_set_up):
        refused = error_of(
            lambda c=code: pool.respond(
                "SOFTWARE_TOKEN_MFA", session, USERNAME=signed_in.username, SOFTWARE_TOKEN_MFA_CODE=c
            )
        )
        assert refused == ("CodeMismatchException", "Invalid code received for user")
    tokens = pool.respond(
        "SOFTWARE_TOKEN_MFA",
        session,
        USERNAME=signed_in.username,
        SOFTWARE_TOKEN_MFA_CODE=totp(signed_in.totp_secret, 1),
    )["AuthenticationResult"]
    assert claims(tokens["IdToken"])["custom:uin"] == UIN
    assert claims(tokens["IdToken"])["email"] == EMAIL


def test_a_wrong_totp_code_does_not_set_up_mfa(pool: Pool) -> None:
    new_password = pool.srp().set_new_password_challenge(NEW_PASSWORD)
    association = pool.idp.associate_software_token(Session=new_password["Session"])

    refused = error_of(
        lambda: pool.idp.verify_software_token(
            Session=association["Session"], UserCode=another_code(totp(association["SecretCode"]))
        )
    )

    assert refused[0] == "EnableSoftwareTokenMFAException"
    username = pool.idp.admin_get_user(UserPoolId=pool.pool_id, Username=EMAIL)["Username"]
    assert error_of(lambda: pool.respond("MFA_SETUP", association["Session"], USERNAME=username))[0] == (
        "NotAuthorizedException"
    )


def test_each_user_gets_a_secret_of_their_own(pool: Pool) -> None:
    new_password = pool.srp().set_new_password_challenge(NEW_PASSWORD)
    first = pool.idp.associate_software_token(Session=new_password["Session"])["SecretCode"]
    second = pool.idp.associate_software_token(Session=new_password["Session"])["SecretCode"]

    assert first != second
    assert len(base64.b32decode(first)) == 20


@pytest.mark.parametrize(
    ("email", "password"), [(EMAIL, "Not-the-passw0rd!"), ("nobody@example.com", TEMPORARY_PASSWORD)]
)
def test_a_wrong_password_or_an_unknown_user_is_refused_alike(pool: Pool, email: str, password: str) -> None:
    refused = error_of(pool.srp(email, password).authenticate_user)

    assert refused == ("NotAuthorizedException", "Incorrect username or password.")


def test_a_claim_is_refused_when_stale_replayed_or_from_a_zero_a(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    srp = pool.srp()
    challenge = pool.idp.initiate_auth(
        ClientId=pool.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params()
    )
    answer = srp.process_challenge(challenge["ChallengeParameters"], srp.get_auth_params())
    assert "Session" not in challenge  # moto's, which would skip the claim
    assert binascii.a2b_base64(challenge["ChallengeParameters"]["SECRET_BLOCK"])

    assert pool.respond("PASSWORD_VERIFIER", **answer)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert error_of(lambda: pool.respond("PASSWORD_VERIFIER", **answer))[0] == "NotAuthorizedException"

    formatted = AWSSRP.get_cognito_formatted_timestamp
    six_minutes_slow = staticmethod(lambda now: formatted(now - timedelta(minutes=6)))
    monkeypatch.setattr(AWSSRP, "get_cognito_formatted_timestamp", six_minutes_slow)
    assert error_of(pool.srp().authenticate_user)[0] == "NotAuthorizedException"

    zero_a = {"USERNAME": EMAIL, "SRP_A": f"{cognito.N * 2:x}"}
    refused = error_of(
        lambda: pool.idp.initiate_auth(ClientId=pool.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=zero_a)
    )
    assert refused == ("NotAuthorizedException", "Incorrect username or password.")


def test_a_session_acts_for_its_own_user_only(pool: Pool) -> None:
    pool.idp.admin_create_user(
        UserPoolId=pool.pool_id,
        Username="other@example.com",
        TemporaryPassword=TEMPORARY_PASSWORD,
        MessageAction="SUPPRESS",
    )
    srp = pool.srp()
    challenge = pool.idp.initiate_auth(
        ClientId=pool.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params()
    )
    answer = srp.process_challenge(challenge["ChallengeParameters"], srp.get_auth_params())
    session = pool.respond("PASSWORD_VERIFIER", **answer)["Session"]

    refused = error_of(
        lambda: pool.respond("NEW_PASSWORD_REQUIRED", session, USERNAME="other@example.com", NEW_PASSWORD=NEW_PASSWORD)
    )

    assert refused[0] == "NotAuthorizedException"


def test_a_refresh_token_works_until_revoked(pool: Pool) -> None:
    signed_in = first_sign_in(pool)
    refresh_token = signed_in.tokens["RefreshToken"]

    refreshed = pool.refresh(refresh_token)
    assert claims(refreshed["IdToken"])["custom:uin"] == UIN
    assert refreshed["ExpiresIn"] == 20 * 60

    pool.idp.revoke_token(ClientId=pool.client_id, Token=refresh_token)

    assert error_of(lambda: pool.refresh(refresh_token))[0] == "NotAuthorizedException"
    for access_token in (signed_in.tokens["AccessToken"], refreshed["AccessToken"]):
        assert error_of(lambda t=access_token: pool.idp.get_user(AccessToken=t))[0] == "NotAuthorizedException"


def test_a_refresh_token_expires_after_the_clients_refresh_token_validity(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_token = first_sign_in(pool).tokens["RefreshToken"]
    now = time.time()

    monkeypatch.setattr(time, "time", lambda: now + 12 * 3600 - 60)
    assert pool.refresh(refresh_token)["IdToken"]
    monkeypatch.setattr(time, "time", lambda: now + 12 * 3600 + 60)
    assert error_of(lambda: pool.refresh(refresh_token)) == ("NotAuthorizedException", "Refresh Token has expired")
