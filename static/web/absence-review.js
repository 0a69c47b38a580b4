// The class teacher's absence notes (docs/absences.md) on the teacher's day screen: the notes of the classes one
// leads that wait for a decision (new ones and those questioned before), each accepted or questioned with a
// comment the parent reads; the files the parent attached (a doctor's certificate) download from the note. A note
// written (or given a file) while the page is open arrives live (absence_note) and the list reloads.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var REASONS = { illness: t("illness"), excused: t("valid reason") };
  var STATUSES = { pending: t("under review"), questioned: t("needs clarification") };

  function span(note) {
    if (note.from === note.to) return ET.fmt.date(note.from);
    return ET.fmt.date(note.from) + " — " + ET.fmt.date(note.to);
  }

  function decide(note, body, status) {
    return ET.api("/api/v1/absence-notes/" + note.id + "/decision", { method: "POST", body: body }).then(function () {
      ET.toast(body.decision === "accepted" ? t("Note accepted: %(name)s", { name: note.student_name })
        : t("Question sent: %(name)s", { name: note.student_name }), "ok");
      return load().then(function () { focusNext(note); });
    }, function (err) {
      var details = err.details && typeof err.details === "object" ? err.details : {};
      status.textContent = details.comment ? [].concat(details.comment).join(" ") : err.message;
      status.dataset.kind = "error";
    });
  }

  // "Ask to clarify": a comment is required (the parent reads it); checked here in our own words first.
  function questionForm(note, status) {
    var id = "review-comment-" + note.id;
    var field = el("textarea", { id: id, name: "comment", rows: "2", maxlength: "500" });
    var error = el("p", { class: "field-error", id: id + "-error" });
    var form = el("form", { class: "stack-form review-question", novalidate: true, hidden: true },
      el("label", { for: id, text: t("What should the parent clarify?") }), field, error,
      el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary", text: t("Send the question") })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var comment = field.value.trim();
      error.textContent = "";
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
      if (!comment) {
        error.textContent = t("Write what should be clarified.");
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", error.id);
        field.focus();
        return;
      }
      decide(note, { decision: "questioned", comment: comment }, status);
    });
    return form;
  }

  function item(note) {
    var status = el("p", { class: "form-status", role: "status" });
    var question = questionForm(note, status);
    var accept = el("button", { type: "button", class: "primary", text: t("Accept"),
      "aria-label": t("Accept the note: %(name)s, %(days)s", { name: note.student_name, days: span(note) }) });
    var ask = el("button", { type: "button", class: "secondary", text: t("Ask to clarify"), "aria-expanded": "false",
      "aria-label": t("Ask to clarify: %(name)s, %(days)s", { name: note.student_name, days: span(note) }) });
    accept.addEventListener("click", function () { accept.disabled = true; decide(note, { decision: "accepted" }, status)
      .then(function () { accept.disabled = false; }); });
    ask.addEventListener("click", function () {
      question.hidden = !question.hidden;
      ask.setAttribute("aria-expanded", String(!question.hidden));
      if (!question.hidden) question.querySelector("textarea").focus();
    });
    return el("li", { class: "review-note", "data-note-id": note.id, "data-status": note.status },
      el("p", { class: "review-who" }, el("strong", { text: note.student_name }), " · ",
        el("span", { text: span(note) }), " · ", el("span", { text: REASONS[note.reason] || note.reason }),
        el("span", { class: "tag", text: STATUSES[note.status] || note.status })),
      note.comment ? el("p", { class: "muted", text: t("Parent: %(comment)s", { comment: note.comment }) }) : null,
      note.decision_comment ? el("p", { class: "muted", text: t("Your question: %(comment)s", { comment: note.decision_comment }) }) : null,
      ET.fileLinks(note.attachments),
      el("div", { class: "form-actions" }, accept, ask), question, status);
  }

  // The decided note leaves the list: the keyboard goes on to the next note waiting (else to the list's heading),
  // not back to the top of the page.
  function focusNext(note) {
    var next = ET.$("review").querySelector(".review-note:not([data-note-id='" + note.id + "']) button");
    if (next) next.focus();
    else if (!ET.$("review-card").hidden) ET.$("review-title").focus();
    else ET.$("view-title").focus();
  }

  function load() {
    var box = ET.$("review");
    return Promise.all([ET.api("/api/v1/absence-notes?status=pending&limit=100"),
      ET.api("/api/v1/absence-notes?status=questioned&limit=100")]).then(function (pages) {
      var notes = pages[0].items.concat(pages[1].items);
      ET.$("review-card").hidden = !notes.length;
      ET.clear(box);
      if (!notes.length) return;
      var list = el("ul", { class: "review-list", "aria-labelledby": "review-title" });
      notes.forEach(function (note) { list.append(item(note)); });
      box.append(list);
    }, function (err) {
      ET.$("review-card").hidden = false;
      ET.clear(box).append(el("p", { class: "error", role: "alert", text: t("Could not load: %(error)s", { error: err.message }) }));
    });
  }

  window.addEventListener("edutrack:notification", function (event) {
    if (event.detail.kind === "absence_note") load();
  });

  // Wraps ET.start (teacher.js calls it, as live.js wraps it): once the user is known, the notes load.
  var start = ET.start;
  ET.start = function () {
    return start.apply(ET, arguments).then(function (user) {
      if (user.role === "teacher" || user.role === "admin") load();
      return user;
    });
  };
})();
