// The school's calendar: academic years and the terms inside them (add, change the dates, delete).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var state = { years: [], terms: [], editingYear: null, editingTerm: null };

  function span(item) {
    return t("%(from)s — %(to)s", { from: ET.fmt.date(item.starts_on), to: ET.fmt.date(item.ends_on) });
  }

  function load() {
    return Promise.all([ET.api("/api/v1/schools/" + A.schoolId + "/years"), A.terms()]).then(function (r) {
      state.years = r[0].slice().sort(function (a, b) { return a.starts_on < b.starts_on ? 1 : -1; });
      state.terms = r[1];
      render();
      A.options(ET.$("term-year"), state.years, function (y) { return y.name; });
    }, function (err) { A.failure(ET.$("years"), err); });
  }

  function render() {
    var box = ET.clear(ET.$("years"));
    if (!state.years.length) { box.append(el("p", { class: "muted", text: t("No academic years yet: add the first one below.") })); return; }
    state.years.forEach(function (year) {
      var terms = state.terms.filter(function (x) { return x.academic_year_id === year.id; })
        .sort(function (a, b) { return a.starts_on < b.starts_on ? -1 : 1; });
      var title = el("h3", { text: t("%(name)s: %(span)s", { name: year.name, span: span(year) }) });
      box.append(el("div", { class: "year" }, title,
        el("div", { class: "actions" },
          A.button(t("Change the year"), function () { editYear(year); }, "secondary small",
            t("Change the year %(name)s", { name: year.name })),
          A.button(t("Delete the year"), function () { remove("years", year); }, "danger small",
            t("Delete the year %(name)s", { name: year.name }))),
        terms.length ? A.table(t("Terms of %(name)s", { name: year.name }), [t("Term"), t("Dates"), t("Actions")],
          terms.map(function (term) {
            return [term.name, span(term), el("span", { class: "actions" },
              A.button(t("Change"), function () { editTerm(term); }, "secondary small", t("Change %(name)s", { name: term.name })),
              A.button(t("Delete"), function () { remove("terms", term); }, "danger small", t("Delete %(name)s", { name: term.name })))];
          })) : el("p", { class: "muted", text: t("No terms in this year yet.") })));
    });
  }

  function remove(kind, item) {
    var status = ET.$("years-status");
    A.confirm(t("Delete %(name)s?", { name: item.name }), t("Delete")).then(function (yes) {
      if (!yes) return;
      ET.api("/api/v1/" + kind + "/" + item.id, { method: "DELETE" }).then(function () {
        status.textContent = t("%(name)s is deleted.", { name: item.name });
        status.className = "form-status ok";
        load();
      }, function (err) { status.textContent = err.message; status.className = "form-status error"; });
    });
  }

  // One form adds and changes: "Change" fills it with the item, "Cancel" turns it back into "Add".
  function editable(prefix, addTitle, addLabel) {
    var form = ET.$(prefix + "-form");
    return {
      form: form,
      start: function (item, title) {
        A.clearErrors(form);
        ET.$(prefix + "-form-title").textContent = title;
        ET.$(prefix + "-submit").textContent = t("Save");
        ET.$(prefix + "-cancel").hidden = false;
        ["name", "starts_on", "ends_on"].forEach(function (key) { form.elements[key].value = item[key]; });
        form.elements.name.focus();
      },
      stop: function () {
        ET.$(prefix + "-form-title").textContent = addTitle;
        ET.$(prefix + "-submit").textContent = addLabel;
        ET.$(prefix + "-cancel").hidden = true;
        ["name", "starts_on", "ends_on"].forEach(function (key) { form.elements[key].value = ""; });
      },
    };
  }

  var yearForm, termForm;

  function editYear(year) { state.editingYear = year; yearForm.start(year, t("Change the year %(name)s", { name: year.name })); }

  function editTerm(term) {
    state.editingTerm = term;
    termForm.form.elements.year_id.value = String(term.academic_year_id);
    termForm.form.elements.year_id.disabled = true;
    termForm.start(term, t("Change %(name)s", { name: term.name }));
  }

  function setup() {
    yearForm = editable("year", t("New academic year"), t("Add the year"));
    termForm = editable("term", t("New term"), t("Add the term"));
    ET.$("year-cancel").addEventListener("click", function () { state.editingYear = null; yearForm.stop(); });
    ET.$("term-cancel").addEventListener("click", function () {
      state.editingTerm = null;
      termForm.form.elements.year_id.disabled = false;
      termForm.stop();
    });
    A.form(yearForm.form, function (v) {
      var body = { name: v.name, starts_on: v.starts_on, ends_on: v.ends_on };
      return state.editingYear
        ? ET.api("/api/v1/years/" + state.editingYear.id, { method: "PATCH", body: body })
        : ET.api("/api/v1/schools/" + A.schoolId + "/years", { method: "POST", body: body });
    }, function (year) {
      A.status(yearForm.form, t("%(name)s is saved.", { name: year.name }), "ok");
      state.editingYear = null;
      yearForm.stop();
      load();
    });
    A.form(termForm.form, function (v) {
      var body = { name: v.name, starts_on: v.starts_on, ends_on: v.ends_on };
      return state.editingTerm
        ? ET.api("/api/v1/terms/" + state.editingTerm.id, { method: "PATCH", body: body })
        : ET.api("/api/v1/years/" + v.year_id + "/terms", { method: "POST", body: body });
    }, function (term) {
      A.status(termForm.form, t("%(name)s is saved.", { name: term.name }), "ok");
      state.editingTerm = null;
      termForm.form.elements.year_id.disabled = false;
      termForm.stop();
      load();
    });
  }

  A.start().then(function () { setup(); return load(); }).catch(function (err) { ET.toast(err.message, "error"); });
})();
