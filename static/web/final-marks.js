// The diary's final marks (docs/final-marks.md): per subject the confirmed term marks of the year and the year mark
// (the confirmed one, else the one proposed by the school's rule, marked so). Follows the child diary.js shows
// ("edutrack:child"); a mark set while the page is open (final_mark) reloads the table.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var state = { childId: null };

  function word(code) { return code === "na" ? t("n/a") : code; }

  function termCell(subject, term) {
    var mark = subject.terms.find(function (m) { return m.term_id === term.id; });
    return el("td", { class: "num" + (mark ? " final-mark grade-" + mark.final : " muted"), text: mark ? word(mark.final) : "—" });
  }

  function yearCell(subject) {
    var year = subject.year || {};
    if (year.final) return el("td", { class: "num final-mark final-year grade-" + year.final, text: word(year.final) });
    if (!subject.terms.length || !year.proposed) return el("td", { class: "num muted", text: "—" });
    return el("td", { class: "num muted final-proposed", text: t("%(mark)s (proposed)", { mark: word(year.proposed) }) });
  }

  function render(box, data) {
    ET.clear(box);
    var shown = data.subjects.filter(function (s) { return s.terms.length || (s.year && s.year.final); });
    if (!shown.length) {
      box.append(el("p", { class: "muted", text: t("No final marks for %(year)s yet.", { year: data.year_name }) }));
      return;
    }
    var head = el("tr", {}, el("th", { scope: "col", text: t("Subject") }));
    data.terms.forEach(function (term) { head.append(el("th", { scope: "col", class: "num", text: term.name })); });
    head.append(el("th", { scope: "col", class: "num", text: t("Year") }));
    var body = el("tbody");
    shown.forEach(function (s) {
      var row = el("tr", { "data-subject-id": s.subject_id }, el("th", { scope: "row", text: s.subject }));
      data.terms.forEach(function (term) { row.append(termCell(s, term)); });
      row.append(yearCell(s));
      body.append(row);
    });
    box.append(el("table", { class: "grades-table finals-table" },
      el("caption", { class: "visually-hidden", text: t("Final marks of %(year)s by subject", { year: data.year_name }) }),
      el("thead", {}, head), body));
  }

  function load() {
    var childId = state.childId;
    var box = ET.$("finals");
    return ET.api("/api/v1/students/" + childId + "/final-marks").then(function (data) {
      if (childId === state.childId) render(box, data);
    }, function (err) {
      if (childId !== state.childId) return;
      ET.clear(box).append(el("p", { class: "error", role: "alert", text: t("Could not load: %(error)s", { error: err.message }) }));
    });
  }

  window.addEventListener("edutrack:child", function (event) {
    state.childId = event.detail.childId;
    ET.$("finals-card").hidden = false;
    load();
  });

  window.addEventListener("edutrack:notification", function (event) {
    var n = event.detail;
    if (n.kind === "final_mark" && state.childId !== null && n.about_user_id === state.childId) load();
  });
})();
