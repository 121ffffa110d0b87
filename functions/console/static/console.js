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

  // The signed-in key: in this variable, and in sessionStorage only if the user asked.
  let credentials = null;
  let lastActivity = Date.now();
  let keys = [];
  let pendingConfirm = null;
  let confirming = false;

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ signing (TC3-HMAC-SHA256)

  const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");

  async function sha256Hex(text) {
    return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  }

  async function hmac(key, text) {
    const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return crypto.subtle.sign("HMAC", imported, encoder.encode(text));
  }

  async function authorization(secretId, secretKey, method, path, body, timestamp) {
    const host = location.host.toLowerCase();
    const canonical = [
      method,
      path,
      "",
      `content-type:application/json\nhost:${host}\n`,
      "content-type;host",
      await sha256Hex(body),
    ].join("\n");
    const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
    const scope = `${date}/cam/tc3_request`;
    const stringToSign = ["TC3-HMAC-SHA256", String(timestamp), scope, await sha256Hex(canonical)].join("\n");
    const dateKey = await hmac(encoder.encode(`TC3${secretKey}`), date);
    const serviceKey = await hmac(dateKey, "cam");
    const signingKey = await hmac(serviceKey, "tc3_request");
    const signature = hex(await hmac(signingKey, stringToSign));
    return `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`;
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

  async function call(method, path, document, using = credentials) {
    const body = document === undefined ? "" : JSON.stringify(document);
    const timestamp = Math.floor(Date.now() / 1000);
    let response;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), REQUEST_TIMEOUT_MS);
    try {
      response = await fetch(path, {
        method,
        headers: {
          "Content-Type": "application/json",
          "X-TC-Timestamp": String(timestamp),
          Authorization: await authorization(using.secretId, using.secretKey, method, path, body, timestamp),
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
    td.textContent = text;
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

  function remember() {
    try {
      const saved = sessionStorage.getItem(STORAGE_KEY);
      return saved ? JSON.parse(saved) : null;
    } catch {
      return null;
    }
  }

  function signOut(message) {
    credentials = null;
    keys = [];
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage refused: nothing was kept there
    }
    for (const dialog of document.querySelectorAll("dialog")) {
      if (dialog.open) dialog.close();
    }
    $("keys").replaceChildren();
    $("records").replaceChildren();
    $("secret-key").value = "";
    $("who").hidden = true;
    $("keys-view").hidden = true;
    $("records-panel").hidden = true;
    $("sign-in-view").hidden = false;
    notice(message);
  }

  async function signIn(candidate, keep) {
    const answer = await call("GET", "/v1/access-keys", undefined, candidate);
    credentials = candidate;
    lastActivity = Date.now();
    if (keep) {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(candidate));
    }
    $("who-id").textContent = candidate.secretId;
    $("who").hidden = false;
    $("sign-in-view").hidden = true;
    $("keys-view").hidden = false;
    $("secret-key").value = "";
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
      if (error.code === "AuthFailure.SecretIdNotFound") {
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
    $("records-empty").hidden = true;
    show($("records-error"), "");
    $("records-panel").hidden = false;
    try {
      const records = (await call("GET", `${keyPath(secretId)}/access-records`)).AccessRecords;
      for (const record of records) {
        const row = document.createElement("tr");
        cell(row, localTime(record.AccessTime));
        cell(row, record.Action);
        cell(row, record.Result, record.Result === "Success" ? "active" : "inactive");
        cell(row, record.ErrorCode || "-");
        cell(row, record.SourceIp);
        cell(row, record.UserAgent, "agent");
        $("records").append(row);
      }
      $("records-empty").hidden = records.length > 0;
    } catch (error) {
      failed(error, $("records-error"));
    }
  }

  // ------------------------------------------------------------------------------------ wiring

  function idleCheck() {
    if (credentials && Date.now() - lastActivity >= IDLE_LIMIT_MS) {
      signOut("Signed out after 15 minutes without activity: the SecretKey has been forgotten.");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const event of ["pointerdown", "keydown", "scroll"]) {
      document.addEventListener(event, () => {
        idleCheck();
        lastActivity = Date.now();
      }, { capture: true, passive: true });
    }
    setInterval(idleCheck, 10_000);

    $("sign-in-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const candidate = { secretId: $("secret-id").value.trim(), secretKey: $("secret-key").value };
      show($("sign-in-error"), "");
      notice("");
      if (!candidate.secretId || !candidate.secretKey) {
        show($("sign-in-error"), "Enter both the SecretId and the SecretKey.");
        return;
      }
      $("sign-in").disabled = true;
      try {
        await signIn(candidate, $("remember").checked);
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
    if (saved && saved.secretId && saved.secretKey) {
      $("remember").checked = true;
      signIn(saved, true).catch((error) => {
        signOut(`The remembered key could not sign in: ${error.describe ? error.describe() : error}`);
      });
    }
  });
})();
