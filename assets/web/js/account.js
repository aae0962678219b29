/*
 * Mythical Mysfits — accounts (module 4+): register, confirm, sign in, sign out, and the session.
 *
 * Runs only when config.js names a user pool, an app client and the Cognito endpoint
 * (mysfitsSite.features.accounts). Talks to Cognito through js/cognito.js.
 *
 * The session lives in this tab only: sessionStorage["mysfits-session"] holds
 * {clientId, email, idToken, accessToken, refreshToken, expiresAt (ms, this browser's clock)}.
 * A reload keeps it; a new tab, or sign-out, does not. An ID token that is about to expire is
 * renewed with the refresh token before use.
 *
 * Adds mysfitsSite.account = {isSignedIn, email, claims, authorizedFetch, signOut, openSignIn,
 * onChange}. claims() is the decoded (unverified) payload of the current ID token, or null.
 * authorizedFetch(url, init) sends `Authorization: <raw ID token>`; on a 401 it refreshes the
 * token once and retries, and if that fails too it signs out and asks the visitor to sign in.
 * It rejects with {kind: "session-ended"} then, or {kind: "network", url} when the URL could
 * not be reached, or a CognitoError when the refresh itself failed.
 */
(function () {
  "use strict";

  var site = window.mysfitsSite;
  var Cognito = window.MysfitsCognito;
  if (!site || !Cognito) return;
  site.account = null;
  if (!site.features.accounts) return;

  var config = site.config;
  var el = site.el;
  var SESSION_KEY = "mysfits-session";
  var REFRESH_MARGIN_MS = 60 * 1000;
  // Cognito's default policy, used when config.js does not say what the pool's is.
  var DEFAULT_POLICY = {
    minimumLength: 8, requireUppercase: true, requireLowercase: true,
    requireNumbers: true, requireSymbols: true
  };
  // The characters Cognito counts as symbols.
  var SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-";
  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var ACTION_LABELS = {
    confirm: "Enter my code",
    "sign-in": "Go to sign in",
    register: "Create an account"
  };

  var client = Cognito.createClient({
    endpoint: config.cognitoEndpoint,
    clientId: config.cognitoUserPoolClientId
  });
  var session = null;
  var refreshing = null;
  var listeners = [];
  var dom = {};
  var dialogs = {};
  var activeDialog = null;

  // ---------------------------------------------------------------- session

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function readSession() {
    var store = storage();
    var saved = null;
    try { saved = store && JSON.parse(store.getItem(SESSION_KEY)); } catch (e) { saved = null; }
    if (!saved || saved.clientId !== config.cognitoUserPoolClientId || !saved.idToken) return null;
    return saved;
  }

  function saveSession(value) {
    var store = storage();
    if (!store) return;
    try {
      if (value) store.setItem(SESSION_KEY, JSON.stringify(value));
      else store.removeItem(SESSION_KEY);
    } catch (e) { /* storage full or blocked: the session lasts until the page closes */ }
  }

  function sessionFrom(tokens, email, previous) {
    var claims = Cognito.decodeJwt(tokens.idToken) || {};
    return {
      clientId: config.cognitoUserPoolClientId,
      email: claims.email || email,
      idToken: tokens.idToken,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken || (previous && previous.refreshToken) || null,
      // ExpiresIn, not the token's exp claim: this browser's clock may be off.
      expiresAt: Date.now() + tokens.expiresIn * 1000
    };
  }

  function setSession(value) {
    var changed = !!value !== !!session || (value && session && value.email !== session.email);
    session = value;
    saveSession(value);
    renderHeader();
    if (changed) {
      listeners.forEach(function (fn) {
        try { fn(!!session); } catch (err) { if (window.console) console.error(err); }
      });
      site.refreshActions();
    }
  }

  function sessionEnded() {
    return { kind: "session-ended", message: "Your session has ended. Please sign in again." };
  }

  // Signs out locally and asks for a new sign-in.
  function expire() {
    var email = session && session.email;
    setSession(null);
    announce("Your session has ended.");
    openSignIn(null, "Your session has expired. Please sign in again to continue.", email);
  }

  // One refresh at a time; resolves when `session` holds new tokens.
  function refreshSession() {
    if (refreshing) return refreshing;
    var current = session;
    if (!current || !current.refreshToken) return Promise.reject(sessionEnded());
    refreshing = client.refresh(current.refreshToken).then(
      function (tokens) {
        refreshing = null;
        if (session !== current) throw sessionEnded(); // signed out meanwhile
        setSession(sessionFrom(tokens, current.email, current));
      },
      function (err) {
        refreshing = null;
        if (err && err.type === "NetworkError") throw err; // keep the session: maybe a blip
        if (session === current) expire();
        throw sessionEnded();
      }
    );
    return refreshing;
  }

  function freshIdToken() {
    if (!session) return Promise.reject(sessionEnded());
    if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return Promise.resolve(session.idToken);
    return refreshSession().then(function () { return session.idToken; });
  }

  function authorizedFetch(url, init) {
    function send(token) {
      var request = {};
      Object.keys(init || {}).forEach(function (k) { request[k] = init[k]; });
      request.headers = { Authorization: token };
      request.cache = "no-store";
      return fetch(url, request).catch(function () {
        throw { kind: "network", url: url, message: "Could not reach " + url };
      });
    }
    return freshIdToken().then(send).then(function (response) {
      if (response.status !== 401) return response;
      return refreshSession()
        .then(function () { return send(session.idToken); })
        .then(function (retry) {
          if (retry.status !== 401) return retry;
          expire();
          throw sessionEnded();
        });
    });
  }

  function signOut() {
    var old = session;
    setSession(null);
    // Revokes the tokens everywhere; the local sign-out stands even if this fails.
    if (old && old.accessToken) client.globalSignOut(old.accessToken).catch(function () {});
    announce("You are signed out.");
    if (dom.signInButton) dom.signInButton.focus();
  }

  // ----------------------------------------------------------------- header

  function renderHeader() {
    var signedIn = !!session;
    dom.root.setAttribute("data-signed-in", signedIn ? "true" : "false");
    dom.signedOut.hidden = signedIn;
    dom.signedIn.hidden = !signedIn;
    dom.email.textContent = signedIn ? session.email : "";
  }

  function announce(text) {
    dom.status.textContent = "";
    // A fresh text node after a tick makes screen readers speak the same words twice in a row.
    setTimeout(function () { dom.status.textContent = text; }, 50);
  }

  // ---------------------------------------------------------------- dialogs

  function setupDialog(name, id) {
    var d = document.getElementById(id);
    var form = d.querySelector("form");
    var parts = {
      name: name,
      el: d,
      form: form,
      error: d.querySelector(".form-error"),
      notice: d.querySelector(".form-notice"),
      submit: form.querySelector("[type=submit]"),
      email: form.querySelector("input[type=email]"),
      opener: null
    };
    parts.submitText = parts.submit.textContent;
    d.querySelector(".dialog-close").addEventListener("click", function () { closeDialog(parts); });
    d.addEventListener("click", function (event) {
      if (event.target === d) closeDialog(parts); // the backdrop
    });
    d.addEventListener("close", function () {
      var opener = parts.opener;
      parts.opener = null;
      if (activeDialog === parts) activeDialog = null;
      if (activeDialog) return; // another account dialog took over and keeps the opener
      restoreFocus(opener);
    });
    form.addEventListener("click", function (event) {
      var link = event.target.closest("[data-goto]");
      if (link) switchTo(link.getAttribute("data-goto"), { email: parts.email.value.trim() });
      var action = event.target.closest(".form-error-action");
      if (action) switchTo(action.getAttribute("data-action"), { email: parts.email.value.trim() });
    });
    dialogs[name] = parts;
    return parts;
  }

  function restoreFocus(opener) {
    if (opener && document.body.contains(opener) && opener.offsetParent !== null && !opener.disabled) {
      opener.focus();
      return;
    }
    var profile = document.getElementById("mysfit-profile");
    if (profile && profile.open) {
      var inside = profile.querySelector(".like-btn, .sign-in-prompt, .profile-close");
      if (inside) { inside.focus(); return; }
    }
    (session ? dom.signOutButton : dom.signInButton).focus();
  }

  function showDialog(parts, opener, focusTarget) {
    if (activeDialog && activeDialog !== parts) {
      // Moving between account dialogs keeps the element to return to at the end.
      opener = opener || activeDialog.opener;
      closeDialog(activeDialog);
    }
    parts.opener = opener || parts.opener || document.activeElement;
    activeDialog = parts;
    clearMessages(parts);
    setBusy(parts, false);
    if (!parts.el.open) {
      if (typeof parts.el.showModal === "function") parts.el.showModal();
      else parts.el.setAttribute("open", "");
    }
    (focusTarget || parts.email).focus();
  }

  function closeDialog(parts) {
    if (typeof parts.el.close === "function") {
      if (parts.el.open) parts.el.close();
    } else if (parts.el.hasAttribute("open")) {
      parts.el.removeAttribute("open");
      parts.el.dispatchEvent(new Event("close"));
    }
  }

  function clearMessages(parts) {
    parts.error.textContent = "";
    parts.error.hidden = true;
    parts.notice.textContent = "";
    parts.notice.hidden = true;
  }

  function showNotice(parts, text) {
    parts.notice.textContent = text || "";
    parts.notice.hidden = !text;
  }

  function showError(parts, text, action) {
    parts.error.textContent = "";
    parts.error.appendChild(el("p", { "class": "form-error-text", text: text }));
    if (action && ACTION_LABELS[action]) {
      parts.error.appendChild(el("button", {
        type: "button",
        "class": "link-btn form-error-action",
        "data-action": action,
        text: ACTION_LABELS[action]
      }));
    }
    parts.error.hidden = false;
  }

  function showFailure(parts, err, step) {
    var described = Cognito.describeError(err, step, client.endpoint);
    showError(parts, described.text, described.action);
  }

  function setBusy(parts, busy, label) {
    parts.submit.disabled = busy;
    parts.form.setAttribute("aria-busy", busy ? "true" : "false");
    parts.submit.textContent = busy ? label : parts.submitText;
  }

  function switchTo(name, options) {
    options = options || {};
    var parts = dialogs[name];
    if (!parts) return;
    if (options.email) parts.email.value = options.email;
    if (name === "register") openRegister(null, options);
    else if (name === "confirm") openConfirm(null, options);
    else openSignIn(null, options.notice, options.email);
  }

  // ------------------------------------------------------------ register

  function policy() {
    var given = config.cognitoPasswordPolicy;
    var rules = {};
    Object.keys(DEFAULT_POLICY).forEach(function (k) {
      rules[k] = given && typeof given === "object" && given[k] !== undefined && given[k] !== null
        ? given[k] : DEFAULT_POLICY[k];
    });
    rules.minimumLength = parseInt(rules.minimumLength, 10) || DEFAULT_POLICY.minimumLength;
    return rules;
  }

  function hasSymbol(pw) {
    for (var i = 0; i < pw.length; i++) if (SYMBOLS.indexOf(pw.charAt(i)) >= 0) return true;
    return / /.test(pw.trim()); // Cognito also counts a space that is not at either end
  }

  function passwordRules() {
    var p = policy();
    var rules = [{
      id: "length",
      text: "At least " + p.minimumLength + " characters",
      test: function (pw) { return pw.length >= p.minimumLength; }
    }];
    if (p.requireUppercase) rules.push({ id: "uppercase", text: "An upper-case letter (A–Z)", test: function (pw) { return /[A-Z]/.test(pw); } });
    if (p.requireLowercase) rules.push({ id: "lowercase", text: "A lower-case letter (a–z)", test: function (pw) { return /[a-z]/.test(pw); } });
    if (p.requireNumbers) rules.push({ id: "number", text: "A number (0–9)", test: function (pw) { return /[0-9]/.test(pw); } });
    if (p.requireSymbols) rules.push({ id: "symbol", text: "A symbol, such as ! ? @ # $ % & * or -", test: hasSymbol });
    rules.push({ id: "match", text: "The same password typed twice", test: function (pw, pw2) { return pw2 !== "" && pw === pw2; } });
    return rules;
  }

  var RULES = [];

  function buildRules() {
    RULES = passwordRules();
    dom.rules.textContent = "";
    RULES.forEach(function (rule) {
      rule.li = el("li", { "data-rule": rule.id, "data-ok": "false" }, [
        el("span", { "class": "rule-mark", "aria-hidden": "true" }),
        el("span", { "class": "visually-hidden rule-state", text: "Not yet: " }),
        document.createTextNode(rule.text)
      ]);
      dom.rules.appendChild(rule.li);
    });
  }

  // Marks each rule met or not; returns the rules that fail.
  function checkRules() {
    var pw = dom.password.value;
    var pw2 = dom.password2.value;
    return RULES.filter(function (rule) {
      var ok = rule.test(pw, pw2);
      rule.li.setAttribute("data-ok", ok ? "true" : "false");
      rule.li.querySelector(".rule-state").textContent = ok ? "Done: " : "Not yet: ";
      return !ok;
    });
  }

  function openRegister(opener, options) {
    var parts = dialogs.register;
    if (options && options.email) parts.email.value = options.email;
    showDialog(parts, opener);
    checkRules();
  }

  function submitRegister() {
    var parts = dialogs.register;
    var email = parts.email.value.trim();
    clearMessages(parts);
    if (!EMAIL_RE.test(email)) {
      showError(parts, "Enter your email address, like name@example.com.");
      parts.email.focus();
      return;
    }
    var failing = checkRules();
    var policyFails = failing.filter(function (r) { return r.id !== "match"; });
    if (policyFails.length) {
      showError(parts, "Your password still needs: " + policyFails.map(function (r) {
        return r.text.charAt(0).toLowerCase() + r.text.slice(1);
      }).join("; ") + ".");
      dom.password.focus();
      return;
    }
    if (failing.length) {
      showError(parts, "The two passwords are not the same.");
      dom.password2.focus();
      return;
    }
    setBusy(parts, true, "Creating account…");
    client.signUp(email, dom.password.value).then(
      function (result) {
        dom.password.value = "";
        dom.password2.value = "";
        if (result && result.UserConfirmed) {
          openSignIn(null, "Your account is ready. Sign in to continue.", email);
          return;
        }
        var where = result && result.CodeDeliveryDetails && result.CodeDeliveryDetails.Destination;
        openConfirm(null, {
          email: email,
          notice: "We sent a 6-digit code to " + (where || email) + ". Enter it below to finish."
        });
      },
      function (err) {
        setBusy(parts, false);
        showFailure(parts, err, "register");
      }
    );
  }

  // ------------------------------------------------------------- confirm

  function openConfirm(opener, options) {
    var parts = dialogs.confirm;
    options = options || {};
    if (options.email) parts.email.value = options.email;
    dom.code.value = "";
    showDialog(parts, opener, parts.email.value ? dom.code : parts.email);
    showNotice(parts, options.notice);
  }

  function confirmEmail(parts) {
    var email = parts.email.value.trim();
    if (EMAIL_RE.test(email)) return email;
    showError(parts, "Enter the email address you registered with.");
    parts.email.focus();
    return null;
  }

  function submitConfirm() {
    var parts = dialogs.confirm;
    clearMessages(parts);
    var email = confirmEmail(parts);
    if (!email) return;
    var code = dom.code.value.replace(/\s+/g, "");
    if (!/^[0-9]{6}$/.test(code)) {
      showError(parts, "The code is the 6 digits from the email we sent.");
      dom.code.focus();
      return;
    }
    setBusy(parts, true, "Confirming…");
    client.confirmSignUp(email, code).then(
      function () {
        openSignIn(null, "Your email is confirmed. Sign in to like and adopt mysfits.", email);
      },
      function (err) {
        setBusy(parts, false);
        showFailure(parts, err, "confirm");
        dom.code.select();
      }
    );
  }

  function resendCode() {
    var parts = dialogs.confirm;
    clearMessages(parts);
    var email = confirmEmail(parts);
    if (!email) return;
    dom.resend.disabled = true;
    client.resendConfirmationCode(email).then(
      function (result) {
        dom.resend.disabled = false;
        var where = result && result.CodeDeliveryDetails && result.CodeDeliveryDetails.Destination;
        showNotice(parts, "A new code is on its way to " + (where || email) + ". Use the newest one.");
        dom.code.focus();
      },
      function (err) {
        dom.resend.disabled = false;
        showFailure(parts, err, "resend");
      }
    );
  }

  // -------------------------------------------------------------- sign in

  function openSignIn(opener, notice, email) {
    var parts = dialogs.signIn;
    if (email) parts.email.value = email;
    dom.signInPassword.value = "";
    showDialog(parts, opener, parts.email.value ? dom.signInPassword : parts.email);
    showNotice(parts, notice);
  }

  function submitSignIn() {
    var parts = dialogs.signIn;
    clearMessages(parts);
    var email = parts.email.value.trim();
    if (!EMAIL_RE.test(email)) {
      showError(parts, "Enter the email address you registered with.");
      parts.email.focus();
      return;
    }
    if (!dom.signInPassword.value) {
      showError(parts, "Enter your password.");
      dom.signInPassword.focus();
      return;
    }
    setBusy(parts, true, "Signing in…");
    client.signIn(email, dom.signInPassword.value).then(
      function (tokens) {
        dom.signInPassword.value = "";
        setSession(sessionFrom(tokens, email, null));
        closeDialog(parts);
        announce("Signed in as " + session.email + ".");
      },
      function (err) {
        setBusy(parts, false);
        showFailure(parts, err, "sign-in");
        // The confirm dialog needs the email, which this form already has.
        dialogs.confirm.email.value = email;
      }
    );
  }

  // --------------------------------------------------------------- wiring

  function wire() {
    dom.root = document.getElementById("account");
    dom.signedOut = dom.root.querySelector(".account-signed-out");
    dom.signedIn = dom.root.querySelector(".account-signed-in");
    dom.email = document.getElementById("account-email");
    dom.status = document.getElementById("account-status");
    dom.signInButton = document.getElementById("sign-in-btn");
    dom.registerButton = document.getElementById("register-btn");
    dom.signOutButton = document.getElementById("sign-out-btn");
    dom.password = document.getElementById("register-password");
    dom.password2 = document.getElementById("register-password2");
    dom.rules = document.getElementById("register-rules");
    dom.code = document.getElementById("confirm-code");
    dom.resend = document.getElementById("confirm-resend");
    dom.signInPassword = document.getElementById("sign-in-password");

    setupDialog("register", "register-dialog");
    setupDialog("confirm", "confirm-dialog");
    dialogs.signIn = setupDialog("sign-in", "sign-in-dialog");
    buildRules();

    dom.signInButton.addEventListener("click", function () { openSignIn(dom.signInButton); });
    dom.registerButton.addEventListener("click", function () { openRegister(dom.registerButton); });
    dom.signOutButton.addEventListener("click", signOut);
    dom.password.addEventListener("input", checkRules);
    dom.password2.addEventListener("input", checkRules);
    dom.resend.addEventListener("click", resendCode);

    [["register", submitRegister], ["confirm", submitConfirm], ["sign-in", submitSignIn]].forEach(function (pair) {
      dialogs[pair[0]].form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!dialogs[pair[0]].submit.disabled) pair[1]();
      });
    });

    session = readSession();
    renderHeader();
    dom.root.hidden = false;
    // A restored ID token may have expired while the tab was away.
    if (session && session.expiresAt - Date.now() <= REFRESH_MARGIN_MS) {
      refreshSession().catch(function () {});
    }
  }

  wire();

  site.account = {
    isSignedIn: function () { return !!session; },
    email: function () { return session ? session.email : null; },
    // The ID token's claims (sub, email, ...), or null when signed out. Not verified here.
    claims: function () { return session ? Cognito.decodeJwt(session.idToken) : null; },
    authorizedFetch: authorizedFetch,
    signOut: signOut,
    // Opens the sign-in dialog; `notice` explains why (optional).
    openSignIn: function (opener, notice) { openSignIn(opener || null, notice); },
    // fn(signedIn) after every sign-in and sign-out.
    onChange: function (fn) { listeners.push(fn); },
    describeError: function (err) { return Cognito.describeError(err, "", client.endpoint); }
  };
})();
