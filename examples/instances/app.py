"""cvm's instances: an example platform service that accepts the platform's access keys.

Tencent Cloud API 3.0 style: `POST /`, the action in `X-TC-Action`, the answer in
`{"Response": {..., "RequestId"}}` with HTTP 200, errors in `Response.Error`. Tencent's SDKs call
it unchanged (`CommonClient("cvm", "2017-03-12", ...)`).

`@verified` asks the access-key service who signed each request before the handler runs: a
disabled key, a bad signature or a replayed one is refused in Tencent's envelope and never gets
here, and every attempt shows in the key's access records with Service `cvm`.
"""

import base64
import json

from access_keys_verifier import Refusal, Verifier, refusal_response, verified

# One per execution environment, made at import: it keeps its Lambda client between requests.
# The function it invokes is env ACCESS_KEYS_VERIFY_FUNCTION (template.yaml).
verifier = Verifier("cvm")

INSTANCES = [
    {"InstanceId": "ins-1a2b3c4d", "InstanceName": "web-1", "InstanceState": "RUNNING", "Zone": "ap-guangzhou-3"},
    {"InstanceId": "ins-5e6f7a8b", "InstanceName": "batch-1", "InstanceState": "STOPPED", "Zone": "ap-guangzhou-4"},
]


def describe_instances(caller, parameters):
    return {
        "TotalCount": len(INSTANCES),
        "InstanceSet": INSTANCES,
        "Caller": {"SecretId": caller.secret_id, "Uin": caller.uin},
    }


def reboot_instances(caller, parameters):
    instance_ids = parameters.get("InstanceIds")
    if not isinstance(instance_ids, list) or not instance_ids or not all(isinstance(i, str) for i in instance_ids):
        raise Refusal("InvalidParameterValue", "InstanceIds must be a list of instance ids.", 400)
    known = {instance["InstanceId"] for instance in INSTANCES}
    for instance_id in instance_ids:
        if instance_id not in known:
            raise Refusal("UnauthorizedOperation", f"You may not reboot the instance {instance_id}.", 403)
    return {}


ACTIONS = {"DescribeInstances": describe_instances, "RebootInstances": reboot_instances}


# Reads stay repeatable, everything else is single use: a resent RebootInstances is refused.
@verified(verifier, envelope="tencent", changes_state=lambda action: action != "DescribeInstances")
def lambda_handler(event, context, caller):
    request_id = event["requestContext"]["requestId"]  # the RequestId the key's record shows
    action = event["headers"]["x-tc-action"].strip()
    try:
        operation = ACTIONS.get(action)
        if operation is None:
            raise Refusal("InvalidAction", f"The action {action} does not exist.", 400)
        result = operation(caller, parameters_of(event))
    except Refusal as refusal:  # its status is for envelope="rest"; Tencent's answers with 200
        # Verified, and refused all the same: the key's record of this request becomes Failure,
        # with this code (ReportAccessOutcome).
        verifier.report_refusal(caller, refusal.code)
        return refusal_response(refusal, request_id, envelope="tencent")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"Response": {**result, "RequestId": request_id}}),
    }


def parameters_of(event):
    body = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    try:
        parameters = json.loads(body)
    except ValueError:
        parameters = None
    if not isinstance(parameters, dict):
        raise Refusal("InvalidParameter", "The body must be a JSON object.", 400)
    return parameters
