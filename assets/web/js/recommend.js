/*
 * Mythical Mysfits — "Find your mysfit" questionnaire (module 7+).
 *
 * Runs only when config.js sets recommendationsApiEndpoint (mysfitsSite.features.recommendations):
 * shows #recommend-btn in the welcome section, which opens dialog#recommend-dialog with five
 * questions of eight answers each. The model behind the API was trained on answers coded 1-8,
 * position by position:
 *   entry[0] what you do for a living   entry[1] how old you are (or feel)
 *   entry[2] how you like to relax      entry[3] your colour   entry[4] your extreme sport
 * The codes are categories, not scores: only "same answer or not" matters to the model.
 *
 *   POST {recommendationsApiEndpoint}/recommendations   {"entry": [a0, a1, a2, a3, a4]}
 *   → {"recommendedMysfit": "<mysfitId>", "name": "<optional>"}
 * The match is shown as a small card (.recommendation[data-mysfit-id]) with a button that opens
 * its profile. 4xx: the API's own "message". 5xx or no answer: the answers stay for another try.
 */
(function () {
  "use strict";

  var site = window.mysfitsSite;
  if (!site || !site.features.recommendations) return;

  var el = site.el;
  var URL_RECOMMEND = site.config.recommendationsApiEndpoint + "/recommendations";
  var TIMEOUT_MS = 30000;

  // In entry order (data-index). Answers are coded 1-8 in the order listed.
  var QUESTIONS = [
    {
      text: "What fills most of your working day?",
      answers: [
        "Building things, sometimes even on purpose",
        "Keeping the machines humming",
        "Planning other people's calendars",
        "Teaching, coaching or mentoring",
        "Making things look beautiful",
        "Breaking things to learn why they break",
        "Running my own show",
        "That is classified"
      ]
    },
    {
      text: "How old do you feel today?",
      answers: [
        "Freshly hatched",
        "Still growing into my wings",
        "Old enough to know better",
        "Halfway through my saga",
        "Seasoned, like a good stew",
        "Ancient, but spry",
        "Older than some mountains",
        "I stopped counting centuries ago"
      ]
    },
    {
      text: "How do you unwind after a long day?",
      answers: [
        "A good book and a heavy blanket",
        "A whole season of a show in one sitting",
        "A long walk somewhere green",
        "Cooking something far too ambitious",
        "Board games with friends",
        "Tinkering with a side project",
        "A nap. Always a nap.",
        "Loud music and louder singing"
      ]
    },
    {
      text: "Which colour feels most like you?",
      answers: [
        "Midnight blue",
        "Moss green",
        "Ember orange",
        "Storm grey",
        "Lava red",
        "Sunflower yellow",
        "Deep-sea teal",
        "All of them at once"
      ]
    },
    {
      text: "Pick your extreme sport.",
      answers: [
        "Cliff diving",
        "Competitive snoozing",
        "Racing on dragon-back",
        "Speed reading",
        "Ironing on a mountaintop",
        "Volcano surfing",
        "Staring contests with a gorgon",
        "Flat-pack furniture without the manual"
      ]
    }
  ];

  var dom = {};
  var busy = false;
  var lookupSeq = 0;

  // ------------------------------------------------------------ building

  function buildQuestions() {
    dom.questions.textContent = "";
    QUESTIONS.forEach(function (question, index) {
      var choices = el("div", { "class": "choices" });
      question.answers.forEach(function (answer, i) {
        choices.appendChild(el("label", { "class": "choice" }, [
          el("input", { type: "radio", name: "recommend-q" + index, value: String(i + 1) }),
          el("span", { "class": "choice-text", text: answer })
        ]));
      });
      dom.questions.appendChild(el("fieldset", { "class": "question", "data-index": String(index) }, [
        el("legend", { "class": "question-text" }, [
          el("span", { "class": "question-number", "aria-hidden": "true", text: String(index + 1) }),
          document.createTextNode(question.text)
        ]),
        choices
      ]));
    });
  }

  // ------------------------------------------------------------- answers

  // The five codes in entry order; null where a question is unanswered.
  function answers() {
    return QUESTIONS.map(function (q, index) {
      var checked = dom.questions.querySelector('fieldset.question[data-index="' + index + '"] input:checked');
      return checked ? parseInt(checked.value, 10) : null;
    });
  }

  function updateProgress() {
    var done = answers().filter(function (a) { return a !== null; }).length;
    var left = QUESTIONS.length - done;
    dom.submit.disabled = busy || left > 0;
    dom.progress.setAttribute("data-answered", String(done));
    dom.progress.textContent = left > 0
      ? done + " of " + QUESTIONS.length + " answered — " + left + (left === 1 ? " question" : " questions") + " to go."
      : "All five answered. Ready when you are!";
  }

  function setBusy(value) {
    busy = value;
    dom.form.setAttribute("aria-busy", value ? "true" : "false");
    dom.submit.textContent = value ? "Finding your match…" : "Show my match";
    Array.prototype.forEach.call(dom.questions.querySelectorAll("fieldset"), function (f) { f.disabled = value; });
    updateProgress();
  }

  function clearError() {
    dom.error.textContent = "";
    dom.error.hidden = true;
  }

  function showError(text) {
    dom.error.textContent = "";
    dom.error.appendChild(el("p", { "class": "form-error-text", text: text }));
    dom.error.hidden = false;
  }

  // ---------------------------------------------------------------- result

  function showQuestions() {
    dom.result.textContent = "";
    dom.result.hidden = true;
    dom.asking.hidden = false;
  }

  // Finds the mysfit's record: the loaded catalogue, the API's single-mysfit read, then the
  // whole (unfiltered) catalogue. Resolves to null when none of them knows it.
  function lookUp(id) {
    var known = site.findMysfit(id);
    if (known) return Promise.resolve(known);
    var single = site.api.mysfitUrl(id) ? site.api.getMysfit(id) : Promise.reject(null);
    return single.then(
      function (record) { return record; },
      function () {
        return site.api.listMysfits(null).then(function (result) {
          for (var i = 0; i < result.mysfits.length; i++) {
            if (String(result.mysfits[i].mysfitId) === String(id)) return result.mysfits[i];
          }
          return null;
        });
      }
    ).catch(function () { return null; });
  }

  function renderResult(id, record, nameHint) {
    var name = (record && record.name) || nameHint || "your mysfit";
    var img = el("img", { "class": "mysfit-image", width: "160", height: "160" });
    site.setPicture(img, record || { mysfitId: id, name: name });
    var details = [
      el("p", { "class": "recommendation-kicker", text: "Your match is…" }),
      el("h3", { "class": "mysfit-name", id: "recommendation-name", text: name }),
      el("p", { "class": "mysfit-species", text: (record && record.species) || "" })
    ];
    if (record) {
      details.push(el("ul", { "class": "badges" }, site.badgesFor(record)));
      details.push(el("button", { type: "button", "class": "btn view-recommended", text: "Meet " + name }));
    } else {
      details.push(el("p", {
        "class": "recommendation-missing",
        text: "We could not load " + name + "'s profile just now. Look for them in the list below."
      }));
    }
    details.push(el("button", { type: "button", "class": "btn btn-secondary recommend-again", text: "Change my answers" }));
    var box = el("div", {
      "class": "recommendation",
      "data-mysfit-id": id,
      "aria-labelledby": "recommendation-name"
    }, [
      el("div", { "class": "recommendation-picture" }, [img]),
      el("div", { "class": "recommendation-body" }, details)
    ]);
    dom.result.textContent = "";
    dom.result.appendChild(box);
    dom.asking.hidden = true;
    dom.result.hidden = false;
    (box.querySelector(".view-recommended") || box.querySelector(".recommend-again")).focus();
    dom.current = record;
  }

  function showMatch(id, nameHint) {
    var seq = ++lookupSeq;
    return lookUp(id).then(function (record) {
      if (seq !== lookupSeq) return;
      setBusy(false);
      renderResult(id, record, nameHint);
    });
  }

  function submit() {
    if (busy) return;
    clearError();
    var entry = answers();
    if (entry.indexOf(null) >= 0) {
      updateProgress();
      showError("Please answer all five questions first.");
      return;
    }
    setBusy(true);
    site.requestJson(URL_RECOMMEND, { method: "POST", json: { entry: entry }, timeoutMs: TIMEOUT_MS }).then(
      function (answer) {
        var body = answer.body;
        var said = body && typeof body.message === "string" ? body.message : "";
        if (answer.ok) {
          var id = body && body.recommendedMysfit;
          if (typeof id === "string" && id) {
            showMatch(id, body && typeof body.name === "string" ? body.name : "");
            return;
          }
          setBusy(false);
          showError("The matchmaker had no suggestion for these answers. Try changing one or two.");
          return;
        }
        setBusy(false);
        if (answer.status >= 400 && answer.status < 500) {
          showError(said || "The matchmaker did not accept these answers (HTTP " + answer.status + ").");
          return;
        }
        showError("The matchmaker is not working right now (HTTP " + answer.status + "). Your answers " +
          "are kept: try again in a moment.");
      },
      function (err) {
        setBusy(false);
        showError((err.kind === "timeout"
          ? "The matchmaker did not answer in time."
          : "We could not reach the matchmaker at " + URL_RECOMMEND + ".") +
          " Your answers are kept: try again in a moment.");
      }
    );
  }

  function open(opener) {
    if (!busy) clearError();
    var first = dom.result.hidden
      ? dom.questions.querySelector("input:checked, input")
      : dom.result.querySelector(".view-recommended, .recommend-again");
    site.showDialog(dom.dialog, opener, first);
  }

  function meet() {
    var record = dom.current;
    if (!record) return;
    site.hideDialog(dom.dialog);
    site.openProfile(record, dom.button);
  }

  // --------------------------------------------------------------- wiring

  function wire() {
    dom.button = document.getElementById("recommend-btn");
    dom.cta = document.getElementById("recommend-cta");
    dom.dialog = document.getElementById("recommend-dialog");
    dom.form = dom.dialog.querySelector("form");
    dom.asking = dom.dialog.querySelector(".recommend-asking");
    dom.questions = dom.dialog.querySelector(".questions");
    dom.progress = dom.dialog.querySelector(".recommend-progress");
    dom.submit = document.getElementById("recommend-submit");
    dom.error = dom.dialog.querySelector(".form-error");
    dom.result = dom.dialog.querySelector(".recommend-result");

    buildQuestions();
    dom.questions.addEventListener("change", function () {
      clearError();
      updateProgress();
    });
    dom.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit();
    });
    dom.result.addEventListener("click", function (event) {
      if (event.target.closest(".view-recommended")) meet();
      else if (event.target.closest(".recommend-again")) {
        showQuestions();
        var first = dom.questions.querySelector("input:checked, input");
        if (first) first.focus();
      }
    });
    dom.button.addEventListener("click", function () { open(dom.button); });
    showQuestions();
    updateProgress();
    dom.cta.hidden = false;
  }

  wire();

  site.recommend = { open: function (opener) { open(opener || null); }, questions: QUESTIONS };
})();
