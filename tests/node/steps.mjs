// Tencent Cloud's official Node.js SDK (tencentcloud-sdk-nodejs), unmodified, against this
// service's Tencent Cloud API 3.0: the steps of tests/local/test_node_sdk.py.
//
// Environment:
//   ENDPOINT    host[:port] as a user gives it to the SDK: 127.0.0.1:3000 or cam.localhost:3000
//   PROTOCOL    http:// (the SDK's default is https://)
//   REQ_METHOD  POST or GET
//   FIRST_SECRET_ID, FIRST_SECRET_KEY    the account's first key: it signs every step it can
//   SECOND_SECRET_ID, SECOND_SECRET_KEY  the account's second key, which the steps disable and delete
//   REGION      optional, sent as X-TC-Region (default ap-guangzhou)
//   RESPONSES_FILE  optional: each response body the SDK returns, one JSON line each, for the
//                   test's secret scan. Nothing secret is ever printed on stdout.
//
// Prints one JSON line per step, {"step", "ok", "code", "detail"}, and exits 0 only when every
// step got what it should. Everything but the endpoint, protocol and method is the SDK's
// default: signMethod TC3-HMAC-SHA256, which signs only content-type;host.
//
// Identical requests signed in the same second carry the same signature, and X-TC-Action and
// X-TC-Version are not signed: a signature is then bound to the action it first served, and a
// state change is accepted once (API.md, "Single use"). Every step below has a body of its own,
// except the three with the empty body ({}), signed by the first key for ListAccessKeys, for an
// unknown action and for ListAccessKeys under another version: each of those waits for the
// next second.

import { appendFileSync } from "node:fs";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";

import tencentcloud from "tencentcloud-sdk-nodejs";
import { CommonClient } from "tencentcloud-sdk-nodejs/tencentcloud/common/common_client.js";

const CamClient = tencentcloud.cam.v20190116.Client;
const VERSION = "2019-01-16";
const OTHER_VERSION = "2017-03-12"; // CVM's, which this service does not speak
const UNKNOWN_ACTION = "ListUsers"; // CAM's, but not one this service answers

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`steps.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

const endpoint = required("ENDPOINT");
const protocol = required("PROTOCOL");
const reqMethod = required("REQ_METHOD");
const first = { secretId: required("FIRST_SECRET_ID"), secretKey: required("FIRST_SECRET_KEY") };
const second = { secretId: required("SECOND_SECRET_ID"), secretKey: required("SECOND_SECRET_KEY") };
const region = process.env.REGION || "ap-guangzhou";
const responsesFile = process.env.RESPONSES_FILE;

let failed = 0;

function report(step, ok, code, detail) {
  if (!ok) failed += 1;
  console.log(JSON.stringify({ step, ok, code: code ?? null, detail }));
}

// `*.localhost` is loopback (RFC 6761) and resolves so on systems with nss-myhostname or
// systemd-resolved, but not through every resolver (glibc with /etc/hosts alone). Only where the
// system cannot resolve it does the SDK get an agent that answers it with 127.0.0.1; the Host
// header, the signature and everything else stay the SDK's own.
async function agentFor(hostname) {
  try {
    const { address } = await dns.promises.lookup(hostname);
    return { agent: undefined, resolved: `${address} (system resolver)` };
  } catch (error) {
    if (!/(^|\.)localhost\.?$/i.test(hostname)) return { agent: undefined, resolved: `unresolved: ${error.code}` };
    const lookup = (_name, options, callback) =>
      options && options.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4);
    const Agent = protocol.startsWith("https") ? https.Agent : http.Agent;
    return { agent: new Agent({ lookup }), resolved: "127.0.0.1 (RFC 6761 loopback: the system resolver does not know it)" };
  }
}

const hostname = new URL(protocol + endpoint).hostname;
const { agent, resolved } = await agentFor(hostname);
report("resolve", true, null, { endpoint, hostname, resolved, reqMethod });

function profile() {
  return { httpProfile: { endpoint, protocol, reqMethod, ...(agent ? { agent } : {}) } };
}

function cam(credential) {
  return new CamClient({ credential, region, profile: profile() });
}

function common(version, credential) {
  return new CommonClient("cam.tencentcloudapi.com", version, { credential, region, profile: profile() });
}

function seen(response) {
  if (responsesFile) appendFileSync(responsesFile, JSON.stringify(response) + "\n");
  return response;
}

function errorDetail(error) {
  return {
    RequestId: error.requestId || null,
    Message: error.message,
    ...(error.httpCode ? { HttpCode: error.httpCode } : {}),
  };
}

// A call that should succeed: `check` returns [ok, detail] from the response.
async function expectSuccess(step, call, check) {
  let response;
  try {
    response = seen(await call());
  } catch (error) {
    report(step, false, error.code, errorDetail(error));
    return undefined;
  }
  const [ok, detail] = check(response);
  report(step, ok, null, { RequestId: response.RequestId, ...detail });
  return response;
}

// A call that should be refused with `code`.
async function expectError(step, code, call) {
  let response;
  try {
    response = seen(await call());
  } catch (error) {
    report(step, error.code === code && Boolean(error.requestId), error.code, errorDetail(error));
    return;
  }
  report(step, false, null, { RequestId: response.RequestId, Message: `expected ${code}, got a success` });
}

function same(left, right) {
  return JSON.stringify(left) === JSON.stringify(right);
}

function idsOf(response) {
  return (response.AccessKeys || []).map((key) => key.AccessKeyId);
}

// The next whole second: a request signed after this is signed in a later second than any before.
async function nextSecond() {
  const now = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === now) {
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 1));
  }
}

const owner = cam(first);

await expectSuccess(
  "ListAccessKeys",
  () => owner.ListAccessKeys({}),
  (response) => {
    const ids = idsOf(response);
    return [same(ids, [first.secretId, second.secretId]), { AccessKeyIds: ids }];
  },
);

await expectSuccess(
  "GetSecurityLastUsed",
  () => owner.GetSecurityLastUsed({ SecretIdList: [first.secretId, second.secretId] }),
  (response) => {
    const ids = (response.SecretIdLastUsedRows || []).map((row) => row.SecretId);
    return [same(ids, [first.secretId, second.secretId]), { SecretIds: ids }];
  },
);

// The account holds two keys: a third is refused. (A body of its own: an empty one, signed in
// ListAccessKeys' second, would be refused as that signature's reuse instead.)
await expectError("third key", "OperationDenied.AccessKeyOverLimit", () =>
  owner.CreateAccessKey({ Description: "a third key" }),
);

await expectError("wrong secret", "AuthFailure.SignatureFailure", () =>
  cam({ secretId: first.secretId, secretKey: "x".repeat(32) }).ListAccessKeys({}),
);

await expectSuccess(
  "UpdateAccessKey",
  () => owner.UpdateAccessKey({ AccessKeyId: second.secretId, Status: "Inactive" }),
  () => [true, { AccessKeyId: second.secretId, Status: "Inactive" }],
);

await expectError("disabled key", "AuthFailure.SecretIdNotFound", () => cam(second).ListAccessKeys({}));

await expectSuccess(
  "DeleteAccessKey",
  () => owner.DeleteAccessKey({ AccessKeyId: second.secretId }),
  () => [true, { AccessKeyId: second.secretId }],
);

const created = await expectSuccess(
  "CreateAccessKey",
  () => owner.CreateAccessKey({ Description: "made by the Node SDK" }),
  (response) => {
    const key = response.AccessKey || {};
    const ok =
      /^AKID[A-Za-z0-9]{32}$/.test(key.AccessKeyId || "") &&
      (key.SecretAccessKey || "").length === 32 &&
      key.Status === "Active" &&
      key.Description === "made by the Node SDK" &&
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(key.CreateTime || "");
    return [
      ok,
      {
        AccessKeyId: key.AccessKeyId,
        Status: key.Status,
        Description: key.Description,
        CreateTime: key.CreateTime,
        SecretAccessKeyLength: (key.SecretAccessKey || "").length, // never the SecretKey itself
      },
    ];
  },
);

// The new pair signs for itself, through the same SDK.
if (created && created.AccessKey) {
  const { AccessKeyId: secretId, SecretAccessKey: secretKey } = created.AccessKey;
  await expectSuccess(
    "ListAccessKeys by the new key",
    () => cam({ secretId, secretKey }).ListAccessKeys({}),
    (response) => {
      const ids = idsOf(response);
      return [same(ids, [first.secretId, secretId]), { AccessKeyIds: ids }];
    },
  );
} else {
  report("ListAccessKeys by the new key", false, null, { Message: "no key: CreateAccessKey failed" });
}

// The same empty body as ListAccessKeys, for another action: in ListAccessKeys' second it would be
// refused as the reuse of that signature.
await nextSecond();
await expectError("unknown action", "InvalidAction", () => common(VERSION, first).request(UNKNOWN_ACTION, {}));

// The same empty body again; the version is not signed either.
await nextSecond();
await expectError("wrong version", "NoSuchVersion", () =>
  common(OTHER_VERSION, first).request("ListAccessKeys", {}),
);

process.exit(failed === 0 ? 0 : 1);
