// The news page: everyone reads the news addressed to them (the school's, their classes', their role's), each
// labelled with whom it is for; a school's administrator also writes them: drafts, audiences (the school, a
// class, a role), publishing now or at a set time, editing, publishing a draft, deleting. A news item published
// while the page is open arrives as a "news" notification (core.js) and the list is read again.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var PAGE = 20;

  var ROLE_AUDIENCE = { student: t("For students"), parent: t("For parents"), teacher: t("For teachers"),
    admin: t("For administrators") };
  var STATUS = { draft: t("Draft"), scheduled: t("Scheduled"), published: t("Published") };
  var state = { user: null, manager: false, items: [], total: 0, filter: "", editing: null, fresh: {}, classes: [] };

  function audienceLabel(n) {
    if (n.audience === "class") return t("Class news %(name)s", { name: n.class_name || "" });
    if (n.audience === "role") return ROLE_AUDIENCE[n.role] || t("School news");
    return t("School news");
  }

  // "2026-12-06T09:00:00+03:00" as the value of a datetime-local input, in this browser's time.
  function localInput(iso) {
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return ET.isoDay(d) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  // ---------------------------------------------------------------- the list

  function load(more) {
    var offset = more ? state.items.length : 0;
    var query = "/api/v1/news?limit=" + PAGE + "&offset=" + offset + (state.filter ? "&status=" + state.filter : "");
    return ET.api(query).then(function (page) {
      state.items = more ? state.items.concat(page.items) : page.items;
      state.total = page.total;
      render();
    }, function (err) {
      ET.clear(ET.$("news-list")).append(el("li", { class: "error", role: "alert",
        text: t("Could not load: %(error)s", { error: err.message }) }));
    });
  }

  function meta(n) {
    var parts = el("p", { class: "news-meta" },
      el("span", { class: "tag news-audience", text: audienceLabel(n) }));
    if (n.status === "published" && n.published_at) {
      parts.append(" ", el("time", { datetime: n.published_at, text: ET.fmt.stamp(n.published_at) }));
    } else if (n.status === "scheduled" && n.publish_at) {
      parts.append(" ", el("span", { class: "state state-todo",
        text: t("Will be published %(when)s", { when: ET.fmt.stamp(n.publish_at) }) }));
    } else {
      parts.append(" ", el("span", { class: "state state-todo", text: STATUS[n.status] || n.status }));
    }
    if (n.author_name) parts.append(" ", el("span", { class: "muted news-author", text: n.author_name }));
    return parts;
  }

  function actions(n) {
    if (!state.manager) return null;
    var box = el("div", { class: "form-actions" },
      el("button", { type: "button", class: "secondary", text: t("Edit"), onclick: function () { edit(n); } }));
    if (n.status !== "published") {
      box.append(el("button", { type: "button", class: "primary", text: t("Publish now"),
        onclick: function () { publish(n); } }));
    }
    var del = el("button", { type: "button", class: "secondary danger", text: t("Delete") });
    del.addEventListener("click", function () {
      // The first click asks, the second deletes: no browser dialog in another language.
      if (!del.dataset.armed) { del.dataset.armed = "1"; del.textContent = t("Delete for good?"); return; }
      ET.api("/api/v1/news/" + n.id, { method: "DELETE" }).then(function () {
        ET.toast(t("The news item was deleted."), "info");
        load();
      }, function (err) { ET.toast(err.message, "error"); });
    });
    box.append(del);
    return box;
  }

  function render() {
    var list = ET.clear(ET.$("news-list"));
    if (!state.items.length) list.append(el("li", { class: "muted", text: t("No news yet.") }));
    state.items.forEach(function (n) {
      var titleId = "news-" + n.id + "-title";
      list.append(el("li", { class: "news-item" + (state.fresh[n.id] ? " fresh" : ""), "data-news-id": n.id },
        el("article", { "aria-labelledby": titleId },
          el("h3", { id: titleId, class: "news-title", text: n.title }),
          meta(n),
          el("p", { class: "news-body", text: n.body }),
          actions(n))));
    });
    ET.$("news-more").hidden = state.items.length >= state.total;
  }

  // ---------------------------------------------------------------- writing (administrators)

  function showFields() {
    var audience = ET.$("news-audience").value;
    ET.$("news-class-field").hidden = audience !== "class";
    ET.$("news-role-field").hidden = audience !== "role";
    ET.$("news-when-field").hidden = ET.$("news-status").value !== "scheduled";
  }

  function fieldError(name, text) {
    var node = ET.$("news-" + name + "-error");
    if (!node) return false;
    node.textContent = text || "";
    node.hidden = !text;
    return true;
  }

  function clearErrors() {
    ["title", "body", "form"].forEach(function (name) { fieldError(name, ""); });
  }

  function resetForm() {
    state.editing = null;
    ET.$("news-form").reset();
    ET.$("editor-title").textContent = t("Write news");
    ET.$("news-cancel").hidden = true;
    clearErrors();
    showFields();
  }

  function edit(n) {
    state.editing = n;
    ET.$("news-title").value = n.title;
    ET.$("news-body").value = n.body;
    ET.$("news-audience").value = n.audience;
    if (n.class_id) ET.$("news-class").value = String(n.class_id);
    if (n.role) ET.$("news-role").value = n.role;
    ET.$("news-status").value = n.status;
    ET.$("news-when").value = n.publish_at ? localInput(n.publish_at) : "";
    ET.$("editor-title").textContent = t("Edit news");
    ET.$("news-cancel").hidden = false;
    clearErrors();
    showFields();
    ET.$("news-title").focus();
  }

  function publish(n) {
    ET.api("/api/v1/news/" + n.id + "/publish", { method: "POST" }).then(function () {
      ET.toast(t("The news item is published."), "info");
      load();
    }, function (err) { ET.toast(err.message, "error"); });
  }

  function formBody() {
    var body = { title: ET.$("news-title").value.trim(), body: ET.$("news-body").value.trim(),
      audience: ET.$("news-audience").value, status: ET.$("news-status").value };
    if (body.audience === "class") body.class_id = Number(ET.$("news-class").value) || null;
    if (body.audience === "role") body.role = ET.$("news-role").value;
    if (body.status === "scheduled") body.publish_at = ET.$("news-when").value || null;
    return body;
  }

  function check(body) {
    var ok = true;
    if (!body.title) { fieldError("title", t("Write a title.")); ok = false; }
    if (!body.body) { fieldError("body", t("Write the text.")); ok = false; }
    if (body.status === "scheduled" && !body.publish_at) {
      fieldError("form", t("Choose when to publish."));
      ok = false;
    }
    return ok;
  }

  function save(event) {
    event.preventDefault();
    clearErrors();
    var body = formBody();
    if (!check(body)) return;
    var editing = state.editing;
    var request = editing
      ? ET.api("/api/v1/news/" + editing.id, { method: "PATCH", body: body })
      : ET.api("/api/v1/news", { method: "POST", body: Object.assign({ school_id: state.schoolId }, body) });
    request.then(function (saved) {
      ET.toast(saved.status === "published" ? t("The news item is published.")
        : saved.status === "scheduled" ? t("The news item will be published at the set time.")
          : t("The draft is saved."), "info");
      resetForm();
      load();
    }, function (err) {
      var details = err.details || {};
      var shown = Object.keys(details).some(function (name) {
        var text = [].concat(details[name]).join(" ");
        return fieldError(name, text);
      });
      if (!shown) fieldError("form", err.message);
      else if (details.class_id || details.role || details.publish_at || details.status) fieldError("form", err.message);
    });
  }

  function setupEditor() {
    ET.$("news-editor").hidden = false;
    ET.$("news-filter-field").hidden = false;
    ET.$("news-audience").addEventListener("change", showFields);
    ET.$("news-status").addEventListener("change", showFields);
    ET.$("news-form").addEventListener("submit", save);
    ET.$("news-cancel").addEventListener("click", resetForm);
    ET.$("news-filter").addEventListener("change", function () { state.filter = ET.$("news-filter").value; load(); });
    showFields();
    return ET.api("/api/v1/classes?limit=200&school_id=" + state.schoolId).then(function (page) {
      var select = ET.clear(ET.$("news-class"));
      page.items.slice().sort(function (a, b) {
        return a.grade_level - b.grade_level || a.name.localeCompare(b.name, ET.locale);
      }).forEach(function (c) { select.append(el("option", { value: c.id, text: c.name })); });
    }, function () {});
  }

  window.addEventListener("edutrack:notification", function (event) {
    var n = event.detail;
    if (n.kind !== "news" && !(n.kind === "ack_request" && n.payload && n.payload.news_id)) return;
    if (n.payload && n.payload.news_id) state.fresh[n.payload.news_id] = true;
    load();
  });

  ET.$("news-more").addEventListener("click", function () { load(true); });

  ET.start().then(function (user) {
    state.user = user;
    // A superuser writes for the school named by ?school= (as on the administrator's pages), else their own.
    var asked = user.is_superuser ? Number(new URLSearchParams(window.location.search).get("school")) || null : null;
    state.schoolId = asked || user.school_id || null;
    state.manager = !!state.schoolId && (user.role === "admin" || !!user.is_superuser);
    var ready = state.manager ? setupEditor() : Promise.resolve();
    return ready.then(function () { return load(); });
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
