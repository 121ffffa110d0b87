// Sign-in to an Amazon Cognito user pool from the page, with Cognito's public JSON API: USER_SRP_AUTH
// (srp.js: the password never leaves the page), then its challenges, refresh and sign-out. A
// classic script with no dependencies; it defines globalThis.CognitoClient (and module.exports
// under Node.js), and needs srp.js loaded first.
//
//   const cognito = new CognitoClient({ endpoint, region, userPoolId, clientId });
//   await cognito.signIn(email, password)
//     -> { tokens } or { challenge, session, username, email }, challenge being one of
//        NEW_PASSWORD_REQUIRED, MFA_SETUP or SOFTWARE_TOKEN_MFA
//   await cognito.setNewPassword(state, newPassword)   -> the next state
//   await cognito.beginTotpSetup(state)                -> { ...state, secretCode, otpauthUri, session }
//   await cognito.finishTotpSetup(setup, code)         -> the next state ({ tokens })
//   await cognito.answerTotp(state, code)              -> { tokens }
//   await cognito.refresh(refreshToken)                -> { tokens }, with the same refreshToken
//   await cognito.revoke(refreshToken)
//
// tokens = { idToken, accessToken, refreshToken, expiresAt } (expiresAt in ms since the epoch).
// A refusal throws an Error whose .code is Cognito's __type ("NotAuthorizedException",
// "CodeMismatchException", ...) and whose .message is Cognito's; a failure to reach Cognito has
// .code "NetworkError". No password is ever put in an error or a log.
(() => {
  "use strict";

  const CHALLENGES = ["NEW_PASSWORD_REQUIRED", "MFA_SETUP", "SOFTWARE_TOKEN_MFA"];

  function cognitoError(code, message) {
    const error = new Error(message);
    error.name = "CognitoError";
    error.code = code;
    return error;
  }

  class CognitoClient {
    constructor({ endpoint, region, userPoolId, clientId, issuer = "Access keys", timeoutMs = 20_000 }) {
      this.endpoint = endpoint || `https://cognito-idp.${region}.amazonaws.com/`;
      this.userPoolId = userPoolId;
      this.clientId = clientId;
      this.issuer = issuer;
      this.timeoutMs = timeoutMs;
    }

    async signIn(email, password) {
      const srp = await globalThis.CognitoSrp.SrpClient.create();
      const started = await this._call("InitiateAuth", {
        AuthFlow: "USER_SRP_AUTH",
        ClientId: this.clientId,
        AuthParameters: { USERNAME: email, SRP_A: srp.largeAHex },
      });
      if (started.ChallengeName !== "PASSWORD_VERIFIER") return this._next(started, email, email);
      const parameters = started.ChallengeParameters;
      let claim;
      try {
        claim = await srp.passwordClaim({
          userPoolId: this.userPoolId,
          userIdForSrp: parameters.USER_ID_FOR_SRP,
          password,
          salt: parameters.SALT,
          srpB: parameters.SRP_B,
          secretBlock: parameters.SECRET_BLOCK,
        });
      } catch {
        throw cognitoError("InvalidChallenge", "Cognito's PASSWORD_VERIFIER challenge could not be answered.");
      }
      const verified = await this._respond("PASSWORD_VERIFIER", started.Session, {
        USERNAME: parameters.USERNAME,
        PASSWORD_CLAIM_SECRET_BLOCK: parameters.SECRET_BLOCK,
        PASSWORD_CLAIM_SIGNATURE: claim.signature,
        TIMESTAMP: claim.timestamp,
      });
      return this._next(verified, parameters.USERNAME, email);
    }

    setNewPassword(state, newPassword) {
      return this._answer(state, "NEW_PASSWORD_REQUIRED", { NEW_PASSWORD: newPassword });
    }

    async beginTotpSetup(state) {
      const associated = await this._call("AssociateSoftwareToken", { Session: state.session });
      const secretCode = associated.SecretCode;
      const issuer = encodeURIComponent(this.issuer);
      const label = `${issuer}:${encodeURIComponent(state.email)}`;
      const otpauthUri = `otpauth://totp/${label}?secret=${secretCode}&issuer=${issuer}`;
      return { ...state, secretCode, otpauthUri, session: associated.Session || state.session };
    }

    async finishTotpSetup(setup, code) {
      const verified = await this._call("VerifySoftwareToken", { Session: setup.session, UserCode: code });
      if (verified.Status !== "SUCCESS") throw cognitoError("EnableSoftwareTokenMFAException", "The code was not accepted.");
      return this._answer({ ...setup, session: verified.Session }, "MFA_SETUP", {});
    }

    answerTotp(state, code) {
      return this._answer(state, "SOFTWARE_TOKEN_MFA", { SOFTWARE_TOKEN_MFA_CODE: code });
    }

    // Answer the challenge `state` stands at for its user, and go on to what Cognito asks next.
    async _answer(state, challengeName, responses) {
      const answered = await this._respond(challengeName, state.session, { USERNAME: state.username, ...responses });
      return this._next(answered, state.username, state.email);
    }

    async refresh(refreshToken) {
      const refreshed = await this._call("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: this.clientId,
        AuthParameters: { REFRESH_TOKEN: refreshToken },
      });
      return { tokens: tokensOf(refreshed.AuthenticationResult, refreshToken) };
    }

    async revoke(refreshToken) {
      await this._call("RevokeToken", { ClientId: this.clientId, Token: refreshToken });
    }

    _respond(challengeName, session, challengeResponses) {
      const request = { ChallengeName: challengeName, ClientId: this.clientId, ChallengeResponses: challengeResponses };
      if (session) request.Session = session;
      return this._call("RespondToAuthChallenge", request);
    }

    // Tokens, or the challenge to answer next with what answering it needs.
    _next(response, username, email) {
      if (response.AuthenticationResult) return { tokens: tokensOf(response.AuthenticationResult) };
      if (!CHALLENGES.includes(response.ChallengeName)) {
        throw cognitoError("UnsupportedChallenge", `This page cannot answer Cognito's ${response.ChallengeName} challenge.`);
      }
      const named = (response.ChallengeParameters || {}).USERNAME;
      return { challenge: response.ChallengeName, session: response.Session, username: named || username, email };
    }

    async _call(action, body) {
      let response;
      let text;
      try {
        response = await fetch(this.endpoint, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await response.text();
      } catch {
        throw cognitoError("NetworkError", "Cognito could not be reached.");
      }
      let data = {};
      try {
        data = text ? JSON.parse(text) : {};
      } catch {
        if (response.ok) throw cognitoError("NetworkError", "Cognito's answer was not JSON.");
      }
      if (!response.ok) {
        const type = String(data.__type || data.code || "UnknownError");
        throw cognitoError(type.split("#").pop(), data.message || data.Message || `Cognito answered HTTP ${response.status}.`);
      }
      return data;
    }
  }

  function tokensOf(result, refreshToken) {
    return {
      idToken: result.IdToken,
      accessToken: result.AccessToken,
      refreshToken: result.RefreshToken || refreshToken,
      expiresAt: Date.now() + result.ExpiresIn * 1000,
    };
  }

  globalThis.CognitoClient = CognitoClient;
  if (typeof module !== "undefined" && module.exports) module.exports = CognitoClient;
})();
