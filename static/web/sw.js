// The service worker of web push (docs/notifications.md, "Web push"), served at /sw.js so its scope is the whole
// site. It shows each push (title, body, the page to open; the payload was encrypted for this browser alone),
// opens or focuses that page on a click, and confirms a news item from the notification's action by the same
// signed one-click link the email carries.
//
// The listeners only hand the event's facts to edutrackPush and edutrackClick, which return the promise the
// event waits on: a test cannot click a notification, so tests/e2e/test_push_worker.py calls edutrackClick
// inside this worker with a notification a real push showed.
"use strict";

// It has no fetch handler, so a new version has nothing to stay consistent with: it takes over at once, and
// claims the tabs already open (the settings page that turned push on is one), since only a window this
// worker controls can be navigated to a notification's page.
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.edutrackPush = function (data) {
  var options = {
    body: data.body || "", tag: data.tag || undefined, lang: "ru",
    data: { url: data.url || "/", ack: data.ack || null },
  };
  if (data.ack) options.actions = [{ action: "ack", title: data.ack.title }];
  return self.registration.showNotification(data.title || "EduTrack", options);
};

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.edutrackPush(data));
});

// The browser lets a worker focus a window only for a short while after the click (a slow acknowledgement can
// outlast it); the page is at the right address either way, so a refused focus is not a failure.
function focusWindow(client) {
  return client.focus().catch(function () { return client; });
}

function openPage(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    var i;
    for (i = 0; i < windows.length; i += 1) {
      if (windows[i].url === url) return focusWindow(windows[i]);
    }
    if (!windows.length) return self.clients.openWindow(url);
    // The most recently focused tab (matchAll lists it first) goes there. navigate() refuses a tab this worker
    // does not control: then a window of its own rather than nothing at all.
    return windows[0].navigate(url).then(function (client) {
      return client ? focusWindow(client) : null;
    }, function () {
      return self.clients.openWindow(url);
    });
  });
}

self.edutrackClick = function (notification, action) {
  var info = notification.data || {};
  var page = info.url || "/";
  notification.close();
  if (action !== "ack" || !info.ack) return openPage(page);
  // No login needed: the link is the credential, and a repeat counts once. A link the API refuses (forged, the
  // account closed: 404; too many: 429) or no answer at all opens the page, whose button confirms.
  return fetch(info.ack.url, { method: "POST", credentials: "omit" }).then(function (response) {
    return response.ok ? null : openPage(page);
  }, function () {
    return openPage(page);
  });
};

self.addEventListener("notificationclick", function (event) {
  event.waitUntil(self.edutrackClick(event.notification, event.action));
});
