"""The SecretKey leaves the service once, in the create response, and is stored only encrypted."""

import base64
import json

from harness import Api, Credentials, scan_table

from access_keys.config import settings


def test_the_secret_appears_only_in_the_create_response(api: Api, alice: Credentials, capsys, caplog):
    # Given a key created through the API and then used on every route
    created = api.call("CreateAccessKey/create", alice, body={"Description": "ci"})
    second = Credentials.of(created.body["AccessKey"])
    api.call("ListAccessKeys/list", second)
    api.call("GetAccessKey/get", second, secret_id=second.secret_id)
    api.call("ListAccessRecords/list", second, secret_id=second.secret_id)
    api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id)
    api.call("ListAccessKeys/list", second)  # refused: disabled
    api.call("UpdateAccessKey/enable", alice, secret_id=second.secret_id)
    api.call("ListAccessKeys/list", Credentials.forged(second.secret_id))  # refused: wrong secret
    api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id)
    api.call("DeleteAccessKey/delete", alice, secret_id=second.secret_id)

    # Then, of all responses, only the create response holds either SecretKey
    secrets = {alice.secret_key: "alice", second.secret_key: "second"}
    leaking = [
        index for index, response in enumerate(api.responses) if any(s in _everything(response) for s in secrets)
    ]
    assert leaking == [0]
    assert len(api.responses) == 10

    # And no table item holds one in plain text, in any encoding
    items = scan_table(settings().keys_table_name) + scan_table(settings().records_table_name)
    assert items
    stored = json.dumps(items, default=_bytes_as_text)
    for secret in secrets:
        for encoded in (secret, base64.b64encode(secret.encode()).decode(), secret.encode().hex()):
            assert encoded not in stored

    # And no log line or metric carries one
    output = capsys.readouterr()
    logs = output.out + output.err + caplog.text
    assert logs
    for secret in secrets:
        assert secret not in logs


def test_the_stored_secret_is_bound_to_its_key_and_owner(api: Api, alice: Credentials):
    # A ciphertext copied onto another key item no longer decrypts: the request is refused, not served.
    from access_keys.dal.models import KeyItem, bind_tables

    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    bind_tables()
    original = KeyItem.get(alice.secret_id, consistent_read=True)
    copy_target = KeyItem.get(created["SecretId"], consistent_read=True)
    copy_target.update(actions=[KeyItem.encrypted_secret.set(original.encrypted_secret)])

    response = api.call("ListAccessKeys/list", Credentials(created["SecretId"], alice.secret_key))

    assert response.status == 500
    assert response.error_code == "InternalError"


def _everything(response) -> str:
    return json.dumps({"headers": response.headers, "body": response.raw_body})


def _bytes_as_text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)
