/*
 * Mythical Mysfits — the site's one script. Plain JavaScript, no framework, nothing from a CDN.
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
 *     cognitoUserPoolClientId: null,
 *     cognitoEndpoint: null,           //   Cognito user-pool JSON API URL (local cloud or AWS)
 *     streamingApiEndpoint: null,      // module 5+: click tracking
 *     questionsApiEndpoint: null,      // module 6+: "Contact us"
 *     recommendationsApiEndpoint: null // module 7+: "Recommend a Mysfit"
 *   };
 *
 * Every key is optional. A missing config.js, or a null endpoint, means "that module has not
 * been deployed yet": with no mysfitsApiEndpoint the catalogue is read from `mysfits.json`
 * (relative URL, uploaded next to index.html, same {"mysfits": [...]} shape as the API).
 * A trailing slash on an endpoint is tolerated and removed.
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
 * window.mysfitsSite exposes config, features, api and a few actions so later modules' code
 * (sign-in, like/adopt, click tracking, contact form, questionnaire) can hook in without
 * reaching into this file's internals.
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
    return {
      mysfitsApi: !!config.mysfitsApiEndpoint,
      accounts: !!(config.cognitoUserPoolId && config.cognitoUserPoolClientId),
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
  // The one place that knows URLs. Later modules add getMysfit, like, adopt, … here.

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
        // Module 4 adds a like button next to this one.
        el("div", { "class": "card-actions" }, [button])
      ])
    ]);
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
  var state = { filter: null, mysfits: [], requestSeq: 0 };
  var dom = {};

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
    return null;
  }

  function showRow(rowClass, valueClass, text) {
    var row = dom.dialog.querySelector("." + rowClass);
    row.hidden = !hasValue(text);
    dom.dialog.querySelector("." + valueClass).textContent = hasValue(text) ? text : "";
  }

  function openProfile(mysfit, opener) {
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
    state.profileOpener = opener || null;
    if (typeof d.showModal === "function") {
      if (!d.open) d.showModal();
    } else {
      d.setAttribute("open", "");
    }
    d.querySelector(".profile-close").focus();
  }

  function closeProfile() {
    if (typeof dom.dialog.close === "function") dom.dialog.close();
    else dom.dialog.removeAttribute("open");
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
    openProfile: function (id) {
      var m = findMysfit(id);
      if (m) openProfile(m);
      return !!m;
    },
    closeProfile: function () { closeProfile(); }
  };

  function start() {
    wire();
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
