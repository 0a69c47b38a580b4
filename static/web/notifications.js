// Notification settings: per kind, in the app or not, push or not, and email (at once, daily digest, never); the
// master email switch, the digest's hour, quiet hours and time zone; muted chats; push in this browser (the service
// worker /sw.js, a push subscription with the server's VAPID key, POSTed to /api/v1/push/subscriptions). Everything
// goes through the JSON API (docs/notifications.md).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var LABELS = {
    grade: t("New grades"), grade_changed: t("Changed grades"), grade_deleted: t("Deleted grades"),
    homework: t("Homework"), attendance: t("Attendance"), news: t("News and announcements"),
    message: t("Private messages"), reminder: t("Reminders to confirm news"),
    absence_note: t("Absence notes"), lesson_changed: t("Lesson changes"), final_mark: t("Final marks"),
    mention: t("Mentions in chats"), moderation: t("Chat moderation"),
    ack_request: t("Requests to confirm you have read something"), chat_message: t("Messages in your chat rooms"),
    homework_submitted: t("Homework handed in"), homework_returned: t("Homework returned for rework"),
  };
  var kinds = [];
  var titles = {};  // chat channel -> its title

  function emailOf(channels) {
    if (channels.indexOf("email") >= 0) return "email";
    if (channels.indexOf("digest") >= 0) return "digest";
    return "off";
  }

  function renderKinds(prefs) {
    var body = ET.clear(ET.$("kinds"));
    kinds = prefs.kinds.map(function (k) { return k.kind; });
    prefs.kinds.forEach(function (k) {
      var label = LABELS[k.kind] || k.kind;
      var email = el("select", { id: "email-" + k.kind, "aria-label": t("Email: %(kind)s", { kind: label }) },
        el("option", { value: "off", text: t("no email") }),
        el("option", { value: "email", text: t("at once") }),
        el("option", { value: "digest", text: t("in the daily digest") }));
      email.value = emailOf(k.channels);
      body.append(el("tr", { "data-kind": k.kind },
        el("th", { scope: "row", text: label }),
        el("td", {}, el("input", { type: "checkbox", id: "live-" + k.kind, checked: k.channels.indexOf("live") >= 0,
                                   "aria-label": t("In the app: %(kind)s", { kind: label }) })),
        el("td", {}, el("input", { type: "checkbox", id: "push-" + k.kind, checked: k.channels.indexOf("push") >= 0,
                                   "aria-label": t("Push: %(kind)s", { kind: label }) })),
        el("td", {}, email)));
    });
  }

  function renderMutes(prefs) {
    var list = ET.clear(ET.$("mutes"));
    ET.$("mutes-empty").hidden = prefs.mutes.length > 0;
    prefs.mutes.forEach(function (m) {
      var until = m.until ? t("until %(when)s", { when: ET.fmt.stamp(m.until) }) : t("until you unmute it");
      list.append(el("li", { "data-channel": m.channel }, el("span", { text: (titles[m.channel] || m.channel) + " — " + until + " " }),
        el("button", { type: "button", class: "link-button", text: t("Unmute"), onclick: function () {
          ET.api("/api/v1/profile/notifications/mutes/" + encodeURIComponent(m.channel), { method: "DELETE" })
            .then(load, function (err) { ET.toast(err.message, "error"); });
        } })));
    });
  }

  function render(prefs) {
    renderKinds(prefs);
    ET.$("email-mode").value = prefs.email;
    ET.$("digest-time").value = prefs.digest_time;
    ET.$("quiet-on").checked = prefs.quiet_start !== null;
    ET.$("quiet-start").value = prefs.quiet_start || "21:00";
    ET.$("quiet-end").value = prefs.quiet_end || "07:30";
    ET.$("quiet-weekends").checked = prefs.quiet_weekends;
    ET.$("timezone").value = prefs.timezone || "";
    ET.$("timezone-note").textContent = t("now: %(zone)s", { zone: prefs.effective_timezone });
    renderMutes(prefs);
  }

  function loadChats() {
    return ET.api("/api/v1/chats").then(function (data) {
      var select = ET.clear(ET.$("mute-channel"));
      data.items.forEach(function (c) {
        var title = c.kind === "class" ? t("Class %(name)s", { name: c.title }) : c.title || c.channel;
        titles[c.channel] = title;
        select.append(el("option", { value: c.channel, text: title }));
      });
      ET.$("mute-form").hidden = data.items.length === 0;
    });
  }

  function mute(event) {
    event.preventDefault();
    var seconds = Number(ET.$("mute-for").value);
    var body = seconds ? { until: new Date(Date.now() + seconds * 1000).toISOString() } : {};
    var channel = ET.$("mute-channel").value;
    ET.api("/api/v1/profile/notifications/mutes/" + encodeURIComponent(channel), { method: "PUT", body: body })
      .then(load, function (err) { ET.toast(err.message, "error"); });
  }

  function load() {
    return ET.api("/api/v1/profile/notifications").then(render, function (err) { ET.toast(err.message, "error"); });
  }

  function collect() {
    var chosen = {};
    kinds.forEach(function (kind) {
      var channels = [];
      if (ET.$("live-" + kind).checked) channels.push("live");
      if (ET.$("push-" + kind).checked) channels.push("push");
      var email = ET.$("email-" + kind).value;
      if (email !== "off") channels.push(email);
      chosen[kind] = channels;
    });
    var quiet = ET.$("quiet-on").checked;
    return {
      kinds: chosen, email: ET.$("email-mode").value, digest_time: ET.$("digest-time").value,
      quiet_start: quiet ? ET.$("quiet-start").value : null, quiet_end: quiet ? ET.$("quiet-end").value : null,
      quiet_weekends: ET.$("quiet-weekends").checked, timezone: ET.$("timezone").value.trim() || null,
    };
  }

  // ---------------------------------------------------------------- push in this browser

  function pushSupported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function keyBytes(base64url) {
    var raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function showPush(on, text) {
    ET.$("push-state").textContent = text;
    ET.$("push-enable").hidden = on;
    ET.$("push-disable").hidden = !on;
  }

  function registration() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  // The browser's own refusal (no push service, blocked permission) in words, not its English exception.
  function browserRefusal(err) {
    if (err && err.name === "NotAllowedError") {
      return t("Notifications are blocked for this site in the browser's settings; allow them there and try again.");
    }
    return t("This browser could not subscribe to push notifications: its push service is not available.");
  }

  function enablePush() {
    var button = ET.$("push-enable");
    button.disabled = true;
    ET.$("push-state").textContent = t("Turning on…");
    var apiFailed = false;
    var api = function (path, options) {
      return ET.api(path, options).catch(function (err) { apiFailed = true; throw err; });
    };
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw { name: "NotAllowedError" };
      return Promise.all([registration(), api("/api/v1/push/key")]);
    }).then(function (found) {
      return found[0].pushManager.subscribe({ userVisibleOnly: true,
                                              applicationServerKey: keyBytes(found[1].public_key) });
    }).then(function (subscription) {
      return api("/api/v1/push/subscriptions", { method: "POST", body: subscription.toJSON() });
    }).then(function () {
      showPush(true, t("Push notifications are on in this browser."));
    }, function (err) {
      showPush(false, apiFailed ? err.message : browserRefusal(err));
    }).then(function () { button.disabled = false; });
  }

  function disablePush() {
    navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) return null;
      return ET.api("/api/v1/push/subscriptions").then(function (list) {
        var mine = list.items.filter(function (s) { return s.endpoint === subscription.endpoint; });
        return Promise.all(mine.map(function (s) {
          return ET.api("/api/v1/push/subscriptions/" + s.id, { method: "DELETE" });
        }));
      }).then(function () { return subscription.unsubscribe(); });
    }).then(function () {
      showPush(false, t("Push notifications are off in this browser."));
    }, function (err) { ET.toast(err.message, "error"); });
  }

  function initPush() {
    if (!pushSupported()) {
      showPush(false, t("This browser cannot show push notifications."));
      ET.$("push-enable").hidden = true;
      return;
    }
    ET.$("push-enable").addEventListener("click", enablePush);
    ET.$("push-disable").addEventListener("click", disablePush);
    navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (subscription) showPush(true, t("Push notifications are on in this browser."));
      else showPush(false, t("Push notifications are off in this browser."));
    }, function () { showPush(false, t("Push notifications are off in this browser.")); });
  }

  ET.start().then(function () {
    initPush();
    ET.$("prefs-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var button = ET.$("prefs-save");
      button.disabled = true;
      ET.api("/api/v1/profile/notifications", { method: "PUT", body: collect() }).then(function (prefs) {
        render(prefs);
        ET.toast(t("Settings saved."));
      }, function (err) { ET.toast(err.message, "error"); }).then(function () { button.disabled = false; });
    });
    ET.$("mute-form").addEventListener("submit", mute);
    return loadChats().then(load);
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
