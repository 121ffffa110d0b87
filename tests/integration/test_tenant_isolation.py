"""Every route that names a key answers another account exactly as it answers a missing key."""

import pytest
from harness import Api, Credentials

ROUTES_NAMING_A_KEY = [
    "GetAccessKey/get",
    "UpdateAccessKey/disable",
    "UpdateAccessKey/enable",
    "DeleteAccessKey/delete",
    "ListAccessRecords/list",
]
MISSING = "AKID" + "9" * 32


def _without_request_id(response):
    return {key: value for key, value in response.body.items() if key != "RequestId"}


@pytest.mark.parametrize("event_name", ROUTES_NAMING_A_KEY)
@pytest.mark.parametrize("victim_status", ["Active", "Inactive"])
def test_another_accounts_key_is_indistinguishable_from_a_missing_one(
    api: Api, alice: Credentials, bob: Credentials, event_name, victim_status
):
    # Given one of alice's keys, in either status (an Inactive one could otherwise be deleted)
    victim = api.call("CreateAccessKey/create", alice, body={"Description": "victim"}).body["AccessKey"]["SecretId"]
    if victim_status == "Inactive":
        api.call("UpdateAccessKey/disable", alice, secret_id=victim)

    # When bob names it, and names a key that does not exist
    foreign = api.call(event_name, bob, secret_id=victim)
    missing = api.call(event_name, bob, secret_id=MISSING)

    # Then both answers are the same 404, and alice's key is untouched
    assert foreign.status == missing.status == 404
    assert _without_request_id(foreign) == _without_request_id(missing)
    assert foreign.error_code == "ResourceNotFound.AccessKey"
    after = api.call("GetAccessKey/get", alice, secret_id=victim)
    assert after.status == 200
    assert after.body["AccessKey"]["Status"] == victim_status
    assert after.body["AccessKey"]["Description"] == "victim"


def test_each_account_lists_only_its_own_keys(api: Api, alice: Credentials, bob: Credentials):
    api.call("CreateAccessKey/create", alice, body={})

    alices = {key["SecretId"] for key in api.call("ListAccessKeys/list", alice).body["AccessKeys"]}
    bobs = {key["SecretId"] for key in api.call("ListAccessKeys/list", bob).body["AccessKeys"]}

    assert len(alices) == 2
    assert bobs == {bob.secret_id}


def test_bobs_records_of_alices_key_are_not_readable_and_bob_creates_in_his_own_account(
    api: Api, alice: Credentials, bob: Credentials
):
    created = api.call("CreateAccessKey/create", bob, body={}).body["AccessKey"]["SecretId"]

    assert api.call("GetAccessKey/get", alice, secret_id=created).status == 404
    assert api.call("GetAccessKey/get", bob, secret_id=created).status == 200
    assert api.call("ListAccessKeys/list", alice).body["TotalCount"] == 1
