// The password reset page: reads the token from the link, posts it with the new password to the API.
// Kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var t = ET.t;
  var form = document.getElementById("reset-form");
  var message = document.getElementById("message");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  // Drop the token from the address bar and history once read.
  window.history.replaceState(null, "", window.location.pathname);

  function show(text) { message.textContent = text; }

  if (!token) {
    form.hidden = true;
    show(t("The link has no reset code. Request the email again."));
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var password = form.elements.password.value;
    if (password !== form.elements.password2.value) {
      show(t("The passwords do not match."));
      return;
    }
    fetch("/api/v1/password-reset/confirm", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": ET.locale },
      body: JSON.stringify({ token: token, new_password: password }),
    }).then(function (response) {
      if (response.status === 204) {
        form.hidden = true;
        show(t("Password changed. Sign in with the new password; you are signed out on other devices."));
        return;
      }
      return response.json().then(function (body) {
        var error = body.error || {};
        var details = error.details && error.details.new_password;
        // Worded here by code: the reset service's own message is not in the catalogue yet.
        var known = { invalid_reset_token: t("This reset link is invalid or has expired. Request a new email.") };
        show(known[error.code] || (details ? details.join(" ") : error.message || t("Could not change the password.")));
      });
    }).catch(function () {
      show(t("No connection to the server. Try again."));
    });
  });
})();
