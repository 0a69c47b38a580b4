// The password reset page: reads the token from the link, posts it with the new password to the API.
// Kept out of the HTML so the Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var form = document.getElementById("reset-form");
  var message = document.getElementById("message");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  // Drop the token from the address bar and history once read.
  window.history.replaceState(null, "", window.location.pathname);

  function show(text) { message.textContent = text; }

  if (!token) {
    form.hidden = true;
    show("В ссылке нет кода восстановления. Запросите письмо ещё раз.");
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var password = form.elements.password.value;
    if (password !== form.elements.password2.value) {
      show("Пароли не совпадают.");
      return;
    }
    fetch("/api/v1/password-reset/confirm", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token, new_password: password }),
    }).then(function (response) {
      if (response.status === 204) {
        form.hidden = true;
        show("Пароль изменён. Войдите с новым паролем; на других устройствах вход завершён.");
        return;
      }
      return response.json().then(function (body) {
        var error = body.error || {};
        var details = error.details && error.details.new_password;
        show(details ? details.join(" ") : error.message || "Не удалось изменить пароль.");
      });
    }).catch(function () {
      show("Нет связи с сервером. Попробуйте ещё раз.");
    });
  });
})();
