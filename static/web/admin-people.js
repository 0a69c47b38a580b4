// The school's people: find them (name, role, class, account), add one by invitation, and for one person send
// the password link, switch the account off or on, link parents and children, enrol in a class or move.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var PAGE = 50;
  var state = { offset: 0, total: 0, items: [], person: null, classes: [] };

  function statusOf(p) {
    if (!p.is_active) return t("Switched off");
    if (p.invited_until) {
      return Date.parse(p.invited_until) > Date.now()
        ? ET.tg(p.gender, "Invited; the link works until %(date)s", { date: A.date(p.invited_until) })
        : t("The invitation has expired");
    }
    return t("Active");
  }

  function belongs(p) {
    if (p.role === "parent") return p.children.map(function (c) { return c.name; }).join(", ");
    return p.classes.map(function (c) { return c.name; }).join(", ");
  }

  // ---------------------------------------------------------------- the list

  function query() {
    var form = ET.$("filter-form");
    var v = A.values(form);
    var parts = ["limit=" + PAGE, "offset=" + state.offset];
    ["q", "role", "class_id", "active"].forEach(function (key) {
      if (v[key]) parts.push(key + "=" + encodeURIComponent(v[key]));
    });
    return "/api/v1/admin/people?" + parts.join("&") + A.scope();
  }

  var loads = 0;
  function load() {
    var box = ET.$("people");
    var mine = ++loads;
    return ET.api(query()).then(function (page) {
      if (mine !== loads) return page; // a later search is on its way: its answer is the one to show
      state.items = page.items;
      state.total = page.total;
      render(box);
      return page;
    }, function (err) { A.failure(box, err); });
  }

  function render(box) {
    var count = ET.$("people-count");
    count.textContent = state.total
      ? ET.tn("%(num)s person found", "%(num)s people found", state.total) +
        (state.total > PAGE ? " " + t("(showing %(from)s–%(to)s)", { from: state.offset + 1,
          to: Math.min(state.offset + PAGE, state.total) }) : "")
      : t("Nobody matches.");
    ET.$("page-prev").disabled = state.offset === 0;
    ET.$("page-next").disabled = state.offset + PAGE >= state.total;
    ET.clear(box);
    if (!state.items.length) return;
    box.append(A.table(t("People"), [t("Full name"), t("Role"), t("Class or children"), t("Email"), t("Account")],
      state.items.map(function (p) {
        return [
          el("button", { type: "button", class: "link-button", "data-person-id": p.id, text: p.name,
            onclick: function () { open(p); } }),
          A.ROLES[p.role] || p.role, belongs(p), p.email, statusOf(p),
        ];
      })));
  }

  // ---------------------------------------------------------------- one person

  function fact(list, term, value) {
    if (!value) return;
    list.append(el("dt", { text: term }), el("dd", {}, value));
  }

  function unlinkButton(parentId, childId, name) {
    return A.button(t("Unlink"), function () {
      A.confirm(t("Unlink %(name)s?", { name: name }), t("Unlink")).then(function (yes) {
        if (!yes) return;
        ET.api("/api/v1/parent-links/" + parentId + "/" + childId, { method: "DELETE" })
          .then(function () { refresh(t("The link is removed.")); }, personError);
      });
    }, "secondary small", t("Unlink %(name)s", { name: name }));
  }

  function relatives(p) {
    var list = p.role === "parent" ? p.children : p.parents;
    if (!list.length) return null;
    var ul = el("ul", { class: "plain" });
    list.forEach(function (other) {
      var pair = p.role === "parent" ? [p.id, other.id] : [other.id, p.id];
      ul.append(el("li", {}, other.name, " ", unlinkButton(pair[0], pair[1], other.name)));
    });
    return ul;
  }

  function open(p) {
    state.person = p;
    var card = ET.$("person-card");
    card.hidden = false;
    ET.$("person-title").textContent = p.full_name;
    var facts = ET.clear(ET.$("person-facts"));
    fact(facts, t("Role"), A.ROLES[p.role] || p.role);
    fact(facts, t("Email"), p.email);
    fact(facts, t("Account"), statusOf(p));
    fact(facts, p.role === "teacher" ? t("Class teacher of") : t("Class"),
      p.classes.map(function (c) { return c.name; }).join(", "));
    fact(facts, p.role === "parent" ? t("Children") : t("Parents"), relatives(p));
    actions(p);
    ET.$("person-status").textContent = "";
    setupLinkForm(p);
    setupEnrolForm(p);
    card.focus();
  }

  function actions(p) {
    var box = ET.clear(ET.$("person-actions"));
    if (p.is_active) {
      box.append(A.button(p.invited_until ? t("Send the invitation again") : t("Send a password reset link"),
        function () { sendLink(p); }));
    }
    // Nobody switches themselves off; a school's administrator does not manage other administrators.
    var manageable = p.id !== A.user.id && (A.superuser || (p.role !== "admin" && !p.is_superuser));
    if (manageable) {
      box.append(p.is_active
        ? A.button(t("Switch the account off"), function () { setActive(p, false); }, "danger")
        : A.button(t("Switch the account on"), function () { setActive(p, true); }));
    }
  }

  function personError(err) {
    var node = ET.$("person-status");
    node.textContent = err.message;
    node.className = "form-status error";
  }

  function personDone(text) {
    var node = ET.$("person-status");
    node.textContent = text;
    node.className = "form-status ok";
  }

  function sendLink(p) {
    A.sendLink(p).then(personDone, personError);
  }

  function setActive(p, active) {
    A.switchAccount(p, active).then(function (said) { if (said) refresh(said); }, personError);
  }

  // Reload the list and show the same person again, as the API now describes them.
  function refresh(message) {
    var id = state.person && state.person.id;
    var email = state.person && state.person.email;
    return Promise.all([load(), ET.api("/api/v1/admin/people?q=" + encodeURIComponent(email) + A.scope())])
      .then(function (answers) {
        var fresh = answers[1].items.filter(function (p) { return p.id === id; })[0];
        if (fresh) open(fresh);
        if (message) personDone(message);
      });
  }

  function fillPicker(select, role, q) {
    return A.people(role, q).then(function (people) {
      A.options(select, people, function (p) { return p.name + (p.classes.length ? " (" + belongs(p) + ")" : ""); },
        people.length ? undefined : t("Nobody found"));
    });
  }

  function setupLinkForm(p) {
    var form = ET.$("link-form");
    form.hidden = p.role !== "parent" && p.role !== "student";
    if (form.hidden) return;
    A.clearErrors(form);
    form.elements.q.value = "";
    var other = p.role === "parent" ? "student" : "parent";
    ET.$("link-title").textContent = p.role === "parent" ? t("Link a child") : t("Link a parent");
    ET.$("link-person-label").textContent = p.role === "parent" ? t("Child") : t("Parent");
    fillPicker(form.elements.person_id, other, "");
  }

  function setupEnrolForm(p) {
    var form = ET.$("enrol-form");
    form.hidden = p.role !== "student";
    if (form.hidden) return;
    A.clearErrors(form);
    var current = p.classes[0];
    ET.$("enrol-title").textContent = current ? t("Move to another class") : t("Enrol in a class");
    ET.$("enrol-submit").textContent = current ? t("Move") : t("Enrol");
    A.options(form.elements.class_id, state.classes.filter(function (c) { return !current || c.id !== current.id; }),
      function (c) { return c.name; });
  }

  // ---------------------------------------------------------------- adding a person

  function showRoleFields(form) {
    var role = form.elements.role.value;
    form.querySelectorAll("[data-for-role]").forEach(function (node) {
      node.hidden = node.dataset.forRole !== role;
      node.querySelectorAll("select, input").forEach(function (field) { field.disabled = node.hidden; });
    });
  }

  function afterInvite(person, form, values) {
    var follow = [];
    if (person.role === "student" && values.class_id) {
      follow.push(ET.api("/api/v1/classes/" + values.class_id + "/students",
        { method: "POST", body: { student_ids: [person.id] } }));
    }
    if (person.role === "parent" && values.child_id) {
      follow.push(ET.api("/api/v1/parent-links", { method: "POST",
        body: { parent_id: person.id, child_id: Number(values.child_id) } }));
    }
    return Promise.all(follow).then(function () {
      ["last_name", "first_name", "middle_name", "email"].forEach(function (name) { form.elements[name].value = ""; });
      A.status(form, ET.tg(person.gender, "%(name)s is invited: an email with a link to set a password is on its way.",
        { name: person.name }), "ok");
      ET.$("filter-q").value = person.email;
      state.offset = 0;
      return load().then(function () { open(person); refresh(); });
    }, function (err) {
      A.status(form, t("%(name)s is invited, but this step failed: %(error)s", { name: person.name, error: err.message }),
        "error");
    });
  }

  function setupInvite() {
    var form = ET.$("invite-form");
    if (!A.superuser) form.querySelector("[data-superuser]").remove();
    A.options(form.elements.class_id, state.classes, function (c) { return c.name; }, t("No class yet"));
    form.elements.role.addEventListener("change", function () { showRoleFields(form); });
    showRoleFields(form);
    var childSearch = ET.$("invite-child-q");
    var pickChild = function () {
      return fillPicker(form.elements.child_id, "student", childSearch.value.trim()).then(function () {
        form.elements.child_id.prepend(el("option", { value: "", text: t("No child yet") }));
        form.elements.child_id.value = "";
      });
    };
    childSearch.addEventListener("input", debounce(pickChild));
    pickChild();
    var values = null;
    A.form(form, function (v) {
      values = v;
      var body = A.clean({ role: v.role, last_name: v.last_name, first_name: v.first_name,
        middle_name: v.middle_name, email: v.email, gender: v.gender });
      if (A.superuser) body.school_id = A.schoolId;
      return ET.api("/api/v1/invitations", { method: "POST", body: body });
    }, function (person) { return afterInvite(person, form, values); });
  }

  function debounce(fn) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, 250); };
  }

  // ---------------------------------------------------------------- start

  A.start().then(function () {
    var filters = ET.$("filter-form");
    filters.addEventListener("submit", function (event) { event.preventDefault(); state.offset = 0; load(); });
    ["role", "class_id", "active"].forEach(function (name) {
      filters.elements[name].addEventListener("change", function () { state.offset = 0; load(); });
    });
    ET.$("page-prev").addEventListener("click", function () { state.offset = Math.max(0, state.offset - PAGE); load(); });
    ET.$("page-next").addEventListener("click", function () { state.offset += PAGE; load(); });
    ET.$("person-close").addEventListener("click", function () {
      var id = state.person && state.person.id;
      ET.$("person-card").hidden = true;
      var back = document.querySelector('#people [data-person-id="' + id + '"]');
      (back || ET.$("filter-q")).focus();
    });
    var linkForm = ET.$("link-form");
    linkForm.elements.q.addEventListener("input", debounce(function () {
      fillPicker(linkForm.elements.person_id, state.person.role === "parent" ? "student" : "parent",
        linkForm.elements.q.value.trim());
    }));
    A.form(linkForm, function (v) {
      var p = state.person;
      var other = Number(v.person_id);
      var body = p.role === "parent" ? { parent_id: p.id, child_id: other } : { parent_id: other, child_id: p.id };
      return ET.api("/api/v1/parent-links", { method: "POST", body: body });
    }, function () { refresh(t("Linked.")); }, function (name) { return name === "child_id" || name === "parent_id" ? "person_id" : null; });
    A.form(ET.$("enrol-form"), function (v) {
      var p = state.person;
      var current = p.classes[0];
      if (current) {
        return ET.api("/api/v1/students/" + p.id + "/transfer", { method: "POST",
          body: { from_class_id: current.id, to_class_id: Number(v.class_id) } });
      }
      return ET.api("/api/v1/classes/" + v.class_id + "/students", { method: "POST", body: { student_ids: [p.id] } });
    }, function () { refresh(t("Done: the class is changed.")); },
    function (name) { return name === "to_class_id" ? "class_id" : null; });
    return A.classes().then(function (classes) {
      state.classes = classes;
      A.options(filters.elements.class_id, classes, function (c) { return c.name; }, t("All classes"));
      var asked = new URLSearchParams(window.location.search);
      if (asked.get("class_id")) filters.elements.class_id.value = asked.get("class_id");
      if (asked.get("role")) filters.elements.role.value = asked.get("role");
      setupInvite();
      return load();
    });
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
