// The client half of Amazon Cognito's SRP-6a (USER_SRP_AUTH): the password never leaves the page.
// A classic script with no dependencies: WebCrypto for SHA-256 and HMAC, BigInt for the group.
// It defines globalThis.CognitoSrp (and module.exports under Node.js):
//
//   const srp = await CognitoSrp.SrpClient.create();   // a random a, and A = g^a mod N
//   srp.largeAHex                                       // InitiateAuth's SRP_A
//   await srp.passwordClaim({ userPoolId, userIdForSrp, password, salt, srpB, secretBlock })
//     -> { signature, timestamp }                       // PASSWORD_VERIFIER's answer
//
// Cognito's parameters: RFC 5054's 3072-bit group, g = 2, k = H(pad(N) | pad(g)),
// x = H(salt | H(poolName | userIdForSrp | ":" | password)), u = H(pad(A) | pad(B)), and the key
// HKDF-SHA256(salt = pad(u), ikm = pad(S), info = "Caldera Derived Key"), 16 bytes.
(() => {
  "use strict";

  const N = BigInt(
    "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
      "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
      "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
      "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
      "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
      "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
      "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
  );
  const G = 2n;
  const INFO = new TextEncoder().encode("Caldera Derived Key\u0001");
  const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const utf8 = (text) => new TextEncoder().encode(text);

  // Cognito's padHex: even-length hex, with "00" in front when the top bit is set.
  function padHex(value) {
    let hex = value.toString(16);
    if (hex.length % 2 === 1) hex = "0" + hex;
    else if ("89abcdef".includes(hex[0])) hex = "00" + hex;
    return hex;
  }

  function hexToBytes(hex) {
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return bytes;
  }

  const bytesToBigInt = (bytes) => BigInt("0x" + (Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") || "0"));
  const padBytes = (value) => hexToBytes(padHex(value));

  function concat(...parts) {
    const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  }

  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
  }

  async function hmacSha256(key, ...parts) {
    const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, concat(...parts)));
  }

  function modPow(base, exponent, modulus) {
    let result = 1n;
    base = ((base % modulus) + modulus) % modulus;
    while (exponent > 0n) {
      if (exponent & 1n) result = (result * base) % modulus;
      base = (base * base) % modulus;
      exponent >>= 1n;
    }
    return result;
  }

  // "Tue Dec 1 12:27:31 UTC 2026": Cognito's TIMESTAMP, the day not zero-padded.
  function cognitoTimestamp(date) {
    const two = (n) => String(n).padStart(2, "0");
    const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
    return `${WEEKDAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()} ${time} UTC ${date.getUTCFullYear()}`;
  }

  function base64ToBytes(text) {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }

  function bytesToBase64(bytes) {
    return btoa(String.fromCharCode(...bytes));
  }

  class SrpClient {
    constructor(smallA) {
      this.smallA = smallA;
      this.largeA = modPow(G, smallA, N);
      this.largeAHex = this.largeA.toString(16);
    }

    static async create() {
      for (;;) {
        const smallA = bytesToBigInt(crypto.getRandomValues(new Uint8Array(128))) % N;
        const client = new SrpClient(smallA);
        if (smallA !== 0n && client.largeA % N !== 0n) return client;
      }
    }

    // The PASSWORD_VERIFIER answer to InitiateAuth's ChallengeParameters (SALT, SRP_B, SECRET_BLOCK).
    async passwordClaim({ userPoolId, userIdForSrp, password, salt, srpB, secretBlock, date = new Date() }) {
      const largeB = BigInt("0x" + srpB);
      if (largeB % N === 0n) throw new Error("Cognito sent an SRP_B that is 0 mod N.");
      const poolName = userPoolId.split("_")[1];
      const k = bytesToBigInt(await sha256(padBytes(N), padBytes(G)));
      const u = bytesToBigInt(await sha256(padBytes(this.largeA), padBytes(largeB)));
      if (u === 0n) throw new Error("The SRP scrambling parameter is zero.");
      const inner = await sha256(utf8(`${poolName}${userIdForSrp}:${password}`));
      const x = bytesToBigInt(await sha256(padBytes(BigInt("0x" + salt)), inner));
      const shared = modPow(largeB - k * modPow(G, x, N), this.smallA + u * x, N);
      const pseudoRandomKey = await hmacSha256(padBytes(u), padBytes(shared));
      const key = (await hmacSha256(pseudoRandomKey, INFO)).slice(0, 16);
      const timestamp = cognitoTimestamp(date);
      const message = [utf8(poolName), utf8(userIdForSrp), base64ToBytes(secretBlock), utf8(timestamp)];
      return { signature: bytesToBase64(await hmacSha256(key, ...message)), timestamp };
    }
  }

  const CognitoSrp = { SrpClient, cognitoTimestamp, padHex };
  globalThis.CognitoSrp = CognitoSrp;
  if (typeof module !== "undefined" && module.exports) module.exports = CognitoSrp;
})();
