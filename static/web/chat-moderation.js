// Moderation on the chat page. Everyone may report a message of someone else ("Report": chat.js puts the button,
// the form is here). Moderators (the class teacher, the school's admins) get: the report inbox across every chat
// they moderate (GET /api/v1/chat-reports), where each report is dismissed, its message deleted with a reason, or
// its author muted, and which follows new reports live; and, in a chat they moderate, slow mode and mutes of its
// members.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var room = null;     // the open chat, when the user moderates it
  var people = {};     // user id -> name, of the open chat's members
  var inboxShown = false;

  function chatUrl(name, rest) { return "/api/v1/chats/" + encodeURIComponent(name) + rest; }
  function me() { return ET.session && ET.session.user; }
  function fail(err) { ET.toast(err.message, "error"); }

  // ---------------------------------------------------------------- reporting a message (every member)

  function reportForm(channel, m, node) {
    var inputId = "report-reason-" + m.id;
    var input = el("input", { id: inputId, maxlength: 500, autocomplete: "off" });
    var form = el("form", { class: "report-form" },
      el("label", { for: inputId, text: t("What is wrong with this message?") }), input,
      el("div", { class: "form-actions" },
        el("button", { type: "submit", class: "secondary", text: t("Send report") }),
        el("button", { type: "button", class: "link-button", text: t("Cancel"),
          onclick: function () { form.remove(); } })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ET.api(chatUrl(channel, "/messages/" + m.id + "/report"), { method: "POST",
        body: { reason: input.value.trim() || null } }).then(function () {
        form.remove();
        ET.toast(t("Your report went to the chat's moderators."));
      }, fail);
    });
    var old = node.querySelector(".report-form");
    if (old) old.remove();
    node.append(form);
    input.focus();
  }

  // ---------------------------------------------------------------- the report inbox (moderators)

  function loadInbox() {
    return ET.api("/api/v1/chat-reports").then(function (page) {
      var user = me();
      var always = user && (user.role === "admin" || user.is_superuser);
      if (!always && !page.items.length && !inboxShown) return;
      inboxShown = true;
      ET.$("report-inbox").hidden = false;
      var list = ET.clear(ET.$("report-list"));
      page.items.forEach(function (r) { list.append(reportNode(r)); });
      ET.$("report-inbox-empty").hidden = page.items.length > 0;
    }, function () {});
  }

  function reportNode(r) {
    var title = ET.chat ? ET.chat.title(r.channel) : r.channel;
    var reasonId = "decision-reason-" + r.id;
    var minutesId = "decision-minutes-" + r.id;
    var reason = el("input", { id: reasonId, maxlength: 500, autocomplete: "off" });
    var minutes = el("select", { id: minutesId },
      el("option", { value: "60", text: t("1 hour") }), el("option", { value: "1440", text: t("1 day") }),
      el("option", { value: "10080", text: t("1 week") }));
    function decide(outcome) {
      var body = { outcome: outcome, reason: reason.value.trim() || null };
      if (outcome === "mute") body.minutes = Number(minutes.value);
      ET.api("/api/v1/chat-reports/" + r.id + "/decide", { method: "POST", body: body }).then(function () {
        ET.toast(outcome === "dismiss" ? t("Report dismissed.") : t("Report dealt with."));
        loadInbox();
      }, fail);
    }
    return el("li", { class: "report" },
      el("a", { href: "/chat?channel=" + encodeURIComponent(r.channel), class: "report-chat", text: title,
        onclick: function (event) { if (ET.chat && ET.chat.openAt(r.channel, r.message_id)) event.preventDefault(); } }),
      el("p", { class: "message-meta", text: t("Author: %(name)s", { name: r.sender || "" }) + " · " +
        ET.fmt.stamp(r.created_at) }),
      el("p", { class: "message-text" + (r.deleted ? " muted" : ""), text: r.deleted ? t("message deleted") : r.text }),
      el("p", { class: "report-by", text: r.reason
        ? t("Reported by %(name)s: %(reason)s", { name: r.reporter, reason: r.reason })
        : t("Reported by %(name)s", { name: r.reporter }) }),
      el("div", { class: "report-decision" },
        el("label", { for: reasonId, text: t("Reason told to the author") }), reason,
        el("label", { for: minutesId, text: t("Mute for") }), minutes,
        el("div", { class: "form-actions" },
          r.deleted ? null : el("button", { type: "button", class: "secondary", text: t("Delete message"),
            onclick: function () { decide("delete"); } }),
          el("button", { type: "button", class: "secondary", text: t("Mute the author"),
            onclick: function () { decide("mute"); } }),
          el("button", { type: "button", class: "link-button", text: t("Dismiss"),
            onclick: function () { decide("dismiss"); } }))));
  }

  // ---------------------------------------------------------------- the open chat: slow mode and mutes

  function openRoom(name, state) {
    var moderator = Boolean(state && state.moderator);
    room = moderator ? name : null;
    ET.$("moderation-box").hidden = !moderator;
    if (!moderator) return;
    var select = ET.$("slow-mode-select");
    var seconds = String(state.slow_mode_seconds || 0);
    if (!select.querySelector('option[value="' + seconds + '"]')) {
      select.append(el("option", { value: seconds, text: ET.tn("%(num)s second", "%(num)s seconds",
        Number(seconds)) }));
    }
    select.value = seconds;
    ET.api(chatUrl(name, "/members")).then(function (page) {
      if (room !== name) return;
      people = {};
      var members = ET.clear(ET.$("mute-member"));
      var user = me();
      page.items.forEach(function (m) {
        people[m.id] = m.name;
        if (!user || m.id !== user.id) members.append(el("option", { value: String(m.id), text: m.name }));
      });
      loadMutes(name);
    }, function () {});
  }

  function loadMutes(name) {
    ET.api(chatUrl(name, "/mutes")).then(function (page) {
      if (room !== name) return;
      var list = ET.clear(ET.$("mute-list"));
      if (!page.items.length) list.append(el("li", { class: "muted", text: t("Nobody is muted.") }));
      page.items.forEach(function (m) {
        var who = people[m.user_id] || t("Member no. %(id)s", { id: m.user_id });
        list.append(el("li", { class: "mute" },
          el("span", { text: t("%(name)s until %(time)s", { name: who, time: ET.fmt.stamp(m.until) }) }), " ",
          el("button", { type: "button", class: "link-button", text: t("Lift"),
            "aria-label": t("Lift the mute of %(name)s", { name: who }),
            onclick: function () {
              ET.api(chatUrl(name, "/mutes/" + m.user_id), { method: "DELETE" })
                .then(function () { loadMutes(name); }, fail);
            } })));
      });
    }, function () {});
  }

  ET.$("slow-mode-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!room) return;
    var seconds = Number(ET.$("slow-mode-select").value);
    ET.api(chatUrl(room, "/slow-mode"), { method: "PUT", body: { seconds: seconds } }).then(function () {
      ET.toast(seconds ? t("Slow mode is on.") : t("Slow mode is off."));
    }, fail);
  });

  ET.$("mute-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = room;
    if (!name || !ET.$("mute-member").value) return;
    var body = { user_id: Number(ET.$("mute-member").value), minutes: Number(ET.$("mute-minutes").value),
      reason: ET.$("mute-reason").value.trim() || null };
    ET.api(chatUrl(name, "/mutes"), { method: "POST", body: body }).then(function () {
      ET.$("mute-reason").value = "";
      ET.toast(t("%(name)s is muted.", { name: people[body.user_id] || "" }));
      loadMutes(name);
    }, fail);
  });

  ET.$("report-refresh").addEventListener("click", loadInbox);

  // A chat this user moderates had a message reported, or its reports dealt with by another moderator (events.py,
  // "reports" on the user's feed): the inbox re-reads, once for a burst.
  var inboxTimer = null;
  window.addEventListener("edutrack:live", function (event) {
    var frame = event.detail;
    if (!frame || frame.type !== "reports") return;
    clearTimeout(inboxTimer);
    inboxTimer = setTimeout(loadInbox, 150);
  });

  ET.chatModeration = {
    reportForm: reportForm,
    room: openRoom,
    start: function (user) {
      if (user.is_superuser || user.role === "teacher" || user.role === "admin") loadInbox();
    },
  };
})();
