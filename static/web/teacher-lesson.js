// The screen of one lesson: its topic and homework, and the whole class in one table: attendance (present, absent
// with a reason, late), the lesson's grades and a new grade per student, saved with one button. Keyboard: Tab goes
// from student to student, the arrow keys choose within a row, Enter saves. What another tab or teacher saves meanwhile
// appears in the rows this teacher has not touched.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var J = ET.journal;
  var el = ET.el;
  var t = ET.t;
  var tn = ET.tn;
  var STATUSES = ["present", "absent", "late"];

  var state = { id: null, data: null, zone: null, touched: {}, topicTouched: false, saving: false };

  function load(first) {
    return ET.api("/api/v1/journal/lessons/" + state.id).then(function (data) {
      state.data = data;
      state.zone = J.zone(data.timezone);
      render(first);
      ET.teacherHandins.load(state.id);
    }, function (err) {
      J.setHeading(t("Lesson"));
      J.failure(ET.$("roll"), err);
    });
  }

  function render(first) {
    var data = state.data;
    var lesson = data.lesson;
    var zone = state.zone;
    J.setHeading(t("%(subject)s, %(class)s", { subject: lesson.subject_name, "class": lesson.class_name }),
      t("%(day)s, %(from)s–%(to)s", { day: zone.day(lesson.starts_at), from: zone.time(lesson.starts_at), to: zone.time(lesson.ends_at) })
        + (lesson.room ? ", " + t("room %(room)s", { room: lesson.room }) : ""));
    J.setCrumbs([J.home(), { params: { "class": lesson.class_id, subject: lesson.subject_id, term: data.term_id },
      text: t("Journal: %(class)s, %(subject)s", { "class": lesson.class_name, subject: lesson.subject_name }) }]);
    var form = ET.$("topic-form");
    if (!state.topicTouched) {
      form.elements.topic.value = lesson.topic || "";
      form.elements.homework.value = lesson.homework || "";
      state.topicTouched = false;
    }
    Array.prototype.forEach.call(form.elements, function (node) { node.disabled = !data.can_edit; });
    ET.$("roll-form").querySelectorAll("#roll-work-type, #roll-save").forEach(function (node) { node.disabled = !data.can_edit; });
    ET.$("all-present").hidden = !data.can_edit;
    if (first) {
      var oral = J.workTypes.find(function (w) { return w.weight === 1; });
      J.fillWorkTypes(ET.$("roll-work-type"), oral ? oral.id : null);
      buildRoll();
    } else {
      updateRoll();
    }
    J.cell.refresh();
  }

  function markOf(studentId) {
    return state.data.attendance.find(function (a) { return a.student_id === studentId; }) || null;
  }
  function gradesOf(studentId) {
    return state.data.grades.filter(function (g) { return g.student_id === studentId; });
  }

  function statusLabel(status, gender) {
    if (status === "late") return J.lateWord(gender);
    return status === "present" ? t("Present") : t("Absent");
  }

  function buildRoll() {
    var data = state.data;
    var box = ET.clear(ET.$("roll"));
    if (!data.students.length) { box.append(el("p", { class: "muted", text: t("The class has no students.") })); return; }
    var body = el("tbody");
    data.students.forEach(function (student, index) { body.append(rollRow(student, index + 1)); });
    box.append(el("table", { class: "roll-table" },
      el("caption", { class: "visually-hidden", text: t("Attendance and grades of the lesson") }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", class: "num", text: "№" }),
        el("th", { scope: "col", text: t("Student") }),
        el("th", { scope: "col", text: t("Attendance") }),
        el("th", { scope: "col", text: t("Reason") }),
        el("th", { scope: "col", text: t("Grades for the lesson") }))),
      body));
  }

  function rollRow(student, number) {
    var canEdit = state.data.can_edit;
    var name = "att-" + student.id;
    var radios = STATUSES.map(function (status) {
      var id = name + "-" + status;
      return el("label", { class: "choice choice-" + status, for: id },
        el("input", { type: "radio", id: id, name: name, value: status, disabled: !canEdit,
          onchange: function (event) { touch(student.id); syncReason(event.currentTarget.closest("tr")); } }),
        el("span", { text: statusLabel(status, student.gender) }));
    });
    var reason = el("select", { id: "reason-" + student.id, class: "reason",
      "aria-label": t("Reason of the absence: %(name)s", { name: student.name }),
      onchange: function () { touch(student.id); } });
    J.REASONS.forEach(function (r) { reason.append(el("option", { value: r[0], text: r[1] })); });
    var newGrade = el("select", { id: "new-grade-" + student.id, class: "new-grade", disabled: !canEdit,
      "aria-label": t("New grade: %(name)s", { name: student.name }) });
    J.fillChoices(newGrade, "", "—");
    var fieldset = el("fieldset", { class: "roll-status" },
      el("legend", { class: "visually-hidden", text: t("Attendance: %(name)s", { name: student.name }) }));
    fieldset.append.apply(fieldset, radios);
    var row = el("tr", { "data-student-id": student.id },
      el("td", { class: "num muted", text: String(number) }),
      el("th", { scope: "row", text: student.name }),
      el("td", {}, fieldset),
      el("td", {}, reason),
      el("td", { class: "roll-grades" }, el("span", { class: "lesson-grades" }), newGrade));
    showMark(row, student);
    showGrades(row, student);
    return row;
  }

  function touch(studentId) { state.touched[studentId] = true; }

  function showMark(row, student) {
    var mark = markOf(student.id);
    var status = mark ? mark.status : "present";
    row.querySelector('input[value="' + status + '"]').checked = true;
    row.querySelector(".reason").value = mark && mark.reason && mark.reason !== "unexcused" ? mark.reason : "";
    row.dataset.saved = mark ? "yes" : "no";
    syncReason(row);
  }

  function syncReason(row) {
    var status = row.querySelector("input[type=radio]:checked").value;
    row.dataset.status = status;
    row.querySelector(".reason").disabled = status !== "absent" || !state.data.can_edit;
  }

  function showGrades(row, student) {
    var box = ET.clear(row.querySelector(".lesson-grades"));
    gradesOf(student.id).forEach(function (g) {
      box.append(el("button", { type: "button", class: "grade" + (g.value ? " grade-" + g.value : " grade-mark"),
        "data-grade-id": g.id, text: g.display,
        "aria-label": t("Grade %(grade)s, %(work_type)s: %(name)s", { grade: g.display, work_type: g.work_type, name: student.name }),
        onclick: function (event) { openCell(student, event.currentTarget); } }));
    });
  }

  function openCell(student, button) {
    var lesson = state.data.lesson;
    J.cell.open({
      title: student.name, sub: t("%(subject)s, %(day)s", { subject: lesson.subject_name, day: state.zone.day(lesson.starts_at) }),
      canEdit: state.data.can_edit, returnFocus: button, workTypeId: Number(ET.$("roll-work-type").value),
      journal: { classId: lesson.class_id, subjectId: lesson.subject_id },
      grades: function () { return gradesOf(student.id); },
      create: function () { return { student_id: student.id, lesson_id: lesson.id }; },
      changed: function () { return load(false); },
    });
  }

  // Rows the teacher has not touched since the last load or save take what is saved now.
  function updateRoll() {
    state.data.students.forEach(function (student) {
      var row = ET.$("roll").querySelector('tr[data-student-id="' + student.id + '"]');
      if (!row) { buildRoll(); return; }
      if (!state.touched[student.id]) showMark(row, student);
      showGrades(row, student);
    });
  }

  function saveRoll(event) {
    event.preventDefault();
    if (state.saving || !state.data.can_edit) return;
    var status = ET.$("roll-status");
    var marks = [];
    var grades = [];
    var workType = Number(ET.$("roll-work-type").value);
    state.data.students.forEach(function (student) {
      var row = ET.$("roll").querySelector('tr[data-student-id="' + student.id + '"]');
      var chosen = row.querySelector("input[type=radio]:checked").value;
      var mark = { student_id: student.id, status: chosen };
      if (chosen === "absent") mark.reason = row.querySelector(".reason").value || "unexcused";
      marks.push(mark);
      var grade = row.querySelector(".new-grade").value;
      if (grade) grades.push(Object.assign({ student_id: student.id, lesson_id: state.id, work_type_id: workType }, J.bodyOf(grade)));
    });
    if (!marks.length) return;
    state.saving = true;
    ET.$("roll-save").disabled = true;
    J.status(status, t("Saving…"));
    var failed = [];
    ET.api("/api/v1/lessons/" + state.id + "/attendance", { method: "PUT", body: { marks: marks } }).then(function () {
      state.touched = {};
      // One grade after another: a refused one (say, a work type removed meanwhile) does not stop the others.
      return grades.reduce(function (chain, body) {
        if (body.value === null) delete body.value;
        if (body.mark === null) delete body.mark;
        return chain.then(function () {
          return ET.api("/api/v1/grades", { method: "POST", body: body }).then(function () {
            ET.$("new-grade-" + body.student_id).value = "";
          }, function (err) { failed.push(J.errorText(err)); });
        });
      }, Promise.resolve());
    }).then(function () {
      var saved = tn("Attendance of %(num)s student saved", "Attendance of %(num)s students saved", marks.length);
      var given = grades.length - failed.length;
      var text = given ? saved + "; " + tn("%(num)s grade given", "%(num)s grades given", given) : saved;
      J.status(status, failed.length ? text + ". " + t("Not saved: %(error)s", { error: failed.join(" ") }) : text + ".",
        failed.length ? "error" : "ok");
      return load(false);
    }, function (err) {
      J.status(status, t("Not saved: %(error)s", { error: J.errorText(err) }), "error");
    }).finally(function () {
      state.saving = false;
      ET.$("roll-save").disabled = !state.data.can_edit;
    });
  }

  function saveTopic(event) {
    event.preventDefault();
    var form = event.currentTarget;
    var status = ET.$("topic-status");
    J.status(status, t("Saving…"));
    ET.api("/api/v1/lessons/" + state.id, { method: "PATCH", body: {
      topic: form.elements.topic.value.trim() || null, homework: form.elements.homework.value.trim() || null } })
      .then(function () {
        state.topicTouched = false;
        J.status(status, t("Saved. Students and parents see it in the diary."), "ok");
        return load(false);
      }, function (err) { J.status(status, t("Not saved: %(error)s", { error: J.errorText(err) }), "error"); });
  }

  ET.$("roll-form").addEventListener("submit", saveRoll);
  ET.$("topic-form").addEventListener("submit", saveTopic);
  ET.$("topic-form").addEventListener("input", function () { state.topicTouched = true; });
  ET.$("all-present").addEventListener("click", function () {
    state.data.students.forEach(function (student) {
      var radio = ET.$("att-" + student.id + "-present");
      radio.checked = true;
      touch(student.id);
      syncReason(radio.closest("tr"));
    });
    J.status(ET.$("roll-status"), t("Everyone is marked present; save to keep it."));
  });

  J.views.lesson = {
    node: "view-lesson",
    open: function (params) {
      state.id = Number(params.get("lesson"));
      state.touched = {};
      state.topicTouched = false;
      J.status(ET.$("roll-status"), "");
      J.status(ET.$("topic-status"), "");
      // Nothing to type into before the lesson is here: its topic would overwrite what was typed.
      Array.prototype.forEach.call(ET.$("topic-form").elements, function (node) { node.disabled = true; });
      ET.clear(ET.$("roll")).append(el("p", { class: "muted", text: t("Loading…") }));
      return load(true);
    },
    refresh: function () { return load(false); },
    onJournal: function (frames) {
      if (frames.some(function (f) { return f.lesson_id === state.id || (f.what === "grade" && state.data &&
          f.class_id === state.data.lesson.class_id && f.subject_id === state.data.lesson.subject_id); })) load(false);
    },
  };
})();
