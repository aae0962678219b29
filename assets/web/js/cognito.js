/*
 * Mythical Mysfits — a small client for the Cognito user-pool JSON API (module 4+).
 *
 * Every call is a POST of JSON to the configured `cognitoEndpoint` (the local cloud's edge, or
 * cognito-idp.<region>.amazonaws.com on AWS) with two headers:
 *   Content-Type: application/x-amz-json-1.1
 *   X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>
 * The operations used here (SignUp, ConfirmSignUp, ResendConfirmationCode, InitiateAuth,
 * GlobalSignOut) are the ones Cognito accepts without an AWS signature, so no SDK is needed.
 * Sign-in uses the USER_PASSWORD_AUTH flow: the app client must allow it.
 *
 * Errors come back as HTTP 400 with {"__type": "[prefix#]SomeException", "message": "..."};
 * each call then rejects with a CognitoError whose `type` is the bare exception name.
 * describeError() turns one into a sentence for people.
 *
 * Exposes window.MysfitsCognito = { createClient, decodeJwt, describeError, CognitoError }.
 */
(function () {
  "use strict";

  var TARGET_PREFIX = "AWSCognitoIdentityProviderService.";

  function CognitoError(type, message, status) {
    this.name = "CognitoError";
    this.type = type;
    this.message = message || type;
    this.status = status || 0;
  }
  CognitoError.prototype = Object.create(Error.prototype);

  // "com.amazonaws.cognito...#CodeMismatchException", or the x-amzn-ErrorType header's
  // "CodeMismatchException:<link>" → "CodeMismatchException".
  function bareType(raw) {
    return String(raw || "").split(":")[0].split("#").pop().trim();
  }

  function errorFrom(response, body) {
    var type = bareType(body && (body.__type || body.code)) ||
      bareType(response.headers.get("x-amzn-ErrorType")) ||
      "HTTP" + response.status;
    var message = body && (body.message || body.Message);
    return new CognitoError(type, message, response.status);
  }

  function createClient(options) {
    var endpoint = String(options.endpoint).replace(/\/+$/, "") + "/";
    var clientId = options.clientId;

    function call(operation, payload) {
      var request = {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": TARGET_PREFIX + operation
        },
        body: JSON.stringify(payload),
        cache: "no-store",
        credentials: "omit"
      };
      return fetch(endpoint, request).then(
        function (response) {
          return response.text().then(function (text) {
            var body = null;
            try { body = text ? JSON.parse(text) : {}; } catch (e) { body = null; }
            if (!response.ok) throw errorFrom(response, body);
            if (body === null) {
              throw new CognitoError("InvalidResponse", "The answer to " + operation + " was not JSON.", response.status);
            }
            return body;
          });
        },
        function () {
          // Refused, offline or blocked by CORS: fetch does not say which.
          throw new CognitoError("NetworkError", "Could not reach " + endpoint, 0);
        }
      );
    }

    function tokensFrom(body) {
      var result = body.AuthenticationResult;
      if (!result || !result.IdToken) {
        throw new CognitoError("ChallengeRequired",
          "Cognito asked for an extra step (" + (body.ChallengeName || "unknown challenge") + ")");
      }
      return {
        idToken: result.IdToken,
        accessToken: result.AccessToken,
        refreshToken: result.RefreshToken || null,
        expiresIn: Number(result.ExpiresIn) || 3600
      };
    }

    return {
      endpoint: endpoint,

      signUp: function (email, password) {
        return call("SignUp", {
          ClientId: clientId,
          Username: email,
          Password: password,
          UserAttributes: [{ Name: "email", Value: email }]
        });
      },

      confirmSignUp: function (email, code) {
        return call("ConfirmSignUp", { ClientId: clientId, Username: email, ConfirmationCode: code });
      },

      resendConfirmationCode: function (email) {
        return call("ResendConfirmationCode", { ClientId: clientId, Username: email });
      },

      // Resolves to {idToken, accessToken, refreshToken, expiresIn}.
      signIn: function (email, password) {
        return call("InitiateAuth", {
          ClientId: clientId,
          AuthFlow: "USER_PASSWORD_AUTH",
          AuthParameters: { USERNAME: email, PASSWORD: password }
        }).then(tokensFrom);
      },

      // Same shape as signIn; refreshToken is null (the old one stays valid).
      refresh: function (refreshToken) {
        return call("InitiateAuth", {
          ClientId: clientId,
          AuthFlow: "REFRESH_TOKEN_AUTH",
          AuthParameters: { REFRESH_TOKEN: refreshToken }
        }).then(tokensFrom);
      },

      globalSignOut: function (accessToken) {
        return call("GlobalSignOut", { AccessToken: accessToken });
      }
    };
  }

  // The claims of a JWT, or null. Nothing is verified: the API checks the signature.
  function decodeJwt(token) {
    try {
      var part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) part += "=";
      var bytes = atob(part);
      var text = decodeURIComponent(bytes.split("").map(function (c) {
        return "%" + ("0" + c.charCodeAt(0).toString(16)).slice(-2);
      }).join(""));
      var claims = JSON.parse(text);
      return claims && typeof claims === "object" ? claims : null;
    } catch (e) {
      return null;
    }
  }

  // {text, action} for people; action is "confirm", "sign-in" or "register" when another step
  // would help. `step` is what was being done: "register", "confirm", "resend" or "sign-in".
  function describeError(err, step, endpoint) {
    var type = err && err.type;
    var server = err && err.message && err.message !== type ? " (" + err.message + ")" : "";
    switch (type) {
      case "UsernameExistsException":
        return { text: "An account with this email already exists. Sign in, or confirm it if you never entered your code.", action: "sign-in" };
      case "InvalidPasswordException":
        return { text: "The user pool did not accept that password" + server + "." };
      case "CodeMismatchException":
        return { text: "That code does not match the one we sent. Check the email and try again." };
      case "ExpiredCodeException":
        return { text: "That code has expired. Ask for a new code and use the newest one." };
      case "UserNotConfirmedException":
        return { text: "This account is not confirmed yet. Enter the code we emailed you first.", action: "confirm" };
      case "UserNotFoundException":
        return { text: "No account uses this email. Register first.", action: "register" };
      case "NotAuthorizedException":
        if (step === "sign-in") return { text: "The email or password is not right." };
        if (step === "confirm") return { text: "This account cannot be confirmed" + server + ". It may be confirmed already: try signing in.", action: "sign-in" };
        return { text: "That was not allowed" + server + "." };
      case "AliasExistsException":
        return { text: "Another account already uses this email.", action: "sign-in" };
      case "LimitExceededException":
      case "TooManyRequestsException":
      case "TooManyFailedAttemptsException":
        return { text: "Too many attempts for now. Wait a few minutes, then try again." };
      case "CodeDeliveryFailureException":
        return { text: "We could not send the code to that email address. Check it and try again." };
      case "InvalidParameterException":
        return { text: "The sign-in service refused the request" + server + "." };
      case "ChallengeRequired":
        return { text: "This account needs a step the site cannot do (" + err.message + "). Ask whoever runs the user pool." };
      case "NetworkError":
        return { text: "Could not reach the sign-in service at " + (endpoint || "its endpoint") + ". Is it running, and does it allow this site (CORS)?" };
      default:
        return { text: "Something went wrong: " + (type || "unknown error") + server + "." };
    }
  }

  window.MysfitsCognito = {
    createClient: createClient,
    decodeJwt: decodeJwt,
    describeError: describeError,
    CognitoError: CognitoError
  };
})();
