// The journal's year marks (docs/final-marks.md): per student the year's confirmed term marks, the year mark the
// school's rule proposes from them, and the confirmed one; the subject's teacher confirms the proposal or sets
// another mark with a reason (PUT /api/v1/year-marks). The class teacher reads them. Reloaded with the journal.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var J = ET.journal;
  var el = ET.el;
  var t = ET.t;
  var tn = ET.tn;
  var state = { classId: null, subjectId: null, data: null, editing: null, seq: 0 };

  function status(text, kind) { J.status(ET.$("year-status"), text, kind); }

  function load(classId, subjectId) {
    if (classId !== state.classId || subjectId !== state.subjectId) { state.editing = null; status(""); }
    state.classId = classId;
    state.subjectId = subjectId;
    var seq = ++state.seq;
    return ET.api("/api/v1/classes/" + classId + "/year-marks?subject_id=" + subjectId).then(function (data) {
      if (seq !== state.seq) return;
      state.data = data;
      render();
    }, function (err) {
      if (seq !== state.seq) return;
      ET.$("year-card").hidden = false;
      J.failure(ET.$("year-marks"), err);
    });
  }

  function ruleText(rule) {
    return rule === "last_term" ? t("The proposal is the mark of the year's last term that has one (the school's rule).")
      : t("The proposal is the mean of the year's term marks, rounded by the school's rule.");
  }

  function stateOf(m) {
    if (!m.final) return el("span", { class: "state state-todo", text: t("not confirmed") });
    return el("span", { class: "state state-done" }, el("span", { text: m.is_override ? t("Changed") : t("Confirmed") }),
      m.is_override && m.comment ? el("span", { class: "muted reason-text", text: t("Reason: %(reason)s", { reason: m.comment }) }) : null);
  }

  function render() {
    // A mark being changed keeps its form: the table re-renders once it is saved or closed.
    if (state.editing !== null && ET.$("year-marks").querySelector(".override-form")) return;
    var data = state.data;
    ET.$("year-card").hidden = false;
    var box = ET.clear(ET.$("year-marks"));
    var open = data.students.filter(function (m) { return !m.final && m.proposed !== "na"; }).length;
    ET.$("year-confirm-all").hidden = !data.can_edit || !open;
    if (!data.students.length) { box.append(el("p", { class: "muted", text: t("The class has no students.") })); return; }
    var head = el("tr", {}, el("th", { scope: "col", text: t("Student") }));
    data.terms.forEach(function (term) { head.append(el("th", { scope: "col", class: "num", text: term.name })); });
    head.append(el("th", { scope: "col", class: "num", text: t("Proposed") }),
      el("th", { scope: "col", class: "num", text: t("Year mark") }),
      el("th", { scope: "col", text: t("State") }),
      data.can_edit ? el("th", { scope: "col", text: t("Action") }) : null);
    var body = el("tbody");
    data.students.forEach(function (m) { body.append(row(m)); });
    box.append(el("table", { class: "marks-table year-table" },
      el("caption", { class: "muted", text: t("%(year)s. %(rule)s", { year: data.year_name, rule: ruleText(data.year_mark_rule) }) }),
      el("thead", {}, head), body));
  }

  function row(m) {
    var tr = el("tr", { "data-student-id": m.id, "data-state": m.final ? (m.is_override ? "overridden" : "confirmed") : "open" },
      el("th", { scope: "row", text: m.name }));
    state.data.terms.forEach(function (term) {
      var mark = m.terms.find(function (x) { return x.term_id === term.id; });
      tr.append(el("td", { class: "num", text: mark ? J.finalWord(mark.final) : "—" }));
    });
    tr.append(el("td", { class: "num proposed-mark", text: J.finalWord(m.proposed) }),
      el("td", { class: "num final-mark", text: m.final ? J.finalWord(m.final) : "—" }),
      el("td", {}, stateOf(m)));
    if (state.data.can_edit) {
      var actions = el("td", { class: "mark-actions" });
      if (!m.final || m.is_override) {
        actions.append(el("button", { type: "button", class: "secondary",
          text: t("Confirm %(mark)s", { mark: J.finalWord(m.proposed) }),
          "aria-label": t("Confirm %(mark)s: %(name)s", { mark: J.finalWord(m.proposed), name: m.name }),
          onclick: function () { save(m, null, null); } }));
      }
      actions.append(el("button", { type: "button", class: "secondary", text: t("Another mark…"),
        "aria-label": t("Another mark: %(name)s", { name: m.name }), "aria-expanded": "false",
        onclick: function (event) { overrideForm(actions, m, event.currentTarget); } }));
      tr.append(actions);
    }
    return tr;
  }

  function overrideForm(cell, m, toggle) {
    var existing = cell.querySelector("form");
    if (existing) { existing.remove(); toggle.setAttribute("aria-expanded", "false"); state.editing = null; return; }
    state.editing = m.id;
    toggle.setAttribute("aria-expanded", "true");
    var base = "year-override-" + m.id;
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
      if (!reason.value.trim()) { status(t("Give the reason of the change."), "error"); reason.focus(); return; }
      save(m, mark.value, reason.value.trim());
    });
    cell.append(form);
    mark.focus();
  }

  function body(m) {
    return { student_id: m.id, subject_id: state.subjectId, year_id: state.data.year_id, class_id: state.classId };
  }

  function save(m, final, reason) {
    var payload = body(m);
    if (final) { payload.final = final; payload.comment = reason; }
    status(t("Saving…"));
    return ET.api("/api/v1/year-marks", { method: "PUT", body: payload }).then(function (saved) {
      state.editing = null;
      status(saved.is_override
        ? t("%(name)s: the mark %(mark)s is saved with its reason.", { name: m.name, mark: J.finalWord(saved.final) })
        : t("%(name)s: the mark %(mark)s is confirmed.", { name: m.name, mark: J.finalWord(saved.final) }), "ok");
      return load(state.classId, state.subjectId);
    }, function (err) { status(t("Not saved: %(error)s", { error: J.errorText(err) }), "error"); });
  }

  ET.$("year-confirm-all").addEventListener("click", function () {
    var open = state.data.students.filter(function (m) { return !m.final && m.proposed !== "na"; });
    status(t("Saving…"));
    var failed = 0;
    open.reduce(function (chain, m) {
      return chain.then(function () {
        return ET.api("/api/v1/year-marks", { method: "PUT", body: body(m) }).catch(function () { failed += 1; });
      });
    }, Promise.resolve()).then(function () {
      var done = open.length - failed;
      status(tn("%(num)s mark confirmed", "%(num)s marks confirmed", done) +
        (failed ? "; " + tn("%(num)s not saved", "%(num)s not saved", failed) : "."), failed ? "error" : "ok");
      return load(state.classId, state.subjectId);
    });
  });

  J.yearMarks = { load: load };
})();
