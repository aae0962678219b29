/*
 * Mythical Mysfits — "Contact us" (module 6+).
 *
 * Runs only when config.js sets questionsApiEndpoint (mysfitsSite.features.questions): shows
 * #contact-btn in the footer, which opens dialog#contact-dialog. The form checks the email
 * address and the question's length (1-2,000 characters) itself, then sends
 *   POST {questionsApiEndpoint}/questions   {"email": "...", "questionText": "..."}
 * 2xx: a thank-you note and an empty form. 4xx: the API's own "message". 5xx or no answer: the
 * question stays in the form and a "Try again" button sends it again. One request at a time.
 */
(function () {
  "use strict";

  var site = window.mysfitsSite;
  if (!site || !site.features.questions) return;

  var el = site.el;
  var URL_QUESTIONS = site.config.questionsApiEndpoint + "/questions";
  var MAX_CHARS = 2000;
  var TIMEOUT_MS = 30000;
  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  var dom = {};
  var busy = false;
  var unseen = false;  // an answer arrived while the dialog was closed
  var notSent = false; // the last try failed on the way: its "Try again" stays until it works

  // Characters as people count them (an emoji is one), like the service's own check would.
  function charCount(text) {
    return Array.from ? Array.from(text).length : text.length;
  }

  function formatCount(n) {
    return n.toLocaleString("en-US");
  }

  function updateCount() {
    var n = charCount(dom.question.value);
    dom.count.textContent = formatCount(n) + " / " + formatCount(MAX_CHARS);
    dom.count.setAttribute("data-over", n > MAX_CHARS ? "true" : "false");
  }

  function signedInEmail() {
    var account = site.account;
    return account && account.isSignedIn() ? account.email() || "" : "";
  }

  // ------------------------------------------------------------- messages

  function clearMessages() {
    dom.error.textContent = "";
    dom.error.hidden = true;
    dom.notice.textContent = "";
    dom.notice.hidden = true;
  }

  function showNotice(text) {
    dom.notice.textContent = text;
    dom.notice.hidden = false;
  }

  function showError(text, offerRetry) {
    dom.error.textContent = "";
    dom.error.appendChild(el("p", { "class": "form-error-text", text: text }));
    if (offerRetry) {
      dom.error.appendChild(el("button", {
        type: "button",
        "class": "link-btn form-error-action contact-retry",
        text: "Try again"
      }));
    }
    dom.error.hidden = false;
  }

  function setBusy(value) {
    busy = value;
    dom.submit.disabled = value;
    dom.submit.textContent = value ? "Sending…" : "Send question";
    dom.form.setAttribute("aria-busy", value ? "true" : "false");
  }

  // ---------------------------------------------------------------- flow

  function open(opener) {
    if (!busy && !unseen && !notSent) clearMessages();
    unseen = false;
    if (!dom.email.value.trim()) dom.email.value = signedInEmail();
    updateCount();
    site.showDialog(dom.dialog, opener, dom.email.value.trim() ? dom.question : dom.email);
  }

  // The form's own problems, or null when it may be sent.
  function problem() {
    var email = dom.email.value.trim();
    var n = charCount(dom.question.value);
    if (!EMAIL_RE.test(email)) {
      return { field: dom.email, text: "Enter the email address we should answer, like name@example.com." };
    }
    if (!dom.question.value.trim()) {
      return { field: dom.question, text: "Write your question first: the box is empty." };
    }
    if (n > MAX_CHARS) {
      return {
        field: dom.question,
        text: "Your question is " + formatCount(n) + " characters long. Please shorten it to " +
          formatCount(MAX_CHARS) + " or fewer (" + formatCount(n - MAX_CHARS) + " too many)."
      };
    }
    return null;
  }

  function submit() {
    if (busy) return;
    clearMessages();
    notSent = false;
    var wrong = problem();
    if (wrong) {
      showError(wrong.text, false);
      wrong.field.focus();
      return;
    }
    var email = dom.email.value.trim();
    var question = { email: email, questionText: dom.question.value.trim() };
    setBusy(true);
    site.requestJson(URL_QUESTIONS, { method: "POST", json: question, timeoutMs: TIMEOUT_MS }).then(
      function (answer) {
        setBusy(false);
        unseen = !dom.dialog.open;
        if (answer.ok) {
          dom.question.value = "";
          dom.email.value = signedInEmail();
          updateCount();
          showNotice("Thanks — your question is on its way to the Mysfits team. We will write back to " +
            email + ".");
          return;
        }
        var said = answer.body && typeof answer.body.message === "string" ? answer.body.message : "";
        if (answer.status >= 400 && answer.status < 500) {
          showError(said || "The questions service did not accept this question (HTTP " + answer.status +
            "). Check it and try again.", false);
          return;
        }
        notSent = true;
        showError("Your question was not sent: the questions service had a problem (HTTP " +
          answer.status + (said ? ", " + said : "") + "). Your text is still here, so you can try " +
          "again in a moment.", true);
      },
      function (err) {
        setBusy(false);
        unseen = !dom.dialog.open;
        notSent = true;
        showError("Your question was not sent: " + (err.kind === "timeout"
          ? "the questions service did not answer in time"
          : "we could not reach the questions service at " + URL_QUESTIONS) +
          ". Your text is still here, so you can try again in a moment.", true);
      }
    );
  }

  // --------------------------------------------------------------- wiring

  function wire() {
    dom.button = document.getElementById("contact-btn");
    dom.dialog = document.getElementById("contact-dialog");
    dom.form = dom.dialog.querySelector("form");
    dom.email = document.getElementById("contact-email");
    dom.question = document.getElementById("contact-question");
    dom.count = dom.dialog.querySelector(".char-count");
    dom.submit = document.getElementById("contact-submit");
    dom.error = dom.dialog.querySelector(".form-error");
    dom.notice = dom.dialog.querySelector(".form-notice");

    dom.button.addEventListener("click", function () { open(dom.button); });
    dom.question.addEventListener("input", updateCount);
    dom.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit();
    });
    dom.error.addEventListener("click", function (event) {
      if (event.target.closest(".contact-retry")) submit();
    });
    updateCount();
    dom.button.hidden = false;
  }

  wire();

  site.contact = { open: function (opener) { open(opener || null); } };
})();
