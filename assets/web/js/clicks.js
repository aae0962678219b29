/*
 * Mythical Mysfits — click tracking (module 5+).
 *
 * Runs only when config.js sets streamingApiEndpoint (mysfitsSite.features.clickTracking).
 * Every time a profile opens, sends
 *   PUT {streamingApiEndpoint}/clicks   Content-Type: application/json
 *   {"userId": "<sub claim of the signed-in visitor's ID token>" or "guest", "mysfitId": "<id>"}
 * and forgets about it: the profile never waits, nothing is retried, and a failure is only a
 * console warning. While MAX_IN_FLIGHT clicks are still unanswered (a hanging endpoint), new
 * ones are dropped rather than piled up.
 *
 * Counts for tests and the curious: body[data-clicks-sent] (2xx answers) and
 * body[data-clicks-failed] (everything else, dropped clicks included).
 */
(function () {
  "use strict";

  var site = window.mysfitsSite;
  if (!site || !site.features.clickTracking) return;

  var URL_CLICKS = site.config.streamingApiEndpoint + "/clicks";
  var TIMEOUT_MS = 10000;
  var MAX_IN_FLIGHT = 6;
  var counts = { sent: 0, failed: 0 };
  var inFlight = 0;

  function showCounts() {
    document.body.setAttribute("data-clicks-sent", String(counts.sent));
    document.body.setAttribute("data-clicks-failed", String(counts.failed));
  }

  function userId() {
    var account = site.account;
    if (!account || !account.isSignedIn() || typeof account.claims !== "function") return "guest";
    var claims = account.claims();
    return claims && typeof claims.sub === "string" && claims.sub ? claims.sub : "guest";
  }

  function failed(click, reason) {
    counts.failed += 1;
    showCounts();
    if (window.console && console.warn) {
      console.warn("Click tracking: the view of mysfit " + click.mysfitId + " was not recorded (" + reason + ").");
    }
  }

  function record(mysfit) {
    var click = { userId: userId(), mysfitId: String(mysfit.mysfitId) };
    if (inFlight >= MAX_IN_FLIGHT) {
      failed(click, "too many earlier clicks are still waiting for " + URL_CLICKS);
      return;
    }
    inFlight += 1;
    site.requestJson(URL_CLICKS, { method: "PUT", json: click, timeoutMs: TIMEOUT_MS }).then(
      function (answer) {
        inFlight -= 1;
        if (answer.ok) {
          counts.sent += 1;
          showCounts();
        } else {
          failed(click, URL_CLICKS + " answered HTTP " + answer.status);
        }
      },
      function (err) {
        inFlight -= 1;
        failed(click, err && err.message ? err.message : "no answer");
      }
    );
  }

  showCounts();
  site.onProfileOpen(function (mysfit) {
    try {
      record(mysfit);
    } catch (err) {
      // Tracking is a nicety: whatever happens here, the profile stays open.
      if (window.console && console.warn) console.warn("Click tracking failed:", err);
    }
  });
})();
