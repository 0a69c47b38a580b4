// A new password, with the token from the email's link or the code typed from the email. The token is read from
// the address once and dropped from it, so it stays out of the history.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Account;
  var t = ET.t;
  var form = ET.$("reset-form");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  if (token) window.history.replaceState(null, "", window.location.pathname);
  ET.$("code-field").hidden = Boolean(token);
  (token ? form.elements.password : form.elements.code).focus();

  var INVALID = t("This reset link is invalid or has expired. Request a new email.");
  var rules = { password: [A.newPassword], password2: [A.required, A.sameAs("password")] };
  if (!token) rules = Object.assign({ code: [function (value) { return value.trim() ? "" : t("Enter the code from the email."); }] }, rules);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    A.clear(form);
    if (!A.check(form, rules)) return;
    var code = token || form.elements.code.value.replace(/\s+/g, "");
    if (code.length < 10 || code.length > 200) { A.show(form, token ? {} : { code: INVALID }, token ? INVALID : ""); return; }
    A.busy(form, true);
    A.post("/api/v1/password-reset/confirm", { token: code, new_password: form.elements.password.value }).then(function () {
      form.hidden = true;
      ET.$("reset-again").hidden = true;
      var done = ET.$("reset-done");
      done.hidden = false;
      done.querySelector("a").focus();
    }, function (err) {
      A.busy(form, false);
      if (err.code === "invalid_reset_token") A.show(form, token ? {} : { code: INVALID }, token ? INVALID : "");
      else A.showError(form, err, { new_password: "password" });
    });
  });
})();
