// The API Keys Management page: the same /v1 routes as every other client, each request signed
// here with TC3-HMAC-SHA256 (docs/api.md, section 2) through WebCrypto. Everything the API returns
// is written as text (textContent, input values), never as HTML.
"use strict";

(() => {
  const IDLE_LIMIT_MS = 15 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 20_000;
  const MAX_KEYS = 2;
  const STORAGE_KEY = "access-keys-console";
  const encoder = new TextEncoder();

  // The signed-in key: its SecretId, the UTC date it signs for and that day's TC3 signing key, a
  // non-extractable CryptoKey. The SecretKey itself is used once, at sign-in, and kept nowhere: a
  // copy of what this page holds signs for one day at most. In sessionStorage (the signing key's
  // hex, since a CryptoKey cannot be stored there) only if the user asked.
  let credentials = null;
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
  const SIGN_OUT_CODES = new Set(["AuthFailure.SecretIdNotFound", "SigningKeyExpired"]);

  async function call(method, path, document, using = credentials) {
    if (!using) throw new ApiError("SignedOut", "This page is signed out: sign in again.", null);
    const body = document === undefined ? "" : JSON.stringify(document);
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    // The service would refuse it (the scope's date must be the timestamp's): not sent.
    const expired = outOfDate(using.date, now);
    if (expired) throw new ApiError("SigningKeyExpired", expired, null);
    let response;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), REQUEST_TIMEOUT_MS);
    try {
      response = await fetch(path, {
        method,
        headers: {
          "Content-Type": "application/json",
          "X-TC-Timestamp": String(timestamp),
          Authorization: await authorization(using, method, path, body, timestamp),
        },
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

  const keyPath = (secretId) => `/v1/access-keys/${encodeURIComponent(secretId)}`;

  // ---------------------------------------------------------------------------------- showing

  function show(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  function notice(text) {
    show($("notice"), text);
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

  // --------------------------------------------------------------------------------- sign in/out

  // What "Remember for this tab" kept: never the SecretKey, only what `credentials` holds.
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

  function signOut(message) {
    credentials = null;
    keys = [];
    forget();
    for (const dialog of document.querySelectorAll("dialog")) {
      if (dialog.open) dialog.close();
    }
    $("keys").replaceChildren();
    $("records").replaceChildren();
    $("attempts").replaceChildren();
    $("secret-key").value = "";
    $("who").hidden = true;
    $("keys-view").hidden = true;
    $("records-panel").hidden = true;
    $("sign-in-view").hidden = false;
    notice(message);
  }

  // `kept`: the record for sessionStorage, or null to keep nothing there.
  async function signIn(candidate, kept) {
    const answer = await call("GET", "/v1/access-keys", undefined, candidate);
    credentials = candidate;
    lastActivity = Date.now();
    if (kept) {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(kept));
    } else {
      forget();
    }
    $("who-id").textContent = candidate.secretId;
    $("who").hidden = false;
    $("sign-in-view").hidden = true;
    $("keys-view").hidden = false;
    keys = answer.AccessKeys;
    renderKeys();
  }

  async function refresh() {
    show($("keys-error"), "");
    try {
      keys = (await call("GET", "/v1/access-keys")).AccessKeys;
      renderKeys();
    } catch (error) {
      failed(error, $("keys-error"));
    }
  }

  // Disabled or deleted under us: the page cannot go on with this key.
  function failed(error, where) {
    if (error.code === "SigningKeyExpired" && credentials) {
      signOut(error.message);
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
        const created = (await call("POST", "/v1/access-keys", { Description: description })).AccessKey;
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

  // The date first: a key past its day is of no use, however recently the page was used.
  function sessionCheck() {
    if (!credentials) return;
    const expired = outOfDate(credentials.date);
    if (expired) {
      signOut(expired);
    } else if (Date.now() - lastActivity >= IDLE_LIMIT_MS) {
      signOut("Signed out after 15 minutes without activity: the SecretKey has been forgotten.");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const event of ["pointerdown", "keydown", "scroll"]) {
      document.addEventListener(event, () => {
        sessionCheck();
        lastActivity = Date.now();
      }, { capture: true, passive: true });
    }
    setInterval(sessionCheck, 10_000);

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
    $("sign-out").addEventListener("click", () => signOut("Signed out. The SecretKey has been forgotten."));
    $("create-key").addEventListener("click", askCreate);
    $("refresh").addEventListener("click", refresh);
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

    const saved = remember();
    if (saved) {
      $("remember").checked = true;
      const expired = outOfDate(saved.date);
      if (expired) {
        signOut(expired);
      } else {
        const { secretId, date, signingKey } = saved;
        restore(saved)
          .then((candidate) => signIn(candidate, { secretId, date, signingKey }))
          .catch((error) => {
            signOut(`The remembered key could not sign in: ${error.describe ? error.describe() : error}`);
          });
      }
    }
  });
})();
