// The service worker of web push (docs/notifications.md, "Web push"), served at /sw.js so its scope is the whole
// site. It shows each push (title, body, the page to open; the payload was encrypted for this browser alone),
// opens or focuses that page on a click, and confirms a news item from the notification's action by the same
// signed one-click link the email carries.
"use strict";

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var options = {
    body: data.body || "", tag: data.tag || undefined, lang: "ru",
    data: { url: data.url || "/", ack: data.ack || null },
  };
  if (data.ack) options.actions = [{ action: "ack", title: data.ack.title }];
  event.waitUntil(self.registration.showNotification(data.title || "EduTrack", options));
});

function openPage(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    var i;
    for (i = 0; i < windows.length; i += 1) {
      if (windows[i].url === url && "focus" in windows[i]) return windows[i].focus();
    }
    for (i = 0; i < windows.length; i += 1) {
      if ("navigate" in windows[i]) {
        return windows[i].navigate(url).then(function (client) { return client ? client.focus() : null; });
      }
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  var info = event.notification.data || {};
  event.notification.close();
  if (event.action === "ack" && info.ack) {
    // No login needed: the link is the credential, and a repeat counts once.
    event.waitUntil(fetch(info.ack.url, { method: "POST", credentials: "omit" }).catch(function () {
      return openPage(info.url || "/");
    }));
    return;
  }
  event.waitUntil(openPage(info.url || "/"));
});
