"""A warm verification costs one consistent read and one write, and no KMS call."""

from harness import Api, Credentials

from access_keys import key_material


def test_a_warm_request_makes_one_get_one_put_and_no_kms_call(api: Api, alice: Credentials, aws_calls):
    # Given a function that has served this key once (its SecretKey decrypted and cached)
    api.call("GetAccessKey/get", alice, secret_id=alice.secret_id)
    aws_calls.reset()

    # When the same key signs the next request
    response = api.call("GetAccessKey/get", alice, secret_id=alice.secret_id)

    # Then it is served with exactly one GetItem (the key, consistently), one PutItem (the record)
    assert response.status == 200
    assert sorted(aws_calls.calls) == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert aws_calls.count("kms:Decrypt") == 0


def test_a_cold_request_decrypts_the_secret_once(api: Api, alice: Credentials, aws_calls):
    key_material.forget_all()

    api.call("GetAccessKey/get", alice, secret_id=alice.secret_id)
    api.call("GetAccessKey/get", alice, secret_id=alice.secret_id)

    assert aws_calls.count("kms:Decrypt") == 1
    assert aws_calls.count("dynamodb:GetItem") == 2
