// The diary's absence notes (docs/absences.md): a parent tells the class teacher ahead (or on the day) that the
// chosen child will miss school, and reads the child's notes with the class teacher's decision. A student reads
// their own notes. Follows the child diary.js shows ("edutrack:child"); a decision arriving live (absence_note)
// reloads the list.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var REASONS = { illness: t("illness"), excused: t("valid reason") };
  var STATUSES = { pending: t("under review"), accepted: t("accepted"), questioned: t("needs clarification") };
  var state = { childId: null, user: null };

  function form() { return ET.$("note-form"); }

  function errorNode(field) {
    var id = field.id + "-error";
    var node = document.getElementById(id);
    if (!node) {
      node = el("p", { class: "field-error", id: id });
      field.after(node);
    }
    return node;
  }

  function status(text, kind) {
    var node = form().querySelector(".form-status");
    node.textContent = text;
    node.dataset.kind = kind || "";
  }

  function clearErrors() {
    form().querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    form().querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
    status("", "");
  }

  // {field name: message}: each next to its field, the first one focused; returns whether any was shown.
  function showErrors(errors) {
    var first = null;
    Object.keys(errors).forEach(function (name) {
      var field = form().elements.namedItem(name);
      if (!field || field.nodeType !== 1) { status(String(errors[name]), "error"); return; }
      var node = errorNode(field);
      node.textContent = Array.isArray(errors[name]) ? errors[name].join(" ") : String(errors[name]);
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", node.id);
      if (!first) first = field;
    });
    if (first) first.focus();
    return Object.keys(errors).length > 0;
  }

  function check(values) {
    var errors = {};
    var today = ET.isoDay(new Date());
    if (!values.from) errors.from = t("Choose the first day.");
    else if (values.from < today) errors.from = t("The first day can be today or later.");
    if (values.to && values.from && values.to < values.from) errors.to = t("The last day is before the first.");
    if (values.comment.length > 500) errors.comment = t("At most 500 characters.");
    return errors;
  }

  function submit(event) {
    event.preventDefault();
    clearErrors();
    var f = form();
    var values = { from: f.elements.from.value, to: f.elements.to.value, reason: f.elements.reason.value,
      comment: f.elements.comment.value.trim() };
    if (showErrors(check(values))) return;
    var body = { student_id: state.childId, from: values.from, reason: values.reason };
    if (values.to) body.to = values.to;
    if (values.comment) body.comment = values.comment;
    var button = f.querySelector("button[type=submit]");
    button.disabled = true;
    ET.api("/api/v1/absence-notes", { method: "POST", body: body }).then(function () {
      resetForm();
      status(t("The note is sent to the class teacher."), "ok");
      return loadNotes();
    }, function (err) {
      if (!(err.details && typeof err.details === "object" && showErrors(err.details))) status(err.message, "error");
    }).then(function () { button.disabled = false; });
  }

  function resetForm() {
    var f = form();
    f.reset();
    f.elements.from.value = ET.isoDay(new Date());
  }

  function span(note) {
    if (note.from === note.to) return ET.fmt.date(note.from);
    return ET.fmt.date(note.from) + " — " + ET.fmt.date(note.to);
  }

  function noteItem(note) {
    return el("li", { class: "note", "data-note-id": note.id, "data-status": note.status },
      el("span", { class: "note-days", text: span(note) }), " · ",
      el("span", { class: "note-reason", text: REASONS[note.reason] || note.reason }),
      el("span", { class: "tag note-status note-" + note.status, text: STATUSES[note.status] || note.status }),
      note.comment ? el("p", { class: "note-comment muted", text: note.comment }) : null,
      note.status === "questioned" && note.decision_comment
        ? el("p", { class: "note-decision", text: t("Class teacher: %(comment)s", { comment: note.decision_comment }) })
        : null);
  }

  function loadNotes() {
    var childId = state.childId;
    var box = ET.$("notes");
    return ET.api("/api/v1/absence-notes?student_id=" + childId + "&limit=20").then(function (page) {
      if (childId !== state.childId) return;
      ET.clear(box);
      if (!page.items.length) { box.append(el("p", { class: "muted", text: t("No notes yet.") })); return; }
      var list = el("ul", { class: "notes-list", "aria-labelledby": "notes-list-title" });
      page.items.forEach(function (note) { list.append(noteItem(note)); });
      box.append(list);
    }, function (err) {
      if (childId !== state.childId) return;
      ET.clear(box).append(el("p", { class: "error", role: "alert",
        text: t("Could not load: %(error)s", { error: err.message }) }));
    });
  }

  window.addEventListener("edutrack:child", function (event) {
    var first = state.childId === null;
    state.childId = event.detail.childId;
    state.user = event.detail.user;
    ET.$("notes-card").hidden = false;
    form().hidden = state.user.role === "student";  // parents write notes (a teacher may be a parent too)
    if (first) resetForm();
    else clearErrors();
    loadNotes();
  });

  window.addEventListener("edutrack:notification", function (event) {
    var n = event.detail;
    if (n.kind === "absence_note" && state.childId !== null && n.about_user_id === state.childId) loadNotes();
  });

  form().addEventListener("submit", submit);
})();
