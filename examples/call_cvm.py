"""Call the example cvm service with Tencent's own SDK: python examples/call_cvm.py ACTION [PARAMETERS_JSON]"""

import json
import os
import sys

from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from access_keys_tools.profiles import load_profile

key = load_profile("cvm")  # the key that `access-keys create --save-profile cvm` saved
endpoint = os.environ.get("CVM_ENDPOINT", "127.0.0.1:3010")  # make run's example service
profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
client = CommonClient("cvm", "2017-03-12", Credential(key.secret_id, key.secret_key), "", profile=profile)

action, parameters = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
try:
    print(json.dumps(client.call_json(action, parameters)["Response"], indent=2))
except TencentCloudSDKException as error:
    sys.exit(f"cvm refused {action}: {error.code}: {error.message}")
