// One-off changes of a lesson (docs/diary-structure.md): the administrator picks a lesson of a class's week and
// gives it a cover teacher, moves it or changes its room, or cancels it with a reason; the class's covers, moves and
// cancellations of the next six weeks are listed with a way to take each back. Clashes are the API's own words.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var UPCOMING_DAYS = 41; // today and 41 days on: the 42 days GET /api/v1/lessons answers at most
  var state = { classId: null, monday: ET.monday(new Date()), tz: null, lesson: null, staff: {} };

  function when(lesson) {
    var starts = A.wallClock(lesson.starts_at, state.tz);
    return { day: starts.day, time: starts.time, ends: A.wallClock(lesson.ends_at, state.tz).time };
  }

  function what(lesson) {
    var w = when(lesson);
    return t("%(subject)s, %(date)s, %(time)s", { subject: lesson.subject_name, date: ET.fmt.date(w.day), time: w.time });
  }

  function movedText(lesson) {
    var from = A.wallClock(lesson.moved_from, state.tz);
    return t("Moved from %(when)s", { when: ET.fmt.date(from.day) + ", " + from.time });
  }

  // "Урок отменён: карантин", "Замена: Петрова Анна вместо Иванова Ивана", "Перенесён с 5 октября, 09:00" (all that
  // apply), or nothing for a lesson as planned.
  function changeOf(lesson) {
    var parts = [coverOrCancel(lesson), lesson.moved_from && !lesson.cancelled ? movedText(lesson) : ""];
    return parts.filter(Boolean).join(". ");
  }

  function coverOrCancel(lesson) {
    if (lesson.cancelled) {
      return lesson.change_note ? t("Lesson cancelled: %(note)s", { note: lesson.change_note }) : t("Lesson cancelled");
    }
    if (lesson.regular_teacher_id) {
      var regular = state.staff[lesson.regular_teacher_id];
      if (!regular) return t("Cover: %(cover)s", { cover: lesson.teacher_name });
      return t("Cover: %(cover)s instead of %(teacher)s", { cover: lesson.teacher_name, teacher: regular });
    }
    return "";
  }

  function say(text, kind) {
    var status = ET.$("change-status");
    status.textContent = text;
    status.className = "form-status" + (kind ? " " + kind : "");
  }

  // A refusal that is a clash lists the lessons it clashes with, as the API names them; the form shows the
  // message itself (A.form) and any field it is about.
  function clashes(err) {
    var box = ET.$("change-check");
    ET.clear(box);
    box.hidden = true;
    if (err.code === "schedule_conflict" && err.details && err.details.conflicts) {
      var list = el("ul");
      err.details.conflicts.forEach(function (c) { list.append(el("li", { text: c.message })); });
      box.append(el("strong", { text: t("It clashes with:") }), list);
      box.hidden = false;
    }
    throw err;
  }

  // ---------------------------------------------------------------- the week to pick from

  function loadWeek() {
    var box = ET.$("cw-week");
    var from = ET.isoDay(state.monday);
    var to = ET.isoDay(ET.addDays(state.monday, 6));
    ET.$("cw-label").textContent = t("%(from)s — %(to)s", { from: ET.fmt.date(from), to: ET.fmt.date(to) });
    if (!state.classId) { ET.clear(box).append(el("p", { class: "muted", text: t("Create a class first.") })); return Promise.resolve(); }
    return ET.api("/api/v1/lessons?class_id=" + state.classId + "&from=" + from + "&to=" + to).then(function (week) {
      state.tz = week.timezone;
      renderWeek(box, week.items);
    }, function (err) { A.failure(box, err); });
  }

  function renderWeek(box, lessons) {
    ET.clear(box);
    for (var i = 0; i < 7; i++) {
      var day = ET.addDays(state.monday, i);
      var iso = ET.isoDay(day);
      var mine = lessons.filter(function (l) { return when(l).day === iso; });
      if (i === 6 && !mine.length) continue;
      var list = el("ul");
      mine.forEach(function (l) { list.append(slot(l)); });
      if (!mine.length) list.append(el("li", { class: "muted", text: t("No lessons") }));
      box.append(el("section", { class: "day", "aria-label": ET.fmt.day(day) }, el("h3", { text: ET.fmt.day(day) }), list));
    }
  }

  function slot(lesson) {
    var w = when(lesson);
    var change = changeOf(lesson);
    return el("li", { class: "slot" + (lesson.cancelled ? " cancelled" : ""), "data-lesson-id": lesson.id },
      el("span", { class: "slot-time", text: w.time + "–" + w.ends }),
      el("span", { class: "slot-what", text: lesson.subject_name }),
      el("span", { class: "slot-who", text: lesson.room
        ? t("%(teacher)s, room %(room)s", { teacher: lesson.teacher_name, room: lesson.room }) : lesson.teacher_name }),
      change ? el("span", { class: "slot-change", text: change }) : null,
      el("span", { class: "actions" }, el("button", { type: "button", class: "secondary small", text: t("Choose"),
        "aria-label": t("Choose: %(lesson)s", { lesson: what(lesson) }), onclick: function () { choose(lesson); } })));
  }

  // ---------------------------------------------------------------- the chosen lesson

  function choose(lesson) {
    state.lesson = lesson;
    var card = ET.$("change-card");
    card.hidden = false;
    ET.$("change-check").hidden = true;
    say("");
    ["cover-form", "move-form", "cancel-form"].forEach(function (id) { A.clearErrors(ET.$(id)); });
    ET.$("change-title").textContent = t("Lesson: %(lesson)s", { lesson: what(lesson) });
    ET.$("change-state").textContent = changeOf(lesson) || t("The lesson is as planned.");
    var w = when(lesson);
    var move = ET.$("move-form");
    move.elements.date.value = w.day;
    move.elements.starts.value = w.time;
    move.elements.ends.value = w.ends;
    move.elements.room.value = lesson.room || "";
    var regular = lesson.regular_teacher_id || lesson.teacher_id;
    var cover = ET.$("cover-form");
    A.options(cover.elements.teacher_id, Object.keys(state.staff).filter(function (id) { return Number(id) !== regular; })
      .map(function (id) { return { id: id, name: state.staff[id] }; })
      .sort(function (a, b) { return a.name.localeCompare(b.name, ET.locale); }), function (p) { return p.name; });
    if (lesson.regular_teacher_id) cover.elements.teacher_id.value = String(lesson.teacher_id);
    cover.elements.note.value = lesson.regular_teacher_id ? lesson.change_note || "" : "";
    ET.$("cover-remove").hidden = !lesson.regular_teacher_id;
    ET.$("cancel-form").elements.note.value = lesson.cancelled ? lesson.change_note || "" : "";
    ET.$("cancel-undo").hidden = !lesson.cancelled;
    // A cancelled lesson is restored first: covering or moving it means nothing while it does not take place.
    [cover, move].forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (f) { f.disabled = lesson.cancelled; });
    });
    ET.$("cancel-form").querySelector("button[type=submit]").disabled = lesson.cancelled;
    card.scrollIntoView({ block: "nearest" });
    ET.$("change-title").focus();
  }

  // After a change: the lesson as the API now has it, the week and the list of changes again.
  function changed(lesson, sentence) {
    ET.$("change-check").hidden = true;
    choose(lesson);
    say(sentence, "ok");
    return Promise.all([loadWeek(), loadUpcoming()]);
  }

  function lessonUrl(suffix) { return "/api/v1/lessons/" + state.lesson.id + (suffix || ""); }

  function setupForms() {
    A.form(ET.$("cover-form"), function (v) {
      var body = { teacher_id: Number(v.teacher_id), note: v.note || null };
      return ET.api(lessonUrl("/cover"), { method: "PUT", body: body }).catch(clashes);
    }, function (lesson) {
      changed(lesson, t("%(teacher)s covers the lesson %(lesson)s.", { teacher: lesson.teacher_name, lesson: what(lesson) }));
    });
    A.form(ET.$("move-form"), function (v) {
      var body = { starts_at: v.date + "T" + v.starts + ":00", ends_at: v.date + "T" + v.ends + ":00", room: v.room || null };
      return ET.api(lessonUrl(), { method: "PATCH", body: body }).catch(clashes);
    }, function (lesson) {
      state.monday = ET.monday(ET.parseDay(when(lesson).day));
      changed(lesson, t("The lesson is changed: %(lesson)s.", { lesson: what(lesson) }));
    }, function (name) { return name === "starts_at" ? "starts" : name === "ends_at" ? "ends" : null; });
    A.form(ET.$("cancel-form"), function (v) {
      return ET.api(lessonUrl("/cancellation"), { method: "PUT", body: { note: v.note || null } })
        .catch(clashes);
    }, function (lesson) {
      changed(lesson, t("The lesson is cancelled: %(lesson)s.", { lesson: what(lesson) }));
    });
    ET.$("cover-remove").addEventListener("click", function () { undo(state.lesson, "/cover"); });
    ET.$("cancel-undo").addEventListener("click", function () { undo(state.lesson, "/cancellation"); });
  }

  // Take a cover or a cancellation back (the lesson's time is checked for clashes again).
  function undo(lesson, suffix) {
    state.lesson = lesson;
    return ET.api(lessonUrl(suffix), { method: "DELETE" }).then(function (back) {
      return changed(back, suffix === "/cover"
        ? t("The lesson %(lesson)s is taught by %(teacher)s again.", { lesson: what(back), teacher: back.teacher_name })
        : t("The lesson %(lesson)s takes place after all.", { lesson: what(back) }));
    }, function (err) {
      choose(lesson);
      try { clashes(err); } catch (e) { say(err.message, "error"); }
    });
  }

  // ---------------------------------------------------------------- upcoming changes of the class

  function loadUpcoming() {
    var box = ET.$("upcoming");
    if (!state.classId) { ET.clear(box); return Promise.resolve(); }
    var from = ET.isoDay(new Date());
    var to = ET.isoDay(ET.addDays(new Date(), UPCOMING_DAYS));
    return ET.api("/api/v1/lessons?class_id=" + state.classId + "&from=" + from + "&to=" + to).then(function (page) {
      state.tz = page.timezone;
      var items = page.items.filter(function (l) { return l.cancelled || l.regular_teacher_id || l.moved_from; });
      ET.clear(box);
      if (!items.length) { box.append(el("p", { class: "muted", text: t("No changes ahead.") })); return; }
      box.append(A.table(t("Upcoming changes of the class"), [t("Lesson"), t("Lesson change"), t("Action")],
        items.map(function (l) { return [what(l), changeOf(l), undoButtons(l)]; }), "admin-table upcoming-table"));
    }, function (err) { A.failure(box, err); });
  }

  // A cancellation is taken back first (a cancelled lesson is neither covered nor moved in anyone's eyes).
  function undoButtons(l) {
    var label = what(l);
    var box = el("span", { class: "actions" });
    if (l.cancelled) {
      box.append(A.button(t("Restore the lesson"), function () { undo(l, "/cancellation"); }, "secondary small",
        t("Restore the lesson: %(lesson)s", { lesson: label })));
      return box;
    }
    if (l.regular_teacher_id) {
      box.append(A.button(t("Remove the cover"), function () { undo(l, "/cover"); }, "secondary small",
        t("Remove the cover: %(lesson)s", { lesson: label })));
    }
    if (l.moved_from) {
      box.append(A.button(t("Move back"), function () { moveBack(l); }, "secondary small",
        t("Move back: %(lesson)s", { lesson: label })));
    }
    return box;
  }

  // Back to the planned start, keeping the lesson's length (checked for clashes like any move).
  function moveBack(lesson) {
    state.lesson = lesson;
    var length = new Date(lesson.ends_at) - new Date(lesson.starts_at);
    var body = { starts_at: lesson.moved_from, ends_at: new Date(new Date(lesson.moved_from).getTime() + length).toISOString() };
    return ET.api(lessonUrl(), { method: "PATCH", body: body }).then(function (back) {
      state.monday = ET.monday(ET.parseDay(when(back).day));
      return changed(back, t("The lesson is back at its planned time: %(lesson)s.", { lesson: what(back) }));
    }, function (err) {
      choose(lesson);
      try { clashes(err); } catch (e) { say(err.message, "error"); }
    });
  }

  // ---------------------------------------------------------------- start

  A.start().then(function () {
    return Promise.all([A.classes(), A.people("teacher"), A.people("admin")]);
  }).then(function (r) {
    r[1].concat(r[2]).forEach(function (p) { state.staff[p.id] = p.name; });
    var picker = ET.$("cw-class");
    A.options(picker, r[0], function (c) { return c.name; });
    var asked = new URLSearchParams(window.location.search).get("class_id");
    if (asked && picker.querySelector('option[value="' + asked + '"]')) picker.value = asked;
    state.classId = Number(picker.value) || null;
    picker.addEventListener("change", function () {
      state.classId = Number(picker.value);
      state.lesson = null;
      ET.$("change-card").hidden = true;
      loadWeek();
      loadUpcoming();
    });
    ET.$("cw-prev").addEventListener("click", function () { state.monday = ET.addDays(state.monday, -7); loadWeek(); });
    ET.$("cw-next").addEventListener("click", function () { state.monday = ET.addDays(state.monday, 7); loadWeek(); });
    ET.$("cw-today").addEventListener("click", function () { state.monday = ET.monday(new Date()); loadWeek(); });
    ET.$("change-title").tabIndex = -1;
    setupForms();
    return Promise.all([loadWeek(), loadUpcoming()]);
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
