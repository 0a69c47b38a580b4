// The login page: a tab that is already signed in goes straight to its home page.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var t = ET.t;
  // The pages a sign-in may return to; anything else in `next` goes to the user's home page.
  var PAGES = ["/diary", "/teacher", "/chat", "/news", "/profile", "/admin", "/admin/people", "/admin/classes",
    "/admin/subjects", "/admin/calendar", "/admin/timetable", "/admin/outbox", "/admin/schools"];
  // An open redirect would let a link send a fresh login anywhere. `next` is resolved the way the browser will
  // resolve it (tabs and newlines dropped, backslashes read as slashes, scheme-relative and absolute forms),
  // then only our own origin and one of our pages are kept.
  function pageFrom(raw) {
    if (!raw) return null;
    var url;
    try { url = new URL(raw, window.location.origin); } catch (e) { return null; }
    if (url.origin !== window.location.origin || PAGES.indexOf(url.pathname) < 0) return null;
    return url.pathname + url.search + url.hash;
  }
  var safeNext = pageFrom(new URLSearchParams(window.location.search).get("next"));
  var form = ET.$("login-form");
  var error = ET.$("login-error");
  ET.$("email").focus();
  // Signed in already (in another tab, or before): straight on, with this browser's login.
  ET.resume().then(function (user) {
    if (user) window.location.replace(safeNext || ET.homeFor(user));
  }, function () {});
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
