"""A disable holds from the very next request, on every route; an enable restores the key."""

from harness import Api, Credentials, second_credentials

ROUTES = [
    ("CreateAccessKey/create", {}),
    ("ListAccessKeys/list", {}),
    ("GetAccessKey/get", {"secret_id": "self"}),
    ("UpdateAccessKey/enable", {"secret_id": "self"}),
    ("DeleteAccessKey/delete", {"secret_id": "self"}),
    ("ListAccessRecords/list", {"secret_id": "self"}),
]


def test_no_request_signed_with_a_disabled_key_is_accepted(api: Api, alice: Credentials):
    # Given a second key that has just worked
    second = second_credentials(api, alice)
    assert api.call("ListAccessKeys/list", second).status == 200

    # When alice disables it
    assert api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id).status == 200

    # Then the very next request, and every route after it, is refused
    responses = [
        api.call(name, second, **{key: second.secret_id for key in options}, body=None) for name, options in ROUTES
    ]
    accepted = [response for response in responses if response.status < 400]
    assert accepted == []
    assert {response.error_code for response in responses} == {"AuthFailure.SecretIdNotFound"}


def test_a_key_can_disable_itself_and_is_refused_at_once(api: Api, alice: Credentials):
    second = second_credentials(api, alice)

    assert api.call("UpdateAccessKey/disable", second, secret_id=second.secret_id).status == 200

    assert api.call("ListAccessKeys/list", second).error_code == "AuthFailure.SecretIdNotFound"
    assert api.call("GetAccessKey/get", alice, secret_id=second.secret_id).body["AccessKey"]["Status"] == "Inactive"


def test_a_warm_verifier_sees_the_disable_despite_its_cached_secret(api: Api, alice: Credentials, aws_calls):
    second = second_credentials(api, alice)
    api.call("ListAccessKeys/list", second)  # decrypts and caches second's SecretKey
    api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id)
    aws_calls.reset()

    refused = api.call("ListAccessKeys/list", second)

    assert refused.error_code == "AuthFailure.SecretIdNotFound"
    assert aws_calls.count("dynamodb:GetItem") == 1  # the status is read, not cached


def test_an_enabled_key_works_again(api: Api, alice: Credentials):
    second = second_credentials(api, alice)
    api.call("UpdateAccessKey/disable", alice, secret_id=second.secret_id)

    assert api.call("UpdateAccessKey/enable", alice, secret_id=second.secret_id).status == 200

    assert api.call("ListAccessKeys/list", second).status == 200
