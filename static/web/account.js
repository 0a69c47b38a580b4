// Shared by the account pages (forgot and reset password, registration, profile), after core.js: forms checked
// by our own words (the forms are `novalidate`, so no browser tooltip in another language), errors next to their
// fields, and calls to the API without a login. Pages use window.Account.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var t = ET.t;
  var A = (window.Account = {});
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function errorNode(field) {
    var id = field.id + "-error";
    var node = document.getElementById(id);
    if (!node) {
      node = ET.el("p", { class: "field-error", id: id });
      field.after(node);
    }
    return node;
  }

  // Every message of the last attempt goes: nothing stale stays next to a field or in the status line.
  A.clear = function (form) {
    form.querySelectorAll(".field-error").forEach(function (node) { node.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
    A.status(form, "", "");
  };

  A.status = function (form, text, kind) {
    var node = form.querySelector(".form-status");
    if (!node) return;
    node.textContent = text;
    node.dataset.kind = kind || "";
  };

  // {field name: message or [messages]}: each next to its field, the first field focused. What no field takes
  // goes to the status line. Returns whether anything was shown.
  A.show = function (form, details, summary) {
    var first = null;
    var rest = [];
    Object.keys(details || {}).forEach(function (name) {
      var text = Array.isArray(details[name]) ? details[name].join(" ") : String(details[name]);
      var field = form.elements.namedItem(name);
      if (field && field.nodeType === 1) {
        var node = errorNode(field);
        node.textContent = text;
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", node.id);
        if (!first) first = field;
      } else {
        rest.push(text);
      }
    });
    var message = rest.concat(summary ? [summary] : []).join(" ");
    if (message) A.status(form, message, "error");
    if (first) first.focus();
    return Boolean(first || message);
  };

  // The API's error: its messages by field (already in the page's language), else its message.
  A.showError = function (form, err, fieldFor) {
    var details = {};
    var raw = err && err.details && typeof err.details === "object" ? err.details : {};
    Object.keys(raw).forEach(function (key) { details[(fieldFor && fieldFor[key]) || key] = raw[key]; });
    var shown = Object.keys(details).length > 0;
    A.show(form, details, shown ? "" : (err && err.message) || t("Something went wrong; try again."));
  };

  // Our own checks before anything is sent. rules: {name: [check, ...]}; a check returns a message or "".
  A.check = function (form, rules) {
    var found = {};
    Object.keys(rules).forEach(function (name) {
      var value = form.elements.namedItem(name).value;
      rules[name].some(function (rule) {
        var message = rule(value, form);
        if (message) found[name] = message;
        return Boolean(message);
      });
    });
    return Object.keys(found).length ? (A.show(form, found), false) : true;
  };

  A.required = function (value) { return value.trim() ? "" : t("Fill in this field."); };
  A.email = function (value) {
    if (!value.trim()) return t("Enter your email.");
    return EMAIL.test(value.trim()) ? "" : t("This does not look like an email address: name@example.ru.");
  };
  A.newPassword = function (value) {
    if (!value) return t("Think of a new password.");
    if (value.length < 8) return t("The password must be at least 8 characters long.");
    return value.length > 128 ? t("The password must be at most 128 characters long.") : "";
  };
  A.sameAs = function (other) {
    return function (value, form) {
      return value === form.elements.namedItem(other).value ? "" : t("The passwords do not match.");
    };
  };

  // POST without a login; resolves with the answer's JSON (null for 204), rejects with an Error that carries
  // the API's status, code and details.
  A.post = function (path, body, headers) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json", "Accept-Language": ET.locale }, headers || {}),
      body: JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) return data;
        var error = (data && data.error) || {};
        var err = new Error(error.message || t("Error %(status)s", { status: response.status }));
        err.status = response.status;
        err.code = error.code;
        err.details = error.details;
        throw err;
      });
    }, function () { throw new Error(t("No connection to the server. Try again.")); });
  };

  A.busy = function (form, on) {
    form.querySelectorAll("button").forEach(function (button) { button.disabled = on; });
  };
})();
