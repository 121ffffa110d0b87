// The console's Cognito sign-in (functions/console/static/srp.js and cognito.js, unchanged) against
// a Cognito endpoint: the steps of tests/local/test_console_srp.py. TOTP codes are computed here,
// with WebCrypto, from the secret AssociateSoftwareToken returns.
//
// Environment: ENDPOINT, USER_POOL_ID, CLIENT_ID, EMAIL, TEMPORARY_PASSWORD, NEW_PASSWORD.
//
// Prints one JSON line per step: {"step", "challenge"} for a challenge, {"step", "tokens"} for
// tokens (their lifetimes and a few ID token claims, never a token), {"step", "code", "message"}
// for a refusal. Exits 1 when a step that later ones need did not get what it should.

import { createRequire } from "node:module";

if (!globalThis.crypto) globalThis.crypto = (await import("node:crypto")).webcrypto; // Node.js 18

const require = createRequire(import.meta.url);
require("../../functions/console/static/srp.js");
const CognitoClient = require("../../functions/console/static/cognito.js");

const env = process.env;
const cognito = new CognitoClient({
  endpoint: env.ENDPOINT,
  region: "us-east-1",
  userPoolId: env.USER_POOL_ID,
  clientId: env.CLIENT_ID,
});

const print = (line) => console.log(JSON.stringify(line));

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

function describe(result) {
  if (result && result.tokens) {
    const { idToken, accessToken, expiresAt } = result.tokens;
    const id = claims(idToken);
    return {
      tokens: {
        expiresInSeconds: Math.round((expiresAt - Date.now()) / 1000),
        accessTokenLifetime: claims(accessToken).exp - claims(accessToken).iat,
        idTokenLifetime: id.exp - id.iat,
        email: id.email,
        uin: id["custom:uin"],
        hasRefreshToken: Boolean(result.tokens.refreshToken),
      },
    };
  }
  if (result && result.otpauthUri) {
    const expected = `otpauth://totp/Access%20keys:${encodeURIComponent(env.EMAIL)}?secret=${result.secretCode}&issuer=Access%20keys`;
    return { secretLength: result.secretCode.length, otpauthUriAsExpected: result.otpauthUri === expected };
  }
  if (result && result.challenge) return { challenge: result.challenge };
  return {};
}

async function step(name, run) {
  try {
    const result = await run();
    print({ step: name, ...describe(result) });
    return result;
  } catch (error) {
    print({ step: name, code: error.code || error.name, message: error.message });
    return null;
  }
}

function need(result, what) {
  if (!result) {
    print({ step: "stopped", message: `no ${what}` });
    process.exit(1);
  }
  return result;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

async function totp(secret, stepsAhead = 0) {
  const bits = [...secret.replace(/=+$/, "").toUpperCase()].map((c) => BASE32.indexOf(c).toString(2).padStart(5, "0")).join("");
  const key = Uint8Array.from(bits.match(/.{8}/g), (byte) => parseInt(byte, 2));
  const counter = new DataView(new ArrayBuffer(8));
  counter.setBigUint64(0, BigInt(Math.floor(Date.now() / 30000) + stepsAhead));
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const digest = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, counter.buffer));
  const offset = digest[19] & 0x0f;
  const number = new DataView(digest.buffer).getUint32(offset) & 0x7fffffff;
  return String(number % 1_000_000).padStart(6, "0");
}

const otherCode = (code) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

await step("wrong_password", () => cognito.signIn(env.EMAIL, "Not-the-passw0rd!"));
await step("unknown_user", () => cognito.signIn("nobody@example.com", env.TEMPORARY_PASSWORD));
const first = need(await step("first_sign_in", () => cognito.signIn(env.EMAIL, env.TEMPORARY_PASSWORD)), "challenge");
const setUp = need(await step("new_password", () => cognito.setNewPassword(first, env.NEW_PASSWORD)), "challenge");
const setup = need(await step("begin_totp_setup", () => cognito.beginTotpSetup(setUp)), "secret");
await step("wrong_setup_code", async () => cognito.finishTotpSetup(setup, otherCode(await totp(setup.secretCode))));
await step("finish_totp_setup", async () => cognito.finishTotpSetup(setup, await totp(setup.secretCode)));
const again = need(await step("second_sign_in", () => cognito.signIn(env.EMAIL, env.NEW_PASSWORD)), "challenge");
await step("wrong_totp", async () => cognito.answerTotp(again, otherCode(await totp(setup.secretCode, 1))));
// The code of this 30 s step went to the set-up, and Cognito takes a code once: the next step's.
const signedIn = need(await step("answer_totp", async () => cognito.answerTotp(again, await totp(setup.secretCode, 1))), "tokens");
await step("refresh", () => cognito.refresh(signedIn.tokens.refreshToken));
await step("revoke", () => cognito.revoke(signedIn.tokens.refreshToken));
await step("refresh_after_revoke", () => cognito.refresh(signedIn.tokens.refreshToken));
await step("unreachable", () =>
  new CognitoClient({ endpoint: "http://127.0.0.1:9/", userPoolId: env.USER_POOL_ID, clientId: env.CLIENT_ID }).refresh("x"),
);
