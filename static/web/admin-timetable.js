// A class's timetable: the week's lessons (change, move, delete), a lesson form whose clashes with the class, the
// teacher and the room are shown as it is filled in (POST /api/v1/lessons/check, the rule saving applies), and a
// regular weekly timetable laid over a term, checked lesson by lesson before anything is saved.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var state = { classId: null, monday: ET.monday(new Date()), assignments: [], editing: null, tz: null, slots: 0 };

  // ---------------------------------------------------------------- the class's subjects and teachers

  function subjectsOfClass() {
    var seen = {};
    return state.assignments.filter(function (a) {
      if (seen[a.subject_id]) return false;
      seen[a.subject_id] = true;
      return true;
    }).map(function (a) { return { id: a.subject_id, name: a.subject_name }; })
      .sort(function (a, b) { return a.name.localeCompare(b.name, ET.locale); });
  }

  function teachersOf(subjectId) {
    return state.assignments.filter(function (a) { return a.subject_id === Number(subjectId); })
      .map(function (a) { return { id: a.teacher_id, name: a.teacher_name }; });
  }

  function fillSubjectTeacher(subjectSelect, teacherSelect) {
    A.options(subjectSelect, subjectsOfClass(), function (s) { return s.name; });
    var sync = function () { A.options(teacherSelect, teachersOf(subjectSelect.value), function (p) { return p.name; }); };
    subjectSelect.addEventListener("change", sync);
    sync();
  }

  // The chosen class's subjects and teachers, loading or loaded: the week waits for them (see loadWeek).
  var assignments = Promise.resolve();

  function loadAssignments() {
    var classId = state.classId;
    assignments = ET.api("/api/v1/assignments?limit=200&class_id=" + classId).then(function (page) {
      if (classId !== state.classId) return; // another class was chosen meanwhile: its answer is the one to use
      state.assignments = page.items;
      var form = ET.$("lesson-form");
      A.options(form.elements.subject_id, subjectsOfClass(), function (s) { return s.name; });
      A.options(form.elements.teacher_id, teachersOf(form.elements.subject_id.value), function (p) { return p.name; });
      renderSlots(slotValues());
    });
    return assignments;
  }

  // ---------------------------------------------------------------- the week

  var wallClock = A.wallClock;

  function loadWeek() {
    var box = ET.$("week");
    var from = ET.isoDay(state.monday);
    var to = ET.isoDay(ET.addDays(state.monday, 6));
    ET.$("week-label").textContent = t("%(from)s — %(to)s", { from: ET.fmt.date(from), to: ET.fmt.date(to) });
    if (!state.classId) { ET.clear(box).append(el("p", { class: "muted", text: t("Create a class first.") })); return Promise.resolve(); }
    // A lesson's "Change" fills the form's subject and teacher, which only the class's assignments offer: the
    // week is drawn once they are in (a lesson changed earlier got the first subject of the list instead).
    var classId = state.classId;
    var monday = state.monday;
    var lessons = ET.api("/api/v1/lessons?class_id=" + classId + "&from=" + from + "&to=" + to);
    return Promise.all([lessons, assignments.catch(function () {})]).then(function (r) {
      if (classId !== state.classId || monday !== state.monday) return; // a later week or class is on its way
      state.tz = r[0].timezone;
      renderWeek(box, r[0].items);
    }, function (err) { A.failure(box, err); });
  }

  function renderWeek(box, lessons) {
    ET.clear(box);
    var today = ET.isoDay(new Date());
    for (var i = 0; i < 7; i++) {
      var day = ET.addDays(state.monday, i);
      var iso = ET.isoDay(day);
      var mine = lessons.filter(function (l) { return wallClock(l.starts_at, state.tz).day === iso; });
      if (i === 6 && !mine.length) continue; // Sunday only when something is on
      var list = el("ul");
      mine.forEach(function (l) { list.append(slot(l)); });
      if (!mine.length) list.append(el("li", { class: "muted", text: t("No lessons") }));
      box.append(el("section", { class: "day" + (iso === today ? " today" : ""), "aria-label": ET.fmt.day(day) },
        el("h3", { text: ET.fmt.day(day) }), list));
    }
  }

  function slot(lesson) {
    var starts = wallClock(lesson.starts_at, state.tz);
    var ends = wallClock(lesson.ends_at, state.tz);
    var what = t("%(subject)s, %(time)s", { subject: lesson.subject_name, time: starts.time });
    return el("li", { class: "slot", "data-lesson-id": lesson.id },
      el("span", { class: "slot-time", text: starts.time + "–" + ends.time }),
      el("span", { class: "slot-what", text: lesson.subject_name }),
      el("span", { class: "slot-who", text: lesson.room
        ? t("%(teacher)s, room %(room)s", { teacher: lesson.teacher_name, room: lesson.room }) : lesson.teacher_name }),
      el("span", { class: "actions" },
        el("button", { type: "button", class: "secondary small", text: t("Change"),
          "aria-label": t("Change: %(lesson)s", { lesson: what }), onclick: function () { edit(lesson); } }),
        el("button", { type: "button", class: "danger small", text: t("Delete"),
          "aria-label": t("Delete the lesson: %(lesson)s", { lesson: what }), onclick: function () { remove(lesson, what); } })));
  }

  // Deleting is for a lesson put in by mistake. A lesson that does not take place one day is cancelled, with its
  // reason, on the "Lesson changes" page (/admin/changes): it stays in the diaries, marked cancelled.
  function remove(lesson, what) {
    var status = ET.$("week-status");
    A.confirm(t("Delete the lesson %(lesson)s from the timetable? It disappears from the diaries of the class. If it only does not take place this time, cancel it on the \"Lesson changes\" page instead.", { lesson: what }),
      t("Delete")).then(function (yes) {
      if (!yes) return;
      ET.api("/api/v1/lessons/" + lesson.id, { method: "DELETE" }).then(function () {
        status.textContent = t("The lesson is deleted: %(lesson)s.", { lesson: what });
        status.className = "form-status ok";
        loadWeek();
      }, function (err) { status.textContent = err.message; status.className = "form-status error"; });
    });
  }

  // ---------------------------------------------------------------- one lesson, checked before saving

  function lessonBody(v) {
    return {
      class_id: state.classId, subject_id: Number(v.subject_id), teacher_id: Number(v.teacher_id),
      room: v.room || null, starts_at: v.date + "T" + v.starts + ":00", ends_at: v.date + "T" + v.ends + ":00",
    };
  }

  function lessonField(name) { return name === "starts_at" ? "starts" : name === "ends_at" ? "ends" : null; }

  function showCheck(box, result) {
    ET.clear(box);
    box.hidden = false;
    if (result.ok) {
      box.className = "check ok wide";
      box.textContent = t("No clashes: the class, the teacher and the room are free at this time.");
      return;
    }
    box.className = "check clash wide";
    var list = el("ul");
    result.conflicts.forEach(function (c) { list.append(el("li", { text: c.message })); });
    box.append(el("strong", { text: ET.tn("%(num)s clash; saving would be refused:",
      "%(num)s clashes; saving would be refused:", result.conflicts.length) }), list);
  }

  var checkSeq = 0;
  function check() {
    var form = ET.$("lesson-form");
    var box = ET.$("lesson-check");
    var v = A.values(form);
    if (!v.date || !v.starts || !v.ends || !v.subject_id || !v.teacher_id || !state.classId) { box.hidden = true; return; }
    var body = lessonBody(v);
    if (state.editing) body.lesson_id = state.editing.id;
    var seq = ++checkSeq;
    ET.api("/api/v1/lessons/check", { method: "POST", body: body }).then(function (result) {
      if (seq !== checkSeq) return; // an older answer after a newer question
      A.clearErrors(form);
      showCheck(box, result);
    }, function (err) {
      if (seq !== checkSeq) return;
      A.clearErrors(form);
      box.hidden = true;
      A.showErrors(form, err, lessonField, true);
    });
  }

  function edit(lesson) {
    state.editing = lesson;
    var form = ET.$("lesson-form");
    A.clearErrors(form);
    var starts = wallClock(lesson.starts_at, state.tz);
    form.elements.date.value = starts.day;
    form.elements.starts.value = starts.time;
    form.elements.ends.value = wallClock(lesson.ends_at, state.tz).time;
    form.elements.subject_id.value = String(lesson.subject_id);
    A.options(form.elements.teacher_id, teachersOf(lesson.subject_id), function (p) { return p.name; });
    form.elements.teacher_id.value = String(lesson.teacher_id);
    form.elements.room.value = lesson.room || "";
    ET.$("lesson-title").textContent = t("Change the lesson: %(subject)s, %(date)s", { subject: lesson.subject_name,
      date: ET.fmt.date(starts.day) });
    ET.$("lesson-cancel").hidden = false;
    ET.$("lesson-card").classList.add("editing");
    form.elements.date.focus();
    check();
  }

  function stopEditing() {
    state.editing = null;
    ET.$("lesson-title").textContent = t("New lesson");
    ET.$("lesson-cancel").hidden = true;
    ET.$("lesson-card").classList.remove("editing");
    ET.$("lesson-check").hidden = true;
  }

  function setupLessonForm() {
    var form = ET.$("lesson-form");
    var timer = null;
    var later = function () { clearTimeout(timer); timer = setTimeout(check, 300); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.elements.subject_id.addEventListener("change", function () {
      A.options(form.elements.teacher_id, teachersOf(form.elements.subject_id.value), function (p) { return p.name; });
    });
    ET.$("lesson-cancel").addEventListener("click", stopEditing);
    A.form(form, function (v) {
      var body = lessonBody(v);
      var saving;
      if (state.editing) {
        delete body.class_id;
        saving = ET.api("/api/v1/lessons/" + state.editing.id, { method: "PATCH", body: body });
      } else {
        saving = ET.api("/api/v1/lessons", { method: "POST", body: body });
      }
      // A refused save shows its clashes the way the check does.
      return saving.catch(function (err) {
        if (err.code === "schedule_conflict" && err.details && err.details.conflicts) {
          showCheck(ET.$("lesson-check"), { ok: false, conflicts: err.details.conflicts });
        }
        throw err;
      });
    }, function (lesson) {
      var moved = !!state.editing;
      stopEditing();
      A.status(form, moved ? t("The lesson is moved: %(subject)s.", { subject: lesson.subject_name })
        : t("The lesson is added: %(subject)s.", { subject: lesson.subject_name }), "ok");
      state.monday = ET.monday(ET.parseDay(wallClock(lesson.starts_at, state.tz).day));
      loadWeek();
    }, lessonField);
    // A check still on its way must not overwrite what the save answers.
    form.addEventListener("submit", function () { checkSeq++; });
  }

  // ---------------------------------------------------------------- a weekly timetable

  function slotValues() {
    var rows = [];
    for (var i = 0; i < state.slots; i++) {
      var get = function (key) { var f = ET.$("slot-" + i + "-" + key); return f ? f.value : ""; };
      rows.push({ weekday: get("weekday"), starts: get("starts"), ends: get("ends"), subject_id: get("subject_id"),
        teacher_id: get("teacher_id"), room: get("room") });
    }
    return rows;
  }

  function cell(i, key, node, label) {
    node.id = "slot-" + i + "-" + key;
    node.name = "slots." + i + "." + key;
    node.setAttribute("aria-label", t("%(what)s, row %(n)s", { what: label, n: i + 1 }));
    return node;
  }

  function slotRow(i, value) {
    var weekday = cell(i, "weekday", el("select"), t("Day of the week"));
    A.WEEKDAYS.forEach(function (name, d) { weekday.append(el("option", { value: d + 1, text: name })); });
    weekday.value = value.weekday || "1";
    var starts = cell(i, "starts", el("input", { type: "time", value: value.starts || "" }), t("Starts"));
    var ends = cell(i, "ends", el("input", { type: "time", value: value.ends || "" }), t("Ends"));
    var subject = cell(i, "subject_id", el("select"), t("Subject"));
    var teacher = cell(i, "teacher_id", el("select"), t("Teacher"));
    fillSubjectTeacher(subject, teacher);
    // What the row had, when this class has it too (another class's subject would leave the select empty).
    var has = function (select, id) { return id && select.querySelector('option[value="' + id + '"]'); };
    if (has(subject, value.subject_id)) { subject.value = value.subject_id; subject.dispatchEvent(new Event("change")); }
    if (has(teacher, value.teacher_id)) teacher.value = value.teacher_id;
    var room = cell(i, "room", el("input", { maxlength: "30", value: value.room || "" }), t("Room"));
    var remove = el("button", { type: "button", class: "secondary small", text: t("Remove"),
      "aria-label": t("Remove row %(n)s", { n: i + 1 }), onclick: function () {
        var rows = slotValues();
        rows.splice(i, 1);
        renderSlots(rows);
      } });
    return [String(i + 1), weekday, starts, ends, subject, teacher, room, remove];
  }

  function renderSlots(rows) {
    state.slots = rows.length;
    var box = ET.clear(ET.$("slots"));
    if (!rows.length) { box.append(el("p", { class: "muted", text: t("No rows yet: add the first lesson of the week.") })); return; }
    box.append(A.table(t("Lessons of the week"), [t("No."), t("Day of the week"), t("Starts"), t("Ends"), t("Subject"),
      t("Teacher"), t("Room"), t("Action")], rows.map(function (row, i) { return slotRow(i, row); }), "admin-table slots-table"));
  }

  function weeklyBody(dryRun) {
    var form = ET.$("weekly-form");
    var body = { class_id: state.classId, term_id: Number(form.elements.term_id.value), dry_run: dryRun,
      slots: slotValues().map(function (s) {
        return { weekday: Number(s.weekday), starts: s.starts, ends: s.ends, subject_id: Number(s.subject_id),
          teacher_id: Number(s.teacher_id), room: s.room || null };
      }) };
    if (form.elements.from.value) body.from = form.elements.from.value;
    if (form.elements.to.value) body.to = form.elements.to.value;
    return body;
  }

  function showWeekly(result, clashes) {
    var box = ET.clear(ET.$("weekly-result"));
    box.hidden = false;
    if (!clashes.length) {
      box.className = "check ok wide";
      box.textContent = result.dry_run
        ? ET.tn("%(num)s lesson will be created; nothing clashes.", "%(num)s lessons will be created; nothing clashes.", result.lessons)
        : ET.tn("%(num)s lesson is created.", "%(num)s lessons are created.", result.created);
      return;
    }
    box.className = "check clash wide";
    var list = el("ul");
    clashes.forEach(function (c) {
      var when = wallClock(c.starts_at, state.tz);
      list.append(el("li", { text: t("Row %(n)s, %(date)s %(time)s: %(problem)s", { n: c.slot + 1,
        date: ET.fmt.date(c.date), time: when.time, problem: c.conflicts.map(function (x) { return x.message; }).join("; ") }) }));
    });
    box.append(el("strong", { text: ET.tn("%(num)s lesson clashes; nothing is saved:", "%(num)s lessons clash; nothing is saved:",
      clashes.length) }), list);
  }

  function runWeekly(dryRun) {
    ET.$("weekly-result").hidden = true;
    if (!state.slots) return Promise.reject({ message: t("Add at least one row.") });
    return ET.api("/api/v1/lessons/weekly", { method: "POST", body: weeklyBody(dryRun) }).then(function (result) {
      showWeekly(result, result.conflicts);
      if (!dryRun) loadWeek();
      return result;
    }, function (err) {
      if (err.code === "schedule_conflict" && err.details && err.details.lessons) {
        showWeekly({ dry_run: false }, err.details.lessons);
        return null;
      }
      throw err;
    });
  }

  function setupWeekly(terms) {
    var form = ET.$("weekly-form");
    var today = ET.isoDay(new Date());
    A.options(form.elements.term_id, terms, function (term) {
      return t("%(name)s (%(from)s — %(to)s)", { name: term.name, from: ET.fmt.date(term.starts_on), to: ET.fmt.date(term.ends_on) });
    });
    var current = terms.filter(function (x) { return x.starts_on <= today && today <= x.ends_on; })[0];
    if (current) form.elements.term_id.value = String(current.id);
    ET.$("slot-add").addEventListener("click", function () {
      var rows = slotValues();
      var last = rows[rows.length - 1];
      rows.push(last ? { weekday: last.weekday } : {});
      renderSlots(rows);
      ET.$("slot-" + (rows.length - 1) + "-weekday").focus();
    });
    ET.$("weekly-check").addEventListener("click", function () {
      A.clearErrors(form);
      runWeekly(true).catch(function (err) { A.showErrors(form, err); });
    });
    A.form(form, function () { return runWeekly(false); });
    renderSlots([{ weekday: "1" }]);
  }

  // ---------------------------------------------------------------- start

  A.start().then(function () {
    return Promise.all([A.classes(), A.terms()]);
  }).then(function (r) {
    var picker = ET.$("tt-class");
    A.options(picker, r[0], function (c) { return c.name; });
    var asked = new URLSearchParams(window.location.search).get("class_id");
    if (asked && picker.querySelector('option[value="' + asked + '"]')) picker.value = asked;
    state.classId = Number(picker.value) || null;
    picker.addEventListener("change", function () {
      state.classId = Number(picker.value);
      stopEditing();
      loadAssignments();
      loadWeek();
    });
    ET.$("week-prev").addEventListener("click", function () { state.monday = ET.addDays(state.monday, -7); loadWeek(); });
    ET.$("week-next").addEventListener("click", function () { state.monday = ET.addDays(state.monday, 7); loadWeek(); });
    ET.$("week-today").addEventListener("click", function () { state.monday = ET.monday(new Date()); loadWeek(); });
    setupLessonForm();
    setupWeekly(r[1]);
    ET.$("lesson-form").elements.date.value = ET.isoDay(new Date());
    return Promise.all([state.classId ? loadAssignments() : null, loadWeek()]);
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
