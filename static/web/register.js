// Self-registration of a student or a parent; signs the browser in at once (the login cookie, like the login page).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Account;
  var t = ET.t;
  var form = ET.$("register-form");
  if (!form) return;
  form.elements.last_name.focus();
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    A.clear(form);
    var ok = A.check(form, {
      last_name: [A.required], first_name: [A.required], email: [A.email], password: [A.newPassword],
      password2: [A.required, A.sameAs("password")],
    });
    if (!ok) return;
    var v = form.elements;
    var body = { role: v.role.value, last_name: v.last_name.value.trim(), first_name: v.first_name.value.trim(),
      email: v.email.value.trim(), password: v.password.value };
    if (v.middle_name.value.trim()) body.middle_name = v.middle_name.value.trim();
    A.busy(form, true);
    A.post("/api/v1/auth/register", body, ET.cookieMode).then(function (result) {
      ET.signedIn(result);
      window.location.assign(ET.homeFor(result.user));
    }, function (err) {
      A.busy(form, false);
      if (err.code === "email_taken") A.show(form, { email: t("An account with this email already exists. Sign in or reset the password.") });
      else if (err.status === 429) A.show(form, {}, t("Too many registrations from this address. Try again later."));
      else A.showError(form, err);
    });
  });
})();
