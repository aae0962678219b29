/*
 * Mythical Mysfits — like and adopt buttons (module 4+).
 *
 * Active when accounts are configured, the site is at stage 4 or later and there is a mysfits
 * API (mysfitsSite.features.likes). Signed-in visitors get, in every card's .card-actions and
 * in the profile's .profile-actions:
 *   button.like-btn[data-mysfit-id]  "♥ Like <count>"  → POST {api}/mysfits/{id}/like
 *   button.adopt-btn[data-mysfit-id][data-adopted]    → POST {api}/mysfits/{id}/adopt
 *   p.action-message[data-kind]      what the last click did (role=status)
 * Signed-out visitors see no buttons; the profile offers button.sign-in-prompt instead.
 * Calls go through mysfitsSite.account.authorizedFetch (raw ID token, one refresh on a 401).
 */
(function () {
  "use strict";

  var site = window.mysfitsSite;
  if (!site || !site.features.likes || !site.account) return;

  var el = site.el;
  var account = site.account;
  var busy = {};      // "<id>:like" / "<id>:adopt" while a request is out
  var messages = {};  // id → {kind, text}, shown under that mysfit's buttons
  var liked = {};     // ids liked from this page

  function nameOf(mysfit) {
    return (mysfit && mysfit.name) || "this mysfit";
  }

  function likeCount(mysfit) {
    if (!mysfit || mysfit.likes === undefined || mysfit.likes === null || mysfit.likes === "") return null;
    var n = Number(mysfit.likes);
    return isFinite(n) ? n : null;
  }

  function remove(container, selector) {
    Array.prototype.forEach.call(container.querySelectorAll(selector), function (node) {
      node.parentNode.removeChild(node);
    });
  }

  // --------------------------------------------------------------- drawing

  function ensure(container, selector, build) {
    return container.querySelector(selector) || container.appendChild(build());
  }

  function newLikeButton() {
    return el("button", { type: "button", "class": "btn btn-like like-btn" }, [
      el("span", { "class": "like-icon", "aria-hidden": "true", text: "♥" }),
      el("span", { "class": "like-label", text: "Like" }),
      el("span", { "class": "like-count" })
    ]);
  }

  function newAdoptButton() {
    return el("button", { type: "button", "class": "btn btn-adopt adopt-btn" });
  }

  function newMessage() {
    return el("p", { "class": "action-message", role: "status", "data-kind": "" });
  }

  function newPrompt() {
    return el("p", { "class": "sign-in-hint" }, [
      el("span", { "class": "sign-in-hint-text" }),
      document.createTextNode(" "),
      el("button", { type: "button", "class": "link-btn sign-in-prompt", text: "Sign in" })
    ]);
  }

  function draw(actions, mysfit, where) {
    var id = String(mysfit.mysfitId);
    if (!account.isSignedIn()) {
      remove(actions, ".like-btn, .adopt-btn, .action-message");
      if (where === "profile") {
        var hint = ensure(actions, ".sign-in-hint", newPrompt);
        hint.querySelector(".sign-in-hint-text").textContent =
          "Want to like or adopt " + nameOf(mysfit) + "?";
      }
      return;
    }
    remove(actions, ".sign-in-hint");

    var like = ensure(actions, ".like-btn", newLikeButton);
    var adopt = ensure(actions, ".adopt-btn", newAdoptButton);
    var message = ensure(actions, ".action-message", newMessage);

    var count = likeCount(mysfit);
    like.setAttribute("data-mysfit-id", id);
    like.setAttribute("data-liked", liked[id] ? "true" : "false");
    like.querySelector(".like-count").textContent = count === null ? "" : String(count);
    like.setAttribute("aria-label", "Like " + nameOf(mysfit) +
      (count === null ? "" : " (" + count + (count === 1 ? " like" : " likes") + " so far)"));
    like.disabled = !!busy[id + ":like"];

    var adopted = mysfit.adopted === true;
    adopt.setAttribute("data-mysfit-id", id);
    adopt.setAttribute("data-adopted", adopted ? "true" : "false");
    adopt.textContent = adopted ? "Adopted" : (busy[id + ":adopt"] ? "Adopting…" : "Adopt");
    adopt.setAttribute("aria-label", adopted ? nameOf(mysfit) + " is adopted" : "Adopt " + nameOf(mysfit));
    adopt.disabled = adopted || !!busy[id + ":adopt"];

    var said = messages[id] || { kind: "", text: "" };
    message.setAttribute("data-kind", said.kind);
    message.textContent = said.text;
    message.hidden = !said.text;
  }

  // ------------------------------------------------------------- requests

  function post(id, action) {
    var url = site.api.mysfitUrl(id, action);
    return account.authorizedFetch(url, { method: "POST" }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : {}; } catch (e) { body = null; }
        if (response.ok) return body || {};
        throw { kind: "http", status: response.status, url: url, message: body && body.message };
      });
    });
  }

  function say(id, kind, text) {
    messages[id] = { kind: kind, text: text };
  }

  function sayFailure(id, err, mysfit) {
    if (err && err.kind === "session-ended") {
      delete messages[id];
    } else if (err && err.kind === "network") {
      say(id, "error", "Could not reach the mysfits API at " + err.url + ". Is it running, and does it allow this site (CORS)?");
    } else if (err && err.kind === "http" && err.status === 404) {
      say(id, "not-found", "We could not find " + nameOf(mysfit) + " any more. The catalogue may have changed: reload the page.");
    } else if (err && err.kind === "http") {
      say(id, "error", "The mysfits API answered HTTP " + err.status +
        (err.message ? " (" + err.message + ")" : "") + ". Please try again in a moment.");
    } else if (err && err.name === "CognitoError") {
      say(id, "error", account.describeError(err).text);
    } else {
      say(id, "error", "Something went wrong: " + (err && err.message ? err.message : String(err)) + ".");
    }
  }

  function run(id, action, onSuccess, onFailure) {
    var key = id + ":" + action;
    if (busy[key]) return;
    busy[key] = true;
    delete messages[id];
    site.refreshActions(id);
    post(id, action).then(
      function (body) {
        delete busy[key];
        onSuccess(body, site.findMysfit(id));
        site.refreshActions(id);
      },
      function (err) {
        delete busy[key];
        var mysfit = site.findMysfit(id);
        if (!onFailure || !onFailure(err, mysfit)) sayFailure(id, err, mysfit);
        site.refreshActions(id);
      }
    );
  }

  function like(id) {
    run(id, "like", function (body, mysfit) {
      liked[id] = true;
      var count = Number(body.likes);
      // The original service answers only {"Update": "Success"}: count the like here then.
      if (body.likes === undefined || body.likes === null || !isFinite(count)) {
        var before = likeCount(mysfit);
        count = before === null ? null : before + 1;
      }
      say(id, "liked", "You liked " + nameOf(mysfit) + ".");
      if (count !== null) site.updateMysfit(id, { likes: count });
    });
  }

  function adopt(id) {
    run(id, "adopt", function (body, mysfit) {
      say(id, "adopted", "Welcome home, " + nameOf(mysfit) + "! The adoption is done.");
      site.updateMysfit(id, { adopted: true });
    }, function (err, mysfit) {
      if (!(err && err.kind === "http" && err.status === 409)) return false;
      say(id, "already-adopted", nameOf(mysfit) + " was already adopted by someone else.");
      site.updateMysfit(id, { adopted: true });
      return true;
    });
  }

  // ---------------------------------------------------------------- wiring

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".like-btn, .adopt-btn, .sign-in-prompt");
    if (!button || button.disabled) return;
    if (button.classList.contains("sign-in-prompt")) {
      account.openSignIn(button);
      return;
    }
    var id = button.getAttribute("data-mysfit-id");
    if (button.classList.contains("like-btn")) like(id);
    else adopt(id);
  });

  account.onChange(function (signedIn) {
    if (!signedIn) {
      messages = {};
      liked = {};
    }
  });

  site.addDecorator(draw);
})();
