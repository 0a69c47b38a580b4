// The teacher's page, shared parts (window.EduTrack.journal): marks and dates in the school's time zone, links that
// move between the page's screens without a reload, the grade dialog of a journal cell, and live updates. Each
// screen (teacher-lesson.js, teacher-journal.js, teacher-class.js, and the day in teacher.js) registers itself
// in J.views: {node, open(params), refresh(), onJournal(event)}.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var tg = ET.tg;
  var J = (ET.journal = { views: {}, user: null, workTypes: [], terms: [], current: null });

  J.MARK_WORDS = { na: t("n/a"), pass: t("pass"), fail: t("fail"), exempt: t("exempt") };
  // The choices of a grade: numbers first, then the marks that are not numbers.
  J.CHOICES = [["5", "5"], ["4", "4"], ["3", "3"], ["2", "2"], ["1", "1"], ["mark:na", t("n/a")],
    ["mark:pass", t("pass")], ["mark:fail", t("fail")], ["mark:exempt", t("exempt")]];
  J.REASONS = [["", t("without a valid reason")], ["illness", t("illness")], ["excused", t("valid reason")]];

  J.display = function (value, mark) {
    return value !== null && value !== undefined ? String(value) : J.MARK_WORDS[mark] || mark || "";
  };
  J.finalWord = function (code) { return code === "na" ? t("n/a") : code || ""; };
  J.choiceOf = function (grade) { return grade.value !== null && grade.value !== undefined ? String(grade.value) : "mark:" + grade.mark; };
  J.bodyOf = function (choice) {
    return choice.indexOf("mark:") === 0 ? { mark: choice.slice(5), value: null } : { value: Number(choice), mark: null };
  };

  J.workTypeName = function (id) {
    var found = J.workTypes.find(function (w) { return w.id === id; });
    return found ? found.name : "";
  };
  J.fillWorkTypes = function (select, chosen) {
    ET.clear(select);
    J.workTypes.forEach(function (w) {
      select.append(el("option", { value: w.id, text: t("%(name)s (weight %(weight)s)", w), selected: w.id === chosen }));
    });
  };
  J.fillChoices = function (select, chosen, blank) {
    ET.clear(select);
    if (blank !== undefined) select.append(el("option", { value: "", text: blank }));
    J.CHOICES.forEach(function (c) { select.append(el("option", { value: c[0], text: c[1], selected: c[0] === chosen })); });
  };
  J.fillTerms = function (select, chosen) {
    ET.clear(select);
    J.terms.forEach(function (term) {
      select.append(el("option", { value: term.id, text: term.name, selected: term.id === chosen }));
    });
  };

  // Dates and times of lessons in the school's time zone (the page may be open anywhere).
  J.zone = function (tz) {
    var opts = function (o) { return Object.assign({ timeZone: tz }, o); };
    var iso = new Intl.DateTimeFormat("sv-SE", opts({ year: "numeric", month: "2-digit", day: "2-digit" }));
    var time = new Intl.DateTimeFormat(ET.locale, opts({ hour: "2-digit", minute: "2-digit" }));
    var day = new Intl.DateTimeFormat(ET.locale, opts({ weekday: "long", day: "numeric", month: "long" }));
    var short = new Intl.DateTimeFormat(ET.locale, opts({ day: "2-digit", month: "2-digit" }));
    var weekday = new Intl.DateTimeFormat(ET.locale, opts({ weekday: "short" }));
    var stamp = new Intl.DateTimeFormat(ET.locale, opts({ day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }));
    return {
      iso: function (s) { return iso.format(new Date(s)); },
      time: function (s) { return time.format(new Date(s)); },
      day: function (s) { return day.format(new Date(s)); },
      short: function (s) { return short.format(new Date(s)); },
      weekday: function (s) { return weekday.format(new Date(s)); },
      stamp: function (s) { return stamp.format(new Date(s)); },
    };
  };
  // A calendar day ("2026-11-12") at noon UTC, so formatting it in any zone keeps the day.
  J.noon = function (day) { return day + "T12:00:00Z"; };

  // ---------------------------------------------------------------- moving between screens

  J.href = function (params) {
    var query = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    return "/teacher" + (query ? "?" + query : "");
  };
  J.link = function (params, text, attrs) {
    return el("a", Object.assign({ href: J.href(params), "data-nav": "", text: text }, attrs || {}));
  };
  J.journalLink = function (classId, subjectId, text, termId) {
    return J.link({ "class": classId, subject: subjectId, term: termId || null }, text);
  };

  J.setHeading = function (title, sub) {
    ET.$("view-title").textContent = title;
    document.title = title + " · EduTrack";
    var line = ET.$("view-sub");
    line.hidden = !sub;
    line.textContent = sub || "";
  };
  J.setCrumbs = function (items) {
    var nav = ET.$("crumbs");
    ET.clear(nav);
    nav.hidden = !items.length;
    if (!items.length) return;
    var list = el("ol");
    items.forEach(function (item) { list.append(el("li", {}, J.link(item.params, item.text))); });
    nav.append(list);
  };
  J.home = function () { return { params: {}, text: t("My classes") }; };

  J.failure = function (box, err) {
    ET.clear(box).append(el("p", { class: "error", role: "alert", text: t("Could not load: %(error)s", { error: err.message }) }));
  };
  // The error of a refused write, with the field messages that say more than the message itself.
  J.errorText = function (err) {
    var details = err.details && typeof err.details === "object" && !Array.isArray(err.details)
      ? Object.keys(err.details).map(function (k) { return [].concat(err.details[k]).join(" "); })
        .filter(function (text) { return text && text !== err.message && text.indexOf("[object") < 0; }).join(" ") : "";
    return err.message + (details ? " " + details : "");
  };
  J.status = function (node, text, kind) {
    node.textContent = text;
    node.dataset.kind = kind || "";
  };

  // ---------------------------------------------------------------- the dialog of one journal cell

  // spec: {title, sub, canEdit, journal {classId, subjectId}, grades() -> current grades of the cell, create() -> the
  // POST body's place (student and lesson_id, or date), changed() -> reloads the screen}. The list re-renders when the screen reloads, unless
  // the teacher is in the middle of editing one of the grades.
  var cell = { spec: null, editing: false };
  J.cell = cell;

  cell.open = function (spec, preset) {
    cell.spec = spec;
    cell.editing = false;
    ET.$("cell-title").textContent = spec.title;
    ET.$("cell-sub").textContent = spec.sub || "";
    ET.$("cell-new").hidden = !spec.canEdit;
    J.fillChoices(ET.$("cell-value"), preset || "5");
    J.fillWorkTypes(ET.$("cell-work-type"), spec.workTypeId || (J.workTypes[0] && J.workTypes[0].id));
    ET.$("cell-comment").value = "";
    J.status(ET.$("cell-status"), "");
    cell.render();
    var dialog = ET.$("cell-dialog");
    if (!dialog.open) dialog.showModal();
    var first = spec.canEdit ? ET.$(preset ? "cell-work-type" : "cell-value") : ET.$("cell-close");
    first.focus();
  };

  // The cell's grades as they stand: a reload that changed nothing (the echo of one's own save) leaves the list,
  // and its open histories, alone.
  function signature(grades) {
    return grades.map(function (g) { return g.id + ":" + g.updated_at; }).join(",");
  }

  cell.refresh = function () {
    if (!cell.spec || !ET.$("cell-dialog").open || cell.editing) return;
    if (signature(cell.spec.grades()) !== cell.shown) cell.render();
  };

  cell.render = function () {
    var list = ET.$("cell-grades");
    var histories = Array.prototype.map.call(list.querySelectorAll(".grade-history"), function (node) {
      return Number(node.closest(".cell-grade").dataset.gradeId);
    });
    ET.clear(list);
    var grades = cell.spec.grades();
    cell.shown = signature(grades);
    if (!grades.length) list.append(el("li", { class: "muted", text: t("No grades here yet.") }));
    grades.forEach(function (g) {
      var item = gradeItem(g);
      list.append(item);
      if (histories.indexOf(g.id) >= 0) toggleHistory(item, g, item.querySelector("[aria-expanded]"));
    });
  };

  function gradeItem(g) {
    var about = g.work_type + " · " + t("weight %(weight)s", g) + (g.comment ? " · " + g.comment : "");
    var item = el("li", { class: "cell-grade", "data-grade-id": g.id },
      el("span", { class: "grade" + (g.value ? " grade-" + g.value : " grade-mark"), text: g.display }),
      el("span", { class: "cell-grade-about", text: about }),
      g.edited ? el("span", { class: "tag", text: t("changed") }) : null);
    var actions = el("div", { class: "cell-actions" });
    if (cell.spec.canEdit) {
      actions.append(
        el("button", { type: "button", class: "secondary", text: t("Change"),
          "aria-label": t("Change the grade %(grade)s", { grade: g.display }), onclick: function () { editGrade(item, g); } }),
        el("button", { type: "button", class: "secondary danger", text: t("Delete"),
          "aria-label": t("Delete the grade %(grade)s", { grade: g.display }), onclick: function () { askDelete(item, g); } }));
    }
    actions.append(el("button", { type: "button", class: "link-button", "aria-expanded": "false",
      text: t("History"), "aria-label": t("History of the grade %(grade)s", { grade: g.display }),
      onclick: function (event) { toggleHistory(item, g, event.currentTarget); } }));
    item.append(actions);
    return item;
  }

  function editGrade(item, g) {
    cell.editing = true;
    var form = el("form", { class: "grid-form cell-edit" });
    var idBase = "edit-" + g.id;
    var value = el("select", { id: idBase + "-value", name: "value" });
    J.fillChoices(value, J.choiceOf(g));
    var type = el("select", { id: idBase + "-type", name: "work_type_id" });
    J.fillWorkTypes(type, g.work_type_id);
    var comment = el("input", { id: idBase + "-comment", name: "comment", type: "text", maxlength: "500" });
    comment.value = g.comment || "";
    form.append(
      el("div", {}, el("label", { for: value.id, text: t("Grade") }), value),
      el("div", {}, el("label", { for: type.id, text: t("Type of work") }), type),
      el("div", { class: "wide" }, el("label", { for: comment.id, text: t("Comment") }), comment),
      el("div", { class: "wide form-actions" },
        el("button", { type: "submit", class: "primary", text: t("Save") }),
        el("button", { type: "button", class: "secondary", text: t("Cancel"), onclick: function () { cell.editing = false; cell.render(); } })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = Object.assign(J.bodyOf(value.value), { work_type_id: Number(type.value), comment: comment.value.trim() || null });
      write(ET.api("/api/v1/grades/" + g.id, { method: "PATCH", body: body }), t("The grade is changed."));
    });
    item.append(form);
    value.focus();
  }

  function askDelete(item, g) {
    cell.editing = true;
    var box = el("div", { class: "confirm", role: "group", "aria-label": t("Delete the grade %(grade)s", { grade: g.display }) },
      el("span", { text: t("Delete the grade %(grade)s? Its history stays.", { grade: g.display }) }),
      el("button", { type: "button", class: "primary danger", text: t("Yes, delete"), onclick: function () {
        write(ET.api("/api/v1/grades/" + g.id, { method: "DELETE" }), t("The grade is deleted."));
      } }),
      el("button", { type: "button", class: "secondary", text: t("Cancel"), onclick: function () { cell.editing = false; cell.render(); } }));
    item.append(box);
    box.querySelector("button").focus();
  }

  function toggleHistory(item, g, button) {
    var open = item.querySelector(".grade-history");
    if (open) { open.remove(); button.setAttribute("aria-expanded", "false"); return; }
    var list = el("ol", { class: "grade-history changes", "aria-label": t("History of the grade %(grade)s", { grade: g.display }) },
      el("li", { class: "muted", text: t("Loading…") }));
    item.append(list);
    button.setAttribute("aria-expanded", "true");
    var journal = cell.spec.journal;
    ET.api("/api/v1/journal/changes?class_id=" + journal.classId + "&subject_id=" + journal.subjectId + "&grade_id=" +
      g.id + "&limit=200").then(function (page) {
      ET.clear(list);
      page.items.slice().reverse().forEach(function (c) { list.append(J.changeItem(c, true)); });
    }, function (err) { J.failure(list, err); });
  }

  // One step of a grade's history: "Мария Иванова изменила оценку: 4 → 5, «…»", the verb agreeing with who did it.
  // `brief` leaves out whose grade of which day it is (the dialog of that cell says it already).
  J.changeItem = function (c, brief) {
    var who = c.actor || t("unknown");
    var detail = function (side) {
      return [side.display, side.work_type, side.comment ? "«" + side.comment + "»" : null].filter(Boolean).join(", ");
    };
    var action = c.action === "create" ? tg(c.actor_gender, "%(name)s put a grade", { name: who })
      : c.action === "delete" ? tg(c.actor_gender, "%(name)s deleted a grade", { name: who })
        : tg(c.actor_gender, "%(name)s changed a grade", { name: who });
    var what = c.action === "update" ? detail(c.old || {}) + " → " + detail(c.new || {})
      : detail((c.action === "delete" ? c.old : c.new) || {});
    return el("li", { class: "change change-" + c.action, "data-grade-id": c.grade_id },
      el("time", { datetime: c.at, text: ET.fmt.stamp(c.at) }),
      el("span", { class: "change-action", text: action }),
      el("span", { class: "change-about", text: brief ? what
        : t("%(student)s, %(date)s: %(what)s", { student: c.student, date: ET.fmt.date(c.date), what: what }) }));
  };

  function write(promise, done) {
    var status = ET.$("cell-status");
    var spec = cell.spec;  // the screen reloads even if the dialog is closed before the answer comes
    J.status(status, t("Saving…"));
    return promise.then(function () {
      cell.editing = false;
      J.status(status, done, "ok");
      return spec.changed();
    }, function (err) { J.status(status, t("Not saved: %(error)s", { error: J.errorText(err) }), "error"); });
  }

  ET.$("cell-new").addEventListener("submit", function (event) {
    event.preventDefault();
    var spec = cell.spec;
    var body = Object.assign(spec.create(), J.bodyOf(ET.$("cell-value").value), {
      work_type_id: Number(ET.$("cell-work-type").value) });
    var comment = ET.$("cell-comment").value.trim();
    if (comment) body.comment = comment;
    if (body.value === null) delete body.value;
    if (body.mark === null) delete body.mark;
    write(ET.api("/api/v1/grades", { method: "POST", body: body }), t("The grade is given.")).then(function () {
      ET.$("cell-comment").value = "";
    });
  });
  ET.$("cell-close").addEventListener("click", function () { ET.$("cell-dialog").close(); });
  ET.$("cell-dialog").addEventListener("close", function () {
    var back = cell.spec && cell.spec.returnFocus;
    cell.spec = null;
    if (back && document.contains(back)) back.focus();
  });

  // ---------------------------------------------------------------- live

  // A journal changed (events.py, "journal"): the screen that shows it re-reads it, a moment later so that a burst
  // of changes (a whole class's attendance, marks confirmed one by one) is read once.
  var pending = null;
  var timer = null;
  window.addEventListener("edutrack:live", function (event) {
    var frame = event.detail;
    if (!frame || frame.type !== "journal") return;
    pending = pending || [];
    pending.push(frame);
    clearTimeout(timer);
    timer = setTimeout(function () {
      var frames = pending;
      pending = null;
      var view = J.current && J.views[J.current];
      if (view && view.onJournal) view.onJournal(frames);
    }, 150);
  });

  // Words that agree with a student's gender: "Опоздал" / "Опоздала" (neutral: "Опоздание").
  J.lateWord = function (gender) { return tg(gender, "Late"); };
})();
