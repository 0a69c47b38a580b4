// "Forgot your password?": asks for the reset email. The answer is the same whether or not the address is known.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Account;
  var t = ET.t;
  var form = ET.$("forgot-form");
  form.elements.email.focus();
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    A.clear(form);
    if (!A.check(form, { email: [A.email] })) return;
    A.busy(form, true);
    A.post("/api/v1/password-reset/request", { email: form.elements.email.value.trim() }).then(function () {
      form.hidden = true;
      ET.$("forgot-done").hidden = false;
      ET.$("forgot-sent").focus();
    }, function (err) {
      A.busy(form, false);
      if (err.status === 429) A.show(form, {}, t("Too many requests from this address. Try again in an hour."));
      else A.showError(form, err);
    });
  });
})();
