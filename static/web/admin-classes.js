// The school's classes in a school's order (5А, 5Б ... 11А): create one, change its name, parallel, year and
// class teacher, and manage who is in it (enrol, move to another class, remove).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var state = { classes: [], teachers: [], years: [], current: null };

  function render() {
    var box = ET.$("classes");
    ET.clear(box);
    if (!state.classes.length) { box.append(el("p", { class: "muted", text: t("No classes yet: create the first one below.") })); return; }
    box.append(A.table(t("Classes of the school"), [t("Class"), t("Academic year"), t("Class teacher"), t("Students")],
      state.classes.map(function (c) {
        return [el("button", { type: "button", class: "link-button", "data-class-id": c.id, text: c.name,
          onclick: function () { open(c); } }), c.academic_year || "—", c.class_teacher_name || t("not assigned"),
        String(c.students)];
      })));
  }

  function show(classes) { state.classes = classes; render(); return classes; }
  function failed(err) { A.failure(ET.$("classes"), err); return null; }

  function load() {
    return A.classes().then(show, failed);
  }

  function fillChoices(form) {
    A.options(form.elements.class_teacher_id, state.teachers, function (p) { return p.name; }, t("Not assigned"));
    A.options(form.elements.academic_year_id, state.years, function (y) { return y.name; }, t("No year"));
  }

  // "10А" names its parallel: the grade follows the name as it is typed.
  function gradeFromName(form) {
    form.elements.name.addEventListener("input", function () {
      var match = /^\s*(1[01]|[1-9])/.exec(form.elements.name.value);
      if (match) form.elements.grade_level.value = match[1];
    });
  }

  function classBody(v) {
    return {
      name: v.name, grade_level: Number(v.grade_level),
      academic_year_id: v.academic_year_id ? Number(v.academic_year_id) : null,
      class_teacher_id: v.class_teacher_id ? Number(v.class_teacher_id) : null,
    };
  }

  // ---------------------------------------------------------------- one class

  function open(c) {
    state.current = c;
    var card = ET.$("class-card");
    card.hidden = false;
    ET.$("class-title").textContent = t("Class %(name)s", { name: c.name });
    var form = ET.$("class-form");
    A.clearErrors(form);
    form.elements.name.value = c.name;
    form.elements.grade_level.value = String(c.grade_level);
    form.elements.academic_year_id.value = c.academic_year_id ? String(c.academic_year_id) : "";
    form.elements.class_teacher_id.value = c.class_teacher_id ? String(c.class_teacher_id) : "";
    A.options(ET.$("move-class"), state.classes.filter(function (x) { return x.id !== c.id; }), function (x) { return x.name; });
    ET.$("roster-status").textContent = "";
    loadRoster();
    pickStudents("");
    card.focus();
  }

  function loadRoster() {
    var c = state.current;
    var box = ET.$("roster");
    return ET.api("/api/v1/classes/" + c.id + "/students").then(function (students) {
      ET.clear(box);
      A.options(ET.$("move-student"), students, function (s) { return s.full_name; });
      ET.$("move-form").hidden = !students.length || state.classes.length < 2;
      if (!students.length) { box.append(el("p", { class: "muted", text: t("No students in this class yet.") })); return; }
      box.append(el("p", { class: "muted", text: ET.tn("%(num)s student", "%(num)s students", students.length) }));
      box.append(A.table(t("Students of the class"), [t("Student"), t("Email"), t("Action")],
        students.map(function (s) {
          return [s.full_name, s.email || "", A.button(t("Remove from the class"), function () { remove(s); }, "secondary small",
            t("Remove from the class: %(name)s", { name: s.full_name }))];
        })));
    }, function (err) { A.failure(box, err); });
  }

  function remove(student) {
    var c = state.current;
    A.confirm(t("Remove %(name)s from class %(class)s?", { name: student.full_name, class: c.name }), t("Remove"))
      .then(function (yes) {
        if (!yes) return;
        ET.api("/api/v1/classes/" + c.id + "/students/" + student.id, { method: "DELETE" }).then(function () {
          rosterChanged(t("%(name)s no longer studies in class %(class)s.", { name: student.full_name, class: c.name }));
        }, function (err) { ET.$("roster-status").textContent = err.message; });
      });
  }

  function rosterChanged(message) {
    ET.$("roster-status").textContent = message;
    return Promise.all([loadRoster(), load()]);
  }

  function pickStudents(q) {
    return A.people("student", q).then(function (people) {
      var c = state.current;
      var outside = people.filter(function (p) { return !p.classes.some(function (x) { return x.id === c.id; }); });
      A.options(ET.$("enrol-student"), outside, function (p) {
        return p.name + (p.classes.length ? " (" + p.classes.map(function (x) { return x.name; }).join(", ") + ")" : "");
      }, outside.length ? undefined : t("Nobody found"));
    });
  }

  function setupClassCard() {
    var form = ET.$("class-form");
    gradeFromName(form);
    A.form(form, function (v) {
      return ET.api("/api/v1/classes/" + state.current.id, { method: "PATCH", body: classBody(v) });
    }, function (saved) {
      A.status(form, t("Saved."), "ok");
      load().then(function () { state.current = saved; ET.$("class-title").textContent = t("Class %(name)s", { name: saved.name }); });
    });
    ET.$("class-delete").addEventListener("click", function () {
      var c = state.current;
      A.confirm(t("Delete class %(name)s? Its lessons go too.", { name: c.name }), t("Delete")).then(function (yes) {
        if (!yes) return;
        ET.api("/api/v1/classes/" + c.id, { method: "DELETE" }).then(function () {
          ET.$("class-card").hidden = true;
          load();
          ET.toast(t("Class %(name)s is deleted.", { name: c.name }), "info");
        }, function (err) { A.showErrors(form, err); });
      });
    });
    ET.$("class-close").addEventListener("click", function () {
      ET.$("class-card").hidden = true;
      var back = document.querySelector('#classes [data-class-id="' + (state.current && state.current.id) + '"]');
      if (back) back.focus();
    });
    var move = ET.$("move-form");
    A.form(move, function (v) {
      return ET.api("/api/v1/students/" + v.student_id + "/transfer", { method: "POST",
        body: { from_class_id: state.current.id, to_class_id: Number(v.to_class_id) } });
    }, function (result, f) {
      var name = f.elements.student_id.selectedOptions[0].textContent;
      var target = f.elements.to_class_id.selectedOptions[0].textContent;
      rosterChanged(t("%(name)s now studies in class %(class)s.", { name: name, class: target }));
    });
    var enrol = ET.$("enrol-form");
    var search = ET.$("enrol-q");
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { pickStudents(search.value.trim()); }, 250);
    });
    A.form(enrol, function (v) {
      return ET.api("/api/v1/classes/" + state.current.id + "/students", { method: "POST",
        body: { student_ids: [Number(v.student_id)] } });
    }, function (result, f) {
      var name = f.elements.student_id.selectedOptions[0].textContent.replace(/ \(.*\)$/, "");
      rosterChanged(t("%(name)s now studies in class %(class)s.", { name: name, class: state.current.name }))
        .then(function () { pickStudents(search.value.trim()); });
    }, function (name) { return name === "student_ids" ? "student_id" : null; });
  }

  function setupNewClass() {
    var form = ET.$("new-class-form");
    gradeFromName(form);
    var today = ET.isoDay(new Date());
    var current = state.years.filter(function (y) { return y.starts_on <= today && today <= y.ends_on; })[0];
    if (current) form.elements.academic_year_id.value = String(current.id);
    A.form(form, function (v) {
      var body = classBody(v);
      if (A.superuser) body.school_id = A.schoolId;
      return ET.api("/api/v1/classes", { method: "POST", body: body });
    }, function (made) {
      A.status(form, t("Class %(name)s is created.", { name: made.name }), "ok");
      form.elements.name.value = "";
      load();
    });
  }

  // The table is drawn last, with the forms bound and the choices filled: its buttons open the class card, and a
  // card opened before the years and teachers were in showed no year and no class teacher and saved it so; a
  // form sent before its binding did nothing at all.
  A.start().then(function () {
    var classes = A.classes().catch(failed);
    return Promise.all([classes, A.people("teacher"), ET.api("/api/v1/schools/" + A.schoolId + "/years")]);
  }).then(function (r) {
    state.teachers = r[1];
    state.years = r[2];
    fillChoices(ET.$("class-form"));
    fillChoices(ET.$("new-class-form"));
    setupClassCard();
    setupNewClass();
    if (r[0]) show(r[0]);
    var asked = Number(new URLSearchParams(window.location.search).get("class_id"));
    var found = state.classes.filter(function (c) { return c.id === asked; })[0];
    if (found) open(found);
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
