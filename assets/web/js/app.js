/*
 * Mythical Mysfits — the site's main script. Plain JavaScript, no framework, nothing from a CDN.
 * Module 4's accounts live next to it: js/cognito.js (user-pool client), js/account.js
 * (sign-up, sign-in, session) and js/mysfit-actions.js (like and adopt buttons). Modules 5-7
 * add one small file each: js/clicks.js (click tracking), js/contact.js ("Contact us") and
 * js/recommend.js ("Find your mysfit" questionnaire).
 *
 * CONFIG CONTRACT (config.js)
 * ---------------------------
 * The project writes `config.js` next to index.html every time a workshop module uploads the
 * site; index.html loads it before this file. It defines one global object:
 *
 *   window.MYSFITS_CONFIG = {
 *     stage: 1,                        // workshop module (1-7) that last deployed the site
 *     mysfitsApiEndpoint: null,        // module 2+: base URL of the mysfits API, no trailing slash:
 *                                      //   GET {base}/mysfits
 *                                      //   GET {base}/mysfits?filter=GoodEvil&value=Good|Neutral|Evil
 *                                      //   GET {base}/mysfits?filter=LawChaos&value=Lawful|Neutral|Chaotic
 *                                      //   each answering {"mysfits": [...]}, with CORS allowed
 *     awsRegion: "us-east-1",
 *     cognitoUserPoolId: null,         // module 4+: sign-up / confirm / sign-in
 *     cognitoUserPoolClientId: null,   //   app client (no secret; USER_PASSWORD_AUTH allowed)
 *     cognitoEndpoint: null,           //   Cognito user-pool JSON API URL: the local cloud's
 *                                      //   edge, or cognito-idp.<region>.amazonaws.com on AWS
 *     cognitoPasswordPolicy: null,     //   optional: the pool's rules, shown and checked while
 *                                      //   registering: {minimumLength: 8, requireUppercase,
 *                                      //   requireLowercase, requireNumbers, requireSymbols}
 *                                      //   (booleans); null = Cognito's default (8, all four)
 *     streamingApiEndpoint: null,      // module 5+: click tracking, base URL ending in /prod
 *     questionsApiEndpoint: null,      // module 6+: "Contact us", base URL ending in /prod
 *     recommendationsApiEndpoint: null // module 7+: "Find your mysfit", base URL ending in /prod
 *   };
 *
 * Every key is optional. A missing config.js, or a null endpoint, means "that module has not
 * been deployed yet": with no mysfitsApiEndpoint the catalogue is read from `mysfits.json`
 * (relative URL, uploaded next to index.html, same {"mysfits": [...]} shape as the API).
 * A trailing slash on an endpoint is tolerated and removed.
 *
 * Module 4+ (accounts on when cognitoUserPoolId, cognitoUserPoolClientId and cognitoEndpoint
 * are all set; like/adopt also need stage >= 4 and mysfitsApiEndpoint, the API Gateway stage
 * URL ending in /prod):
 *   GET  {base}/mysfits/{id}        the full record, read when a profile opens
 *   POST {base}/mysfits/{id}/like   header `Authorization: <raw ID token>` (no "Bearer"),
 *                                   empty body → {"Update": "Success", "likes": <new count>}
 *   POST {base}/mysfits/{id}/adopt  same header → {"Update": "Success"}; 409 already adopted,
 *                                   404 no such mysfit; 401 → the token is refreshed once and
 *                                   the call retried, else the visitor is asked to sign in again
 * Tokens are kept per tab in sessionStorage["mysfits-session"] (JSON: clientId, email,
 * idToken, accessToken, refreshToken, expiresAt in ms) and removed on sign-out.
 *
 * Modules 5-7: each feature is on exactly when its endpoint is set (whatever the stage says).
 * All three are plain CORS requests with `Content-Type: application/json` and no credentials
 * (no cookies, no Authorization header), so the APIs must answer the preflight for Content-Type.
 *   PUT  {streamingApiEndpoint}/clicks   {"userId": <"sub" claim of the signed-in visitor's ID
 *        token, else "guest">, "mysfitId": <id>} — sent every time a profile opens (from a
 *        card or from a recommendation); fire-and-forget: never retried, never in the way; a
 *        failure is a console warning. Any 2xx counts as recorded.
 *   POST {questionsApiEndpoint}/questions   {"email": <address>, "questionText": <1-2,000
 *        characters>} → 200 (any body); 400 {"message": "..."} is shown as is; 5xx or no
 *        answer keeps the text for another try.
 *   POST {recommendationsApiEndpoint}/recommendations   {"entry": [a0, a1, a2, a3, a4]}, five
 *        integers 1-8 (the questionnaire's answers by data-index: 0 occupation, 1 age,
 *        2 favourite way to relax, 3 colour, 4 extreme sport) → {"recommendedMysfit": <id>,
 *        "name": <optional>}; the card is drawn from the loaded catalogue, else from
 *        GET {mysfitsApiEndpoint}/mysfits/{id}, else from the unfiltered catalogue.
 *        400 {"message": "..."} is shown as is.
 *
 * DOM HOOKS (stable; browser tests rely on them)
 * ----------------------------------------------
 *   body[data-state]          "loading" | "ready" | "empty" | "error"
 *   body[data-source]         "static" | "api"
 *   #mysfits-grid             the grid; article.mysfit-card[data-mysfit-id] per mysfit, holding
 *                             img.mysfit-image, .mysfit-name, .mysfit-species, .mysfit-age,
 *                             .badge-goodevil[data-value], .badge-lawchaos[data-value],
 *                             button.view-profile, .card-actions (empty seam)
 *   .filter-btn[data-filter][data-value]   filters; data-filter "" = Show all; aria-pressed
 *   #loading (role=status)    visible while a request is in flight
 *   .load-error (role=alert)  fetch failure; .load-error-url holds the URL that failed
 *   #empty-state              shown when a filter matches nothing
 *   dialog#mysfit-profile     profile: .profile-name, .profile-image, .profile-description,
 *                             .profile-age, .profile-likes, .profile-adopted, .profile-close,
 *                             .profile-actions (empty seam)
 *   #site-stage               "Module N — ..." text; #data-source names where data comes from
 *
 * Module 4+ (js/account.js, js/mysfit-actions.js):
 *   #account[data-signed-in]  "true" | "false"; the header's account area (hidden when accounts
 *                             are not configured). Holds #sign-in-btn and #register-btn when
 *                             signed out, #account-email and #sign-out-btn when signed in.
 *   dialog#register-dialog    #register-email, #register-password, #register-password2,
 *                             .password-rules li[data-rule][data-ok="true|false"] (data-rule:
 *                             length | uppercase | lowercase | number | symbol | match),
 *                             #register-submit
 *   dialog#confirm-dialog     #confirm-email, #confirm-code (6 digits), #confirm-submit,
 *                             #confirm-resend ("send a new code")
 *   dialog#sign-in-dialog     #sign-in-email, #sign-in-password, #sign-in-submit
 *   each of the three         .form-error (role=alert; .form-error-action offers the next step,
 *                             e.g. "Enter my code"), .form-notice (role=status), .dialog-close
 *   button.like-btn[data-mysfit-id][data-liked]  in a card's .card-actions and in
 *                             .profile-actions (only when signed in); .like-count holds the
 *                             count when known; data-liked "true" once liked from this page
 *   button.adopt-btn[data-mysfit-id][data-adopted="true|false"]  disabled once adopted
 *   .action-message[data-kind]  (role=status) next to them: "liked" | "adopted" |
 *                             "already-adopted" | "not-found" | "error" | "" — what the last
 *                             like/adopt did
 *   .sign-in-prompt           in .profile-actions when signed out: opens the sign-in dialog
 * Scope like/adopt selectors with .mysfit-card or #mysfit-profile: an open profile repeats them.
 *
 * Module 5+ (js/clicks.js):
 *   body[data-clicks-sent]    how many PUT /clicks got a 2xx answer since the page loaded
 *   body[data-clicks-failed]  how many failed (HTTP error, unreachable, timed out or dropped);
 *                             both are absent when click tracking is off
 * Module 6+ (js/contact.js):
 *   #contact-btn              "Contact us", in the footer (hidden when the feature is off)
 *   dialog#contact-dialog     #contact-email (the signed-in visitor's email when empty),
 *                             #contact-question (textarea), .char-count[data-over="true|false"]
 *                             ("123 / 2,000"), #contact-submit, .form-error (role=alert; a 5xx or
 *                             network failure adds button.form-error-action "Try again"),
 *                             .form-notice (role=status, "Thanks — ..."), .dialog-close
 * Module 7+ (js/recommend.js):
 *   #recommend-btn            "Find your mysfit", in the welcome section (hidden when off)
 *   dialog#recommend-dialog   fieldset.question[data-index="0".."4"], each with eight
 *                             input[type=radio][value="1".."8"]; .recommend-progress;
 *                             #recommend-submit (disabled until all five are answered);
 *                             .form-error (role=alert); .dialog-close
 *   .recommendation[data-mysfit-id]  the answer: img.mysfit-image, .mysfit-name,
 *                             .mysfit-species, button.view-recommended (opens the profile),
 *                             button.recommend-again (back to the questions)
 *
 * window.mysfitsSite exposes config, features, api and a few actions so later modules' code
 * (sign-in, like/adopt, click tracking, contact form, questionnaire) can hook in without
 * reaching into this file's internals: addDecorator(fn) has fn(actionsElement, mysfit, "card" |
 * "profile") called whenever a card's .card-actions or the profile's .profile-actions is shown;
 * refreshActions() calls the decorators again; updateMysfit(id, changes) updates a record and
 * everything showing it; onProfileOpen(fn) has fn(mysfit) called once each time a profile
 * opens; openProfile(id | record, opener) opens one (a record need not be in the grid);
 * requestJson(url, {method, json, timeoutMs}) sends JSON without credentials and resolves to
 * {url, status, ok, body} (body parsed, or null) or rejects with {kind: "network" | "timeout",
 * url, message}; showDialog(dialog, opener, focusTarget) / hideDialog(dialog) open and close a
 * modal (backdrop click, .dialog-close and Escape close it; focus goes back to the opener).
 */
(function () {
  "use strict";

  var DEFAULT_CONFIG = {
    stage: 1,
    mysfitsApiEndpoint: null,
    awsRegion: "us-east-1",
    cognitoUserPoolId: null,
    cognitoUserPoolClientId: null,
    cognitoEndpoint: null,
    cognitoPasswordPolicy: null,
    streamingApiEndpoint: null,
    questionsApiEndpoint: null,
    recommendationsApiEndpoint: null
  };

  var ENDPOINT_KEYS = [
    "mysfitsApiEndpoint", "cognitoEndpoint", "streamingApiEndpoint",
    "questionsApiEndpoint", "recommendationsApiEndpoint"
  ];

  var STAGE_NAMES = {
    1: "static site",
    2: "mysfits API on containers",
    3: "mysfits in DynamoDB",
    4: "users, likes and adoptions",
    5: "click tracking",
    6: "questions for the staff",
    7: "recommendations"
  };

  // Pictures shipped in images/. The data's own image URLs point at a host that is offline,
  // so they are only used to recover the species stem ("…/chimera_thumb.png" → "chimera").
  var KNOWN_STEMS = [
    "chimera", "cyclops", "dragon", "gorgon", "haetae", "yeti",
    "kraken", "nessie", "mandrake", "pegasus", "phoenix", "troll"
  ];
  var UNKNOWN_IMAGE = "images/mysfit-unknown.svg";

  // API filter name → field of a mysfit record (used for client-side filtering).
  var FILTER_FIELDS = { GoodEvil: "goodevil", LawChaos: "lawchaos" };

  // ---------------------------------------------------------------- config

  function readConfig(raw) {
    var config = {};
    var key;
    for (key in DEFAULT_CONFIG) config[key] = DEFAULT_CONFIG[key];
    if (raw && typeof raw === "object") {
      for (key in raw) {
        if (Object.prototype.hasOwnProperty.call(raw, key)) config[key] = raw[key];
      }
    }
    ENDPOINT_KEYS.forEach(function (k) { config[k] = cleanEndpoint(config[k]); });
    config.stage = parseInt(config.stage, 10) || 1;
    return config;
  }

  function cleanEndpoint(value) {
    if (typeof value !== "string") return null;
    var trimmed = value.trim().replace(/\/+$/, "");
    return trimmed || null;
  }

  // Which later-module features the deployed stage supports; each is switched on by its endpoint.
  function featuresOf(config) {
    var accounts = !!(config.cognitoUserPoolId && config.cognitoUserPoolClientId && config.cognitoEndpoint);
    return {
      mysfitsApi: !!config.mysfitsApiEndpoint,
      accounts: accounts,
      likes: accounts && !!config.mysfitsApiEndpoint && config.stage >= 4,
      clickTracking: !!config.streamingApiEndpoint,
      questions: !!config.questionsApiEndpoint,
      recommendations: !!config.recommendationsApiEndpoint
    };
  }

  function stageLabel(stage) {
    var name = STAGE_NAMES[stage];
    return "Module " + stage + (name ? " — " + name : "");
  }

  // ------------------------------------------------------------ API client
  // The one place that knows URLs.

  function LoadError(url, detail) {
    this.name = "LoadError";
    this.url = url;
    this.detail = detail;
    this.message = "Could not load " + url + ": " + detail;
  }
  LoadError.prototype = Object.create(Error.prototype);

  function getJson(url) {
    return fetch(url).then(
      function (response) {
        if (!response.ok) {
          throw new LoadError(url, "the server answered HTTP " + response.status +
            (response.statusText ? " " + response.statusText : ""));
        }
        return response.json().catch(function () {
          throw new LoadError(url, "the answer was not valid JSON");
        });
      },
      function () {
        // fetch hides the reason (offline, refused, CORS) from scripts on purpose.
        throw new LoadError(url, "the server could not be reached (is it running, and does it allow CORS?)");
      }
    );
  }

  function mysfitsFrom(body, url) {
    if (!body || !Array.isArray(body.mysfits)) {
      throw new LoadError(url, "the answer has no \"mysfits\" list");
    }
    return body.mysfits;
  }

  function matchesFilter(mysfit, filter) {
    return !filter || mysfit[FILTER_FIELDS[filter.name]] === filter.value;
  }

  function createApiClient(config) {
    var base = config.mysfitsApiEndpoint;
    return {
      source: base ? "api" : "static",

      // filter: null or {name: "GoodEvil" | "LawChaos", value: "..."}.
      // Resolves to {url, mysfits}; rejects with a LoadError naming the URL.
      listMysfits: function (filter) {
        var url;
        if (!base) {
          // The static catalogue has no query support, so filter it here.
          url = new URL("mysfits.json", document.baseURI).href;
          return getJson(url).then(function (body) {
            var all = mysfitsFrom(body, url);
            return { url: url, mysfits: all.filter(function (m) { return matchesFilter(m, filter); }) };
          });
        }
        url = base + "/mysfits";
        if (filter) {
          url += "?filter=" + encodeURIComponent(filter.name) +
            "&value=" + encodeURIComponent(filter.value);
        }
        return getJson(url).then(function (body) {
          return { url: url, mysfits: mysfitsFrom(body, url) };
        });
      },

      // The full record (module 3+ API); resolves to the mysfit, rejects with a LoadError.
      getMysfit: function (id) {
        var url = this.mysfitUrl(id);
        return getJson(url).then(function (body) {
          if (!body || typeof body !== "object" || Array.isArray(body)) {
            throw new LoadError(url, "the answer is not a mysfit");
          }
          return body;
        });
      },

      // {base}/mysfits/{id}[/action]; null without an API.
      mysfitUrl: function (id, action) {
        if (!base) return null;
        return base + "/mysfits/" + encodeURIComponent(id) + (action ? "/" + action : "");
      },

      describeSource: function () {
        return base
          ? "Mysfits come from the API at " + base + "."
          : "Mysfits come from the static catalogue (mysfits.json).";
      }
    };
  }

  // ------------------------------------------------------------- pictures

  function stemFromUri(uri) {
    if (typeof uri !== "string" || !uri) return null;
    var file = uri.split(/[?#]/)[0].split("/").pop();
    return file.split(/[_.]/)[0].toLowerCase() || null;
  }

  function pictureFor(mysfit) {
    var candidates = [
      stemFromUri(mysfit.thumbImageUri),
      stemFromUri(mysfit.profileImageUri),
      String(mysfit.species || "").toLowerCase()
    ];
    for (var i = 0; i < candidates.length; i++) {
      if (KNOWN_STEMS.indexOf(candidates[i]) >= 0) return "images/" + candidates[i] + ".svg";
    }
    return UNKNOWN_IMAGE;
  }

  function setPicture(img, mysfit) {
    img.onerror = function () {
      // A missing file must not leave a broken-image icon; the guard stops an error loop.
      img.onerror = null;
      img.src = UNKNOWN_IMAGE;
    };
    img.src = pictureFor(mysfit);
    img.alt = mysfit.name || "A mysfit";
  }

  // ------------------------------------------------------------ rendering

  // Tiny element builder: text only, never innerHTML, so data can't inject markup.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function hasValue(v) {
    return v !== undefined && v !== null && v !== "";
  }

  function slug(value) {
    return String(value).toLowerCase().replace(/[^a-z0-9]+/g, "-");
  }

  // Both axes can read "Neutral", so the axis name is spoken but only the value is shown.
  function badge(axis, axisLabel, value) {
    return el("li", {
      "class": "badge badge-" + axis + " badge-" + slug(value),
      "data-value": value,
      title: axisLabel + ": " + value
    }, [
      el("span", { "class": "visually-hidden", text: axisLabel + ": " }),
      document.createTextNode(value)
    ]);
  }

  function badgesFor(mysfit) {
    var items = [];
    if (hasValue(mysfit.goodevil)) items.push(badge("goodevil", "Good/Evil", mysfit.goodevil));
    if (hasValue(mysfit.lawchaos)) items.push(badge("lawchaos", "Lawful/Chaotic", mysfit.lawchaos));
    return items;
  }

  function renderCard(mysfit) {
    var img = el("img", { "class": "mysfit-image", width: "200", height: "200" });
    setPicture(img, mysfit);
    var button = el("button", {
      type: "button",
      "class": "btn view-profile",
      "data-mysfit-id": mysfit.mysfitId,
      text: "View profile"
    });
    button.setAttribute("aria-label", "View " + (mysfit.name || "mysfit") + "'s profile");
    var card = el("article", { "class": "mysfit-card", "data-mysfit-id": mysfit.mysfitId }, [
      el("div", { "class": "mysfit-picture" }, [img]),
      el("div", { "class": "mysfit-body" }, [
        el("h3", { "class": "mysfit-name", text: mysfit.name || "Unnamed mysfit" }),
        el("p", { "class": "mysfit-meta" }, [
          el("span", { "class": "mysfit-species", text: mysfit.species || "Unknown species" }),
          hasValue(mysfit.age) ? el("span", { "class": "mysfit-age", text: "Age " + mysfit.age }) : null
        ]),
        el("ul", { "class": "badges" }, badgesFor(mysfit)),
        // Module 4's decorators add like / adopt buttons next to this one.
        el("div", { "class": "card-actions" }, [button])
      ])
    ]);
    decorate(card.querySelector(".card-actions"), mysfit, "card");
    return card;
  }

  function renderGrid(mysfits) {
    var grid = dom.grid;
    grid.textContent = "";
    var fragment = document.createDocumentFragment();
    mysfits.forEach(function (m) { fragment.appendChild(renderCard(m)); });
    grid.appendChild(fragment);
  }

  // "3 Evil mysfits", "2 mysfits neutral between law and chaos", …
  function describeCount(count, filter) {
    var noun = count === 1 ? "mysfit" : "mysfits";
    if (!filter) return "all " + count + " " + noun;
    if (filter.value === "Neutral") {
      return count + " " + noun + " neutral between " +
        (filter.name === "GoodEvil" ? "good and evil" : "law and chaos");
    }
    return count + " " + filter.value + " " + noun;
  }

  // ------------------------------------------------------------ page state

  var config = readConfig(window.MYSFITS_CONFIG);
  var features = featuresOf(config);
  var api = createApiClient(config);
  // extras: records shown outside the grid (a recommended mysfit the current list lacks).
  var state = { filter: null, mysfits: [], extras: {}, requestSeq: 0, edits: {} };
  var dom = {};
  var decorators = [];
  var profileListeners = [];

  // Extensions (js/mysfit-actions.js) add their controls to a card or the profile. One failing
  // extension must not stop the catalogue from showing.
  function decorate(actions, mysfit, where) {
    decorators.forEach(function (fn) {
      try {
        fn(actions, mysfit, where);
      } catch (err) {
        if (window.console) console.error(err);
      }
    });
  }

  function profileIsOpen() {
    return !!(dom.dialog && (dom.dialog.open || dom.dialog.hasAttribute("open")));
  }

  // Calls the decorators again for every card and the open profile (or only those of one id).
  function refreshActions(id) {
    if (!dom.grid) return;
    Array.prototype.forEach.call(dom.grid.querySelectorAll(".mysfit-card"), function (card) {
      var cardId = card.getAttribute("data-mysfit-id");
      var mysfit = findMysfit(cardId);
      if (mysfit && (id === undefined || String(id) === cardId)) {
        decorate(card.querySelector(".card-actions"), mysfit, "card");
      }
    });
    var shown = profileIsOpen() && findMysfit(dom.dialog.getAttribute("data-mysfit-id"));
    if (shown && (id === undefined || String(id) === String(shown.mysfitId))) {
      decorate(dom.dialog.querySelector(".profile-actions"), shown, "profile");
    }
  }

  // Merges `changes` into the record and repaints what shows it; returns the record (or null).
  function updateMysfit(id, changes) {
    var mysfit = findMysfit(id);
    if (!mysfit) return null;
    state.edits[mysfit.mysfitId] = (state.edits[mysfit.mysfitId] || 0) + 1;
    Object.keys(changes || {}).forEach(function (k) { mysfit[k] = changes[k]; });
    if (profileIsOpen() && dom.dialog.getAttribute("data-mysfit-id") === String(mysfit.mysfitId)) {
      fillProfile(mysfit);
    }
    refreshActions(mysfit.mysfitId);
    return mysfit;
  }

  function setState(name) {
    document.body.setAttribute("data-state", name);
    dom.loading.hidden = name !== "loading";
    dom.grid.setAttribute("aria-busy", name === "loading" ? "true" : "false");
    dom.empty.hidden = name !== "empty";
  }

  function clearError() {
    dom.messages.textContent = "";
  }

  function showError(err) {
    var url = err && err.url ? err.url : "(unknown URL)";
    var detail = err && err.detail ? err.detail : String(err);
    clearError();
    var retry = el("button", { type: "button", "class": "btn btn-secondary load-error-retry", text: "Try again" });
    retry.addEventListener("click", function () { load(); });
    dom.messages.appendChild(el("div", { "class": "load-error", role: "alert" }, [
      el("p", { "class": "load-error-title", text: "We couldn't fetch the mysfits." }),
      el("p", {}, [
        document.createTextNode("Request to "),
        el("code", { "class": "load-error-url", text: url }),
        document.createTextNode(" failed: " + detail + ".")
      ]),
      retry
    ]));
  }

  function load() {
    // Only the newest request may paint, so fast filter clicks can't show stale results.
    var seq = ++state.requestSeq;
    var filter = state.filter;
    setState("loading");
    return api.listMysfits(filter).then(
      function (result) {
        if (seq !== state.requestSeq) return;
        clearError();
        state.mysfits = result.mysfits;
        renderGrid(result.mysfits);
        dom.summary.textContent = result.mysfits.length
          ? "Showing " + describeCount(result.mysfits.length, filter) + "."
          : "";
        dom.emptyMessage.textContent = filter
          ? "No " + describeCount(0, filter).replace(/^0 /, "") + " right now. Try another filter."
          : "No mysfits are waiting for a home right now.";
        setState(result.mysfits.length ? "ready" : "empty");
      },
      function (err) {
        if (seq !== state.requestSeq) return;
        state.mysfits = [];
        dom.grid.textContent = "";
        dom.summary.textContent = "";
        showError(err);
        setState("error");
      }
    );
  }

  function setFilter(name, value) {
    state.filter = name && FILTER_FIELDS[name] ? { name: name, value: value } : null;
    dom.filterButtons.forEach(function (btn) {
      var b = btn.getAttribute("data-filter");
      var pressed = state.filter
        ? b === state.filter.name && btn.getAttribute("data-value") === state.filter.value
        : b === "";
      btn.setAttribute("aria-pressed", pressed ? "true" : "false");
    });
    return load();
  }

  // -------------------------------------------------------------- profile

  function findMysfit(id) {
    for (var i = 0; i < state.mysfits.length; i++) {
      if (String(state.mysfits[i].mysfitId) === String(id)) return state.mysfits[i];
    }
    return Object.prototype.hasOwnProperty.call(state.extras, String(id)) ? state.extras[String(id)] : null;
  }

  // A record from elsewhere (a recommendation): the grid's copy wins when there is one.
  function adoptRecord(record) {
    if (!record || !hasValue(record.mysfitId)) return null;
    var known = findMysfit(record.mysfitId);
    if (known) return known;
    state.extras[String(record.mysfitId)] = record;
    return record;
  }

  function showRow(rowClass, valueClass, text) {
    var row = dom.dialog.querySelector("." + rowClass);
    row.hidden = !hasValue(text);
    dom.dialog.querySelector("." + valueClass).textContent = hasValue(text) ? text : "";
  }

  function fillProfile(mysfit) {
    var d = dom.dialog;
    setPicture(d.querySelector(".profile-image"), mysfit);
    d.querySelector(".profile-name").textContent = mysfit.name || "Unnamed mysfit";
    d.querySelector(".profile-species").textContent = mysfit.species || "";
    var badges = d.querySelector(".profile-badges");
    badges.textContent = "";
    badgesFor(mysfit).forEach(function (b) { badges.appendChild(b); });
    d.querySelector(".profile-description").textContent = mysfit.description || "";
    showRow("profile-age-row", "profile-age", hasValue(mysfit.age) ? String(mysfit.age) : null);
    // Module 3+ data carries likes (sometimes as a string) and adopted; module 1-2 data doesn't.
    showRow("profile-likes-row", "profile-likes", hasValue(mysfit.likes) ? String(Number(mysfit.likes)) : null);
    showRow("profile-adopted-row", "profile-adopted",
      typeof mysfit.adopted === "boolean"
        ? (mysfit.adopted ? "Adopted — already has a home" : "Looking for a home")
        : null);
    d.setAttribute("data-mysfit-id", mysfit.mysfitId);
  }

  function openProfile(mysfit, opener) {
    var d = dom.dialog;
    fillProfile(mysfit);
    state.profileOpener = opener || null;
    if (typeof d.showModal === "function") {
      if (!d.open) d.showModal();
    } else {
      d.setAttribute("open", "");
    }
    decorate(d.querySelector(".profile-actions"), mysfit, "profile");
    d.querySelector(".profile-close").focus();
    refreshProfile(mysfit.mysfitId);
    // Listeners (click tracking) must never stop a profile from showing.
    profileListeners.forEach(function (fn) {
      try {
        fn(mysfit);
      } catch (err) {
        if (window.console) console.error(err);
      }
    });
  }

  // From module 4 the list carries fewer fields, and likes change: read the full record.
  // Failures are quiet: the profile keeps what the list said.
  function refreshProfile(id) {
    if (config.stage < 4 || !config.mysfitsApiEndpoint) return;
    var edits = state.edits[id] || 0;
    api.getMysfit(id).then(function (full) {
      // A like or adoption answered meanwhile is newer than this read.
      if ((state.edits[id] || 0) !== edits) return;
      if (String(full.mysfitId === undefined ? id : full.mysfitId) === String(id)) updateMysfit(id, full);
    }, function () {});
  }

  function closeProfile() {
    if (typeof dom.dialog.close === "function") dom.dialog.close();
    else dom.dialog.removeAttribute("open");
  }

  // ----------------------------------------------- helpers for modules 5-7

  // Sends JSON (or nothing) without cookies or credentials. Resolves to {url, status, ok, body}
  // whatever the status; rejects with {kind: "network" | "timeout", url, message}.
  function requestJson(url, options) {
    options = options || {};
    var init = { method: options.method || "GET", cache: "no-store", credentials: "omit", headers: {} };
    if (options.json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    }
    var controller = typeof AbortController === "function" && options.timeoutMs ? new AbortController() : null;
    var timedOut = false;
    var timer = null;
    if (controller) {
      init.signal = controller.signal;
      timer = setTimeout(function () {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
    }
    function failure() {
      clearTimeout(timer);
      return timedOut
        ? { kind: "timeout", url: url, message: "no answer from " + url + " within " + Math.round(options.timeoutMs / 1000) + " s" }
        : { kind: "network", url: url, message: "could not reach " + url };
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        clearTimeout(timer);
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { url: url, status: response.status, ok: response.ok, body: body };
      }, function () { throw failure(); });
    }, function () { throw failure(); });
  }

  // Modal dialogs of modules 6-7 (js/account.js keeps its own, which hand focus between them).
  var dialogOpeners = typeof WeakMap === "function" ? new WeakMap() : null;
  var preparedDialogs = [];

  function prepareDialog(d) {
    if (preparedDialogs.indexOf(d) >= 0) return;
    preparedDialogs.push(d);
    var closer = d.querySelector(".dialog-close");
    if (closer) closer.addEventListener("click", function () { hideDialog(d); });
    d.addEventListener("click", function (event) {
      if (event.target === d) hideDialog(d); // the backdrop
    });
    d.addEventListener("close", function () {
      var opener = dialogOpeners && dialogOpeners.get(d);
      if (dialogOpeners) dialogOpeners.delete(d);
      // Another modal (say the profile) took over: focus belongs to it.
      if (document.querySelector("dialog[open]")) return;
      if (opener && document.body.contains(opener) && opener.offsetParent !== null && !opener.disabled) {
        opener.focus();
      }
    });
  }

  function showDialog(d, opener, focusTarget) {
    prepareDialog(d);
    if (dialogOpeners && !d.open) dialogOpeners.set(d, opener || document.activeElement);
    if (!d.open && !d.hasAttribute("open")) {
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
    if (focusTarget) focusTarget.focus();
  }

  function hideDialog(d) {
    if (typeof d.close === "function") {
      if (d.open) d.close();
    } else if (d.hasAttribute("open")) {
      d.removeAttribute("open");
      d.dispatchEvent(new Event("close"));
    }
  }

  // --------------------------------------------------------------- wiring

  function wire() {
    dom.grid = document.getElementById("mysfits-grid");
    dom.loading = document.getElementById("loading");
    dom.messages = document.getElementById("messages");
    dom.empty = document.getElementById("empty-state");
    dom.emptyMessage = dom.empty.querySelector(".empty-message");
    dom.summary = document.getElementById("result-summary");
    dom.dialog = document.getElementById("mysfit-profile");
    dom.filterButtons = Array.prototype.slice.call(document.querySelectorAll(".filter-btn"));

    document.body.setAttribute("data-source", api.source);
    document.body.setAttribute("data-stage", String(config.stage));
    document.getElementById("site-stage").textContent = stageLabel(config.stage);
    document.getElementById("data-source").textContent = api.describeSource();

    dom.filterButtons.forEach(function (btn) {
      btn.addEventListener("click", function () {
        setFilter(btn.getAttribute("data-filter"), btn.getAttribute("data-value"));
      });
    });
    document.querySelector(".empty-show-all").addEventListener("click", function () {
      setFilter(null);
    });

    // One delegated listener: cards are re-rendered on every filter change.
    dom.grid.addEventListener("click", function (event) {
      var button = event.target.closest(".view-profile");
      if (!button) return;
      var mysfit = findMysfit(button.getAttribute("data-mysfit-id"));
      if (mysfit) openProfile(mysfit, button);
    });

    dom.dialog.querySelector(".profile-close").addEventListener("click", closeProfile);
    // A click that lands on the dialog element itself (not its content) is on the backdrop.
    dom.dialog.addEventListener("click", function (event) {
      if (event.target === dom.dialog) closeProfile();
    });
    dom.dialog.addEventListener("close", function () {
      var opener = state.profileOpener;
      state.profileOpener = null;
      if (opener && document.body.contains(opener)) opener.focus();
    });
  }

  window.mysfitsSite = {
    config: config,
    features: features,
    api: api,
    reload: function () { return load(); },
    setFilter: setFilter,
    // id, or a whole record (kept so likes and adoptions can update it); false if unknown.
    openProfile: function (idOrRecord, opener) {
      var m = idOrRecord && typeof idOrRecord === "object" ? adoptRecord(idOrRecord) : findMysfit(idOrRecord);
      if (m) openProfile(m, opener);
      return !!m;
    },
    // fn(mysfit) each time a profile opens.
    onProfileOpen: function (fn) { profileListeners.push(fn); },
    closeProfile: function () { closeProfile(); },
    findMysfit: findMysfit,
    updateMysfit: updateMysfit,
    refreshActions: function (id) { refreshActions(id); },
    // Registers fn(actionsElement, mysfit, "card" | "profile") and applies it to what is shown.
    addDecorator: function (fn) {
      decorators.push(fn);
      refreshActions();
    },
    el: el,
    setPicture: setPicture,
    badgesFor: badgesFor,
    requestJson: requestJson,
    showDialog: showDialog,
    hideDialog: hideDialog
  };

  function start() {
    wire();
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
