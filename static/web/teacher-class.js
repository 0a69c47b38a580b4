// The screen of a class for its class teacher (классный руководитель) and the school's admins: the journals of
// its subjects, the class's sheet for a period (every subject: weighted average and the mark for the period) and
// the parents of its students with their email. A subject teacher who opens it sees their own subjects' columns.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var J = ET.journal;
  var el = ET.el;
  var t = ET.t;

  var state = { classId: null, termId: null, name: "" };

  function loadSubjects() {
    var list = ET.$("class-subjects");
    return ET.api("/api/v1/assignments?class_id=" + state.classId + "&limit=200").then(function (page) {
      ET.clear(list);
      var seen = {};
      page.items.forEach(function (a) {
        state.name = a.class_name;
        if (seen[a.subject_id]) return;
        seen[a.subject_id] = true;
        list.append(el("li", {}, J.link({ "class": state.classId, subject: a.subject_id, term: state.termId }, a.subject_name, {
          class: "pill", "aria-label": t("Journal: %(class)s, %(subject)s", { "class": a.class_name, subject: a.subject_name }) })));
      });
      if (!page.items.length) list.append(el("li", { class: "muted", text: t("No subjects are taught in this class yet.") }));
    }, function (err) { J.failure(list, err); });
  }

  function loadSheet() {
    var box = ET.$("term-sheet");
    if (!state.termId) { ET.clear(box).append(el("p", { class: "muted", text: t("Choose a period.") })); return Promise.resolve(); }
    return ET.api("/api/v1/classes/" + state.classId + "/term-sheet?term_id=" + state.termId).then(function (sheet) {
      state.name = sheet.class_name;
      J.setHeading(t("Class %(class)s", { "class": sheet.class_name }));
      renderSheet(box, sheet);
    }, function (err) { J.failure(box, err); });
  }

  function renderSheet(box, sheet) {
    ET.clear(box);
    if (!sheet.students.length) { box.append(el("p", { class: "muted", text: t("The class has no students.") })); return; }
    var head = el("tr", {}, el("th", { scope: "col", text: t("Student") }));
    sheet.subjects.forEach(function (s) {
      head.append(el("th", { scope: "col", class: "num" }, J.link({ "class": sheet.class_id, subject: s.id, term: state.termId }, s.name)));
    });
    var body = el("tbody");
    sheet.students.forEach(function (row) {
      var tr = el("tr", { "data-student-id": row.student_id }, el("th", { scope: "row", text: row.name }));
      row.cells.forEach(function (c) {
        var avg = c.average === null || c.average === undefined ? "—" : c.average.toFixed(2);
        tr.append(el("td", { class: "num" + (c.final ? " final" : " proposed"), "data-subject-id": c.subject_id,
          title: c.final ? (c.is_override ? t("Final mark (changed by the teacher)") : t("Final mark")) : t("Proposed by the system") },
          el("span", { class: "sheet-avg", text: avg }), " ",
          el("strong", { class: "sheet-mark", text: J.finalWord(c.final || c.proposed) }),
          c.final ? null : el("span", { class: "visually-hidden", text: " " + t("(proposed)") })));
      });
      body.append(tr);
    });
    box.append(el("table", { class: "sheet-table" },
      el("caption", { text: t("%(class)s: weighted average and the mark for the period (%(from)s — %(to)s)",
        { "class": sheet.class_name, from: ET.fmt.date(sheet.from), to: ET.fmt.date(sheet.to) }) }),
      el("thead", {}, head), body));
  }

  function loadParents() {
    var box = ET.$("parents");
    return ET.api("/api/v1/classes/" + state.classId + "/parents").then(function (data) {
      renderParents(box, data);
    }, function (err) {
      if (err.status === 403) ET.clear(box).append(el("p", { class: "muted", text: err.message }));
      else J.failure(box, err);
    });
  }

  function renderParents(box, data) {
    ET.clear(box);
    if (!data.parents.length) {
      box.append(el("p", { class: "muted", text: t("No parent is linked to the students of this class yet.") }));
    } else {
      var body = el("tbody");
      data.parents.forEach(function (p) {
        body.append(el("tr", { "data-parent-id": p.id },
          el("th", { scope: "row" }, p.is_active ? el("a", { href: "/chat?with=" + p.id, class: "person-chat",
            title: t("Write privately to %(name)s", { name: p.name }) }, p.name)
            : p.name, p.is_active ? null : el("span", { class: "tag", text: t("inactive") })),
          el("td", { text: p.children.map(function (c) { return c.name; }).join(", ") }),
          el("td", {}, el("a", { href: "mailto:" + p.email, text: p.email }))));
      });
      box.append(el("table", { class: "parents-table" },
        el("caption", { class: "visually-hidden", text: t("Parents of %(class)s", { "class": data.class_name }) }),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", text: t("Parent") }),
          el("th", { scope: "col", text: t("Child") }),
          el("th", { scope: "col", text: t("Email") }))),
        body));
    }
    if (data.students_without_parents.length) {
      box.append(el("p", { class: "muted", text: t("No parent linked: %(names)s", {
        names: data.students_without_parents.map(function (s) { return s.name; }).join(", ") }) }));
    }
  }

  // Which parents have not opened the diary for N days, and the last week each marked seen.
  function loadActivity() {
    var box = ET.$("activity");
    var days = Number(ET.$("activity-days").value) || 7;
    return ET.api("/api/v1/classes/" + state.classId + "/diary-activity?days=" + days).then(function (data) {
      ET.$("activity-card").hidden = false;
      renderActivity(box, data);
    }, function (err) {
      if (err.status === 403) ET.$("activity-card").hidden = true;
      else J.failure(box, err);
    });
  }

  function renderActivity(box, data) {
    ET.$("activity-summary").textContent = t("Have not opened the diary for %(days)s days: %(num)s of %(total)s",
      { days: data.days, num: data.stale, total: data.parents.length });
    var body = el("tbody");
    data.parents.forEach(function (p) {
      p.children.forEach(function (c, i) {
        body.append(el("tr", { "data-activity-parent": p.id, class: p.stale ? "stale" : "" },
          i === 0 ? el("th", { scope: "row", rowspan: p.children.length, text: p.name }) : null,
          el("td", { text: c.name }),
          el("td", { class: "opened", text: c.last_opened_at ? ET.fmt.stamp(c.last_opened_at) : t("never") }),
          el("td", { class: "week-seen", text: c.last_week_seen ? t("week of %(date)s", {
            date: ET.fmt.date(c.last_week_seen) }) : "—" }),
          i === 0 ? el("td", { rowspan: p.children.length, class: "stale-mark",
            text: p.stale ? t("not opened") : "" }) : null));
      });
    });
    ET.clear(box).append(el("table", { class: "activity-table" },
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: t("Parent") }), el("th", { scope: "col", text: t("Child") }),
        el("th", { scope: "col", text: t("Last opened") }), el("th", { scope: "col", text: t("Marked seen") }),
        el("th", { scope: "col", text: t("For N days") }))), body));
  }

  ET.$("activity-days").addEventListener("change", function () { loadActivity(); });

  ET.$("sheet-term").addEventListener("change", function (event) {
    state.termId = Number(event.currentTarget.value);
    window.history.replaceState(null, "", J.href({ "class": state.classId, term: state.termId }));
    loadSheet();
    loadSubjects();
  });

  function currentTerm() {
    var today = ET.isoDay(new Date());
    var found = J.terms.find(function (term) { return term.starts_on <= today && today <= term.ends_on; });
    var begun = J.terms.filter(function (term) { return term.starts_on <= today; });
    return found || begun[begun.length - 1] || J.terms[0] || null;
  }

  J.views["class"] = {
    node: "view-class",
    open: function (params) {
      state.classId = Number(params.get("class"));
      var term = params.get("term") ? Number(params.get("term")) : (currentTerm() || {}).id;
      state.termId = term || null;
      J.setHeading(t("Class"));
      J.setCrumbs([J.home()]);
      J.fillTerms(ET.$("sheet-term"), state.termId);
      ET.clear(ET.$("term-sheet")).append(el("p", { class: "muted", text: t("Loading…") }));
      return Promise.all([loadSubjects(), loadSheet(), loadParents(), loadActivity()]);
    },
    refresh: function () { return Promise.all([loadSheet(), loadParents(), loadActivity()]); },
    onJournal: function (frames) {
      if (frames.some(function (f) { return f.class_id === state.classId && f.what !== "lesson"; })) loadSheet();
    },
  };
})();
