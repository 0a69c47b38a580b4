// Shared by the administrator's pages (after core.js): who may use them and on which school, forms whose errors
// appear next to their fields, tables, a confirmation dialog, and the words for roles. Pages use window.Admin.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var A = (window.Admin = {});

  A.ROLES = { admin: t("Administrator"), teacher: t("Teacher"), student: t("Student"), parent: t("Parent") };
  A.ROLES_PLURAL = { admin: t("Administrators"), teacher: t("Teachers"), student: t("Students"), parent: t("Parents") };
  A.WEEKDAYS = [t("Monday"), t("Tuesday"), t("Wednesday"), t("Thursday"), t("Friday"), t("Saturday"), t("Sunday")];

  // ---------------------------------------------------------------- the school a page works on

  function blocked(text) {
    var box = ET.$("admin-blocked");
    box.textContent = text;
    box.hidden = false;
  }

  // Resolves with {user, schoolId, school, superuser} once the page may be used. A school's administrator works
  // on their school; a superuser on the school named by ?school= (without one: the schools page).
  A.start = function (options) {
    options = options || {};
    return ET.start().then(function (user) {
      var superuser = !!user.is_superuser;
      if (user.role !== "admin" && !superuser) {
        blocked(t("These pages are for the school's administrators."));
        return new Promise(function () {});
      }
      var asked = Number(new URLSearchParams(window.location.search).get("school")) || null;
      var schoolId = superuser ? asked || user.school_id : user.school_id;
      if (!schoolId && !options.noSchool) {
        if (superuser) { window.location.replace("/admin/schools"); return new Promise(function () {}); }
        blocked(t("Your account is not attached to a school; ask the superuser."));
        return new Promise(function () {});
      }
      A.superuser = superuser;
      A.user = user;
      A.useSchool(schoolId);
      var content = ET.$("admin-content");
      if (content) content.hidden = false;
      if (!schoolId) return { user: user, schoolId: null, school: null, superuser: superuser };
      return ET.api("/api/v1/schools/" + schoolId).then(function (school) {
        ET.$("admin-school").textContent = school.name;
        A.school = school;
        return { user: user, schoolId: schoolId, school: school, superuser: superuser };
      });
    });
  };

  // The school the sections work on; a superuser's links carry it (?school=).
  A.useSchool = function (schoolId) {
    A.schoolId = schoolId;
    if (!A.superuser || !schoolId) return;
    document.querySelectorAll("[data-admin-link]").forEach(function (link) {
      var path = link.getAttribute("href").split("?")[0];
      if (path !== "/admin/schools") link.href = path + "?school=" + schoolId;
    });
  };

  // "&school_id=7" for a superuser's list requests; nothing for a school's administrator (the API knows).
  A.scope = function (first) {
    if (!A.superuser || !A.schoolId) return "";
    return (first ? "?" : "&") + "school_id=" + A.schoolId;
  };

  // ---------------------------------------------------------------- forms

  A.values = function (form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled) return;
      if (field.type === "checkbox") { values[field.name] = field.checked; return; }
      values[field.name] = field.value.trim();
    });
    return values;
  };

  // Drop empty optional values and turn numeric ones into numbers, as the API expects them.
  A.clean = function (values, numbers) {
    var body = {};
    Object.keys(values).forEach(function (key) {
      var value = values[key];
      if (value === "" || value === null || value === undefined) return;
      body[key] = (numbers || []).indexOf(key) >= 0 ? Number(value) : value;
    });
    return body;
  };

  function errorNode(form, field) {
    var id = field.id + "-error";
    var node = document.getElementById(id);
    if (!node) {
      node = el("p", { class: "field-error", id: id });
      var holder = field.closest(".field") || field.parentNode;
      holder.append(node);
    }
    return node;
  }

  A.clearErrors = function (form) {
    form.querySelectorAll(".field-error").forEach(function (node) { node.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== field.id + "-error";
      });
      if (described.length) field.setAttribute("aria-describedby", described.join(" "));
      else field.removeAttribute("aria-describedby");
    });
    var status = form.querySelector(".form-status");
    if (status) { status.textContent = ""; status.className = "form-status"; }
  };

  function flatten(details, prefix, out) {
    Object.keys(details || {}).forEach(function (key) {
      var value = details[key];
      var name = prefix ? prefix + "." + key : key;
      if (Array.isArray(value)) out[name] = value.filter(function (v) { return typeof v === "string"; }).join(" ");
      else if (value && typeof value === "object") flatten(value, name, out);
      else if (typeof value === "string") out[name] = value;
    });
    return out;
  }

  // Put each message next to its field (by name; `fieldFor` maps other names), focus the first one (unless
  // `quiet`: a check while the person types). What no field takes goes to the form's status line. Returns the
  // messages no field took.
  A.showErrors = function (form, err, fieldFor, quiet) {
    var byField = flatten(err && err.details && typeof err.details === "object" ? err.details : {}, "", {});
    var first = null;
    var rest = [];
    Object.keys(byField).forEach(function (name) {
      var fieldName = fieldFor ? fieldFor(name) || name : name;
      var field = form.elements.namedItem(fieldName);
      if (field && field.nodeType === 1 && byField[name]) {
        var node = errorNode(form, field);
        node.textContent = byField[name];
        field.setAttribute("aria-invalid", "true");
        var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (described.indexOf(node.id) < 0) described.push(node.id);
        field.setAttribute("aria-describedby", described.join(" "));
        if (!first) first = field;
      } else if (byField[name]) {
        rest.push(byField[name]);
      }
    });
    var message = err && err.message ? err.message : t("Something went wrong; try again.");
    // The general message is shown when no field explains it, or alongside the fields' own words.
    A.status(form, first && !rest.length ? t("Check the marked fields.") : [message].concat(rest).filter(function (text, i, all) {
      return all.indexOf(text) === i;
    }).join(" "), "error");
    if (first && !quiet) first.focus();
    return rest;
  };

  A.status = function (form, text, kind) {
    var node = form.querySelector(".form-status");
    if (!node) return;
    node.textContent = text;
    node.className = "form-status" + (kind ? " " + kind : "");
  };

  // The browser's own checks are off (their bubbles speak the browser's language and vanish): required fields
  // are checked here, in the page's words, next to each field.
  function missingRequired(form) {
    var details = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.required && !field.disabled && !field.closest("[hidden]") && !field.value.trim()) {
        details[field.name] = [t("Fill in this field.")];
      }
    });
    return Object.keys(details).length ? details : null;
  }

  // submit(values, form) returns a promise; its result goes to done(result, form). While it runs the submit
  // button is disabled; a refusal puts the API's words next to the fields they are about.
  A.form = function (form, submit, done, fieldFor) {
    form.noValidate = true;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      A.clearErrors(form);
      var missing = missingRequired(form);
      if (missing) { A.showErrors(form, { details: missing, message: t("Fill in the required fields.") }); return; }
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      A.status(form, t("Saving…"));
      var pending;
      try { pending = Promise.resolve(submit(A.values(form), form)); } catch (e) { pending = Promise.reject(e); }
      pending.then(function (result) {
        A.status(form, "");
        if (done) done(result, form);
      }, function (err) {
        A.showErrors(form, err, fieldFor);
      }).finally(function () { if (button) button.disabled = false; });
    });
  };

  // ---------------------------------------------------------------- small building blocks

  A.options = function (select, items, label, empty) {
    var keep = select.value;
    ET.clear(select);
    if (empty !== undefined) select.append(el("option", { value: "", text: empty }));
    items.forEach(function (item) { select.append(el("option", { value: item.id, text: label(item) })); });
    if (keep && select.querySelector('option[value="' + keep + '"]')) select.value = keep;
  };

  // A table inside a scrolling wrapper: headers is a list of texts, rows a list of lists of cells (text or nodes).
  A.table = function (caption, headers, rows, className) {
    var head = el("tr");
    headers.forEach(function (h) { head.append(el("th", { scope: "col", text: h })); });
    var body = el("tbody");
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell, i) {
        var td = el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {});
        if (cell instanceof Node) td.append(cell); else td.textContent = cell === null || cell === undefined ? "" : cell;
        tr.append(td);
      });
      body.append(tr);
    });
    return el("div", { class: "table-wrap" },
      el("table", { class: className || "admin-table" }, el("caption", { class: "visually-hidden", text: caption }),
        el("thead", {}, head), body));
  };

  A.failure = function (container, err) {
    ET.clear(container).append(el("p", { class: "error", role: "alert",
      text: t("Could not load: %(error)s", { error: err.message }) }));
  };

  // A question with two answers in a modal dialog: the keyboard stays inside, Escape says no.
  A.confirm = function (question, yes) {
    return new Promise(function (resolve) {
      var dialog = el("dialog", { class: "confirm", "aria-labelledby": "confirm-text" });
      var answer = function (value) { dialog.close(); dialog.remove(); resolve(value); };
      dialog.append(el("p", { id: "confirm-text", text: question }),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "primary", text: yes, onclick: function () { answer(true); } }),
          el("button", { type: "button", class: "secondary", text: t("Cancel"), onclick: function () { answer(false); } })));
      dialog.addEventListener("cancel", function (event) { event.preventDefault(); answer(false); });
      document.body.append(dialog);
      dialog.showModal();
      dialog.querySelector(".secondary").focus();
    });
  };

  // `label`: what a screen reader says when the visible word alone is ambiguous ("Delete" in a list of subjects).
  A.button = function (text, onclick, className, label) {
    return el("button", { type: "button", class: className || "secondary", text: text, onclick: onclick,
      "aria-label": label });
  };

  // ---------------------------------------------------------------- a person's account

  // Switch a person's account off (after asking) or on. Resolves with the sentence that says what happened, or
  // null when the administrator changed their mind.
  A.switchAccount = function (p, active) {
    var ask = active ? Promise.resolve(true)
      : A.confirm(t("Switch off the account of %(name)s? They are signed out everywhere at once.", { name: p.name }),
        t("Switch off"));
    return ask.then(function (yes) {
      if (!yes) return null;
      return ET.api("/api/v1/users/" + p.id, { method: "PATCH", body: { is_active: active } }).then(function () {
        return active ? ET.tg(p.gender, "%(name)s is switched on again.", { name: p.name })
          : ET.tg(p.gender, "%(name)s is switched off and signed out everywhere.", { name: p.name });
      });
    });
  };

  // Email a person the link that sets their password (the invitation again while it waits); resolves with the
  // sentence that says so.
  A.sendLink = function (p) {
    return ET.api("/api/v1/users/" + p.id + "/password-reset", { method: "POST" }).then(function (result) {
      return result.kind === "invitation"
        ? t("The invitation is sent again to %(email)s.", { email: p.email })
        : t("A password reset link is sent to %(email)s.", { email: p.email });
    }, function (err) {
      if (err.status === 429) err.message = t("This person has had enough links for now; try again in an hour.");
      throw err;
    });
  };

  // Every class of the school in the order a school reads them: 5А, 5Б, ... 11А (the API sorts by grade).
  A.classes = function () {
    return ET.api("/api/v1/classes?limit=200" + A.scope()).then(function (page) { return page.items; });
  };

  // The school's active people of a role, by surname (at most 200: pickers, not lists).
  A.people = function (role, q) {
    return ET.api("/api/v1/admin/people?limit=200&active=true&role=" + role + (q ? "&q=" + encodeURIComponent(q) : "") +
      A.scope()).then(function (page) { return page.items; });
  };

  A.terms = function () {
    return ET.api("/api/v1/schools/" + A.schoolId + "/terms");
  };

  // A moment (ISO, UTC) as the school's wall clock: {day: "2026-09-07", time: "09:00"}.
  A.wallClock = function (iso, tz) {
    var parts = {};
    new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso)).forEach(function (p) {
      parts[p.type] = p.value;
    });
    return { day: parts.year + "-" + parts.month + "-" + parts.day, time: parts.hour + ":" + parts.minute };
  };

  A.date = function (iso) { return iso ? ET.fmt.date(iso.slice(0, 10)) : ""; };
})();
