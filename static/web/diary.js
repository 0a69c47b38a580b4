// The diary page of a student or a parent: the week's lessons with homework, grades per subject with the
// weighted average, attendance. A parent picks which child. New grades, homework and attendance marks arrive
// live (edutrack:notification from core.js) and the affected section reloads without a page reload.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var CHILD_KEY = "edutrack.child";
  var REASONS = { unexcused: t("without a valid reason"), illness: t("illness"), excused: t("valid reason") };

  // freshGradeIds: grades that arrived live while the page is open, for any child, so a parent who switches to
  // the child a grade was about still sees it highlighted. classNames: child id -> class, from the schedule.
  var state = { user: null, childId: null, children: [], weekStart: ET.monday(new Date()), terms: [],
    termId: "", freshGradeIds: {}, classNames: {} };

  function show(container, node) { ET.clear(container).append(node); }
  function failure(container, err) {
    show(container, el("p", { class: "error", role: "alert", text: t("Could not load: %(error)s", { error: err.message }) }));
  }

  // Load `query` and render it for the child selected now; a reply that arrives after the parent switched to
  // another child is dropped, so one child's data never lands under the other's name.
  function loadFor(box, query, render) {
    var childId = state.childId;
    return ET.api(query).then(function (data) {
      if (childId === state.childId) render(box, data, childId);
    }, function (err) { if (childId === state.childId) failure(box, err); });
  }

  // The school's calendar day of an instant, so a lesson is listed under its day in the school's time zone.
  function dayIn(tz) {
    var f = new Intl.DateTimeFormat("sv-SE", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
    return function (iso) { return f.format(new Date(iso)); };
  }
  function timeIn(tz) {
    var f = new Intl.DateTimeFormat(ET.locale, { timeZone: tz, hour: "2-digit", minute: "2-digit" });
    return function (iso) { return f.format(new Date(iso)); };
  }

  // ---------------------------------------------------------------- schedule

  function loadWeek() {
    var from = ET.isoDay(state.weekStart);
    var to = ET.isoDay(ET.addDays(state.weekStart, 6));
    ET.$("week-range").textContent = ET.fmt.date(state.weekStart) + " — " + ET.fmt.date(ET.addDays(state.weekStart, 6));
    var query = "/api/v1/schedule/me?from=" + from + "&to=" + to;
    if (state.user.role !== "student") query += "&child_id=" + state.childId;
    loadSeen();
    // With the child's hand-ins of homework (handin.js): their status under each lesson's homework.
    return loadFor(ET.$("week"), query, function (box, schedule, childId) {
      ET.handin.forChild(childId).then(function (handins) {
        if (childId === state.childId) renderWeek(box, schedule, childId, handins);
      });
    });
  }

  // A parent marks the week shown as seen ("Просмотрено"); the class teacher sees it (docs/notifications.md).
  function loadSeen() {
    var box = ET.$("week-seen-box");
    if (state.user.role !== "parent" || !state.childId || state.weekStart > new Date()) { box.hidden = true; return; }
    var childId = state.childId;
    var week = ET.isoDay(state.weekStart);
    ET.api("/api/v1/diary/seen-weeks?child_id=" + childId + "&week_start=" + week).then(function (seen) {
      if (childId === state.childId && week === ET.isoDay(state.weekStart)) showSeen(seen.seen_at);
    }, function () { box.hidden = true; });
  }

  function showSeen(at) {
    ET.$("week-seen-box").hidden = false;
    ET.$("week-seen").hidden = Boolean(at);
    ET.$("week-seen-state").textContent = at ? t("Week marked as seen") : "";
  }

  function renderWeek(box, schedule, childId, handins) {
    if (schedule.items.length && schedule.items[0].class_name) {
      state.classNames[childId] = schedule.items[0].class_name;
      showTitle();
    }
    if (!schedule.items.length) { show(box, emptyWeek()); return; }
    var day = dayIn(schedule.timezone);
    var time = timeIn(schedule.timezone);
    var byDay = {};
    schedule.items.forEach(function (lesson) { (byDay[day(lesson.starts_at)] = byDay[day(lesson.starts_at)] || []).push(lesson); });
    var wrap = el("div", { class: "days" });
    var today = ET.isoDay(new Date());
    // Six school days; Sunday only in a week that has a lesson on it (a make-up day), so none is ever hidden.
    var days = byDay[ET.isoDay(ET.addDays(state.weekStart, 6))] ? 7 : 6;
    for (var i = 0; i < days; i++) {
      var date = ET.addDays(state.weekStart, i);
      var key = ET.isoDay(date);
      var lessons = (byDay[key] || []).sort(function (a, b) { return a.starts_at < b.starts_at ? -1 : 1; });
      var list = el("ol", { class: "lessons" });
      lessons.forEach(function (lesson) {
        list.append(el("li", { class: "lesson" + (lesson.cancelled ? " cancelled" : ""), "data-lesson-id": lesson.id },
          el("span", { class: "lesson-time", text: time(lesson.starts_at) + "–" + time(lesson.ends_at) }),
          el("span", { class: "lesson-subject", text: lesson.subject_name }),
          lesson.cancelled ? el("span", { class: "lesson-cancelled", text: t("Lesson cancelled") }) : null,
          lesson.room ? el("span", { class: "lesson-room", text: t("room %(room)s", { room: lesson.room }) }) : null,
          lesson.topic ? el("span", { class: "lesson-topic", text: t("Topic: %(topic)s", { topic: lesson.topic }) }) : null,
          el("span", { class: "homework" + (lesson.homework ? "" : " muted"),
            text: lesson.homework ? t("Homework: %(text)s", { text: lesson.homework }) : t("No homework") }),
          lesson.homework ? ET.handin.node(lesson, handins[lesson.id], state.user.role === "student", loadWeek) : null));
      });
      var heading = el("h3", { text: ET.fmt.day(date) });
      wrap.append(el("section", { class: "day" + (key === today ? " today" : ""), "aria-label": ET.fmt.day(date) },
        heading, lessons.length ? list : el("p", { class: "muted", text: t("No lessons") })));
    }
    show(box, wrap);
  }

  // A week without a single lesson: the holidays (between or after the terms), or simply no lessons,
  // in one line rather than six days of "No lessons".
  function emptyWeek() {
    var from = ET.isoDay(state.weekStart);
    var to = ET.isoDay(ET.addDays(state.weekStart, 6));
    var inTerm = state.terms.some(function (term) { return term.starts_on <= to && from <= term.ends_on; });
    if (inTerm || !state.terms.length) return el("p", { class: "muted week-empty", text: t("No lessons this week.") });
    var next = state.terms.filter(function (term) { return term.starts_on > to; })
      .sort(function (a, b) { return a.starts_on < b.starts_on ? -1 : 1; })[0];
    return el("div", { class: "holidays" },
      el("p", { class: "holidays-title", text: t("Holidays") }),
      next ? el("p", { class: "muted", text: t("Lessons start again on %(date)s.", { date: ET.fmt.date(next.starts_on) }) })
        : null);
  }

  // On a day outside every term (the holidays, the summer) the diary opens on the last school week.
  function lastSchoolWeek() {
    var today = ET.isoDay(new Date());
    if (state.terms.some(function (term) { return term.starts_on <= today && today <= term.ends_on; })) return;
    var past = state.terms.filter(function (term) { return term.ends_on < today; })
      .sort(function (a, b) { return a.ends_on < b.ends_on ? 1 : -1; })[0];
    if (past) state.weekStart = ET.monday(ET.parseDay(past.ends_on));
  }

  // ---------------------------------------------------------------- grades

  function loadGrades() {
    var query = "/api/v1/students/" + state.childId + "/grades" + (state.termId ? "?term_id=" + state.termId : "");
    return loadFor(ET.$("grades"), query, renderGrades);
  }

  function gradeClass(g) {
    return "grade" + (g.value ? " grade-" + g.value : " grade-mark") + (state.freshGradeIds[g.id] ? " fresh" : "");
  }

  function renderGrades(box, data) {
    if (!data.subjects.length) { show(box, el("p", { class: "muted", text: t("No grades yet.") })); return; }
    var bySubject = {};
    data.grades.forEach(function (g) { (bySubject[g.subject_id] = bySubject[g.subject_id] || []).push(g); });
    var body = el("tbody");
    data.subjects.forEach(function (s) {
      var marks = el("ul", { class: "grade-list" });
      (bySubject[s.subject_id] || []).sort(function (a, b) { return a.date < b.date ? -1 : a.date > b.date ? 1 : a.id - b.id; })
        .forEach(function (g) {
          var about = t("%(work_type)s (weight %(weight)s), %(date)s", { work_type: g.work_type, weight: g.weight,
            date: ET.fmt.date(g.date) }) + (g.comment ? ": " + g.comment : "");
          marks.append(el("li", { class: gradeClass(g), "data-grade-id": g.id, title: about },
            el("span", { "aria-hidden": "true", text: g.display }),
            el("span", { class: "visually-hidden", text: g.display + ", " + about })));
        });
      var avg = s.weighted_average === null || s.weighted_average === undefined ? "—" : s.weighted_average.toFixed(2);
      marks.setAttribute("aria-label", ET.tn("%(num)s grade", "%(num)s grades", marks.children.length));
      body.append(el("tr", { "data-subject-id": s.subject_id },
        el("th", { scope: "row", text: s.subject }),
        el("td", {}, marks),
        el("td", { class: "num average", text: avg })));
    });
    show(box, el("table", { class: "grades-table" },
      el("caption", { class: "visually-hidden", text: t("Grades by subject and the weighted average") }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: t("Subject") }), el("th", { scope: "col", text: t("Grades") }),
        el("th", { scope: "col", class: "num", text: t("Average (weighted)") }))),
      body));
  }

  // ---------------------------------------------------------------- attendance

  function loadAttendance() {
    var query = "/api/v1/students/" + state.childId + "/attendance" + (state.termId ? "?term_id=" + state.termId : "");
    return loadFor(ET.$("attendance"), query, renderAttendance);
  }

  // "Математика: опоздала": the verb agrees with the student (a noun when the name does not tell).
  function attendanceText(gender, m) {
    if (m.status === "late") return ET.tg(gender, "%(subject)s: was late", { subject: m.subject });
    var reason = m.reason ? REASONS[m.reason] : t("no reason given");
    return ET.tg(gender, "%(subject)s: was absent (%(reason)s)", { subject: m.subject, reason: reason });
  }

  function renderAttendance(box, data) {
    var s = data.summary || {};
    var rate = s.rate === null || s.rate === undefined ? "—" : Math.round(s.rate * 100) + "%";
    var summary = el("dl", { class: "summary" },
      el("dt", { text: t("Attendance") }), el("dd", { text: rate }),
      el("dt", { text: t("Absences") }), el("dd", { text: String(s.absent || 0) }),
      el("dt", { text: t("Without a valid reason") }), el("dd", { text: String(s.unexcused || 0) }),
      el("dt", { text: t("Late arrivals") }), el("dd", { text: String(s.late || 0) }));
    var missed = (data.marks || []).filter(function (m) { return m.status !== "present"; }).slice(-10).reverse();
    var list = el("ul", { class: "attendance-list" });
    missed.forEach(function (m) {
      list.append(el("li", { class: "att-" + m.status },
        el("time", { datetime: m.starts_at, text: ET.fmt.stamp(m.starts_at) }), " ",
        attendanceText(data.student_gender, m)));
    });
    ET.clear(box).append(summary, missed.length ? list : el("p", { class: "muted", text: t("No absences.") }));
  }

  // ---------------------------------------------------------------- children, terms, live updates

  // "Ivanova Maria, 5A": whose diary this is (the class once the schedule has named it).
  function showTitle() {
    var child = state.children.find(function (c) { return c.id === state.childId; });
    var profile = state.user.profile;
    var name = child ? child.name : (profile && profile.full_name) || "";
    var cls = state.classNames[state.childId];
    ET.$("student-title").textContent = name + (name && cls ? ", " : "") + (cls || "");
  }

  function loadAll() {
    showTitle();
    // absence-notes.js (and any other section) follows the chosen child.
    window.dispatchEvent(new CustomEvent("edutrack:child", { detail: { childId: state.childId, user: state.user } }));
    return Promise.all([loadWeek(), loadGrades(), loadAttendance()]);
  }

  function setupChildren() {
    if (state.user.role === "student") {  // anyone else reads their linked children (a teacher may be a parent)
      state.childId = state.user.id;
      return Promise.resolve();
    }
    return ET.api("/api/v1/parent-links?parent_id=" + state.user.id + "&limit=50").then(function (page) {
      state.children = page.items.map(function (l) { return { id: l.child_id, name: l.child_name }; });
      if (!state.children.length) {
        var none = new Error(t("No child is linked to your account yet."));
        none.shown = true;
        show(ET.$("week"), el("p", { class: "muted", text: none.message }));
        return Promise.reject(none);
      }
      var saved = Number(sessionStorage.getItem(CHILD_KEY));
      state.childId = state.children.some(function (c) { return c.id === saved; }) ? saved : state.children[0].id;
      var select = ET.$("child-select");
      state.children.forEach(function (c) {
        select.append(el("option", { value: c.id, text: c.name, selected: c.id === state.childId }));
      });
      ET.$("child-picker").hidden = false;
      select.addEventListener("change", function () {
        state.childId = Number(select.value);
        sessionStorage.setItem(CHILD_KEY, String(state.childId));
        loadAll();
      });
    });
  }

  function setupTerms() {
    if (!state.user.school_id) return Promise.resolve();
    return ET.api("/api/v1/schools/" + state.user.school_id + "/terms").then(function (terms) {
      var select = ET.$("term-select");
      var today = ET.isoDay(new Date());
      state.terms = terms;
      terms.forEach(function (t) {
        var current = t.starts_on <= today && today <= t.ends_on;
        if (current) state.termId = String(t.id);
        select.append(el("option", { value: t.id, text: t.name, selected: current }));
      });
      select.addEventListener("change", function () {
        state.termId = select.value;
        loadGrades();
        loadAttendance();
      });
    }, function () { /* without terms the whole year is shown */ });
  }

  window.addEventListener("edutrack:notification", function (event) {
    var n = event.detail;
    if ((n.kind === "grade" || n.kind === "grade_changed") && n.payload && n.payload.grade_id) {
      state.freshGradeIds[n.payload.grade_id] = true;
    }
    // Another child's event: the toast and the feed name that child; this page shows it after a switch.
    if (n.about_user_id !== null && n.about_user_id !== undefined && n.about_user_id !== state.childId) return;
    if (n.kind === "grade" || n.kind === "grade_changed") {
      loadGrades();
    } else if (n.kind === "grade_deleted") {
      loadGrades();
    } else if (n.kind === "homework") {
      loadWeek();
    } else if (n.kind === "attendance") {
      loadAttendance();
    } else if (n.kind === "lesson_changed") {
      loadWeek();
    }
  });

  ET.$("week-prev").addEventListener("click", function () { state.weekStart = ET.addDays(state.weekStart, -7); loadWeek(); });
  ET.$("week-next").addEventListener("click", function () { state.weekStart = ET.addDays(state.weekStart, 7); loadWeek(); });

  ET.$("week-seen").addEventListener("click", function (event) {
    var button = event.currentTarget;
    button.disabled = true;
    ET.api("/api/v1/diary/seen-weeks", { method: "POST",
      body: { child_id: state.childId, week_start: ET.isoDay(state.weekStart) } }).then(function (seen) {
      button.disabled = false;
      showSeen(seen.seen_at);
    }, function (err) { button.disabled = false; ET.toast(err.message, "error"); });
  });

  ET.start().then(function (user) {
    state.user = user;
    if (["student", "parent", "teacher"].indexOf(user.role) < 0) { window.location.replace(ET.homeFor(user)); return; }
    return Promise.all([setupChildren(), setupTerms()]).then(function () { lastSchoolWeek(); return loadAll(); });
  }).catch(function (err) { if (!err.shown) ET.toast(err.message, "error"); });
})();
