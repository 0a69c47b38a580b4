// The journal of a class in a subject for a period: students × lesson dates with their grades and absences (a cell
// opens the grade dialog: put, change, delete, history), the weighted average and the mark for the period
// (proposed -> confirmed, or changed with a reason), and who changed which grade when. The grid scrolls inside its
// own box; the arrow keys move between its cells.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var J = ET.journal;
  var el = ET.el;
  var t = ET.t;
  var tg = ET.tg;
  var tn = ET.tn;

  var state = { classId: null, subjectId: null, termId: null, data: null, zone: null, columns: [], changes: [],
    editingMark: null, focus: null };

  function query() {
    return "class_id=" + state.classId + "&subject_id=" + state.subjectId + (state.termId ? "&term_id=" + state.termId : "");
  }

  function load() {
    return Promise.all([loadJournal(), loadChanges(), J.yearMarks.load(state.classId, state.subjectId)]);
  }

  function loadJournal() {
    return ET.api("/api/v1/journal?" + query()).then(function (data) {
      state.data = data;
      state.termId = data.term.id;
      state.zone = J.zone(data.timezone);
      render();
    }, function (err) {
      J.setHeading(t("Journal"));
      J.failure(ET.$("grid"), err);
    });
  }

  function loadChanges() {
    var box = ET.$("changes");
    return ET.api("/api/v1/journal/changes?class_id=" + state.classId + "&subject_id=" + state.subjectId + "&limit=50")
      .then(function (page) { state.changes = page.items; renderChanges(); }, function (err) { J.failure(box, err); });
  }

  function render() {
    var data = state.data;
    J.setHeading(t("%(subject)s, %(class)s", { subject: data.subject_name, "class": data.class_name }),
      t("%(term)s: %(from)s — %(to)s", { term: data.term.name, from: ET.fmt.date(data.term.from), to: ET.fmt.date(data.term.to) }));
    J.setCrumbs([J.home(), { params: { "class": data.class_id }, text: t("Class %(class)s", { "class": data.class_name }) }]);
    J.fillTerms(ET.$("journal-term"), data.term.id);
    ET.$("journal-readonly").hidden = data.can_edit;
    ET.$("grid-hint").hidden = !data.students.length || !data.lessons.length;
    ET.$("work-types").textContent = J.workTypes.length ? t("Weights: %(list)s", { list: J.workTypes.map(function (w) {
      return w.name + " — " + w.weight; }).join("; ") }) : "";
    renderGrid();
    renderMarks();
    J.cell.refresh();
  }

  // ---------------------------------------------------------------- the grid

  // Columns: the period's lessons in time order; a grade given without a lesson goes under the first lesson of
  // its day, or under a column of its own date when that day had no lesson.
  function columns() {
    var data = state.data;
    var zone = state.zone;
    var cols = data.lessons.map(function (l) { return { key: "l" + l.id, lesson: l, day: zone.iso(l.starts_at) }; });
    var byLesson = {};
    var firstOfDay = {};
    cols.forEach(function (c) { byLesson[c.lesson.id] = c; if (!firstOfDay[c.day]) firstOfDay[c.day] = c; });
    data.grades.forEach(function (g) {
      if (g.lesson_id !== null && byLesson[g.lesson_id]) return;
      if (firstOfDay[g.date]) return;
      var col = { key: "d" + g.date, lesson: null, day: g.date };
      firstOfDay[g.date] = col;
      cols.push(col);
    });
    cols.sort(function (a, b) { return a.day < b.day ? -1 : a.day > b.day ? 1 : 0; });
    state.columnOf = function (g) {
      return g.lesson_id !== null && byLesson[g.lesson_id] ? byLesson[g.lesson_id] : firstOfDay[g.date];
    };
    return cols;
  }

  function cellGrades(studentId, col) {
    // By key: the screen's columns are rebuilt on every reload, a dialog keeps the one it opened with.
    return state.data.grades.filter(function (g) {
      var own = state.columnOf(g);
      return g.student_id === studentId && own && own.key === col.key;
    });
  }

  function absenceOf(studentId, col) {
    if (!col.lesson) return null;
    return state.data.attendance.find(function (a) { return a.student_id === studentId && a.lesson_id === col.lesson.id; }) || null;
  }

  function renderGrid() {
    var data = state.data;
    var box = ET.clear(ET.$("grid"));
    if (!data.students.length) { box.append(el("p", { class: "muted", text: t("The class has no students.") })); return; }
    state.columns = columns();
    var head = el("tr", {}, el("th", { scope: "col", class: "grid-name", text: t("Student") }));
    state.columns.forEach(function (col) {
      var when = J.noon(col.day);
      var cancelled = !!(col.lesson && col.lesson.cancelled);
      var moved = !cancelled && col.lesson && col.lesson.moved_from ? col.lesson.moved_from : null;
      var label = el("span", { class: "col-date" }, el("span", { class: "col-weekday", text: state.zone.weekday(when) }),
        el("span", { text: state.zone.short(when) }),
        cancelled ? el("span", { class: "col-cancelled", text: t("cancelled") }) : null,
        moved ? el("span", { class: "col-moved", text: t("moved") }) : null);
      var movedText = moved ? t("Moved from %(when)s", { when: state.zone.day(new Date(moved)) + ", " + state.zone.time(moved) }) : null;
      var title = cancelled ? (col.lesson.change_note ? t("Lesson cancelled: %(note)s", { note: col.lesson.change_note })
        : t("Lesson cancelled")) : moved ? movedText
        : col.lesson && col.lesson.topic ? t("Topic: %(topic)s", { topic: col.lesson.topic }) : null;
      var spoken = el("span", { class: "visually-hidden", text: cancelled ? t("Cancelled lesson of %(date)s", { date: state.zone.day(when) })
        : moved ? t("Lesson of %(date)s", { date: state.zone.day(when) }) + ". " + movedText
        : col.lesson ? t("Lesson of %(date)s", { date: state.zone.day(when) })
        : t("Without a lesson, %(date)s", { date: state.zone.day(when) }) });
      label.querySelectorAll("span").forEach(function (part) { part.setAttribute("aria-hidden", "true"); });
      var inner = col.lesson ? J.link({ lesson: col.lesson.id }, "", { class: "col-link" }) : el("span", {});
      inner.append(label, spoken);
      head.append(el("th", { scope: "col", class: "grid-col" + (cancelled ? " cancelled" : ""), title: title }, inner));
    });
    head.append(el("th", { scope: "col", class: "num", text: t("Average") }),
      el("th", { scope: "col", class: "num", text: t("For the period") }));
    var body = el("tbody");
    var marks = {};
    data.term_marks.forEach(function (m) { marks[m.student_id] = m; });
    data.students.forEach(function (student, row) {
      var tr = el("tr", { "data-student-id": student.id }, el("th", { scope: "row", class: "grid-name", text: student.name }));
      state.columns.forEach(function (col, column) { tr.append(gridCell(student, col, row, column)); });
      var m = marks[student.id] || {};
      tr.append(el("td", { class: "num average", text: m.average === null || m.average === undefined ? "—" : m.average.toFixed(2) }),
        el("td", { class: "num term-mark" + (m.final ? " final" : " proposed"),
          title: m.final ? t("Final mark") : t("Proposed by the system") },
          m.final ? J.finalWord(m.final) : el("span", {}, J.finalWord(m.proposed),
            el("span", { class: "visually-hidden", text: " " + t("(proposed)") }))));
      body.append(tr);
    });
    if (!state.columns.length) box.append(el("p", { class: "muted grid-empty", text: t("No lessons in this period yet.") }));
    box.append(el("table", { class: "grid-table", id: "grid-table" },
      el("caption", { class: "visually-hidden", text: t("Grades of %(class)s in %(subject)s", {
        "class": data.class_name, subject: data.subject_name }) }),
      el("thead", {}, head), body));
    restoreFocus();
  }

  function gridCell(student, col, row, column) {
    var grades = cellGrades(student.id, col);
    var absence = absenceOf(student.id, col);
    var when = state.zone.day(J.noon(col.day));
    var shown = grades.map(function (g) { return g.display; });
    var absenceWord = absence ? (absence.status === "absent" ? t("absence") : t("late arrival")) : null;
    var spoken = [student.name, when].concat(shown.length ? [shown.join(", ")] : [t("no grades")])
      .concat(absenceWord ? [absenceWord] : []).join("; ");
    var button = el("button", { type: "button", class: "cell", tabindex: "-1", "data-row": row, "data-col": column,
      "data-student-id": student.id, "data-lesson-id": col.lesson ? col.lesson.id : null, "data-day": col.day,
      "aria-label": spoken, onclick: function (event) { openCell(student, col, event.currentTarget); } });
    grades.forEach(function (g) {
      button.append(el("span", { class: "grade" + (g.value ? " grade-" + g.value : " grade-mark") + (g.edited ? " edited" : ""),
        "data-grade-id": g.id, "aria-hidden": "true", text: g.display }));
    });
    if (absence) {
      button.append(el("span", { class: "absence absence-" + absence.status, "aria-hidden": "true",
        text: absence.status === "absent" ? t("abs.") : t("late.") }));
    }
    return el("td", { class: "grid-cell" }, button);
  }

  function openCell(student, col, button, preset) {
    state.focus = { row: Number(button.dataset.row), col: Number(button.dataset.col) };
    var when = state.zone.day(J.noon(col.day));
    J.cell.open({
      title: student.name,
      sub: col.lesson && col.lesson.topic ? t("%(date)s. Topic: %(topic)s", { date: when, topic: col.lesson.topic }) : when,
      canEdit: state.data.can_edit, returnFocus: button, journal: { classId: state.classId, subjectId: state.subjectId },
      grades: function () { return cellGrades(student.id, col); },
      create: function () {
        return col.lesson ? { student_id: student.id, lesson_id: col.lesson.id }
          : { student_id: student.id, subject_id: state.subjectId, class_id: state.classId, date: col.day };
      },
      changed: function () { return load(); },
    }, preset);
  }

  // One tab stop for the whole grid; the arrow keys, Home and End move inside it (a roving tabindex).
  function cellAt(row, col) {
    return ET.$("grid").querySelector('.cell[data-row="' + row + '"][data-col="' + col + '"]');
  }
  function restoreFocus() {
    var f = state.focus || { row: 0, col: Math.max(0, state.columns.length - 1) };
    var target = cellAt(f.row, f.col) || cellAt(0, 0);
    if (!target) return;
    target.tabIndex = 0;
    if (ET.$("grid").contains(document.activeElement) && document.activeElement !== target) target.focus();
  }
  ET.$("grid").addEventListener("keydown", function (event) {
    var cell = event.target.closest && event.target.closest(".cell");
    if (!cell) return;
    var row = Number(cell.dataset.row);
    var col = Number(cell.dataset.col);
    var moves = { ArrowUp: [row - 1, col], ArrowDown: [row + 1, col], ArrowLeft: [row, col - 1], ArrowRight: [row, col + 1],
      Home: [row, 0], End: [row, state.columns.length - 1] };
    if (moves[event.key]) {
      var next = cellAt(moves[event.key][0], moves[event.key][1]);
      if (next) { cell.tabIndex = -1; next.tabIndex = 0; next.focus(); state.focus = { row: moves[event.key][0], col: moves[event.key][1] }; }
      event.preventDefault();
      return;
    }
    if (/^[1-5]$/.test(event.key) && state.data.can_edit && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      var student = state.data.students[row];
      openCell(student, state.columns[col], cell, event.key);
    }
  });
  ET.$("grid").addEventListener("focusin", function (event) {
    var cell = event.target.closest && event.target.closest(".cell");
    if (!cell) return;
    ET.$("grid").querySelectorAll('.cell[tabindex="0"]').forEach(function (other) { if (other !== cell) other.tabIndex = -1; });
    cell.tabIndex = 0;
    state.focus = { row: Number(cell.dataset.row), col: Number(cell.dataset.col) };
  });

  // ---------------------------------------------------------------- marks for the period

  function markState(m) {
    if (!m.final) return el("span", { class: "state state-todo", text: t("not confirmed") });
    var who = m.confirmed_by_name || t("unknown");
    var when = m.confirmed_at ? ET.fmt.stamp(m.confirmed_at) : "";
    var text = m.is_override
      ? tg(m.confirmed_by_gender, "%(name)s set %(final)s instead of %(proposed)s, %(when)s", {
        name: who, final: J.finalWord(m.final), proposed: J.finalWord(m.proposed), when: when })
      : tg(m.confirmed_by_gender, "%(name)s confirmed it, %(when)s", { name: who, when: when });
    return el("span", { class: "state state-done" }, el("span", { text: text }),
      m.is_override && m.comment ? el("span", { class: "muted reason-text", text: t("Reason: %(reason)s", { reason: m.comment }) }) : null);
  }

  function renderMarks() {
    // A mark being changed keeps its form: the table re-renders once it is saved or closed.
    if (state.editingMark !== null && ET.$("term-marks").querySelector(".override-form")) return;
    var data = state.data;
    var box = ET.clear(ET.$("term-marks"));
    var open = data.term_marks.filter(function (m) { return !m.final; }).length;
    ET.$("confirm-all").hidden = !data.can_edit || !open;
    if (!data.students.length) return;
    var body = el("tbody");
    data.students.forEach(function (student) {
      var m = data.term_marks.find(function (x) { return x.student_id === student.id; });
      if (m) body.append(markRow(student, m));
    });
    box.append(el("table", { class: "marks-table" },
      el("caption", { class: "muted", text: t("The proposal is the weighted average rounded by the school's rule; with fewer than %(min)s grades it is “n/a”.",
        { min: data.policy.min_marks }) }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: t("Student") }),
        el("th", { scope: "col", class: "num", text: t("Average") }),
        el("th", { scope: "col", class: "num", text: t("Proposed") }),
        el("th", { scope: "col", class: "num", text: t("Mark") }),
        el("th", { scope: "col", text: t("State") }),
        data.can_edit ? el("th", { scope: "col", text: t("Action") }) : null)),
      body));
  }

  function markRow(student, m) {
    var row = el("tr", { "data-student-id": student.id, "data-state": m.final ? (m.is_override ? "overridden" : "confirmed") : "open" },
      el("th", { scope: "row", text: student.name }),
      el("td", { class: "num", text: m.average === null ? "—" : m.average.toFixed(2) }),
      el("td", { class: "num", text: J.finalWord(m.proposed) }),
      el("td", { class: "num final-mark", text: m.final ? J.finalWord(m.final) : "—" }),
      el("td", {}, markState(m)));
    if (state.data.can_edit) {
      var actions = el("td", { class: "mark-actions" });
      if (!m.final || m.is_override) {
        actions.append(el("button", { type: "button", class: "secondary",
          text: t("Confirm %(mark)s", { mark: J.finalWord(m.proposed) }),
          "aria-label": t("Confirm %(mark)s: %(name)s", { mark: J.finalWord(m.proposed), name: student.name }),
          onclick: function () { saveMark(student, null, null); } }));
      }
      actions.append(el("button", { type: "button", class: "secondary", text: t("Another mark…"),
        "aria-label": t("Another mark: %(name)s", { name: student.name }), "aria-expanded": "false",
        onclick: function (event) { overrideForm(actions, student, m, event.currentTarget); } }));
      row.append(actions);
    }
    return row;
  }

  function overrideForm(cellNode, student, m, toggle) {
    var existing = cellNode.querySelector("form");
    if (existing) { existing.remove(); toggle.setAttribute("aria-expanded", "false"); state.editingMark = null; return; }
    state.editingMark = student.id;
    toggle.setAttribute("aria-expanded", "true");
    var base = "override-" + student.id;
    var mark = el("select", { id: base + "-mark" });
    ["5", "4", "3", "2", "1", "na"].forEach(function (code) {
      if (code !== m.proposed) mark.append(el("option", { value: code, text: J.finalWord(code), selected: code === m.final }));
    });
    // Checked here, not with `required`: the browser's own tooltip would speak its language, not the page's.
    var reason = el("input", { id: base + "-reason", type: "text", maxlength: "500" });
    reason.value = m.is_override && m.comment ? m.comment : "";
    var form = el("form", { class: "override-form" },
      el("label", { for: mark.id, text: t("Mark") }), mark,
      el("label", { for: reason.id, text: t("Reason") }), reason,
      el("button", { type: "submit", class: "primary", text: t("Save the mark") }));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!reason.value.trim()) { J.status(ET.$("marks-status"), t("Give the reason of the change."), "error"); reason.focus(); return; }
      saveMark(student, mark.value, reason.value.trim());
    });
    cellNode.append(form);
    mark.focus();
  }

  function saveMark(student, final, reason) {
    var status = ET.$("marks-status");
    var body = { student_id: student.id, subject_id: state.subjectId, term_id: state.termId, class_id: state.classId };
    if (final) { body.final = final; body.comment = reason; }
    J.status(status, t("Saving…"));
    return ET.api("/api/v1/attestations", { method: "PUT", body: body }).then(function (saved) {
      state.editingMark = null;
      J.status(status, saved.is_override
        ? t("%(name)s: the mark %(mark)s is saved with its reason.", { name: student.name, mark: J.finalWord(saved.final) })
        : t("%(name)s: the mark %(mark)s is confirmed.", { name: student.name, mark: J.finalWord(saved.final) }), "ok");
      return loadJournal();
    }, function (err) { J.status(status, t("Not saved: %(error)s", { error: J.errorText(err) }), "error"); });
  }

  ET.$("confirm-all").addEventListener("click", function () {
    var open = state.data.term_marks.filter(function (m) { return !m.final; });
    var status = ET.$("marks-status");
    var body = function (m) { return { student_id: m.student_id, subject_id: state.subjectId, term_id: state.termId, class_id: state.classId }; };
    J.status(status, t("Saving…"));
    var failed = 0;
    open.reduce(function (chain, m) {
      return chain.then(function () {
        return ET.api("/api/v1/attestations", { method: "PUT", body: body(m) }).catch(function () { failed += 1; });
      });
    }, Promise.resolve()).then(function () {
      var done = open.length - failed;
      J.status(status, tn("%(num)s mark confirmed", "%(num)s marks confirmed", done) +
        (failed ? "; " + tn("%(num)s not saved", "%(num)s not saved", failed) : "."), failed ? "error" : "ok");
      return loadJournal();
    });
  });

  // ---------------------------------------------------------------- who changed what

  function renderChanges() {
    var list = ET.clear(ET.$("changes"));
    if (!state.changes.length) { list.append(el("li", { class: "muted", text: t("No changes yet.") })); return; }
    state.changes.forEach(function (c) { list.append(J.changeItem(c, false)); });
  }

  ET.$("journal-term").addEventListener("change", function (event) {
    state.termId = Number(event.currentTarget.value);
    var href = J.href({ "class": state.classId, subject: state.subjectId, term: state.termId });
    window.history.replaceState(null, "", href);
    loadJournal();
  });

  J.views.journal = {
    node: "view-journal",
    open: function (params) {
      state.classId = Number(params.get("class"));
      state.subjectId = Number(params.get("subject"));
      state.termId = params.get("term") ? Number(params.get("term")) : null;
      state.focus = null;
      state.editingMark = null;
      J.status(ET.$("marks-status"), "");
      ET.clear(ET.$("grid")).append(el("p", { class: "muted", text: t("Loading…") }));
      ET.clear(ET.$("term-marks"));
      return load();
    },
    refresh: load,
    onJournal: function (frames) {
      if (!frames.some(function (f) { return f.class_id === state.classId && f.subject_id === state.subjectId; })) return;
      return load();
    },
  };
})();
