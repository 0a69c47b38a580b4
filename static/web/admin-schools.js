// Schools. A superuser creates and edits schools and invites their administrators; a school's administrator
// edits their own school's name, address, time zone and chat policy.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var state = { schools: [], current: null };

  function load() {
    var box = ET.$("schools");
    return ET.api("/api/v1/schools?limit=200").then(function (page) {
      state.schools = page.items;
      ET.clear(box);
      if (!page.items.length) { box.append(el("p", { class: "muted", text: t("No schools yet: create the first one below.") })); return; }
      box.append(A.table(t("Schools"), [t("School"), t("Address"), t("Time zone")], page.items.map(function (s) {
        return [el("button", { type: "button", class: "link-button", "data-school-id": s.id, text: s.name,
          onclick: function () { open(s); } }), s.address || "", s.timezone];
      })));
    }, function (err) { A.failure(box, err); });
  }

  function fill(form, school) {
    form.elements.name.value = school.name;
    form.elements.address.value = school.address || "";
    if (!form.elements.timezone.querySelector('option[value="' + school.timezone + '"]')) {
      form.elements.timezone.append(el("option", { value: school.timezone, text: school.timezone }));
    }
    form.elements.timezone.value = school.timezone;
    form.elements.parents_in_class_chat.checked = school.parents_in_class_chat;
  }

  function open(school) {
    state.current = school;
    ET.$("school-card").hidden = false;
    ET.$("school-title").textContent = school.name;
    ET.$("school-manage").href = "/admin?school=" + school.id;
    if (A.superuser) A.useSchool(school.id);
    var form = ET.$("school-form");
    A.clearErrors(form);
    fill(form, school);
    if (A.superuser) loadAdmins();
    ET.$("school-card").focus();
  }

  function schoolBody(v) {
    var body = { name: v.name, address: v.address || null, timezone: v.timezone };
    if (v.parents_in_class_chat !== undefined) body.parents_in_class_chat = v.parents_in_class_chat;
    return body;
  }

  // ---------------------------------------------------------------- the school's administrators (superusers)

  function loadAdmins() {
    var box = ET.$("admins");
    return ET.api("/api/v1/admin/people?role=admin&school_id=" + state.current.id).then(function (page) {
      ET.clear(box);
      if (!page.items.length) { box.append(el("p", { class: "muted", text: t("No administrators yet.") })); return; }
      box.append(A.table(t("Administrators of the school"), [t("Full name"), t("Email"), t("Account"), t("Actions")],
        page.items.map(function (p) {
          var account = !p.is_active ? t("Switched off") : p.invited_until ? t("Invited") : t("Active");
          var actions = el("span", { class: "actions" });
          if (p.is_active) {
            actions.append(A.button(p.invited_until ? t("Send the invitation again") : t("Send a password reset link"),
              function () { sendLink(p); }, "secondary small"));
          }
          actions.append(A.button(p.is_active ? t("Switch the account off") : t("Switch the account on"),
            function () { setActive(p, !p.is_active); }, p.is_active ? "danger small" : "secondary small"));
          return [p.name, p.email, account, actions];
        })));
    }, function (err) { A.failure(box, err); });
  }

  function adminsSaid(text, kind) {
    var node = ET.$("admins-status");
    node.textContent = text;
    node.className = "form-status " + (kind || "ok");
  }

  function sendLink(p) {
    A.sendLink(p).then(adminsSaid, function (err) { adminsSaid(err.message, "error"); });
  }

  function setActive(p, active) {
    A.switchAccount(p, active).then(function (said) {
      if (!said) return;
      adminsSaid(said);
      loadAdmins();
    }, function (err) { adminsSaid(err.message, "error"); });
  }

  // ---------------------------------------------------------------- start

  function setup() {
    var form = ET.$("school-form");
    A.form(form, function (v) {
      return ET.api("/api/v1/schools/" + state.current.id, { method: "PATCH", body: schoolBody(v) });
    }, function (school) {
      A.status(form, t("Saved."), "ok");
      state.current = school;
      ET.$("school-title").textContent = school.name;
      load();
    });
    if (!A.superuser) return;
    document.querySelectorAll("[data-superuser]").forEach(function (node) { node.hidden = false; });
    var invite = ET.$("admin-invite-form");
    A.form(invite, function (v) {
      return ET.api("/api/v1/invitations", { method: "POST", body: A.clean({ role: "admin", school_id: state.current.id,
        last_name: v.last_name, first_name: v.first_name, middle_name: v.middle_name, email: v.email }) });
    }, function (person) {
      ["last_name", "first_name", "middle_name", "email"].forEach(function (name) { invite.elements[name].value = ""; });
      A.status(invite, ET.tg(person.gender, "%(name)s is invited: an email with a link to set a password is on its way.",
        { name: person.name }), "ok");
      loadAdmins();
    });
    var create = ET.$("new-school-form");
    A.form(create, function (v) {
      return ET.api("/api/v1/schools", { method: "POST", body: A.clean(schoolBody(v)) });
    }, function (school) {
      A.status(create, t("The school %(name)s is created.", { name: school.name }), "ok");
      create.elements.name.value = "";
      create.elements.address.value = "";
      load().then(function () { open(school); });
    });
  }

  A.start({ noSchool: true }).then(function () {
    setup();
    return load().then(function () {
      if (!A.superuser && state.schools.length) open(state.schools[0]);
    });
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
