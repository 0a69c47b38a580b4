// The teacher's page: the day (today's lessons, each one click from its screen), the classes one teaches grouped by
// grade level (5А, 5Б, ... 10А), and for admins every class of the school. It also moves between the page's
// screens (the day, a lesson, a journal, a class) without reloading: every screen is a plain link.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var J = ET.journal;
  var el = ET.el;
  var t = ET.t;
  var tn = ET.tn;

  // ---------------------------------------------------------------- the day

  function loadHome() {
    return ET.api("/api/v1/journal/home").then(function (data) {
      renderToday(data);
      renderClasses(ET.$("my-classes"), data.classes, true);
    }, function (err) {
      J.failure(ET.$("today"), err);
      J.failure(ET.$("my-classes"), err);
    });
  }

  function attendanceState(lesson) {
    if (lesson.cancelled) {
      return el("span", { class: "state lesson-cancelled", text: lesson.change_note
        ? t("Lesson cancelled: %(note)s", { note: lesson.change_note }) : t("Lesson cancelled") });
    }
    if (!lesson.students) return el("span", { class: "muted", text: t("The class has no students.") });
    if (lesson.marked >= lesson.students) return el("span", { class: "state state-done", text: t("Attendance taken") });
    if (!lesson.marked) return el("span", { class: "state state-todo", text: t("Attendance not taken yet") });
    return el("span", { class: "state state-todo", text: tn("%(num)s of %(total)s student marked",
      "%(num)s of %(total)s students marked", lesson.marked, { total: lesson.students }) });
  }

  function renderToday(data) {
    var zone = J.zone(data.timezone);
    ET.$("today-title").textContent = t("Today, %(date)s", { date: zone.day(J.noon(data.date)) });
    var box = ET.clear(ET.$("today"));
    if (!data.lessons.length) { box.append(el("p", { class: "muted", text: t("You have no lessons today.") })); return; }
    var list = el("ol", { class: "day-lessons" });
    data.lessons.forEach(function (lesson) {
      var what = t("%(class)s, %(subject)s", { "class": lesson.class_name, subject: lesson.subject_name });
      list.append(el("li", { class: "day-lesson", "data-lesson-id": lesson.id },
        el("span", { class: "lesson-time", text: zone.time(lesson.starts_at) + "–" + zone.time(lesson.ends_at) }),
        el("div", { class: "day-lesson-main" },
          J.link({ lesson: lesson.id }, what, { class: "day-lesson-link" }),
          lesson.room ? el("span", { class: "muted", text: " · " + t("room %(room)s", { room: lesson.room }) }) : null,
          el("span", { class: "day-lesson-topic" + (lesson.topic ? "" : " muted"),
            text: lesson.topic ? t("Topic: %(topic)s", { topic: lesson.topic }) : t("No topic yet") })),
        el("div", { class: "day-lesson-side" }, attendanceState(lesson),
          J.link({ "class": lesson.class_id, subject: lesson.subject_id }, t("Journal"),
            { "aria-label": t("Journal: %(class)s, %(subject)s", { "class": lesson.class_name, subject: lesson.subject_name }) }))));
    });
    box.append(list);
  }

  // Classes grouped by grade level, in the order the API gives (by level, then name).
  function renderClasses(box, classes, mine) {
    ET.clear(box);
    if (!classes.length) {
      box.append(el("p", { class: "muted", text: mine ? t("No classes are assigned to you yet.") : t("The school has no classes yet.") }));
      return;
    }
    var wrap = el("div", { class: "parallels" });
    var levels = [];
    classes.forEach(function (c) { if (levels.indexOf(c.grade_level) < 0) levels.push(c.grade_level); });
    levels.forEach(function (level) {
      var headingId = (mine ? "mine-" : "school-") + "level-" + level;
      var list = el("ul", { class: "class-list" });
      classes.filter(function (c) { return c.grade_level === level; }).forEach(function (c) {
        list.append(mine ? myClass(c) : el("li", { class: "class-item" }, J.link({ "class": c.id }, c.name, { class: "pill" })));
      });
      wrap.append(el("section", { class: "parallel", "aria-labelledby": headingId },
        el("h3", { id: headingId, text: t("Grade %(level)s", { level: level }) }), list));
    });
    box.append(wrap);
  }

  function myClass(c) {
    var subjects = el("ul", { class: "pill-list" });
    c.subjects.forEach(function (s) {
      subjects.append(el("li", {}, J.link({ "class": c.id, subject: s.id }, s.name, {
        class: "pill", "aria-label": t("Journal: %(class)s, %(subject)s", { "class": c.name, subject: s.name }) })));
    });
    if (c.is_class_teacher) {
      subjects.append(el("li", {}, J.link({ "class": c.id }, t("Class sheet and parents"), {
        class: "pill pill-lead", "aria-label": t("Class sheet and parents: %(class)s", { "class": c.name }) })));
    }
    return el("li", { class: "class-item", "data-class-id": c.id },
      el("div", { class: "class-head" },
        el("strong", { class: "class-name", text: c.name }),
        c.is_class_teacher ? el("span", { class: "tag", text: t("class teacher") }) : null,
        el("span", { class: "muted", text: tn("%(num)s student", "%(num)s students", c.students) })),
      subjects);
  }

  function loadSchoolClasses() {
    var card = ET.$("school-classes-card");
    if (J.user.role !== "admin" || !J.user.school_id) return Promise.resolve();
    card.hidden = false;
    return ET.api("/api/v1/classes?limit=200").then(function (page) {
      renderClasses(ET.$("school-classes"), page.items, false);
    }, function (err) { J.failure(ET.$("school-classes"), err); });
  }

  J.views.home = {
    node: "view-home",
    open: function () {
      J.setHeading(t("Teacher's journal"));
      J.setCrumbs([]);
      return Promise.all([loadHome(), loadSchoolClasses()]);
    },
    refresh: loadHome,
    onJournal: function (frames) {
      if (frames.some(function (f) { return f.what === "attendance" || f.what === "lesson"; })) loadHome();
    },
  };

  // ---------------------------------------------------------------- moving between screens

  function route() {
    var params = new URLSearchParams(window.location.search);
    var name = params.get("lesson") ? "lesson" : params.get("class") && params.get("subject") ? "journal"
      : params.get("class") ? "class" : "home";
    var dialog = ET.$("cell-dialog");
    if (dialog.open) dialog.close();
    Object.keys(J.views).forEach(function (key) { ET.$(J.views[key].node).hidden = key !== name; });
    J.current = name;
    return J.views[name].open(params);
  }

  J.go = function (href) {
    window.history.pushState(null, "", href);
    window.scrollTo(0, 0);
    ET.$("view-title").focus();
    return route();
  };

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-nav]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    J.go(link.getAttribute("href"));
  });
  window.addEventListener("popstate", route);

  // After a reconnect the journal events sent meanwhile are gone: the screen re-reads what it shows.
  function refreshAfterReconnects() {
    var seen = ET.live.everReady;
    ET.live.on("ready", function () {
      if (seen && J.current && J.views[J.current].refresh) J.views[J.current].refresh();
      seen = true;
    });
  }

  function loadReference(user) {
    if (!user.school_id) return Promise.resolve();
    return Promise.all([
      ET.api("/api/v1/work-types").then(function (types) { J.workTypes = types; }),
      ET.api("/api/v1/schools/" + user.school_id + "/terms").then(function (terms) {
        J.terms = terms.sort(function (a, b) { return a.starts_on < b.starts_on ? -1 : 1; });
      }),
    ]).catch(function (err) { ET.toast(err.message, "error"); });
  }

  ET.start().then(function (user) {
    J.user = user;
    if (user.role !== "teacher" && user.role !== "admin") { window.location.replace(ET.homeFor(user)); return; }
    refreshAfterReconnects();
    return loadReference(user).then(route);
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
