// The teacher's page: the classes and subjects they teach, a grade-entry form for a lesson of this week (or a
// date), and the class term sheet (students × subjects: weighted average, proposed and final term mark).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var MARK_LABELS = { na: t("n/a"), pass: t("pass"), fail: t("fail"), exempt: t("exempt"),
    "5": "5", "4": "4", "3": "3", "2": "2", "1": "1" };

  var state = { user: null, current: null, assignments: [], terms: [] };

  function failure(container, err) {
    ET.clear(container).append(el("p", { class: "error", role: "alert", text: t("Could not load: %(error)s", { error: err.message }) }));
  }

  function loadAssignments() {
    var query = "/api/v1/assignments?limit=200" + (state.user.role === "teacher" ? "&teacher_id=" + state.user.id : "");
    var list = ET.$("assignments");
    return ET.api(query).then(function (page) {
      state.assignments = page.items;
      ET.clear(list);
      if (!page.items.length) { list.append(el("li", { class: "muted", text: t("No classes are assigned to you yet.") })); return; }
      page.items.forEach(function (a) {
        list.append(el("li", {}, el("button", {
          type: "button", class: "pill", "aria-pressed": "false", "data-assignment-id": a.id,
          text: a.class_name + " · " + a.subject_name,
          onclick: function (event) { choose(a, event.currentTarget); },
        })));
      });
    }, function (err) { failure(list, err); });
  }

  function choose(assignment, button) {
    state.current = assignment;
    document.querySelectorAll("#assignments .pill").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
    button.setAttribute("aria-pressed", "true");
    ET.$("class-work").hidden = false;
    ET.$("grade-title").textContent = t("Give a grade: %(class)s, %(subject)s",
      { class: assignment.class_name, subject: assignment.subject_name });
    ET.$("grade-result").textContent = "";
    Promise.all([loadStudents(assignment), loadLessons(assignment), loadTermSheet()]);
  }

  function loadStudents(a) {
    var select = ET.$("grade-student");
    ET.clear(select);
    return ET.api("/api/v1/classes/" + a.class_id + "/students").then(function (students) {
      students.forEach(function (s) { select.append(el("option", { value: s.id, text: s.full_name })); });
    }, function (err) { ET.toast(err.message, "error"); });
  }

  function loadLessons(a) {
    var select = ET.$("grade-lesson");
    ET.clear(select).append(el("option", { value: "", text: t("No lesson: by date") }));
    var monday = ET.monday(new Date());
    var query = "/api/v1/lessons?class_id=" + a.class_id + "&from=" + ET.isoDay(monday) + "&to=" +
      ET.isoDay(ET.addDays(monday, 6));
    return ET.api(query).then(function (week) {
      // Lesson times in the school's time zone, as the diary shows them.
      var stamp = new Intl.DateTimeFormat(ET.locale, { timeZone: week.timezone, weekday: "short", day: "numeric",
        month: "short", hour: "2-digit", minute: "2-digit" });
      var now = Date.now();
      var best = null;
      week.items.filter(function (l) { return l.subject_id === a.subject_id; }).forEach(function (l) {
        select.append(el("option", { value: l.id, text: stamp.format(new Date(l.starts_at)) + (l.topic ? " — " + l.topic : "") }));
        // Preselect the latest lesson that has started: usually the one being taught or just taught.
        if (Date.parse(l.starts_at) <= now) best = l.id;
      });
      if (best !== null) select.value = String(best);
      syncDateField();
    }, function (err) { ET.toast(err.message, "error"); });
  }

  function syncDateField() {
    var byLesson = ET.$("grade-lesson").value !== "";
    ET.$("grade-date-field").hidden = byLesson;
    ET.$("grade-date").required = !byLesson;
  }

  function loadWorkTypes() {
    var select = ET.$("grade-work-type");
    return ET.api("/api/v1/work-types").then(function (types) {
      types.forEach(function (type) {
        select.append(el("option", { value: type.id, text: t("%(name)s (weight %(weight)s)", type) }));
      });
    }, function (err) { ET.toast(err.message, "error"); });
  }

  function submitGrade(event) {
    event.preventDefault();
    var a = state.current;
    var form = event.currentTarget;
    var result = ET.$("grade-result");
    var choice = form.elements.value.value;
    var body = {
      student_id: Number(form.elements.student_id.value),
      subject_id: a.subject_id,
      class_id: a.class_id,
      work_type_id: Number(form.elements.work_type_id.value),
    };
    if (choice.indexOf("mark:") === 0) body.mark = choice.slice(5); else body.value = Number(choice);
    if (form.elements.lesson_id.value) body.lesson_id = Number(form.elements.lesson_id.value);
    else if (form.elements.date.value) body.date = form.elements.date.value;
    else { result.textContent = t("Choose a lesson or a date."); ET.$("grade-date").focus(); return; }
    var comment = form.elements.comment.value.trim();
    if (comment) body.comment = comment;
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    result.textContent = t("Saving…");
    ET.api("/api/v1/grades", { method: "POST", body: body }).then(function (grade) {
      var student = form.elements.student_id.selectedOptions[0].textContent;
      result.textContent = t("Grade “%(grade)s” given: %(student)s.", { grade: grade.display, student: student });
      result.dataset.gradeId = grade.id;
      form.elements.comment.value = "";
      loadTermSheet();
    }, function (err) {
      // The details name what is wrong with each field; one that only repeats the message is not shown twice.
      var details = err.details && typeof err.details === "object"
        ? Object.keys(err.details).map(function (k) { return [].concat(err.details[k]).join(" "); })
          .filter(function (text) { return text && text !== err.message; }).join(" ") : "";
      result.textContent = t("Not saved: %(error)s", { error: err.message + (details ? " " + details : "") });
    }).finally(function () { button.disabled = false; });
  }

  function setupTerms() {
    if (!state.user.school_id) return Promise.resolve();
    var select = ET.$("sheet-term");
    return ET.api("/api/v1/schools/" + state.user.school_id + "/terms").then(function (terms) {
      var today = ET.isoDay(new Date());
      terms.forEach(function (term) {
        select.append(el("option", { value: term.id, text: term.name,
          selected: term.starts_on <= today && today <= term.ends_on }));
      });
      select.addEventListener("change", loadTermSheet);
    }, function () {});
  }

  function loadTermSheet() {
    var box = ET.$("term-sheet");
    var termId = ET.$("sheet-term").value;
    if (!state.current || !termId) return Promise.resolve();
    return ET.api("/api/v1/classes/" + state.current.class_id + "/term-sheet?term_id=" + termId)
      .then(function (sheet) { renderSheet(box, sheet); }, function (err) { failure(box, err); });
  }

  function renderSheet(box, sheet) {
    if (!sheet.students.length) { ET.clear(box).append(el("p", { class: "muted", text: t("The class has no students.") })); return; }
    var head = el("tr", {}, el("th", { scope: "col", text: t("Student") }));
    sheet.subjects.forEach(function (s) { head.append(el("th", { scope: "col", text: s.name })); });
    var body = el("tbody");
    sheet.students.forEach(function (row) {
      var tr = el("tr", { "data-student-id": row.student_id }, el("th", { scope: "row", text: row.name }));
      row.cells.forEach(function (c) {
        var avg = c.average === null || c.average === undefined ? "—" : c.average.toFixed(2);
        var mark = c.final ? MARK_LABELS[c.final] || c.final : MARK_LABELS[c.proposed] || c.proposed;
        tr.append(el("td", { class: "num" + (c.final ? " final" : " proposed"),
          title: c.final ? (c.is_override ? t("Final mark (changed by the teacher)") : t("Final mark"))
            : t("Proposed by the system") },
          el("span", { class: "sheet-avg", text: avg }), " ",
          el("strong", { class: "sheet-mark", text: mark }),
          c.final ? null : el("span", { class: "visually-hidden", text: " " + t("(proposed)") })));
      });
      body.append(tr);
    });
    ET.clear(box).append(el("table", { class: "sheet-table" },
      el("caption", { text: t("%(class)s: weighted average and the mark for the period (%(from)s — %(to)s)",
        { class: sheet.class_name, from: ET.fmt.date(sheet.from), to: ET.fmt.date(sheet.to) }) }),
      el("thead", {}, head), body));
  }

  ET.$("grade-lesson").addEventListener("change", syncDateField);
  ET.$("grade-form").addEventListener("submit", submitGrade);
  ET.$("grade-date").value = ET.isoDay(new Date());

  ET.start().then(function (user) {
    state.user = user;
    if (user.role !== "teacher" && user.role !== "admin") { window.location.replace(ET.homeFor(user)); return; }
    return Promise.all([loadAssignments(), loadWorkTypes(), setupTerms()]);
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
