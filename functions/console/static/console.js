// The API Keys Management page. Two ways in:
// - as the account (the first): its Cognito user pool's sign-in, email, password (checked by SRP in
//   cognito.js, never sent) and a TOTP code; the ID token then goes as `Authorization: Bearer` to
//   the session routes, /v1/session/... (docs/api.md).
// - with an access key: the same /v1 routes as every other client, each request signed here with
//   TC3-HMAC-SHA256 (docs/api.md, section 2) through WebCrypto.
// Everything the API or Cognito returns is written as text (textContent, input values), never as HTML.
"use strict";

(() => {
  const IDLE_LIMIT_MS = 15 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 20_000;
  const CHECK_EVERY_MS = 10_000;
  const MAX_KEYS = 2;
  const STORAGE_KEY = "access-keys-console";
  const ACCOUNT_STORAGE_KEY = "access-keys-console-account";
  // A sign-in ends with its refresh token: the console client's RefreshTokenValidity (template.yaml,
  // AccountsConsoleClient). Cognito does not say when, so the page counts from the sign-in.
  const SIGN_IN_LIMIT_MS = 12 * 60 * 60 * 1000;
  // The ID token (15 minutes) is renewed this long before it expires, while the page is in use.
  const RENEW_BEFORE_MS = 2 * 60 * 1000;
  const PASSWORD_POLICY = [
    [(password) => password.length >= 12, "at least 12 characters"],
    [(password) => /[A-Z]/.test(password), "an upper-case letter"],
    [(password) => /[a-z]/.test(password), "a lower-case letter"],
    [(password) => /[0-9]/.test(password), "a digit"],
    [(password) => /[^A-Za-z0-9]/.test(password), "a symbol"],
  ];
  const encoder = new TextEncoder();

  // Signed in with a key: its SecretId, the UTC date it signs for and that day's TC3 signing key, a
  // non-extractable CryptoKey. The SecretKey itself is used once, at sign-in, and kept nowhere: a
  // copy of what this page holds signs for one day at most. In sessionStorage (the signing key's
  // hex, since a CryptoKey cannot be stored there) only if the user asked.
  let credentials = null;
  // Signed in as the account: { email, idToken, refreshToken, expiresAt, endsAt, kept }. Never the
  // password, nor the access token, which the page has no use for. In sessionStorage only if kept.
  let account = null;
  // A sign-in between its password and its tokens: { email, kept, state } (state: cognito.js's).
  let pending = null;
  // The way in the sign-in screen offers, and the one a sign-out goes back to: "account" or "key".
  let way = "account";
  let cognitoClient = null;
  let renewal = null;
  let lastActivity = Date.now();
  let keys = [];
  let pendingConfirm = null;
  let confirming = false;

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ signing (TC3-HMAC-SHA256)

  // A Uint8Array as it is, not copied: a copy of the signing key would escape the wipe.
  const hex = (bytes) => {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    return Array.from(view, (byte) => byte.toString(16).padStart(2, "0")).join("");
  };

  async function sha256Hex(text) {
    return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  }

  // Not extractable: the page's own code cannot read the key back out of it.
  const importHmacKey = (raw) =>
    crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

  async function hmac(key, text) {
    return crypto.subtle.sign("HMAC", await importHmacKey(key), encoder.encode(text));
  }

  const utcDate = (milliseconds) => new Date(milliseconds).toISOString().slice(0, 10);

  // The SecretKey goes from the field straight into bytes, and the field is emptied: bytes can be
  // wiped once used, a string cannot. The caller wipes the result.
  async function deriveSigningKey(field, date) {
    const used = [encoder.encode(`TC3${field.value}`)];
    field.value = "";
    try {
      for (const part of [date, "cam", "tc3_request"]) {
        used.push(new Uint8Array(await hmac(used.at(-1), part)));
      }
      return used.pop();
    } finally {
      for (const bytes of used) bytes.fill(0);
    }
  }

  // null while `date` is the UTC date of `now`; otherwise why the key cannot sign any more.
  function outOfDate(date, now = Date.now()) {
    const today = utcDate(now);
    if (today === date) return null;
    if (today > date) return `The signing key of ${date} has expired at 00:00 UTC: sign in again.`;
    return `The signing key is for ${date}, but this computer's clock says ${today} (UTC): set it and sign in again.`;
  }

  async function authorization(using, method, path, body, timestamp) {
    const host = location.host.toLowerCase();
    const canonical = [
      method,
      path,
      "",
      `content-type:application/json\nhost:${host}\n`,
      "content-type;host",
      await sha256Hex(body),
    ].join("\n");
    const scope = `${using.date}/cam/tc3_request`;
    const stringToSign = ["TC3-HMAC-SHA256", String(timestamp), scope, await sha256Hex(canonical)].join("\n");
    const signature = hex(await crypto.subtle.sign("HMAC", using.signingKey, encoder.encode(stringToSign)));
    const credential = `${using.secretId}/${scope}`;
    return `TC3-HMAC-SHA256 Credential=${credential}, SignedHeaders=content-type;host, Signature=${signature}`;
  }

  // ------------------------------------------------------------------------------- requests

  class ApiError extends Error {
    constructor(code, message, requestId) {
      super(message);
      this.code = code;
      this.requestId = requestId;
    }

    describe() {
      return `${this.message} (${this.code})`;
    }
  }

  // The codes after which this page cannot go on signed in.
  const SIGN_OUT_CODES = new Set([
    "AuthFailure.SecretIdNotFound",
    "SigningKeyExpired",
    "SessionEnded",
    "AuthFailure.TokenFailure",
  ]);

  // One request to this origin, its answer's JSON or an ApiError.
  async function send(method, path, headers, body) {
    let response;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), REQUEST_TIMEOUT_MS);
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body || undefined,
        cache: "no-store",
        credentials: "omit",
        signal: timeout.signal,
      });
    } catch (error) {
      const why = timeout.signal.aborted ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : error.message;
      const message = `The service could not be reached: ${why}. Check with Refresh before trying again.`;
      throw new ApiError("NetworkError", message, null);
    } finally {
      clearTimeout(timer);
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      // handled below: not the API's JSON
    }
    if (!response.ok) {
      if (answer && answer.Error) {
        throw new ApiError(answer.Error.Code, answer.Error.Message, answer.RequestId);
      }
      const message = answer && answer.message ? answer.message : response.statusText;
      throw new ApiError(`HTTP${response.status}`, `The service answered ${response.status} ${message}`, null);
    }
    if (!answer) {
      throw new ApiError("InvalidResponse", "The service's answer was not JSON.", null);
    }
    return answer;
  }

  // `resource` is the route after /v1 (or /v1/session): "/access-keys", "/activity", ...
  function call(method, resource, document) {
    if (account) return sessionCall(method, resource, document, account);
    return keyCall(method, resource, document, credentials);
  }

  async function keyCall(method, resource, document, using) {
    if (!using) throw new ApiError("SignedOut", "This page is signed out: sign in again.", null);
    const path = `/v1${resource}`;
    const body = document === undefined ? "" : JSON.stringify(document);
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    // The service would refuse it (the scope's date must be the timestamp's): not sent.
    const expired = outOfDate(using.date, now);
    if (expired) throw new ApiError("SigningKeyExpired", expired, null);
    const headers = {
      "Content-Type": "application/json",
      "X-TC-Timestamp": String(timestamp),
      Authorization: await authorization(using, method, path, body, timestamp),
    };
    return send(method, path, headers, body);
  }

  // API Gateway checks the ID token before any function runs: an expired or revoked one gets its
  // 401 {"message":"Unauthorized"}, and nothing was done, so it is renewed once and sent again.
  async function sessionCall(method, resource, document, using, renewed = false) {
    if (!using) throw new ApiError("SignedOut", "This page is signed out: sign in again.", null);
    if (!renewed && using.expiresAt - Date.now() < REQUEST_TIMEOUT_MS) {
      await renew(using);
      renewed = true;
    }
    const body = document === undefined ? "" : JSON.stringify(document);
    const headers = { "Content-Type": "application/json", Authorization: `Bearer ${using.idToken}` };
    try {
      return await send(method, `/v1/session${resource}`, headers, body);
    } catch (error) {
      if (error.code !== "HTTP401") throw error;
      if (renewed) throw new ApiError("SessionEnded", "Signed out: the service no longer accepts this sign-in. Sign in again.", null);
    }
    await renew(using);
    return sessionCall(method, resource, document, using, true);
  }

  const keyPath = (secretId) => `/access-keys/${encodeURIComponent(secretId)}`;

  // ------------------------------------------------------------------------------ the account

  // The user pool's client, made once from /console/config.json (the pool, its console client and
  // the Cognito endpoint: none of them a secret); tried again after a failure.
  function cognito() {
    cognitoClient ??= (async () => {
      if (typeof globalThis.CognitoClient !== "function") {
        throw new ApiError("Unavailable", "The account sign-in could not be loaded: reload the page.", null);
      }
      const config = await send("GET", "/console/config.json", {}, "");
      if (!config.UserPoolId || !config.ClientId || !config.CognitoEndpoint) {
        throw new ApiError("Unavailable", "The account sign-in is not configured for this service.", null);
      }
      return new globalThis.CognitoClient({
        endpoint: config.CognitoEndpoint,
        region: config.Region,
        userPoolId: config.UserPoolId,
        clientId: config.ClientId,
      });
    })();
    cognitoClient.catch(() => {
      cognitoClient = null;
    });
    return cognitoClient;
  }

  // The claims of a JWT, unverified: only to show who is signed in (the service verifies it).
  function claimsOf(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes)) || {};
    } catch {
      return {};
    }
  }

  function expiryOf(tokens) {
    if (Number.isFinite(tokens.expiresAt)) return tokens.expiresAt;
    const exp = claimsOf(tokens.idToken).exp;
    return Number.isFinite(exp) ? exp * 1000 : Date.now();
  }

  // A new ID token for `using` from its refresh token; one renewal at a time. A refusal (revoked,
  // expired) ends the sign-in; a network failure does not, and is tried again.
  function renew(using) {
    renewal ??= (async () => {
      const client = await cognito();
      let answer;
      try {
        answer = await client.refresh(using.refreshToken);
      } catch (error) {
        if (error.code === "NetworkError") {
          throw new ApiError("NetworkError", `${cognitoWords(error, "refresh")} Check with Refresh before trying again.`, null);
        }
        throw new ApiError("SessionEnded", "Signed out: this sign-in could not be renewed. Sign in again.", null);
      }
      using.idToken = answer.tokens.idToken;
      using.expiresAt = expiryOf(answer.tokens);
      if (answer.tokens.refreshToken) using.refreshToken = answer.tokens.refreshToken;
      if (using === account) keepAccount();
    })().finally(() => {
      renewal = null;
    });
    return renewal;
  }

  const STALE_SIGN_IN = "This sign-in was left too long between its steps: start again.";
  const WRONG_CODE = "Wrong code: enter the 6-digit code your authenticator app shows now.";
  const POLICY_WORDS = "at least 12 characters, with an upper-case letter, a lower-case letter, a digit and a symbol";

  // Cognito's error in plain words, with its code. `step`: "password", "new-password", "code" or "refresh".
  function cognitoWords(error, step) {
    const code = error.code || "Error";
    const message = String(error.message || "");
    let words;
    switch (code) {
      case "NotAuthorizedException":
      case "UserNotFoundException":
        if (/attempts exceeded/i.test(message)) words = "Too many failed attempts: wait a few minutes, then try again.";
        else if (/temporary password has expired/i.test(message)) words = "The temporary password has expired: ask an operator for a new one.";
        else if (/disabled/i.test(message)) words = "This account's sign-in is disabled: ask an operator.";
        else if (step === "password") words = "Wrong email or password.";
        else if (step === "refresh") words = "This sign-in has ended: sign in again.";
        else words = STALE_SIGN_IN;
        break;
      case "CodeMismatchException":
      case "EnableSoftwareTokenMFAException":
        words = WRONG_CODE;
        break;
      case "ExpiredCodeException":
        words = "That code has expired or was used already: wait for the next one and enter it.";
        break;
      case "InvalidPasswordException":
        words = `The new password does not meet the policy: ${POLICY_WORDS}.`;
        break;
      case "PasswordResetRequiredException":
        words = "This account's password has to be reset: ask an operator.";
        break;
      case "TooManyRequestsException":
      case "TooManyFailedAttemptsException":
      case "LimitExceededException":
        words = "Too many attempts: wait a few minutes, then try again.";
        break;
      case "NetworkError":
        words = "The sign-in service could not be reached: check the connection and try again.";
        break;
      default:
        words = message || "The sign-in failed.";
    }
    return `${words} (${code})`;
  }

  // The account form's, the new password's and the codes' fields: emptied as soon as they are read.
  function take(id) {
    const value = $(id).value;
    $(id).value = "";
    return value;
  }

  async function busy(button, work) {
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  }

  // Where a sign-in goes after each answer of cognito.js: a challenge's screen, or signed in.
  async function advance(result) {
    if (result.tokens) {
      const candidate = newAccount(result.tokens, pending);
      try {
        await openAccount(candidate);
      } catch (error) {
        revoke(candidate.refreshToken); // signed in at Cognito, but of no use here: ended there too
        startOver(`Signed in, but the keys could not be read with this sign-in: ${error.describe ? error.describe() : error}`);
      }
      return;
    }
    pending.state = result;
    if (result.challenge === "NEW_PASSWORD_REQUIRED") {
      showView("new-password-view");
      $("new-password").focus();
    } else if (result.challenge === "MFA_SETUP") {
      const setup = await (await cognito()).beginTotpSetup(result);
      pending.state = { ...result, session: setup.session };
      showTotpSecret(setup);
      showView("totp-setup-view");
      $("setup-code").focus();
    } else if (result.challenge === "SOFTWARE_TOKEN_MFA") {
      showView("totp-view");
      $("totp-code").focus();
    } else {
      throw new ApiError("UnsupportedChallenge", `This sign-in asks for a step this page cannot take (${result.challenge}).`, null);
    }
  }

  function showTotpSecret(setup) {
    $("totp-secret").textContent = setup.secretCode.replace(/(.{4})(?=.)/g, "$1 ");
    const link = $("totp-uri");
    link.textContent = setup.otpauthUri || "";
    if (/^otpauth:\/\//.test(setup.otpauthUri || "")) {
      link.href = setup.otpauthUri;
    } else {
      link.removeAttribute("href");
    }
  }

  function forgetChallenge() {
    pending = null;
    for (const id of ["password", "new-password", "new-password-again", "setup-code", "totp-code"]) $(id).value = "";
    $("totp-secret").textContent = "";
    $("totp-uri").textContent = "";
    $("totp-uri").removeAttribute("href");
    for (const id of ["new-password-error", "totp-setup-error", "totp-error"]) show($(id), "");
  }

  // Back to the account form, the sign-in so far dropped; `why` shown there.
  function startOver(why) {
    forgetChallenge();
    way = "account";
    showView("account-view");
    show($("account-error"), why || "");
  }

  // A sign-in step's failure in words: this page's own, or Cognito's mapped.
  function signInWords(error, step) {
    return error instanceof ApiError && error.code !== "NetworkError" ? error.describe() : cognitoWords(error, step);
  }

  // A challenge step's failure: a stale sign-in starts over, anything else stays on its screen.
  function stepFailed(error, where, step) {
    const words = signInWords(error, step);
    if (words.startsWith(STALE_SIGN_IN)) {
      startOver(words);
    } else {
      show(where, words);
    }
  }

  function newAccount(tokens, { email, kept }) {
    return {
      email: claimsOf(tokens.idToken).email || email,
      idToken: tokens.idToken,
      refreshToken: tokens.refreshToken,
      expiresAt: expiryOf(tokens),
      endsAt: Date.now() + SIGN_IN_LIMIT_MS,
      kept,
    };
  }

  async function openAccount(candidate) {
    const answer = await sessionCall("GET", "/access-keys", undefined, candidate);
    account = candidate;
    credentials = null;
    forgetChallenge();
    lastActivity = Date.now();
    if (candidate.kept) {
      keepAccount();
    } else {
      forgetAccount();
    }
    showSignedIn("Signed in as", candidate.email);
    keys = answer.AccessKeys;
    renderKeys();
    loadActivity();
  }

  function keepAccount() {
    if (!account || !account.kept) return;
    const { email, idToken, refreshToken, expiresAt, endsAt } = account;
    sessionStorage.setItem(ACCOUNT_STORAGE_KEY, JSON.stringify({ email, idToken, refreshToken, expiresAt, endsAt }));
  }

  function rememberedAccount() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(ACCOUNT_STORAGE_KEY));
    } catch {
      // unreadable: dropped below
    }
    const valid =
      saved &&
      ["email", "idToken", "refreshToken"].every((name) => typeof saved[name] === "string") &&
      Number.isFinite(saved.expiresAt) &&
      Number.isFinite(saved.endsAt);
    if (!valid) {
      forgetAccount();
      return null;
    }
    return { ...saved, kept: true };
  }

  function forgetAccount() {
    try {
      sessionStorage.removeItem(ACCOUNT_STORAGE_KEY);
    } catch {
      // storage refused: nothing was kept there
    }
  }

  // Revoked at Cognito, so that no copy of it gets new ID tokens; the sign-out does not wait for it.
  function revoke(refreshToken) {
    cognito()
      .then((client) => client.revoke(refreshToken))
      .catch(() => {
        // Already expired, revoked or unreachable: the page has forgotten it either way.
      });
  }

  // ---------------------------------------------------------------------------------- showing

  function show(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  function notice(text) {
    show($("notice"), text);
  }

  const SIGN_IN_VIEWS = ["account-view", "new-password-view", "totp-setup-view", "totp-view", "sign-in-view"];

  // One of the sign-in screens, or none (signed in).
  function showView(id) {
    for (const view of SIGN_IN_VIEWS) $(view).hidden = view !== id;
  }

  function showSignedIn(how, who) {
    $("who-how").textContent = how;
    $("who-id").textContent = who;
    $("who").hidden = false;
    showView(null);
    $("keys-view").hidden = false;
    $("activity-view").hidden = !account;
  }

  const localTime = (iso) => (iso ? new Date(iso).toLocaleString() : "Never");

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text ?? "";
    if (className) td.className = className;
    row.append(td);
    return td;
  }

  function button(label, onClick, className) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = label;
    if (className) element.className = className;
    element.addEventListener("click", onClick);
    return element;
  }

  function renderKeys() {
    const body = $("keys");
    body.replaceChildren();
    for (const key of keys) {
      const row = document.createElement("tr");
      row.dataset.secretId = key.SecretId;
      const idCell = cell(row, "", "mono");
      const idText = document.createElement("span");
      idText.textContent = key.SecretId;
      const copy = button("Copy", () => copyText(key.SecretId, copy), "quiet small");
      copy.setAttribute("aria-label", `Copy SecretId ${key.SecretId}`);
      idCell.append(idText, " ", copy);
      cell(row, key.Status, key.Status === "Active" ? "active" : "inactive");
      cell(row, localTime(key.CreateTime));
      cell(row, localTime(key.LastAccessTime));
      cell(row, key.Description);
      const operations = document.createElement("div");
      operations.className = "ops";
      if (key.Status === "Active") {
        operations.append(button("Disable", () => askDisable(key)));
      } else {
        operations.append(button("Enable", () => askEnable(key)), button("Delete", () => askDelete(key)));
      }
      operations.append(button("More Access Records", () => openRecords(key.SecretId), "quiet"));
      cell(row, "").append(operations);
      body.append(row);
    }
    $("keys-empty").hidden = keys.length > 0;
    const full = keys.length >= MAX_KEYS;
    $("create-key").disabled = full;
    $("create-key-note").textContent = full
      ? `An account holds at most ${MAX_KEYS} keys. Disable and delete one to create another.`
      : "";
  }

  async function copyText(text, trigger) {
    try {
      await navigator.clipboard.writeText(text);
      trigger.textContent = "Copied";
    } catch {
      trigger.textContent = "Copy failed: select and copy by hand";
    }
    setTimeout(() => {
      trigger.textContent = "Copy";
    }, 2000);
  }

  // "user:<email>" as the email, "operator:<arn>" as "operator <arn>".
  function actorName(actor) {
    const [kind, ...rest] = String(actor ?? "").split(":");
    const who = rest.join(":");
    if (kind === "user" && who) return who;
    if (kind === "operator" && who) return `operator ${who}`;
    return actor;
  }

  async function loadActivity() {
    show($("activity-error"), "");
    try {
      const entries = (await call("GET", "/activity")).Activity;
      const body = $("activity");
      body.replaceChildren();
      for (const entry of entries) {
        const row = document.createElement("tr");
        cell(row, localTime(entry.Time));
        cell(row, actorName(entry.Actor)).title = entry.Actor ?? "";
        cell(row, entry.Action);
        cell(row, entry.SecretId || "-", "mono");
        cell(row, entry.SourceIp);
        cell(row, entry.Result, entry.Result === "Success" ? "active" : "inactive");
        cell(row, entry.ErrorCode || "-");
        body.append(row);
      }
      $("activity-empty").hidden = entries.length > 0;
    } catch (error) {
      failed(error, $("activity-error"));
    }
  }

  // --------------------------------------------------------------------------------- sign in/out

  // What "Remember for this tab" kept of a key: never the SecretKey, only what `credentials` holds.
  function remember() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    } catch {
      // unreadable: dropped below
    }
    const valid =
      saved &&
      typeof saved.secretId === "string" &&
      /^\d{4}-\d{2}-\d{2}$/.test(saved.date) &&
      /^[0-9a-f]{64}$/.test(saved.signingKey);
    if (!valid) {
      // Anything else, such as an earlier version's record that held the SecretKey itself, goes.
      forget();
      return null;
    }
    return saved;
  }

  function forget() {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage refused: nothing was kept there
    }
  }

  async function restore(saved) {
    const raw = Uint8Array.from(saved.signingKey.match(/../g), (pair) => parseInt(pair, 16));
    try {
      return { secretId: saved.secretId, date: saved.date, signingKey: await importHmacKey(raw) };
    } finally {
      raw.fill(0);
    }
  }

  // Back to the sign-in screen of the way the page was signed in, everything it held forgotten.
  function signOut(message) {
    const ended = account;
    credentials = null;
    account = null;
    keys = [];
    forget();
    forgetAccount();
    if (ended) revoke(ended.refreshToken);
    forgetChallenge();
    for (const dialog of document.querySelectorAll("dialog")) {
      if (dialog.open) dialog.close();
    }
    $("keys").replaceChildren();
    $("records").replaceChildren();
    $("attempts").replaceChildren();
    $("activity").replaceChildren();
    $("secret-key").value = "";
    $("who").hidden = true;
    $("keys-view").hidden = true;
    $("activity-view").hidden = true;
    $("records-panel").hidden = true;
    showView(way === "key" ? "sign-in-view" : "account-view");
    notice(message);
  }

  // `kept`: the record for sessionStorage, or null to keep nothing there.
  async function signIn(candidate, kept) {
    const answer = await keyCall("GET", "/access-keys", undefined, candidate);
    credentials = candidate;
    account = null;
    lastActivity = Date.now();
    if (kept) {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(kept));
    } else {
      forget();
    }
    showSignedIn("Signed in with", candidate.secretId);
    keys = answer.AccessKeys;
    renderKeys();
  }

  async function refresh() {
    show($("keys-error"), "");
    if (account) loadActivity();
    try {
      keys = (await call("GET", "/access-keys")).AccessKeys;
      renderKeys();
    } catch (error) {
      failed(error, $("keys-error"));
    }
  }

  // Disabled or deleted under us, or the sign-in ended: the page cannot go on.
  function failed(error, where) {
    if ((error.code === "SigningKeyExpired" || error.code === "SessionEnded") && (credentials || account)) {
      signOut(error.message);
      return;
    }
    if (error.code === "AuthFailure.TokenFailure" && account) {
      signOut(`Signed out: the service does not accept this sign-in. ${error.describe()}`);
      return;
    }
    if (error.code === "AuthFailure.SecretIdNotFound" && credentials) {
      signOut(`Signed out: the key this page was signed in with no longer works. ${error.describe()}`);
      return;
    }
    show(where, error.describe ? error.describe() : String(error));
  }

  // ------------------------------------------------------------------------------ confirmations

  function ask({ title, text, warning = "", description = false, action }) {
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    show($("confirm-warning"), warning);
    $("confirm-description").hidden = !description;
    $("new-description").value = "";
    show($("confirm-error"), "");
    $("confirm").disabled = false;
    pendingConfirm = action;
    $("confirm-dialog").showModal();
  }

  async function confirmed() {
    if (!pendingConfirm || confirming) return;
    // While the request is out, the dialog stays: its outcome, or its error, is shown here.
    confirming = true;
    $("confirm").disabled = true;
    $("cancel").disabled = true;
    show($("confirm-error"), "");
    try {
      const after = await pendingConfirm();
      $("confirm-dialog").close();
      pendingConfirm = null;
      if (after) after();
    } catch (error) {
      $("confirm").disabled = false;
      if (SIGN_OUT_CODES.has(error.code)) {
        failed(error, $("confirm-error"));
      } else {
        show($("confirm-error"), error.describe ? error.describe() : String(error));
      }
    } finally {
      confirming = false;
      $("cancel").disabled = false;
    }
  }

  function askCreate() {
    ask({
      title: "Create Key",
      text: "Create a new access key for this account. Its SecretKey is shown once, right after.",
      description: true,
      action: async () => {
        const description = $("new-description").value;
        const created = (await call("POST", "/access-keys", { Description: description })).AccessKey;
        return () => showCreated(created);
      },
    });
  }

  function askDisable(key) {
    const own = credentials && key.SecretId === credentials.secretId;
    ask({
      title: "Disable",
      text: `Disable ${key.SecretId}? Requests signed with it are refused from the next one on.`,
      warning: own ? "This page is signed in with this key: disabling it signs this page out." : "",
      action: async () => {
        await call("PATCH", keyPath(key.SecretId), { Status: "Inactive" });
        if (own) {
          return () => signOut(`Signed out: ${key.SecretId}, the key this page was signed in with, is now disabled.`);
        }
        return refresh;
      },
    });
  }

  function askEnable(key) {
    ask({
      title: "Enable",
      text: `Enable ${key.SecretId}? Requests signed with it are accepted again.`,
      action: async () => {
        await call("PATCH", keyPath(key.SecretId), { Status: "Active" });
        return refresh;
      },
    });
  }

  function askDelete(key) {
    ask({
      title: "Delete",
      text: `Delete ${key.SecretId}?`,
      warning: "Deleting a key is final: it cannot be undone, and its access records go with it.",
      action: async () => {
        await call("DELETE", keyPath(key.SecretId));
        return () => {
          if ($("records-key").textContent === key.SecretId) $("records-panel").hidden = true;
          refresh();
        };
      },
    });
  }

  function showCreated(created) {
    $("created-id").textContent = created.SecretId;
    $("created-secret").value = created.SecretKey;
    $("copy-status").textContent = "";
    $("created-dialog").showModal();
    refresh();
  }

  // -------------------------------------------------------------------------------- records

  async function openRecords(secretId) {
    $("records-key").textContent = secretId;
    $("records").replaceChildren();
    $("attempts").replaceChildren();
    $("records-empty").hidden = true;
    $("attempts-empty").hidden = true;
    show($("records-error"), "");
    $("records-panel").hidden = false;
    try {
      const answer = await call("GET", `${keyPath(secretId)}/access-records`);
      const records = answer.AccessRecords;
      const attempts = answer.FailedAttempts ?? [];
      for (const record of records) {
        const row = document.createElement("tr");
        cell(row, localTime(record.AccessTime));
        cell(row, record.Service);
        cell(row, record.Action);
        cell(row, record.Result, record.Result === "Success" ? "active" : "inactive");
        cell(row, record.ErrorCode || "-");
        cell(row, record.SourceIp);
        cell(row, record.UserAgent, "agent");
        $("records").append(row);
      }
      $("records-empty").hidden = records.length > 0;
      for (const attempt of attempts) {
        const row = document.createElement("tr");
        cell(row, localTime(attempt.FirstTime));
        cell(row, localTime(attempt.LastTime));
        cell(row, String(attempt.Count), "mono");
        cell(row, attempt.SourceIp);
        cell(row, attempt.ErrorCode);
        cell(row, attempt.UserAgent, "agent");
        $("attempts").append(row);
      }
      $("attempts-empty").hidden = attempts.length > 0;
    } catch (error) {
      failed(error, $("records-error"));
    }
  }

  // ------------------------------------------------------------------------------------ wiring

  // A key: its date first (a key past its day is of no use, however recently the page was used),
  // then idleness. The account: its sign-in's end, idleness, then the ID token renewed in time.
  function sessionCheck() {
    const now = Date.now();
    const idle = now - lastActivity >= IDLE_LIMIT_MS;
    if (credentials) {
      const expired = outOfDate(credentials.date, now);
      if (expired) {
        signOut(expired);
      } else if (idle) {
        signOut("Signed out after 15 minutes without activity: the SecretKey has been forgotten.");
      }
    } else if (account) {
      if (now >= account.endsAt) {
        signOut("Signed out: a sign-in lasts 12 hours at most. Sign in again.");
      } else if (idle) {
        signOut("Signed out after 15 minutes without activity.");
      } else if (account.expiresAt - now <= RENEW_BEFORE_MS) {
        renew(account).catch((error) => {
          if (error.code === "SessionEnded") signOut(error.message);
        });
      }
    } else if (pending && idle) {
      startOver("The sign-in was left unfinished for 15 minutes: start again.");
    }
  }

  function wireAccountSignIn() {
    $("account-form").addEventListener("submit", (event) => {
      event.preventDefault();
      // The pool's usernames are case-insensitive, and `admin create-account` keeps them in lower case.
      const email = $("email").value.trim().toLowerCase();
      const password = take("password");
      show($("account-error"), "");
      notice("");
      if (!email || !password) {
        show($("account-error"), "Enter the email and the password of the account.");
        return;
      }
      busy($("account-sign-in"), async () => {
        try {
          const client = await cognito();
          pending = { email, kept: $("account-remember").checked, state: null };
          await advance(await client.signIn(email, password));
        } catch (error) {
          if (pending && !pending.state) pending = null;
          show($("account-error"), signInWords(error, "password"));
        }
      });
    });

    $("new-password-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const password = take("new-password");
      const again = take("new-password-again");
      const where = $("new-password-error");
      show(where, "");
      if (!pending) return startOver(STALE_SIGN_IN);
      if (password !== again) {
        show(where, "The two passwords differ: type the same new password twice.");
        return;
      }
      const missing = PASSWORD_POLICY.filter(([met]) => !met(password)).map(([, words]) => words);
      if (missing.length) {
        show(where, `The new password needs ${missing.join(", ")}.`);
        return;
      }
      busy($("set-password"), async () => {
        try {
          await advance(await (await cognito()).setNewPassword(pending.state, password));
        } catch (error) {
          stepFailed(error, where, "new-password");
        }
      });
    });

    const codeStep = (form, field, submit, where, answer) => {
      $(form).addEventListener("submit", (event) => {
        event.preventDefault();
        const code = take(field).replace(/\s/g, "");
        show($(where), "");
        if (!pending) return startOver(STALE_SIGN_IN);
        if (!/^\d{6}$/.test(code)) {
          show($(where), "Enter the 6 digits your authenticator app shows.");
          return;
        }
        busy($(submit), async () => {
          try {
            await advance(await answer(await cognito(), pending.state, code));
          } catch (error) {
            stepFailed(error, $(where), "code");
          }
        });
      });
    };
    codeStep("totp-setup-form", "setup-code", "finish-setup", "totp-setup-error", (client, state, code) =>
      client.finishTotpSetup(state, code),
    );
    codeStep("totp-form", "totp-code", "verify-code", "totp-error", (client, state, code) =>
      client.answerTotp(state, code),
    );
    $("copy-totp-secret").addEventListener("click", () =>
      copyText($("totp-secret").textContent.replace(/\s/g, ""), $("copy-totp-secret")),
    );
    for (const link of document.querySelectorAll(".start-over")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        startOver("");
      });
    }
    $("use-key").addEventListener("click", (event) => {
      event.preventDefault();
      startOver("");
      way = "key";
      showView("sign-in-view");
      $("secret-id").focus();
    });
    $("use-account").addEventListener("click", (event) => {
      event.preventDefault();
      startOver("");
      $("email").focus();
    });
  }

  function wireKeySignIn() {
    $("sign-in-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const secretId = $("secret-id").value.trim();
      show($("sign-in-error"), "");
      notice("");
      if (!secretId || !$("secret-key").value) {
        show($("sign-in-error"), "Enter both the SecretId and the SecretKey.");
        return;
      }
      $("sign-in").disabled = true;
      try {
        const date = utcDate(Date.now());
        const raw = await deriveSigningKey($("secret-key"), date);
        let candidate;
        let kept = null;
        try {
          candidate = { secretId, date, signingKey: await importHmacKey(raw) };
          if ($("remember").checked) kept = { secretId, date, signingKey: hex(raw) };
        } finally {
          raw.fill(0);
        }
        await signIn(candidate, kept);
      } catch (error) {
        show($("sign-in-error"), error.describe ? error.describe() : String(error));
      } finally {
        $("sign-in").disabled = false;
      }
    });
  }

  function wireKeys() {
    $("sign-out").addEventListener("click", () =>
      signOut(account ? "Signed out." : "Signed out. The SecretKey has been forgotten."),
    );
    $("create-key").addEventListener("click", askCreate);
    $("refresh").addEventListener("click", refresh);
    $("refresh-activity").addEventListener("click", loadActivity);
    $("confirm").addEventListener("click", confirmed);
    $("cancel").addEventListener("click", () => {
      pendingConfirm = null;
      $("confirm-dialog").close();
    });
    $("confirm-dialog").addEventListener("cancel", (event) => {
      if (confirming) {
        event.preventDefault(); // Escape while the request is out: wait for its answer
        return;
      }
      pendingConfirm = null;
    });
    $("copy-secret").addEventListener("click", () => copyText($("created-secret").value, $("copy-secret")));
    $("created-done").addEventListener("click", () => {
      $("created-secret").value = "";
      $("created-dialog").close();
    });
    $("created-dialog").addEventListener("close", () => {
      $("created-secret").value = "";
    });
    $("close-records").addEventListener("click", () => {
      $("records-panel").hidden = true;
    });
  }

  // What this tab kept, if the user asked: a key's day, or the account's sign-in.
  function resume() {
    const saved = remember();
    if (saved) {
      way = "key";
      showView("sign-in-view");
      $("remember").checked = true;
      const expired = outOfDate(saved.date);
      if (expired) {
        signOut(expired);
        return;
      }
      const { secretId, date, signingKey } = saved;
      restore(saved)
        .then((candidate) => signIn(candidate, { secretId, date, signingKey }))
        .catch((error) => {
          signOut(`The remembered key could not sign in: ${error.describe ? error.describe() : error}`);
        });
      return;
    }
    const kept = rememberedAccount();
    if (kept) {
      $("account-remember").checked = true;
      $("email").value = kept.email;
      if (Date.now() >= kept.endsAt) {
        signOut("Signed out: a sign-in lasts 12 hours at most. Sign in again.");
        return;
      }
      openAccount(kept).catch((error) => {
        revoke(kept.refreshToken);
        signOut(`The remembered sign-in could not be used: ${error.describe ? error.describe() : error}`);
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const event of ["pointerdown", "keydown", "scroll"]) {
      document.addEventListener(event, () => {
        sessionCheck();
        lastActivity = Date.now();
      }, { capture: true, passive: true });
    }
    setInterval(sessionCheck, CHECK_EVERY_MS);
    wireAccountSignIn();
    wireKeySignIn();
    wireKeys();
    resume();
  });
})();
