"""Tencent Cloud's own Python SDK, unmodified, against the local stack over HTTP.

`tencentcloud-sdk-python-cam` with nothing changed but the endpoint: the five actions and the
refusals a user meets run with `reqMethod` POST (`POST /`, a JSON body) and GET (`GET /`, the
parameters flattened into the query), at `127.0.0.1:<port>` and at the custom-domain style
`cam.localhost:<port>`. The Python SDK signs the service `cam` from its client class whatever
the endpoint. Responses are read through the SDK's own model classes; errors surface as its
TencentCloudSDKException. The Node.js SDK has its own steps (test_node_sdk.py), and so has
tccli (test_tccli.py): the languages' SDKs do not all sign or connect alike.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from running_stack import LocalStack
from secret_ledger import LEDGER
from stack_process import stack_environment, unique_uin
from tencentcloud.cam.v20190116 import cam_client, models
from tencentcloud.common import abstract_client
from tencentcloud.common.abstract_model import AbstractModel
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from access_keys_tools.client import AccessKeysClient
from access_keys_tools.local import names
from access_keys_tools.template import PROJECT_ROOT

REGION = "ap-guangzhou"  # sent as X-TC-Region, which the service accepts and ignores
# The SDK's own signer still calls datetime.utcfromtimestamp.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK honours the proxy variables; the local stack is on the loopback interface."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Via:
    """How the SDK reaches the stack: its HttpProfile's reqMethod, and the endpoint's host."""

    method: str = "POST"
    host: str = "127.0.0.1"


CUSTOM_DOMAIN_STYLE = "cam.localhost"  # as a deployed API on its custom domain is reached: cam.<domain>
DIRECT = Via()  # POST to 127.0.0.1:<port>, as the README's example
VIAS = [Via(method, host) for host in ("127.0.0.1", CUSTOM_DOMAIN_STYLE) for method in ("POST", "GET")]


def loopback_where_unresolved(monkeypatch: pytest.MonkeyPatch, hostname: str) -> None:
    """`*.localhost` is loopback (RFC 6761) and resolves so through nss-myhostname or
    systemd-resolved, but not through glibc with /etc/hosts alone, where `getent hosts
    cam.localhost` prints nothing until /etc/hosts has `127.0.0.1 cam.localhost`. Only where the
    system cannot resolve it, socket.getaddrinfo answers that one name with 127.0.0.1, for this
    test alone (as steps.mjs's agent does for the Node SDK): the SDK's endpoint, Host header and
    signature stay `cam.localhost:<port>`, and every other name resolves as before."""
    try:
        socket.getaddrinfo(hostname, None)
    except socket.gaierror:
        resolve = socket.getaddrinfo

        def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
            return resolve("127.0.0.1" if host == hostname else host, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(params=VIAS, ids=lambda via: f"{via.method}-{via.host}")
def via(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Via:
    if request.param.host == CUSTOM_DOMAIN_STYLE:
        loopback_where_unresolved(monkeypatch, CUSTOM_DOMAIN_STYLE)
    return request.param


def profile(local_stack: LocalStack, via: Via = DIRECT) -> ClientProfile:
    endpoint = f"{via.host}:{urlsplit(local_stack.url).port}"
    return ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqMethod=via.method))


def cam(local_stack: LocalStack, secret_id: str, secret_key: str, via: Via = DIRECT) -> cam_client.CamClient:
    return cam_client.CamClient(Credential(secret_id, secret_key), REGION, profile(local_stack, via))


def seen(response: AbstractModel) -> AbstractModel:
    """Hand the response to the secret scan, which allows a SecretKey only in its create response."""
    LEDGER.saw_response(response.to_json_string())
    return response


def sdk_error(call: object) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as raised:
        call()  # type: ignore[operator]
    return raised.value


def next_second() -> None:
    """Wait for the next whole second. The stock SDK signs only content-type;host, so two calls
    with the same parameters (body or query) signed in the same second carry the same signature:
    a second state change, or another action, would be refused as its replay (API.md, "Single
    use"). A call made after this is signed in a later second than any call made before it."""
    time.sleep(1 - time.time() % 1)


def test_the_five_actions_work_through_tencents_cam_client(local_stack: LocalStack, via: Via) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    client = cam(local_stack, owner.secret_id, owner._secret_key, via)

    create = models.CreateAccessKeyRequest()
    create.Description = "made by the SDK"
    created = seen(client.CreateAccessKey(create))
    new_key = created.AccessKey
    listed = seen(client.ListAccessKeys(models.ListAccessKeysRequest()))
    # The new pair signs for itself, through the same SDK.
    listed_by_new_key = seen(
        cam(local_stack, new_key.AccessKeyId, new_key.SecretAccessKey, via).ListAccessKeys(
            models.ListAccessKeysRequest()
        )
    )
    last_used = models.GetSecurityLastUsedRequest()
    last_used.SecretIdList = [owner.secret_id, new_key.AccessKeyId]
    rows = seen(client.GetSecurityLastUsed(last_used)).SecretIdLastUsedRows
    update = models.UpdateAccessKeyRequest()
    update.AccessKeyId, update.Status = new_key.AccessKeyId, "Inactive"
    updated = seen(client.UpdateAccessKey(update))
    delete = models.DeleteAccessKeyRequest()
    delete.AccessKeyId = new_key.AccessKeyId
    deleted = seen(client.DeleteAccessKey(delete))
    remaining = seen(client.ListAccessKeys(models.ListAccessKeysRequest())).AccessKeys

    assert isinstance(new_key, models.AccessKeyDetail)
    assert len(new_key.SecretAccessKey) == 32
    assert (new_key.Status, new_key.Description) == ("Active", "made by the SDK")
    assert len(new_key.CreateTime) == len("2026-11-26 19:30:44")
    assert all(isinstance(key, models.AccessKey) for key in listed.AccessKeys)
    assert [key.AccessKeyId for key in listed.AccessKeys] == [owner.secret_id, new_key.AccessKeyId]
    assert [key.AccessKeyId for key in listed_by_new_key.AccessKeys] == [owner.secret_id, new_key.AccessKeyId]
    assert all(isinstance(row, models.SecretIdLastUsed) for row in rows)
    assert [row.SecretId for row in rows] == [owner.secret_id, new_key.AccessKeyId]
    assert updated.RequestId
    assert deleted.RequestId
    assert [key.AccessKeyId for key in remaining] == [owner.secret_id]
    # Each call's record, under its action, with the SDK's RequestId.
    records = owner.list_access_records(owner.secret_id)["AccessRecords"]
    assert [record["Action"] for record in records[:3]] == ["ListAccessKeys", "DeleteAccessKey", "UpdateAccessKey"]
    assert [record["RequestId"] for record in records[1:3]] == [deleted.RequestId, updated.RequestId]


def test_refusals_surface_as_the_sdks_exception_with_tencents_codes(local_stack: LocalStack, via: Via) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    client = cam(local_stack, owner.secret_id, owner._secret_key, via)
    second = seen(client.CreateAccessKey(models.CreateAccessKeyRequest())).AccessKey
    update = models.UpdateAccessKeyRequest()
    update.AccessKeyId, update.Status = second.AccessKeyId, "Inactive"
    client.UpdateAccessKey(update)
    unknown = models.DeleteAccessKeyRequest()
    unknown.AccessKeyId = "AKID" + "Z" * 32

    wrong_secret = sdk_error(
        lambda: cam(local_stack, owner.secret_id, "x" * 32, via).ListAccessKeys(models.ListAccessKeysRequest())
    )
    disabled = sdk_error(
        lambda: cam(local_stack, second.AccessKeyId, second.SecretAccessKey, via).ListAccessKeys(
            models.ListAccessKeysRequest()
        )
    )
    # A request of its own, not a replay of the first update (nor the create below of the first).
    next_second()
    client.UpdateAccessKey(update)  # still Inactive: the quota counts it
    over_limit = sdk_error(lambda: client.CreateAccessKey(models.CreateAccessKeyRequest()))
    not_found = sdk_error(lambda: client.DeleteAccessKey(unknown))
    # X-TC-Version is not signed either: in the create's second, these parameters (none) would
    # carry the signature that create spent.
    next_second()
    wrong_version = sdk_error(
        lambda: CommonClient(
            "cam", "2017-03-12", Credential(owner.secret_id, owner._secret_key), REGION, profile(local_stack, via)
        ).call_json("ListAccessKeys", {})
    )

    assert wrong_secret.code == "AuthFailure.SignatureFailure"
    assert disabled.code == "AuthFailure.SecretIdNotFound"
    assert over_limit.code == "OperationDenied.AccessKeyOverLimit"
    assert not_found.code == "ResourceNotFound.SecretNotExist"
    assert wrong_version.code == "NoSuchVersion"
    assert all(error.requestId for error in (wrong_secret, disabled, over_limit, not_found, wrong_version))
    # The wrong secret's request is no use of the owner's key: a failed attempt, counted apart.
    traces = AccessKeysClient(owner.secret_id, owner._secret_key, local_stack.url).list_access_records(owner.secret_id)
    assert wrong_secret.requestId not in {record["RequestId"] for record in traces["AccessRecords"]}
    assert "AuthFailure.SignatureFailure" not in {record["ErrorCode"] for record in traces["AccessRecords"]}
    assert [(a["Count"], a["ErrorCode"], a["SourceIp"]) for a in traces["FailedAttempts"]] == [
        (1, "AuthFailure.SignatureFailure", "127.0.0.1")
    ]


def test_the_sdks_common_client_gets_invalid_action_for_an_action_not_served(local_stack: LocalStack, via: Via) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    common = CommonClient(
        "cam", "2019-01-16", Credential(owner.secret_id, owner._secret_key), REGION, profile(local_stack, via)
    )

    served = common.call_json("ListAccessKeys", {})
    # Same parameters, unsigned action: in the same second, ListUsers would carry the signature that
    # ListAccessKeys is bound to, and be refused as its replay (test below).
    next_second()
    refused = sdk_error(lambda: common.call_json("ListUsers", {}))

    assert [key["AccessKeyId"] for key in served["Response"]["AccessKeys"]] == [owner.secret_id]
    assert refused.code == "InvalidAction"
    assert "ListUsers" in refused.message
    record = owner.list_access_records(owner.secret_id)["AccessRecords"][0]
    # Recorded under InvalidAction, never the text sent (API.md, ListAccessRecords).
    assert (record["Action"], record["ErrorCode"], record["RequestId"]) == (
        "InvalidAction",
        "InvalidAction",
        refused.requestId,
    )
    assert json.dumps(served).count(owner.secret_id) == 1


def test_a_stock_sdk_signature_serves_one_action_and_changes_state_once(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    client = cam(local_stack, owner.secret_id, owner._secret_key)
    clock = [float(int(time.time()))]
    # The SDK's clock, frozen: every call below is signed in the second it says.
    monkeypatch.setattr(abstract_client, "time", SimpleNamespace(time=lambda: clock[0]))

    # One second, one body ({}), content-type;host signed: one signature for all three calls.
    listed = seen(client.ListAccessKeys(models.ListAccessKeysRequest()))
    listed_again = seen(client.ListAccessKeys(models.ListAccessKeysRequest()))  # reads repeat
    bound = sdk_error(lambda: client.CreateAccessKey(models.CreateAccessKeyRequest()))
    after_bound = [key.AccessKeyId for key in seen(client.ListAccessKeys(models.ListAccessKeysRequest())).AccessKeys]
    clock[0] += 1  # signed again, in the next second, as the refusal says
    created = seen(client.CreateAccessKey(models.CreateAccessKeyRequest())).AccessKey
    replayed = sdk_error(lambda: client.CreateAccessKey(models.CreateAccessKeyRequest()))
    clock[0] += 1
    remaining = [key.AccessKeyId for key in seen(client.ListAccessKeys(models.ListAccessKeysRequest())).AccessKeys]

    assert [key.AccessKeyId for key in listed.AccessKeys] == [owner.secret_id]
    assert [key.AccessKeyId for key in listed_again.AccessKeys] == [owner.secret_id]
    assert bound.code == "AuthFailure.SignatureFailure"
    assert bound.message.startswith("This signature has already been used; sign each request afresh.")
    assert "next second" in bound.message
    assert "x-tc-action" in bound.message
    assert after_bound == [owner.secret_id]  # the refused create made nothing
    assert replayed.code == "AuthFailure.SignatureFailure"
    assert replayed.message.startswith("This signature has already been used; sign each request afresh.")
    # Two keys: the replay was refused as one before the quota was ever asked.
    assert remaining == [owner.secret_id, created.AccessKeyId]
    # Both refusals were signed with the owner's SecretKey: access records, under their action.
    traces = AccessKeysClient(owner.secret_id, owner._secret_key, local_stack.url).list_access_records(owner.secret_id)
    assert [(record["Action"], record["ErrorCode"]) for record in traces["AccessRecords"]] == [
        ("ListAccessKeys", None),
        ("CreateAccessKey", "AuthFailure.SignatureFailure"),
        ("CreateAccessKey", None),
        ("ListAccessKeys", None),
        ("CreateAccessKey", "AuthFailure.SignatureFailure"),
        ("ListAccessKeys", None),
        ("ListAccessKeys", None),
    ]
    assert [traces["AccessRecords"][index]["RequestId"] for index in (1, 4)] == [replayed.requestId, bound.requestId]
    assert traces["FailedAttempts"] == []


def test_the_owner_client_still_sees_a_sdk_made_key(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    created = seen(
        cam(local_stack, owner.secret_id, owner._secret_key).CreateAccessKey(models.CreateAccessKeyRequest())
    ).AccessKey

    fetched = AccessKeysClient(created.AccessKeyId, created.SecretAccessKey, local_stack.url).get_access_key(
        created.AccessKeyId
    )["AccessKey"]

    assert (fetched["SecretId"], fetched["Status"]) == (created.AccessKeyId, "Active")


def test_over_https_the_sdk_trusts_the_stacks_own_certificate_and_nothing_else(local_stack: LocalStack) -> None:
    owner = local_stack.bootstrap(unique_uin(), "first")
    endpoint = local_stack.https_url.removeprefix("https://")
    certificate = str(names.TLS_DIR / "cert.pem")

    def client(certification: str | None) -> cam_client.CamClient:
        http = HttpProfile(endpoint=endpoint, protocol="https", certification=certification)
        return cam_client.CamClient(
            Credential(owner.secret_id, owner._secret_key), REGION, ClientProfile(httpProfile=http)
        )

    listed = client(certificate).ListAccessKeys(models.ListAccessKeysRequest())
    untrusted = sdk_error(lambda: client(None).ListAccessKeys(models.ListAccessKeysRequest()))

    assert [key.AccessKeyId for key in listed.AccessKeys] == [owner.secret_id]
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.message


def test_over_https_the_stacks_certificate_also_names_cam_localhost(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The custom-domain style of endpoint over HTTPS: the certificate's names include cam.localhost
    loopback_where_unresolved(monkeypatch, CUSTOM_DOMAIN_STYLE)
    owner = local_stack.bootstrap(unique_uin(), "first")
    port = local_stack.https_url.rsplit(":", 1)[1]
    http = HttpProfile(
        endpoint=f"{CUSTOM_DOMAIN_STYLE}:{port}", protocol="https", certification=str(names.TLS_DIR / "cert.pem")
    )
    client = cam_client.CamClient(
        Credential(owner.secret_id, owner._secret_key), REGION, ClientProfile(httpProfile=http)
    )

    listed = client.ListAccessKeys(models.ListAccessKeysRequest())

    assert [key.AccessKeyId for key in listed.AccessKeys] == [owner.secret_id]


def test_the_readmes_example_runs_as_written(local_stack: LocalStack) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Use Tencent Cloud's SDKs and CLI\n") :]
    (example,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 2)[1], flags=re.DOTALL)
    owner = local_stack.bootstrap(unique_uin(), "first")
    environment = stack_environment(ACCESS_KEYS_SECRET_ID=owner.secret_id, ACCESS_KEYS_SECRET_KEY=owner._secret_key)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        environment.pop(name, None)

    output = subprocess.run(  # noqa: S603 - the README's own example
        [sys.executable, "-c", example.replace("127.0.0.1:3000", local_stack.url.removeprefix("http://"))],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()

    assert output[0].startswith(f"{owner.secret_id} Active ")
    assert output[1].startswith(f"{owner.secret_id} last used ")
