// The login page: a tab that is already signed in goes straight to its home page.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var t = ET.t;
  var next = new URLSearchParams(window.location.search).get("next");
  // Only same-site paths: an open redirect would let a link send a fresh login anywhere.
  var safeNext = next && /^\/(?!\/)/.test(next) && next.indexOf("\\") < 0 ? next : null;
  if (ET.session && ET.session.access && ET.session.refreshExp * 1000 > Date.now()) {
    window.location.replace(safeNext || ET.homeFor(ET.session.user));
    return;
  }
  var form = ET.$("login-form");
  var error = ET.$("login-error");
  ET.$("email").focus();
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.textContent = "";
    var email = form.elements.email.value.trim();
    var password = form.elements.password.value;
    if (!email || !password) { error.textContent = t("Enter your email and password."); return; }
    var button = form.querySelector("button");
    button.disabled = true;
    ET.login(email, password).then(function (user) {
      window.location.assign(safeNext || ET.homeFor(user));
    }, function (err) {
      button.disabled = false;
      error.textContent = err.status === 401 ? t("Wrong email or password.")
        : err.status === 429 ? t("Too many attempts. Wait a little and try again.")
          : err.message || t("Could not sign in. Check your connection.");
    });
  });
})();
