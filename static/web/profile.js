// The profile: name, email notifications, password, and the sessions of this account with a sign-out for each
// and for all of them.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Account;
  var el = ET.el;
  var t = ET.t;
  var BROWSERS = [["Edg/", "Edge"], ["OPR/", "Opera"], ["YaBrowser", "Yandex"], ["Firefox/", "Firefox"],
    ["Chrome/", "Chrome"], ["Safari/", "Safari"]];
  var SYSTEMS = [["Android", "Android"], ["iPhone", "iOS"], ["iPad", "iPadOS"], ["Windows", "Windows"],
    ["Mac OS", "macOS"], ["Linux", "Linux"]];

  function pick(agent, table) {
    var found = table.filter(function (row) { return agent.indexOf(row[0]) >= 0; })[0];
    return found ? found[1] : "";
  }
  // "Chrome, Windows" from a user agent; a program's own agent as it is, shortened.
  function device(agent) {
    if (!agent) return t("Unknown device");
    var parts = [pick(agent, BROWSERS), pick(agent, SYSTEMS)].filter(Boolean);
    return parts.length ? parts.join(", ") : agent.slice(0, 60);
  }

  function fillProfile(user) {
    var form = ET.$("profile-form");
    var p = user.profile;
    form.elements.last_name.value = p.last_name || "";
    form.elements.first_name.value = p.first_name || "";
    form.elements.middle_name.value = p.middle_name || "";
    ET.$("profile-email").textContent = user.email;
    var choice = form.querySelector('input[name="email_notifications"][value="' + p.email_notifications + '"]');
    if (choice) choice.checked = true;
    var name = ET.$("user-name");
    if (name) name.textContent = p.full_name || user.email;
  }

  function profileForm() {
    var form = ET.$("profile-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      A.clear(form);
      if (!A.check(form, { last_name: [A.required], first_name: [A.required] })) return;
      var v = form.elements;
      var body = { last_name: v.last_name.value.trim(), first_name: v.first_name.value.trim(),
        middle_name: v.middle_name.value.trim() || null };
      var chosen = form.querySelector('input[name="email_notifications"]:checked');
      if (chosen) body.email_notifications = chosen.value;
      A.busy(form, true);
      ET.api("/api/v1/profile/me", { method: "PUT", body: body }).then(function (user) {
        ET.session.user = user;
        fillProfile(user);
        A.status(form, t("Saved."), "ok");
      }, function (err) { A.showError(form, err); }).finally(function () { A.busy(form, false); });
    });
  }

  function passwordForm() {
    var form = ET.$("password-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      A.clear(form);
      var ok = A.check(form, { current_password: [A.required], new_password: [A.newPassword],
        new_password2: [A.required, A.sameAs("new_password")] });
      if (!ok) return;
      A.busy(form, true);
      ET.api("/api/v1/profile/me/password", { method: "PUT", headers: ET.cookieMode,
        body: { current_password: form.elements.current_password.value, new_password: form.elements.new_password.value },
      }).then(function (pair) {
        ET.adoptTokens(pair);
        form.reset();
        A.status(form, t("Password changed. Other devices are signed out."), "ok");
        loadSessions();
      }, function (err) { A.showError(form, err); }).finally(function () { A.busy(form, false); });
    });
  }

  function sessionItem(s) {
    var since = t("signed in %(when)s", { when: ET.fmt.stamp(s.created_at) });
    var used = t("last active %(when)s", { when: ET.fmt.stamp(s.last_used_at) });
    var end = s.current ? null : el("button", { type: "button", class: "secondary", text: t("Sign out"),
      "aria-label": t("Sign out on %(device)s", { device: device(s.user_agent) }),
      onclick: function () { endOne(s); } });
    return el("li", { class: "session" + (s.current ? " current" : ""), "data-session": s.id },
      el("span", { class: "session-device", text: device(s.user_agent) }),
      s.current ? el("span", { class: "tag", text: t("this browser") }) : null, end,
      el("span", { class: "session-times muted", text: since + " · " + used }));
  }

  function loadSessions() {
    return ET.api("/api/v1/profile/sessions").then(function (data) {
      var list = ET.clear(ET.$("session-list"));
      data.items.forEach(function (s) { list.append(sessionItem(s)); });
    }, function (err) { sessionsStatus(err.message, "error"); });
  }

  function sessionsStatus(text, kind) {
    var node = ET.$("sessions-status");
    node.textContent = text;
    node.dataset.kind = kind;
  }

  function endOne(s) {
    sessionsStatus("", "");
    ET.api("/api/v1/profile/sessions/" + encodeURIComponent(s.id), { method: "DELETE" }).then(function () {
      sessionsStatus(t("Signed out on %(device)s.", { device: device(s.user_agent) }), "ok");
      loadSessions();
    }, function (err) { sessionsStatus(err.message, "error"); });
  }

  ET.start().then(function (user) {
    fillProfile(user);
    profileForm();
    passwordForm();
    loadSessions();
    ET.$("end-all").addEventListener("click", function () {
      if (!window.confirm(t("Sign out on every device, this browser included?"))) return;
      ET.api("/api/v1/profile/sessions", { method: "DELETE" }).then(function () {
        ET.signOutHere();
      }, function (err) { sessionsStatus(err.message, "error"); });
    });
  });
})();
