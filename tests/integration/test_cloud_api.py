"""`POST /`: Tencent Cloud API 3.0 for CAM's access-key actions, through its handler.

tests/local/test_tencent_sdk.py calls the same route with Tencent's own SDK over HTTP; these
tests pin down each rule in-process: envelopes, codes, formats, TargetUin, GetSecurityLastUsed,
and the access record every call leaves.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from harness import Api, AwsCalls, Credentials, Response, StreamPump, bootstrap_key, second_key

from access_keys import cloud_api
from access_keys_tools.events import http_event, sign_event

ACTIONS = {
    "CreateAccessKey": "TencentCloudApi/create-access-key",
    "ListAccessKeys": "TencentCloudApi/list-access-keys",
    "UpdateAccessKey": "TencentCloudApi/update-access-key",
    "DeleteAccessKey": "TencentCloudApi/delete-access-key",
    "GetSecurityLastUsed": "TencentCloudApi/get-security-last-used",
}
CAM_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
UNKNOWN_ID = "AKID" + "Q" * 32


def call(
    api: Api,
    credentials: Credentials,
    action: str,
    params: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    event: str | None = None,
    timestamp: int | None = None,
) -> Response:
    """One Tencent Cloud API call: the stored event of the action (or of `event`), with `params`,
    signed now (or at `timestamp`)."""
    name = event or ACTIONS.get(action, ACTIONS["ListAccessKeys"])
    unsigned = http_event(
        name, body=params if params is not None else {}, headers={"x-tc-action": action, **(headers or {})}
    )
    signed = sign_event(
        unsigned, secret_id=credentials.secret_id, secret_key=credentials.secret_key, timestamp=timestamp
    )
    return api.invoke("TencentCloudApi", signed)


def response_of(response: Response) -> dict[str, Any]:
    """The `Response` object, after checking what Tencent's SDK needs to read it at all."""
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.body) == {"Response"}
    return response.body["Response"]


def error_of(response: Response) -> tuple[str, str]:
    document = response_of(response)
    assert set(document) == {"Error", "RequestId"}
    return document["Error"]["Code"], document["Error"]["Message"]


def records_of(api: Api, credentials: Credentials) -> list[dict[str, Any]]:
    response = api.call("ListAccessRecords/list", credentials, secret_id=credentials.secret_id)
    return response.body["AccessRecords"]


def test_create_returns_cams_access_key_with_the_secret_once(api: Api, alice: Credentials) -> None:
    created = response_of(call(api, alice, "CreateAccessKey", {"Description": "from the SDK"}))
    listed = response_of(call(api, alice, "ListAccessKeys"))

    key = created["AccessKey"]
    assert set(key) == {"AccessKeyId", "SecretAccessKey", "Status", "CreateTime", "Description"}
    assert re.fullmatch(r"AKID[A-Za-z0-9]{32}", key["AccessKeyId"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", key["SecretAccessKey"])
    assert key["Status"] == "Active"
    assert CAM_TIME.fullmatch(key["CreateTime"])
    assert key["Description"] == "from the SDK"
    assert [entry["AccessKeyId"] for entry in listed["AccessKeys"]] == [alice.secret_id, key["AccessKeyId"]]
    assert all(set(entry) == {"AccessKeyId", "Status", "CreateTime", "Description"} for entry in listed["AccessKeys"])
    assert key["SecretAccessKey"] not in str(listed)
    assert re.fullmatch(r"[0-9a-f-]{36}", created["RequestId"])


def test_update_and_delete_act_on_the_key_and_answer_only_the_request_id(api: Api, alice: Credentials) -> None:
    other = second_key(api, alice)

    updated = response_of(call(api, alice, "UpdateAccessKey", {"AccessKeyId": other, "Status": "Inactive"}))
    deleted = response_of(call(api, alice, "DeleteAccessKey", {"AccessKeyId": other}))
    listed = response_of(call(api, alice, "ListAccessKeys"))

    assert set(updated) == {"RequestId"}
    assert set(deleted) == {"RequestId"}
    assert [entry["AccessKeyId"] for entry in listed["AccessKeys"]] == [alice.secret_id]


def test_the_rules_of_the_rest_routes_hold_with_cams_codes(api: Api, alice: Credentials) -> None:
    other = second_key(api, alice)

    assert error_of(call(api, alice, "CreateAccessKey"))[0] == "OperationDenied.AccessKeyOverLimit"
    assert error_of(call(api, alice, "DeleteAccessKey", {"AccessKeyId": other}))[0] == "OperationDenied.AccessKeyActive"
    assert error_of(call(api, alice, "UpdateAccessKey", {"AccessKeyId": other, "Status": "Gone"}))[0] == (
        "InvalidParameterValue"
    )
    assert error_of(call(api, alice, "CreateAccessKey", {"Description": "<b>"}))[0] == "InvalidParameterValue"


def test_an_unknown_key_and_another_accounts_key_get_the_same_answer(api: Api, alice: Credentials) -> None:
    bob = bootstrap_key("100000000002", "bob")

    unknown = error_of(call(api, alice, "UpdateAccessKey", {"AccessKeyId": UNKNOWN_ID, "Status": "Inactive"}))
    foreign = error_of(call(api, alice, "UpdateAccessKey", {"AccessKeyId": bob.secret_id, "Status": "Inactive"}))
    foreign_delete = error_of(call(api, alice, "DeleteAccessKey", {"AccessKeyId": bob.secret_id}))

    assert unknown == foreign == foreign_delete
    assert unknown[0] == "ResourceNotFound.SecretNotExist"
    assert response_of(call(api, bob, "ListAccessKeys"))["AccessKeys"][0]["Status"] == "Active"


def test_get_security_last_used_shows_own_keys_in_cams_formats(
    api: Api, alice: Credentials, stream: StreamPump
) -> None:
    never_used = second_key(api, alice)
    bob = bootstrap_key("100000000002", "bob")
    stream.pump()  # alice's calls so far reach LastAccessTime

    rows = response_of(
        call(
            api,
            alice,
            "GetSecurityLastUsed",
            {"SecretIdList": [alice.secret_id, UNKNOWN_ID, never_used, bob.secret_id, alice.secret_id, "not-an-id"]},
        )
    )["SecretIdLastUsedRows"]

    used, unused = rows
    assert [row["SecretId"] for row in rows] == [alice.secret_id, never_used]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", used["LastUsedDate"])
    assert isinstance(used["LastSecretUsedDate"], int)
    assert used["LastUsedDate"] == cloud_api._time(used["LastSecretUsedDate"])[:10]
    assert unused == {"SecretId": never_used, "LastUsedDate": None, "LastSecretUsedDate": None}


def test_get_security_last_used_does_not_pass_a_failed_read_off_as_an_unknown_id(
    api: Api, alice: Credentials, aws_calls: AwsCalls
) -> None:
    other = second_key(api, alice)
    # Call 1 is the verification's GetItem; call 2 reads the second key, and is throttled.
    aws_calls.fail_call(2, code="ProvisionedThroughputExceededException", status=400)

    response = call(api, alice, "GetSecurityLastUsed", {"SecretIdList": [other]})

    assert error_of(response)[0] == "RequestLimitExceeded"


def test_get_security_last_used_takes_at_most_ten_ids(api: Api, alice: Credentials) -> None:
    code, message = error_of(call(api, alice, "GetSecurityLastUsed", {"SecretIdList": [alice.secret_id] * 11}))

    assert code == "InvalidParameter"
    assert "1 to 10" in message
    assert error_of(call(api, alice, "GetSecurityLastUsed", {"SecretIdList": "AKID"}))[0] == "InvalidParameter"
    assert error_of(call(api, alice, "GetSecurityLastUsed", {}))[0] == "MissingParameter"


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (100000000001, None),
        ("100000000001", None),
        (100000000002, "AuthFailure.UnauthorizedOperation"),
        (-1, "InvalidParameter"),
        (True, "InvalidParameter"),
        ("me", "InvalidParameter"),
    ],
)
def test_target_uin_may_only_name_the_callers_own_account(api: Api, alice: Credentials, target: Any, code: str | None):
    response = response_of(call(api, alice, "ListAccessKeys", {"TargetUin": target}))

    assert response.get("Error", {}).get("Code") == code


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"x-tc-version": "2017-03-12"}, "NoSuchVersion"),
        ({"x-tc-version": ""}, "MissingParameter"),
        ({"x-tc-action": "DescribeInstances"}, "InvalidAction"),
        ({"x-tc-action": ""}, "MissingParameter"),
    ],
)
def test_the_version_and_the_action_are_checked(
    api: Api, alice: Credentials, headers: dict[str, str], code: str
) -> None:
    response = call(api, alice, headers.get("x-tc-action", "ListAccessKeys"), headers=headers)

    assert error_of(response)[0] == code


def test_unknown_and_malformed_parameters_are_refused(api: Api, alice: Credentials) -> None:
    assert error_of(call(api, alice, "ListAccessKeys", {"Limit": 1}))[0] == "UnknownParameter"
    assert error_of(call(api, alice, "UpdateAccessKey", {"AccessKeyId": alice.secret_id}))[0] == "MissingParameter"
    code, message = error_of(call(api, alice, "DeleteAccessKey", {"AccessKeyId": "AKID"}))
    assert (code, message) == ("InvalidParameterValue", "AccessKeyId must be AKID followed by 32 letters and digits.")


def test_authentication_failures_are_tencents_auth_failure_codes_with_status_200(api: Api, alice: Credentials) -> None:
    wrong_secret = Credentials.forged(alice.secret_id)
    nobody = Credentials.forged(UNKNOWN_ID)

    assert error_of(call(api, wrong_secret, "ListAccessKeys"))[0] == "AuthFailure.SignatureFailure"
    assert error_of(call(api, nobody, "ListAccessKeys"))[0] == "AuthFailure.SecretIdNotFound"
    an_hour_ago = int(time.time()) - 3600
    assert error_of(call(api, alice, "ListAccessKeys", timestamp=an_hour_ago))[0] == "AuthFailure.SignatureExpire"


def test_every_call_leaves_a_record_with_the_action_the_code_and_the_request_id(api: Api, alice: Credentials):
    listed = response_of(call(api, alice, "ListAccessKeys"))
    unknown = response_of(call(api, alice, "DescribeInstances"))
    refused = response_of(call(api, alice, "UpdateAccessKey", {"AccessKeyId": UNKNOWN_ID, "Status": "Active"}))

    records = records_of(api, alice)  # the ListAccessRecords call's own record shows in the next call

    assert [(record["Action"], record["ErrorCode"], record["RequestId"]) for record in records] == [
        ("UpdateAccessKey", "ResourceNotFound.SecretNotExist", refused["RequestId"]),
        ("InvalidAction", "InvalidAction", unknown["RequestId"]),  # never the text the caller sent
        ("ListAccessKeys", None, listed["RequestId"]),
    ]
    assert [record["Result"] for record in records] == ["Failure", "Failure", "Success"]


def test_an_oversized_body_is_refused_in_the_envelope_without_a_record(api: Api, alice: Credentials) -> None:
    response = call(api, alice, "CreateAccessKey", {"Description": "d" * 70_000})

    assert error_of(response)[0] == "RequestSizeLimitExceeded"
    assert records_of(api, alice) == []


def get(api: Api, credentials: Credentials, action: str, query: str, *, body: str | None = None) -> Response:
    """`GET /` as Tencent's SDKs send it with reqMethod GET: the parameters flattened into the query,
    a form content type, no body, the action in X-TC-Action."""
    event = http_event(
        "TencentCloudApi/list-access-keys",
        query=query,
        headers={"x-tc-action": action, "content-type": "application/x-www-form-urlencoded"},
    )
    event["routeKey"] = "GET /"
    event["requestContext"]["http"]["method"] = "GET"
    event["requestContext"]["routeKey"] = "GET /"
    event.pop("body", None)
    if body is not None:
        event["body"] = body
    event["headers"].pop("content-length", None)
    signed = sign_event(
        event,
        secret_id=credentials.secret_id,
        secret_key=credentials.secret_key,
        signed_headers=("content-type", "host"),  # as the stock SDKs sign
    )
    return api.invoke("TencentCloudApi", signed)


def test_get_takes_the_actions_with_their_parameters_in_the_query(api: Api, alice: Credentials) -> None:
    created = response_of(get(api, alice, "CreateAccessKey", "Description=made%20by%20GET"))["AccessKey"]
    listed = response_of(get(api, alice, "ListAccessKeys", ""))
    last_used = response_of(
        get(
            api,
            alice,
            "GetSecurityLastUsed",
            f"SecretIdList.0={created['AccessKeyId']}&SecretIdList.1={alice.secret_id}",
        )
    )
    disabled = response_of(get(api, alice, "UpdateAccessKey", f"AccessKeyId={created['AccessKeyId']}&Status=Inactive"))
    deleted = response_of(get(api, alice, "DeleteAccessKey", f"AccessKeyId={created['AccessKeyId']}"))

    assert created["Description"] == "made by GET"
    assert [key["AccessKeyId"] for key in listed["AccessKeys"]] == [alice.secret_id, created["AccessKeyId"]]
    assert [row["SecretId"] for row in last_used["SecretIdLastUsedRows"]] == [created["AccessKeyId"], alice.secret_id]
    assert "Error" not in disabled
    assert "Error" not in deleted
    records = records_of(api, alice)
    assert [record["Action"] for record in records][:5] == [
        "DeleteAccessKey",
        "UpdateAccessKey",
        "GetSecurityLastUsed",
        "ListAccessKeys",
        "CreateAccessKey",
    ]


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        pytest.param("SecretIdList.1=AKID", None, "InvalidParameter", id="an-index-gap"),
        pytest.param("SecretIdList.x=AKID", None, "InvalidParameter", id="not-an-index"),
        pytest.param("SecretIdList=AKID&SecretIdList.0=AKID", None, "InvalidParameter", id="a-list-and-a-value"),
        pytest.param("Limit=1", None, "UnknownParameter", id="an-unknown-parameter"),
        pytest.param("", "{}", "InvalidParameter", id="a-body"),
        pytest.param("a&&b", None, "InvalidParameter", id="not-pairs"),
    ],
)
def test_a_malformed_get_is_refused_with_a_parameter_code(
    api: Api, alice: Credentials, query: str, body: str | None, code: str
) -> None:
    action = "GetSecurityLastUsed" if "SecretIdList" in query else "ListAccessKeys"

    assert error_of(get(api, alice, action, query, body=body))[0] == code


def test_a_get_whose_query_was_changed_is_a_signature_failure(api: Api, alice: Credentials) -> None:
    event_response = get(api, alice, "ListAccessKeys", "")
    assert "Error" not in response_of(event_response)
    event = http_event("TencentCloudApi/list-access-keys", query="TargetUin=100000000001")
    event["requestContext"]["http"]["method"] = "GET"
    event.pop("body", None)
    signed = sign_event(event, secret_id=alice.secret_id, secret_key=alice.secret_key)
    signed["rawQueryString"] = "TargetUin=100000000002"

    assert error_of(api.invoke("TencentCloudApi", signed))[0] == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("method", ["HmacSHA256", "HmacSHA1"])
@pytest.mark.parametrize("sent", ["form-body", "query"])
def test_a_v1_signature_is_told_that_tc3_is_required_and_counted_for_its_key(
    api: Api, alice: Credentials, method: str, sent: str
) -> None:
    # What Tencent's SDKs send with signMethod HmacSHA1/HmacSHA256: the v1 parameters, no Authorization
    v1 = (
        f"Action=ListAccessKeys&Nonce=11886&Region=ap-guangzhou&SecretId={alice.secret_id}"
        f"&SignatureMethod={method}&Timestamp={int(time.time())}&Version=2019-01-16&Signature=aGVsbG8%3D"
    )
    event = http_event(
        "TencentCloudApi/list-access-keys",
        body=v1 if sent == "form-body" else "",
        query=v1 if sent == "query" else None,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    event["headers"].pop("authorization", None)
    if sent == "query":
        event["requestContext"]["http"]["method"] = "GET"
        event.pop("body", None)

    code, message = error_of(api.invoke("TencentCloudApi", event))

    assert code == "AuthFailure.InvalidAuthorization"
    assert "only TC3-HMAC-SHA256" in message
    traces = api.call("ListAccessRecords/list", alice, secret_id=alice.secret_id).body
    assert [(a["Count"], a["ErrorCode"]) for a in traces["FailedAttempts"]] == [(1, "AuthFailure.InvalidAuthorization")]
