// The diary's absence notes (docs/absences.md): a parent tells the class teacher ahead (or on the day) that the
// chosen child will miss school (whole days, or some lessons of one day picked from the child's timetable), and reads the child's notes with the class teacher's decision. A student reads
// their own notes. A parent may attach files (a doctor's certificate) to a note when writing it, and later while it
// is open (new or questioned); everyone who reads the note downloads them. Follows the child diary.js shows ("edutrack:child"); a decision arriving live (absence_note)
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
  function byLessons() { return form().elements.scope.value === "lessons"; }

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
      // The lessons' checkboxes answer as one group: the message goes after it, the first box takes the focus.
      var field = name === "lesson_ids" ? ET.$("note-lessons") : form().elements.namedItem(name);
      if (!field || field.nodeType !== 1) { status(String(errors[name]), "error"); return; }
      var node = errorNode(field);
      node.textContent = Array.isArray(errors[name]) ? errors[name].join(" ") : String(errors[name]);
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", node.id);
      if (!first) first = field.tagName === "FIELDSET" ? field.querySelector("input") || field : field;
    });
    if (first) first.focus();
    return Object.keys(errors).length > 0;
  }

  function check(values) {
    var errors = {};
    var today = ET.isoDay(new Date());
    if (!values.from) errors.from = byLessons() ? t("Choose the day.") : t("Choose the first day.");
    else if (values.from < today) errors.from = byLessons() ? t("The day can be today or later.") : t("The first day can be today or later.");
    if (!byLessons() && values.to && values.from && values.to < values.from) errors.to = t("The last day is before the first.");
    if (byLessons() && values.from && !errors.from && !values.lesson_ids.length) errors.lesson_ids = t("Choose at least one lesson.");
    if (values.comment.length > 500) errors.comment = t("At most 500 characters.");
    return errors;
  }

  function submit(event) {
    event.preventDefault();
    clearErrors();
    var f = form();
    var values = { from: f.elements.from.value, to: f.elements.to.value, reason: f.elements.reason.value,
      comment: f.elements.comment.value.trim(), lesson_ids: checkedLessons() };
    if (showErrors(check(values))) return;
    var body = { student_id: state.childId, reason: values.reason };
    if (byLessons()) body.lesson_ids = values.lesson_ids;
    else body.from = values.from;
    if (values.to && !byLessons()) body.to = values.to;
    if (values.comment) body.comment = values.comment;
    var button = f.querySelector("button[type=submit]");
    button.disabled = true;
    uploadAll(f.elements.files.files).then(function (ids) {
      if (ids.length) body.attachments = ids;
      return ET.api("/api/v1/absence-notes", { method: "POST", body: body });
    }).then(function () {
      resetForm();
      status(t("The note is sent to the class teacher."), "ok");
      return loadNotes();
    }, function (err) {
      if (!(err.details && typeof err.details === "object" && showErrors(err.details))) status(err.message, "error");
    }).then(function () { button.disabled = false; });
  }

  // Each chosen file uploaded (POST /files): their ids, or the first refusal (type, size) as the error.
  function uploadAll(files) {
    return Promise.all(Array.prototype.map.call(files || [], function (file) {
      return ET.upload(file).then(function (meta) { return meta.id; }, function (err) {
        throw { message: t("%(name)s was not attached: %(error)s", { name: file.name, error: err.message }) };
      });
    }));
  }

  // A note still open takes more files (often what a question asks for): chosen, uploaded, attached at once.
  function addFiles(note) {
    var id = "note-add-files-" + note.id;
    var input = el("input", { type: "file", id: id, class: "visually-hidden", multiple: true });
    var result = el("span", { class: "form-status", role: "status" });
    input.addEventListener("change", function () {
      var chosen = input.files;
      if (!chosen.length) return;
      result.textContent = t("Sending…");
      result.dataset.kind = "";
      uploadAll(chosen).then(function (ids) {
        return ET.api("/api/v1/absence-notes/" + note.id + "/attachments", { method: "POST", body: { file_ids: ids } });
      }).then(function () { return loadNotes(); }, function (err) {
        input.value = "";
        result.textContent = err.message;
        result.dataset.kind = "error";
      });
    });
    return el("p", { class: "note-add-files" },
      el("label", { for: id, class: "attach-button button secondary", text: t("Attach a file") }), input, " ", result);
  }

  function resetForm() {
    var f = form();
    f.reset();
    f.elements.from.value = ET.isoDay(new Date());
    showScope();
  }

  // ---------------------------------------------------------------- a note for some lessons of one day

  function checkedLessons() {
    return Array.prototype.filter.call(form().querySelectorAll("input[name=lesson_ids]"), function (box) {
      return box.checked;
    }).map(function (box) { return Number(box.value); });
  }

  function showScope() {
    var lessons = byLessons();
    ET.$("note-to-field").hidden = lessons;
    ET.$("note-lessons").hidden = !lessons;
    ET.$("note-from-label").textContent = lessons ? t("Day") : t("First day");
    if (lessons) loadLessons();
  }

  // The chosen child's lessons of the chosen day (cancelled ones are not offered: nobody misses them).
  var lessonSeq = 0;
  function loadLessons() {
    var box = ET.clear(ET.$("note-lesson-list"));
    var day = form().elements.from.value;
    if (!day || state.childId === null) { box.append(el("p", { class: "muted", text: t("Choose the day first.") })); return; }
    var seq = ++lessonSeq;
    ET.api("/api/v1/schedule/me?from=" + day + "&to=" + day + "&child_id=" + state.childId).then(function (week) {
      if (seq !== lessonSeq) return;
      var items = week.items.filter(function (l) { return !l.cancelled; });
      if (!items.length) { box.append(el("p", { class: "muted", text: t("No lessons on this day.") })); return; }
      items.forEach(function (l) {
        var time = new Intl.DateTimeFormat(ET.locale, { timeZone: week.timezone, hour: "2-digit", minute: "2-digit" })
          .format(new Date(l.starts_at));
        box.append(el("label", { class: "choice" }, el("input", { type: "checkbox", name: "lesson_ids", value: l.id }),
          t("%(time)s, %(subject)s", { time: time, subject: l.subject_name })));
      });
    }, function (err) {
      if (seq !== lessonSeq) return;
      box.append(el("p", { class: "error", role: "alert", text: t("Could not load: %(error)s", { error: err.message }) }));
    });
  }

  function span(note) {
    if (note.from === note.to) return ET.fmt.date(note.from);
    return ET.fmt.date(note.from) + " — " + ET.fmt.date(note.to);
  }

  function noteItem(note) {
    var lessons = note.lesson_ids && note.lesson_ids.length;
    return el("li", { class: "note", "data-note-id": note.id, "data-status": note.status },
      el("span", { class: "note-days", text: span(note) }), " · ",
      lessons ? el("span", { class: "note-lessons", text: ET.tn("%(num)s lesson", "%(num)s lessons", lessons) }) : null,
      lessons ? " · " : null,
      el("span", { class: "note-reason", text: REASONS[note.reason] || note.reason }),
      el("span", { class: "tag note-status note-" + note.status, text: STATUSES[note.status] || note.status }),
      note.comment ? el("p", { class: "note-comment muted", text: note.comment }) : null,
      note.status === "questioned" && note.decision_comment
        ? el("p", { class: "note-decision", text: t("Class teacher: %(comment)s", { comment: note.decision_comment }) })
        : null,
      ET.fileLinks(note.attachments),
      state.user && state.user.role !== "student" && note.status !== "accepted" ? addFiles(note) : null);
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
    if (!first && byLessons()) loadLessons();
    loadNotes();
  });

  window.addEventListener("edutrack:notification", function (event) {
    var n = event.detail;
    if (n.kind === "absence_note" && state.childId !== null && n.about_user_id === state.childId) loadNotes();
  });

  form().addEventListener("submit", submit);
  Array.prototype.forEach.call(form().elements.scope, function (radio) { radio.addEventListener("change", showScope); });
  form().elements.from.addEventListener("change", function () { if (byLessons()) loadLessons(); });
})();
