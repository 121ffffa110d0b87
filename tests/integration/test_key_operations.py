"""Each route's success path, as a caller sees it."""

import re

from harness import Credentials

SECRET_ID = re.compile(r"AKID[A-Za-z0-9]{32}")
SECRET_KEY = re.compile(r"[A-Za-z0-9]{32}")
RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def test_create_returns_the_new_pair_once_with_its_fields(api, alice):
    response = api.call("CreateAccessKey/create", alice, body={"Description": "ci deploy"})

    assert response.status == 201
    key = response.body["AccessKey"]
    assert SECRET_ID.fullmatch(key["SecretId"])
    assert SECRET_KEY.fullmatch(key["SecretKey"])
    assert key["Status"] == "Active"
    assert RFC3339_MS.fullmatch(key["CreateTime"])
    assert key["Description"] == "ci deploy"
    assert response.headers["X-Request-Id"] == response.body["RequestId"]


def test_a_created_key_signs_requests_and_is_listed_at_once_oldest_first(api, alice):
    created = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    second = Credentials.of(created)

    listed = api.call("ListAccessKeys/list", second)

    assert listed.status == 200
    assert listed.body["TotalCount"] == 2
    assert [key["SecretId"] for key in listed.body["AccessKeys"]] == [alice.secret_id, second.secret_id]
    assert listed.body["AccessKeys"][1] == {
        "SecretId": second.secret_id,
        "Status": "Active",
        "CreateTime": created["CreateTime"],
        "Description": "",
        "LastAccessTime": None,
    }


def test_get_shows_a_key_without_its_secret(api, alice):
    response = api.call("GetAccessKey/get", alice, secret_id=alice.secret_id)

    assert response.status == 200
    assert response.body["AccessKey"]["SecretId"] == alice.secret_id
    assert response.body["AccessKey"]["Description"] == "alice bootstrap"
    assert response.body["AccessKey"]["LastAccessTime"] is None
    assert "SecretKey" not in response.body["AccessKey"]


def test_get_reads_another_key_of_the_same_account(api, alice):
    other = api.call("CreateAccessKey/create", alice, body={"Description": "second"}).body["AccessKey"]

    response = api.call("GetAccessKey/get", alice, secret_id=other["SecretId"])

    assert response.status == 200
    assert response.body["AccessKey"]["Description"] == "second"


def test_disable_then_enable_round_trips_the_status(api, alice):
    other = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]["SecretId"]

    disabled = api.call("UpdateAccessKey/disable", alice, secret_id=other)
    enabled = api.call("UpdateAccessKey/enable", alice, secret_id=other)

    assert (disabled.status, disabled.body["AccessKey"]["Status"]) == (200, "Inactive")
    assert (enabled.status, enabled.body["AccessKey"]["Status"]) == (200, "Active")
    assert api.call("GetAccessKey/get", alice, secret_id=other).body["AccessKey"]["Status"] == "Active"


def test_delete_is_final_and_frees_a_quota_slot(api, alice):
    doomed = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    doomed_credentials = Credentials.of(doomed)
    assert api.call("CreateAccessKey/create", alice, body={}).status == 409
    api.call("UpdateAccessKey/disable", alice, secret_id=doomed["SecretId"])

    deleted = api.call("DeleteAccessKey/delete", alice, secret_id=doomed["SecretId"])

    assert deleted.status == 200
    assert set(deleted.body) == {"RequestId"}
    assert api.call("GetAccessKey/get", alice, secret_id=doomed["SecretId"]).status == 404
    assert api.call("ListAccessKeys/list", alice).body["TotalCount"] == 1
    # Re-enabling a deleted key is impossible, and the pair never verifies again.
    assert api.call("UpdateAccessKey/enable", alice, secret_id=doomed["SecretId"]).status == 404
    assert api.call("ListAccessKeys/list", doomed_credentials).error_code == "AuthFailure.SecretIdNotFound"
    assert api.call("CreateAccessKey/create", alice, body={}).status == 201


def test_an_account_with_no_keys_left_lists_nothing(api, alice):
    second = api.call("CreateAccessKey/create", alice, body={}).body["AccessKey"]
    second_credentials = Credentials.of(second)
    api.call("UpdateAccessKey/disable", second_credentials, secret_id=alice.secret_id)
    api.call("DeleteAccessKey/delete", second_credentials, secret_id=alice.secret_id)

    listed = api.call("ListAccessKeys/list", second_credentials)

    assert [key["SecretId"] for key in listed.body["AccessKeys"]] == [second["SecretId"]]
    assert listed.body["TotalCount"] == 1
