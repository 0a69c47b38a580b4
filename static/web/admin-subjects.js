// Subjects of the school (add, rename, delete) and, class by class, who teaches which subject (assign, remove).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var state = { subjects: [], teachers: [], classes: [], editing: null };

  // ---------------------------------------------------------------- subjects

  function loadSubjects() {
    return ET.api("/api/v1/subjects?limit=200" + A.scope()).then(function (page) {
      state.subjects = page.items;
      renderSubjects();
      A.options(ET.$("assign-subject"), state.subjects, function (s) { return s.name; });
    }, function (err) { A.failure(ET.$("subjects"), err); });
  }

  function renderSubjects() {
    var box = ET.clear(ET.$("subjects"));
    if (!state.subjects.length) { box.append(el("p", { class: "muted", text: t("No subjects yet.") })); return; }
    box.append(A.table(t("Subjects"), [t("Subject"), t("Actions")], state.subjects.map(function (s) {
      return [s.name, el("span", { class: "actions" },
        A.button(t("Rename"), function () { edit(s); }, "secondary small", t("Rename %(name)s", { name: s.name })),
        A.button(t("Delete"), function () { removeSubject(s); }, "danger small", t("Delete %(name)s", { name: s.name })))];
    })));
  }

  function edit(subject) {
    state.editing = subject;
    var form = ET.$("subject-form");
    A.clearErrors(form);
    ET.$("subject-form-title").textContent = t("Rename %(name)s", { name: subject.name });
    ET.$("subject-submit").textContent = t("Save");
    ET.$("subject-cancel").hidden = false;
    form.elements.name.value = subject.name;
    form.elements.name.focus();
  }

  function stopEditing() {
    state.editing = null;
    ET.$("subject-form-title").textContent = t("New subject");
    ET.$("subject-submit").textContent = t("Add the subject");
    ET.$("subject-cancel").hidden = true;
    ET.$("subject-form").elements.name.value = "";
  }

  function removeSubject(subject) {
    var form = ET.$("subject-form");
    A.confirm(t("Delete the subject %(name)s?", { name: subject.name }), t("Delete")).then(function (yes) {
      if (!yes) return;
      ET.api("/api/v1/subjects/" + subject.id, { method: "DELETE" }).then(function () {
        A.status(form, t("%(name)s is deleted.", { name: subject.name }), "ok");
        loadSubjects();
      }, function (err) { A.status(form, err.message, "error"); });
    });
  }

  function setupSubjectForm() {
    var form = ET.$("subject-form");
    ET.$("subject-cancel").addEventListener("click", stopEditing);
    A.form(form, function (v) {
      if (state.editing) {
        return ET.api("/api/v1/subjects/" + state.editing.id, { method: "PATCH", body: { name: v.name } });
      }
      var body = { name: v.name };
      if (A.superuser) body.school_id = A.schoolId;
      return ET.api("/api/v1/subjects", { method: "POST", body: body });
    }, function (subject) {
      A.status(form, state.editing ? t("Saved.") : t("%(name)s is added.", { name: subject.name }), "ok");
      stopEditing();
      loadSubjects().then(loadTeaching);
    });
  }

  // ---------------------------------------------------------------- teaching assignments of a class

  function classId() { return Number(ET.$("teaching-class").value); }

  function loadTeaching() {
    var box = ET.$("teaching");
    if (!classId()) { ET.clear(box).append(el("p", { class: "muted", text: t("Create a class first.") })); return Promise.resolve(); }
    return ET.api("/api/v1/assignments?limit=200&class_id=" + classId()).then(function (page) {
      ET.clear(box);
      if (!page.items.length) { box.append(el("p", { class: "muted", text: t("Nobody teaches in this class yet.") })); return; }
      var items = page.items.slice().sort(function (a, b) { return a.subject_name.localeCompare(b.subject_name, ET.locale); });
      box.append(A.table(t("Who teaches what"), [t("Subject"), t("Teacher"), t("Action")], items.map(function (a) {
        return [a.subject_name, a.teacher_name, A.button(t("Remove"), function () { unassign(a); }, "secondary small",
          t("Remove: %(teacher)s, %(subject)s", { teacher: a.teacher_name, subject: a.subject_name }))];
      })));
    }, function (err) { A.failure(box, err); });
  }

  function unassign(a) {
    var status = ET.$("teaching-status");
    A.confirm(t("%(teacher)s will no longer teach %(subject)s in this class. Go on?",
      { teacher: a.teacher_name, subject: a.subject_name }), t("Remove")).then(function (yes) {
      if (!yes) return;
      ET.api("/api/v1/assignments/" + a.id, { method: "DELETE" }).then(function () {
        status.textContent = t("Removed.");
        loadTeaching();
      }, function (err) { status.textContent = err.message; });
    });
  }

  function setupTeaching() {
    var picker = ET.$("teaching-class");
    A.options(picker, state.classes, function (c) { return c.name; });
    var asked = new URLSearchParams(window.location.search).get("class_id");
    if (asked) picker.value = asked;
    picker.addEventListener("change", loadTeaching);
    A.options(ET.$("assign-teacher"), state.teachers, function (p) { return p.name; });
    var form = ET.$("assign-form");
    A.form(form, function (v) {
      return ET.api("/api/v1/assignments", { method: "POST", body: { class_id: classId(),
        subject_id: Number(v.subject_id), teacher_id: Number(v.teacher_id) } });
    }, function (made) {
      A.status(form, t("%(teacher)s teaches %(subject)s in class %(class)s.",
        { teacher: made.teacher_name, subject: made.subject_name, class: made.class_name }), "ok");
      loadTeaching();
    });
  }

  // The subject form needs none of the data: it is bound before the list of subjects shows, so a subject added
  // as soon as the list is there is not lost to a form nothing listens to yet.
  A.start().then(function () {
    setupSubjectForm();
    return Promise.all([A.classes(), A.people("teacher"), loadSubjects()]);
  }).then(function (r) {
    state.classes = r[0];
    state.teachers = r[1];
    setupTeaching();
    return loadTeaching();
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
