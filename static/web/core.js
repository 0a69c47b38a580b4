// EduTrack web client, shared by every page: the session (one login per browser: the refresh token in an HttpOnly
// cookie this script cannot read, the access token in this page's memory only and refreshed before it expires),
// a JSON API helper, the live connection to /ws with lossless resume, the notification feed and
// toasts. Pages add their own script after this one and use window.EduTrack.
(function () {
  "use strict";

  var ET = (window.EduTrack = {});
  // Every form of the web client is sent by its page's script; one submitted before that script has bound it
  // (a fast click while the page still loads its data) would otherwise navigate with its fields in the URL. Its
  // own handler (which runs first, the event bubbling here) has prevented the navigation; if none did, the page
  // says why nothing happened. Forms with an action of their own (unsubscribe, acknowledgement links) still
  // submit natively.
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute("action") || event.defaultPrevented) return;
    event.preventDefault();
    ET.toast(ET.t("The page is still loading; try again in a moment."));
  });
  // Sent with login, refresh, logout and password change: the refresh token travels in the HttpOnly cookie,
  // not in the JSON (README, "One login per browser").
  var COOKIE_MODE = { "X-EduTrack-Session": "cookie" };
  // Not a secret, only a hint that this browser signed in, so a page does not ask for a refresh it cannot get.
  var SIGNED_IN_KEY = "edutrack.signed-in";
  var REFRESH_MARGIN_MS = 60000; // refresh the access token a minute before it expires

  // ---------------------------------------------------------------- words (docs/i18n.md)

  // The page embeds the catalogue of the messages its scripts use, in the page's language:
  // {locale, plural: CLDR categories of the plural forms in order, messages: {id: text or [forms]}}.
  var I18N = (function () {
    var node = document.getElementById("i18n-catalogue");
    try { return JSON.parse(node ? node.textContent : "null") || {}; } catch (e) { return {}; }
  })();
  ET.locale = I18N.locale || document.documentElement.lang || "ru";
  var MESSAGES = I18N.messages || {};
  var PLURAL = I18N.plural || ["one", "other"];
  var pluralRules = new Intl.PluralRules(ET.locale);

  // "%(name)s" takes params.name; "%%" is a percent sign (the same format as the server's).
  function fill(text, params) {
    return text.replace(/%\((\w+)\)s|%%/g, function (match, name) {
      if (!name) return "%";
      return params && params[name] !== undefined && params[name] !== null ? String(params[name]) : match;
    });
  }
  function lookup(key) { return Object.prototype.hasOwnProperty.call(MESSAGES, key) ? MESSAGES[key] : undefined; }

  // t("Could not load: %(error)s", {error: text}): the message in the page's language.
  ET.t = function (key, params) {
    var text = lookup(key);
    return fill(typeof text === "string" ? text : key, params);
  };
  // tn("%(num)s grade", "%(num)s grades", n): the plural form the language needs for n (1 оценка, 5 оценок).
  ET.tn = function (singular, plural, n, params) {
    var forms = lookup(singular);
    var values = Object.assign({ num: n }, params);
    if (!Array.isArray(forms)) return fill(n === 1 ? singular : plural, values);
    var index = PLURAL.indexOf(pluralRules.select(n));
    return fill(forms[index < 0 ? forms.length - 1 : index], values);
  };
  // tg(gender, "%(name)s was late"): words that agree with a person's gender ("опоздал", "опоздала");
  // without a known gender, the neutral wording.
  ET.tg = function (gender, key, params) {
    var text = gender === "male" || gender === "female" ? lookup(gender + "\u0004" + key) : undefined;
    return typeof text === "string" ? fill(text, params) : ET.t(key, params);
  };
  var t = ET.t;

  // ---------------------------------------------------------------- small DOM helpers

  // Build an element: el("li", {class: "x", text: "..."}, child, ...). Text always goes through textContent,
  // so nothing from the server is ever parsed as HTML.
  ET.el = function (tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  };
  ET.$ = function (id) { return document.getElementById(id); };
  ET.clear = function (node) { while (node.firstChild) node.removeChild(node.firstChild); return node; };

  var dateFmt = new Intl.DateTimeFormat(ET.locale, { day: "numeric", month: "long" });
  var dayFmt = new Intl.DateTimeFormat(ET.locale, { weekday: "long", day: "numeric", month: "long" });
  var timeFmt = new Intl.DateTimeFormat(ET.locale, { hour: "2-digit", minute: "2-digit" });
  var stampFmt = new Intl.DateTimeFormat(ET.locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  ET.fmt = {
    date: function (d) { return dateFmt.format(typeof d === "string" ? ET.parseDay(d) : d); },
    day: function (d) { return dayFmt.format(d); },
    time: function (iso) { return timeFmt.format(new Date(iso)); },
    stamp: function (iso) { return stampFmt.format(new Date(iso)); },
  };
  // "2026-11-27" as a local date (new Date("2026-11-27") would be UTC midnight).
  ET.parseDay = function (s) { var p = s.split("-"); return new Date(+p[0], +p[1] - 1, +p[2]); };
  ET.isoDay = function (d) {
    var m = d.getMonth() + 1, day = d.getDate();
    return d.getFullYear() + "-" + (m < 10 ? "0" : "") + m + "-" + (day < 10 ? "0" : "") + day;
  };
  ET.monday = function (d) {
    var copy = new Date(d.getFullYear(), d.getMonth(), d.getDate());
    copy.setDate(copy.getDate() - ((copy.getDay() + 6) % 7));
    return copy;
  };
  ET.addDays = function (d, n) { var c = new Date(d.getTime()); c.setDate(c.getDate() + n); return c; };

  // ---------------------------------------------------------------- toasts

  // The same text again while its toast is still up does not stack a second one: the toast shows how many
  // times it came ("×12") and stays up 8 s from the last one.
  ET.toast = function (text, kind) {
    var box = ET.$("toasts");
    if (!box) return;
    var cls = "toast" + (kind ? " toast-" + kind : "");
    var same = Array.prototype.find.call(box.children, function (node) {
      return node.className === cls && node.dataset.text === text;
    });
    if (same) {
      same.count += 1;
      var counter = same.querySelector(".toast-count");
      counter.hidden = false;
      counter.textContent = "×" + same.count;
      counter.setAttribute("aria-label", ET.tn("repeated %(num)s time", "repeated %(num)s times", same.count));
      clearTimeout(same.timer);
      same.timer = setTimeout(function () { same.remove(); }, 8000);
      return;
    }
    var item = ET.el("div", { class: cls, "data-text": text },
      ET.el("span", { class: "toast-text", text: text }), ET.el("span", { class: "toast-count", hidden: true }));
    item.count = 1;
    var close = ET.el("button", { type: "button", class: "toast-close", "aria-label": t("Close"), text: "×",
      onclick: function () { item.remove(); } });
    item.append(close);
    box.append(item);
    item.timer = setTimeout(function () { item.remove(); }, 8000);
  };

  // ---------------------------------------------------------------- session

  // {user, access, accessExp}: in this page's memory only. A page that opens gets its access token from the
  // cookie (ET.resume); every tab of the browser shares that one login.
  ET.session = null;
  var tabs = typeof BroadcastChannel === "function" ? new BroadcastChannel("edutrack.session") : null;
  function tellTabs(message) { if (tabs) tabs.postMessage(message); }
  function signedInHint(on) {
    try {
      if (on) window.localStorage.setItem(SIGNED_IN_KEY, "1"); else window.localStorage.removeItem(SIGNED_IN_KEY);
    } catch (e) { /* private mode: the page asks anyway */ }
  }
  function mayBeSignedIn() {
    try { return window.localStorage.getItem(SIGNED_IN_KEY) !== null; } catch (e) { return true; }
  }

  ET.homeFor = function (user) {
    if (user && (user.role === "admin" || user.is_superuser)) return user.school_id ? "/admin" : "/admin/schools";
    return user && user.role === "teacher" ? "/teacher" : "/diary";
  };

  // The API answers in the language this page asks for (Accept-Language); the websocket's own errors carry a
  // code the page words itself, so a message never reaches the page in another language.
  var SOCKET_ERRORS = {
    invalid_json: t("The connection sent a broken request; reload the page."),
    invalid_frame: t("The connection sent a broken request; reload the page."),
    unknown_type: t("The connection sent a broken request; reload the page."),
    frame_too_large: t("The message is too long."),
    rate_limited: t("Too many messages; wait a moment."),
    not_subscribed: t("You are not in this chat."),
    already_subscribed: t("This chat is already open."),
    too_many_subscriptions: t("Too many chats are open at once."),
    unauthorized: t("Your session has ended; sign in again."),
    token_expired: t("Your session has ended; sign in again."),
    token_revoked: t("Your session has ended; sign in again."),
    internal_error: t("Something went wrong on our side; try again."),
    validation_error: t("The message was not accepted; check it and try again."),
    not_found: t("This chat or message no longer exists."),
    forbidden: t("You are not allowed to do this"),
    service_unavailable: t("The service is temporarily unavailable; try again in a minute."),
  };
  ET.socketError = function (code, message) { return SOCKET_ERRORS[code] || errorText(code, message); };
  function errorText(code, message) {
    return message || (code ? t("Something went wrong (%(code)s).", { code: code }) : "");
  }

  function readError(response) {
    return response.json().then(function (body) {
      var error = (body && body.error) || {};
      var err = new Error(errorText(error.code, error.message) || t("Error %(status)s", { status: response.status }));
      err.status = response.status;
      err.code = error.code;
      err.details = error.details;
      return err;
    }, function () {
      var err = new Error(t("Error %(status)s", { status: response.status }));
      err.status = response.status;
      return err;
    });
  }

  function storeTokens(pair) {
    ET.session.access = pair.access_token;
    ET.session.accessExp = pair.access_expires_at;
    scheduleRefresh();
  }
  // A new pair from another call in cookie mode (a password change): the cookie was replaced, keep the access token.
  ET.adoptTokens = function (pair) { if (ET.session) storeTokens(pair); };
  ET.cookieMode = COOKIE_MODE;

  // Kept across tabs and restarts (unlike the session): with it, other people's failed logins to this account
  // do not slow this browser down. It opens nothing by itself.
  var DEVICE_KEY = "edutrack.device";
  function deviceTokens() {
    try { return JSON.parse(window.localStorage.getItem(DEVICE_KEY)) || {}; } catch (e) { return {}; }
  }

  ET.login = function (email, password) {
    var key = email.trim().toLowerCase();
    var payload = { email: email, password: password };
    var known = deviceTokens()[key];
    if (known) payload.device_token = known;
    return fetch("/api/v1/auth/login", {
      method: "POST", credentials: "same-origin",
      headers: Object.assign({ "Content-Type": "application/json", "Accept-Language": ET.locale }, COOKIE_MODE),
      body: JSON.stringify(payload),
    }).then(function (response) {
      if (!response.ok) return readError(response).then(function (err) { throw err; });
      return response.json().then(function (body) {
        var devices = deviceTokens();
        devices[key] = body.device_token;
        try { window.localStorage.setItem(DEVICE_KEY, JSON.stringify(devices)); } catch (e) { /* private mode */ }
        ET.signedIn(body);
        return body.user;
      });
    });
  };

  // The answer of a login or registration made in cookie mode: this page holds the access token, the browser
  // the login, and the other tabs hear of it.
  ET.signedIn = function (body) {
    ET.session = { user: body.user };
    storeTokens(body);
    signedInHint(true);
    tellTabs({ type: "login", user: body.user.id });
  };

  // Signs this browser out: the server revokes the login and clears the cookie; every other tab leaves too.
  ET.logout = function () {
    endHere();
    tellTabs({ type: "logout" });
    var done = function () { window.location.assign("/login"); };
    fetch("/api/v1/auth/logout", {
      method: "POST", credentials: "same-origin", headers: Object.assign({ "Accept-Language": ET.locale }, COOKIE_MODE),
    }).then(done, done);
  };

  // The server has ended this browser's login already (sign out everywhere): leave, with every tab.
  ET.signOutHere = function () {
    endHere();
    tellTabs({ type: "logout" });
    window.location.assign("/login");
  };

  function endHere() {
    ET.session = null;
    signedInHint(false);
    clearTimeout(refreshTimer);
    if (ET.live) ET.live.stop();
  }

  function sessionLost() {
    endHere();
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  if (tabs) {
    tabs.onmessage = function (event) {
      var message = event.data || {};
      var page = document.body.dataset.page;
      if (message.type === "logout" && ET.session) {
        endHere();
        window.location.assign("/login");
      } else if (message.type === "login" && (page === "login" || (ET.session && ET.session.user.id !== message.user))) {
        // Signed in in another tab: the login page moves on; a page of another account shows the new one.
        window.location.reload();
      }
    };
  }

  var refreshTimer = null;
  var refreshing = null;
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!ET.session || !ET.session.accessExp) return;
    // A minute before expiry, or at half of what is left for short-lived tokens; never in a tight loop.
    var left = ET.session.accessExp * 1000 - Date.now();
    var delay = Math.max(left - REFRESH_MARGIN_MS, left / 2, 1000);
    ET.refreshDueAt = Date.now() + delay;
    refreshTimer = setTimeout(function () { ET.refresh().catch(function () {}); }, delay);
  }

  // The cookie's refresh token works once: tabs take turns (Web Locks), and the server gives a tab that raced
  // another one moments after a rotation a sibling token (REFRESH_REUSE_GRACE).
  function cookieRefresh() {
    var call = function () {
      return fetch("/api/v1/auth/refresh", {
        method: "POST", credentials: "same-origin",
        headers: Object.assign({ "Accept-Language": ET.locale }, COOKIE_MODE),
      });
    };
    return navigator.locks && navigator.locks.request ? navigator.locks.request("edutrack.refresh", call) : call();
  }

  // One refresh at a time in this page: a second caller waits for the first.
  ET.refresh = function () {
    if (refreshing) return refreshing;
    if (!ET.session) return Promise.reject(new Error(t("You are not signed in.")));
    refreshing = cookieRefresh().then(function (response) {
      if (response.status === 401) { sessionLost(); throw new Error(t("Your session has ended; sign in again.")); }
      if (!response.ok) return readError(response).then(function (err) { throw err; });
      return response.json().then(function (pair) {
        if (!ET.session) return;
        storeTokens(pair);
        if (ET.live) ET.live.reauth();
      });
    }).finally(function () { refreshing = null; });
    return refreshing;
  };

  // A page that opens: an access token from the browser's login (the cookie) and whose login it is (the refresh
  // answers both in cookie mode); null when this browser is not signed in.
  ET.resume = function () {
    if (!mayBeSignedIn()) return Promise.resolve(null);
    return cookieRefresh().then(function (response) {
      if (response.status === 401) { signedInHint(false); return null; }
      if (!response.ok) return readError(response).then(function (err) { throw err; });
      return response.json().then(function (pair) {
        ET.session = { user: pair.user };
        storeTokens(pair);
        return pair.user;
      });
    });
  };

  // JSON API call with the access token; one retry after a refresh when the token was refused.
  ET.api = function (path, options, retried) {
    options = options || {};
    var headers = { Authorization: "Bearer " + (ET.session ? ET.session.access : ""), "Accept-Language": ET.locale };
    if (options.headers) Object.assign(headers, options.headers);
    var init = { method: options.method || "GET", headers: headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(path, init).then(function (response) {
      if (response.status === 401 && !retried && ET.session) {
        return ET.refresh().then(function () { return ET.api(path, options, true); });
      }
      if (!response.ok) return readError(response).then(function (err) { throw err; });
      if (response.status === 204) return null;
      return response.json();
    });
  };

  // Upload one file (POST /api/v1/files, the body is the file): its {id, name, type, size, has_thumbnail}.
  ET.upload = function (file, retried) {
    return fetch("/api/v1/files?name=" + encodeURIComponent(file.name), {
      method: "POST", body: file,
      headers: { Authorization: "Bearer " + (ET.session ? ET.session.access : ""), "Accept-Language": ET.locale,
        "Content-Type": "application/octet-stream" }
    }).then(function (response) {
      if (response.status === 401 && !retried && ET.session) {
        return ET.refresh().then(function () { return ET.upload(file, true); });
      }
      if (!response.ok) return readError(response).then(function (err) { throw err; });
      return response.json();
    });
  };

  // Files are served only with the bearer token (never by a bare URL): fetched as a blob, then shown or saved.
  ET.fetchFile = function (path, retried) {
    return fetch(path, { headers: { Authorization: "Bearer " + (ET.session ? ET.session.access : "") } })
      .then(function (response) {
        if (response.status === 401 && !retried && ET.session) {
          return ET.refresh().then(function () { return ET.fetchFile(path, true); });
        }
        if (!response.ok) throw new Error(ET.t("The file is not available"));
        return response.blob();
      });
  };
  ET.saveFile = function (file) {
    ET.fetchFile("/api/v1/files/" + file.id).then(function (blob) {
      var link = ET.el("a", { href: URL.createObjectURL(blob), download: file.name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    }, function (err) { ET.toast(err.message, "error"); });
  };

  ET.sizeText = function (bytes) {
    return bytes < 1024 * 1024 ? ET.t("%(size)s KB", { size: Math.max(1, Math.round(bytes / 1024)) })
      : ET.t("%(size)s MB", { size: (bytes / 1024 / 1024).toFixed(1) });
  };

  // Attached files ({id, name, type, size, has_thumbnail}) as download buttons, an image with its thumbnail
  // (fetched with the token, like the file); null for none.
  ET.fileLinks = function (files) {
    if (!files || !files.length) return null;
    var box = ET.el("ul", { class: "attachments" });
    files.forEach(function (f) {
      var open = ET.el("button", { type: "button", class: "link-button attachment-link", "data-file-id": f.id,
        onclick: function () { ET.saveFile(f); } });
      if (f.has_thumbnail) {
        var img = ET.el("img", { class: "attachment-thumb", alt: "", width: 120 });
        ET.fetchFile("/api/v1/files/" + f.id + "/thumbnail").then(function (blob) {
          img.src = URL.createObjectURL(blob);
        }, function () { img.remove(); });
        open.append(img);
      }
      open.append(f.name + " (" + ET.sizeText(f.size) + ")");
      box.append(ET.el("li", { class: "attachment" }, open));
    });
    return box;
  };

  // ---------------------------------------------------------------- live connection (/ws)

  // Keeps one socket open, re-opens it after a drop (with backoff, at once when the browser is back online),
  // and on every (re)connect subscribes each watched channel with the last id seen there, so the server replays
  // what was missed before live events continue (docs/websocket.md, "Resume").
  function Live() {
    this.ws = null;
    this.watches = {};       // channel -> {cursor, seen (feed ids), handlers}
    this.pending = {};       // req -> {resolve, reject}
    this.reqSeq = 0;
    this.attempt = 0;
    this.stopped = false;
    this.everReady = false;
    this.retryTimer = null;
    this.heartbeat = null;
    this.lastFrameAt = 0;
    this.listeners = {};
    var self = this;
    window.addEventListener("offline", function () {
      // Do not wait for TCP to notice: close now, show it, and come back on "online".
      self.setState("offline");
      if (self.ws) self.ws.close(4000, "offline");
    });
    window.addEventListener("online", function () {
      if (!self.stopped && (!self.ws || self.ws.readyState > 1)) { self.attempt = 0; self.connect(); }
    });
  }

  Live.prototype.on = function (type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); };
  Live.prototype.emit = function (type, frame) {
    (this.listeners[type] || []).forEach(function (fn) { fn(frame); });
  };

  Live.prototype.setState = function (state) {
    this.state = state;
    var node = ET.$("conn-status");
    if (node) {
      node.dataset.state = state;
      node.textContent = { online: t("Online"), connecting: t("Connecting…"), offline: t("No connection, reconnecting…") }[state];
    }
    this.emit("state", state);
  };

  Live.prototype.connect = function () {
    if (this.stopped || !ET.session) return;
    clearTimeout(this.retryTimer);
    if (!navigator.onLine) { this.setState("offline"); return; }
    var self = this;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + window.location.host + "/ws?lang=" + encodeURIComponent(ET.locale),
        ["edutrack.v1", "bearer." + ET.session.access]);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.setState(this.everReady ? "offline" : "connecting");
    ws.onmessage = function (event) {
      self.lastFrameAt = Date.now();
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      self.handle(frame);
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) return;
      self.ws = null;
      clearInterval(self.heartbeat);
      Object.keys(self.pending).forEach(function (req) {
        self.pending[req].reject(new Error(t("No connection to the server. Try again.")));
      });
      self.pending = {};
      if (self.stopped) return;
      self.setState("offline");
      if (event.code === 4001) { sessionLost(); return; }
      if (event.code === 4002) {
        ET.refresh().then(function () { self.connect(); }, function () {});
        return;
      }
      self.scheduleReconnect();
    };
  };

  Live.prototype.scheduleReconnect = function () {
    var self = this;
    if (!navigator.onLine) return; // the "online" event reconnects
    var delay = Math.min(8000, 300 * Math.pow(2, this.attempt)) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.retryTimer = setTimeout(function () { self.connect(); }, delay);
  };

  Live.prototype.stop = function () {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000, "bye");
  };

  Live.prototype.send = function (frame) {
    if (!this.ws || this.ws.readyState !== 1 || !this.ready) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  };

  // Send a frame and wait for its reply (ack, subscribed, read.ok, ...) or its error.
  Live.prototype.request = function (frame) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var req = "r" + (++self.reqSeq);
      frame.req = req;
      if (!self.send(frame)) { reject(new Error(t("No connection to the server. Try again."))); return; }
      self.pending[req] = { resolve: resolve, reject: reject };
    });
  };

  Live.prototype.reauth = function () {
    if (this.ws && this.ready && ET.session) this.send({ type: "auth", token: ET.session.access });
  };

  // handlers: {event(frame), subscribed(frame, resumed), resync(frame)}. `since` is the last id already shown
  // (from a REST page); without it the channel starts live from now.
  Live.prototype.watch = function (channel, since, handlers) {
    this.watches[channel] = { cursor: since, seen: {}, handlers: handlers };
    if (this.ready) this.subscribe(channel, false);
  };

  Live.prototype.unwatch = function (channel) {
    delete this.watches[channel];
    if (this.ready) this.send({ type: "unsubscribe", channel: channel });
  };

  Live.prototype.subscribe = function (channel, resumed) {
    var w = this.watches[channel];
    var frame = { type: "subscribe", channel: channel };
    if (w.cursor !== null && w.cursor !== undefined) frame.since = w.cursor;
    this.request(frame).then(function (reply) {
      if (w.handlers.subscribed) w.handlers.subscribed(reply, resumed);
    }, function () {});
  };

  Live.prototype.handle = function (frame) {
    var self = this;
    if (frame.req !== undefined && this.pending[frame.req]) {
      var waiter = this.pending[frame.req];
      delete this.pending[frame.req];
      if (frame.type === "error") {
        var err = new Error(ET.socketError(frame.code, frame.message));
        err.code = frame.code;
        waiter.reject(err);
      } else {
        waiter.resolve(frame);
      }
      return;
    }
    switch (frame.type) {
      case "ready":
        var resumed = this.everReady;
        this.ready = true;
        this.everReady = true;
        this.attempt = 0;
        this.setState("online");
        this.startHeartbeat();
        Object.keys(this.watches).forEach(function (channel) { self.subscribe(channel, resumed); });
        this.emit("ready", frame);
        return;
      case "auth.expiring":
        // Usually the page's own timer is about to refresh anyway; refresh now only if it would be too late.
        if (!ET.refreshDueAt || ET.refreshDueAt > frame.expires_at * 1000 - 2000) ET.refresh().catch(function () {});
        return;
      case "resync":
        var rw = this.watches[frame.channel];
        if (rw && rw.handlers.resync) rw.handlers.resync(frame);
        return;
      case "error":
        this.emit("error", frame);
        return;
      case "pong":
        return;
      case "unsubscribed":
        // Ended by the server (the user left the chat): stop watching it, so a reconnect does not ask again.
        var ended = this.watches[frame.channel];
        delete this.watches[frame.channel];
        if (ended && ended.handlers.revoked) ended.handlers.revoked(frame);
        return;
    }
    var w = frame.channel && this.watches[frame.channel];
    if (!w) { this.emit(frame.type, frame); return; }
    if (frame.type === "chat.message" || frame.type === "notification") {
      // Drop what was already shown: a replayed id, or one the REST page already had.
      if (frame.type === "notification") {
        // Feed ids are global and may arrive out of order, so the cursor cannot de-duplicate them.
        if (w.seen[frame.id]) return;
        w.seen[frame.id] = true;
      } else if (w.cursor !== null && w.cursor !== undefined && frame.id <= w.cursor) {
        return;
      }
      w.cursor = Math.max(w.cursor || 0, frame.id);
    }
    w.handlers.event(frame);
  };

  // Application-level ping: a socket whose peer vanished without a FIN (a dead Wi-Fi) is noticed within ~35 s.
  Live.prototype.startHeartbeat = function () {
    var self = this;
    clearInterval(this.heartbeat);
    this.lastFrameAt = Date.now();
    this.heartbeat = setInterval(function () {
      if (!self.ws) return;
      if (Date.now() - self.lastFrameAt > 35000) { self.ws.close(4000, "heartbeat timeout"); return; }
      self.send({ type: "ping" });
    }, 15000);
  };

  Object.defineProperty(Live.prototype, "ready", {
    get: function () { return this._ready && this.ws && this.ws.readyState === 1; },
    set: function (value) { this._ready = value; },
  });

  // ---------------------------------------------------------------- notification feed

  var KIND_LABELS = {
    grade: t("New grade"), grade_changed: t("Grade changed"), grade_deleted: t("Grade deleted"),
    homework: t("Homework"), attendance: t("Attendance"), news: t("News"), message: t("Private message"),
    reminder: t("Reminder"), ack_request: t("Please confirm you have read it"), chat_message: t("Chat message"),
  };

  // News and chat announcements that ask the reader to confirm ("ознакомлен"): one click, counted once
  // (docs/notifications.md).
  function ackButton(payload) {
    if (payload.ack !== true) return null;
    var url = typeof payload.news_id === "number" ? "/api/v1/news/" + payload.news_id + "/ack"
      : typeof payload.channel === "string" && typeof payload.message_id === "number"
        ? "/api/v1/chats/" + encodeURIComponent(payload.channel) + "/messages/" + payload.message_id + "/ack" : null;
    if (!url) return null;
    // The state is kept on the item's payload: confirming marks the row read, and the "read" frame draws the list
    // again, maybe before the answer comes; the button drawn then must show where things stand.
    if (payload.confirmed === true) {
      return ET.el("button", { type: "button", class: "link-button feed-ack", disabled: true, text: t("Confirmed") });
    }
    return ET.el("button", { type: "button", class: "link-button feed-ack", text: t("Confirm you have read it"),
      disabled: payload.confirmed === "pending",
      onclick: function (event) {
        var button = event.currentTarget;
        button.disabled = true;
        payload.confirmed = "pending";
        // The same button when nothing drew the list meanwhile (it keeps the focus); else the list again.
        function show() { if (document.contains(button)) return true; ET.feed.render(); return false; }
        ET.api(url, { method: "POST" }).then(function () {
          payload.confirmed = true;
          if (show()) button.textContent = t("Confirmed");
        }, function (err) {
          payload.confirmed = false;
          if (show()) button.disabled = false;
          ET.toast(err.message, "error");
        });
      } });
  }

  function Feed(live, userId) {
    this.live = live;
    this.channel = "user:" + userId;
    this.items = [];
    this.unread = 0;
    this.maxId = 0;
  }

  Feed.prototype.start = function () {
    var self = this;
    var toggle = ET.$("feed-toggle");
    var panel = ET.$("feed-panel");
    if (toggle && panel) {
      toggle.addEventListener("click", function () {
        var open = panel.hidden;
        panel.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        if (open) self.markAllRead();
      });
      document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && !panel.hidden) {
          panel.hidden = true;
          toggle.setAttribute("aria-expanded", "false");
          toggle.focus();
        }
      });
    }
    return ET.api("/api/v1/notifications?limit=20").then(function (page) {
      self.items = page.items;
      self.unread = page.unread_count;
      self.maxId = page.items.reduce(function (m, n) { return Math.max(m, n.id); }, 0);
      self.render();
      self.live.watch(self.channel, self.maxId, {
        event: function (frame) { self.onEvent(frame); },
        resync: function (frame) { self.catchUp(frame.from); },
        subscribed: function () {},
      });
    }, function (err) {
      self.live.watch(self.channel, null, { event: function (frame) { self.onEvent(frame); } });
      throw err;
    });
  };

  Feed.prototype.catchUp = function (from) {
    var self = this;
    ET.api("/api/v1/notifications?after=" + from + "&limit=100").then(function (page) {
      page.items.forEach(function (item) { self.onEvent(Object.assign({ type: "notification" }, item)); });
    });
  };

  Feed.prototype.onEvent = function (frame) {
    if (frame.type === "read") {
      if (typeof frame.unread_count === "number") this.unread = frame.unread_count;
      this.items.forEach(function (n) { if (n.id <= frame.up_to) n.read = true; });
      this.render();
      return;
    }
    if (frame.type !== "notification") {
      // Other live events of the user's own channel (a journal they keep changed) are for the page's script.
      window.dispatchEvent(new CustomEvent("edutrack:live", { detail: frame }));
      return;
    }
    if (this.items.some(function (n) { return n.id === frame.id; })) return;
    this.items.unshift(frame);
    this.items.sort(function (a, b) { return b.id - a.id; });
    this.items = this.items.slice(0, 50);
    this.maxId = Math.max(this.maxId, frame.id);
    if (!frame.read) this.unread += 1;
    this.render();
    ET.toast(toastText(frame), "info");
    window.dispatchEvent(new CustomEvent("edutrack:notification", { detail: frame }));
  };

  // "New grade: Maths: 5 (Test)", without repeating a label the title already starts with;
  // a parent also learns which child it is about.
  function toastText(n) {
    var payload = n.payload || {};
    var label = KIND_LABELS[n.kind] || t("Notification");
    var title = payload.title || "";
    var text = title.indexOf(label) === 0 || n.kind === "message" || n.kind === "chat_message" ? title
      : label + ": " + title;
    if ((n.kind === "message" || n.kind === "chat_message") && payload.text) {
      text += ": " + (payload.text.length > 80 ? payload.text.slice(0, 80) + "…" : payload.text);
    }
    var user = ET.session && ET.session.user;
    if (user && user.role === "parent" && payload.student_name) text += " — " + payload.student_name;
    return text;
  }

  Feed.prototype.markAllRead = function () {
    var self = this;
    if (!this.maxId || this.unread === 0) return;
    var upTo = this.maxId;
    var done = function (result) {
      if (result && typeof result.unread_count === "number") self.unread = result.unread_count;
      self.items.forEach(function (n) { if (n.id <= upTo) n.read = true; });
      self.render();
    };
    if (this.live.ready) this.live.request({ type: "read", feed: true, up_to: upTo }).then(done, function () {});
    else ET.api("/api/v1/notifications/read", { method: "POST", body: { up_to: upTo } }).then(done);
  };

  Feed.prototype.render = function () {
    var badge = ET.$("feed-badge");
    if (badge) {
      badge.hidden = this.unread <= 0;
      badge.textContent = String(this.unread);
      badge.setAttribute("aria-label", ET.tn("%(num)s unread", "%(num)s unread", this.unread));
    }
    var list = ET.$("feed-list");
    if (!list) return;
    ET.clear(list);
    var user = ET.session && ET.session.user;
    var parent = user && user.role === "parent";
    this.items.forEach(function (n) {
      var payload = n.payload || {};
      // A parent of several children sees whom an entry is about; news carry the start of their text.
      var about = parent && n.about_user_id && payload.student_name ? payload.student_name : null;
      list.append(ET.el("li", { class: "feed-item" + (n.read ? "" : " unread"), "data-kind": n.kind },
        ET.el("span", { class: "feed-kind", text: KIND_LABELS[n.kind] || n.kind }),
        ET.el("span", { class: "feed-text", text: payload.title || "" }),
        about ? ET.el("span", { class: "feed-about", text: about }) : null,
        (n.kind === "news" || n.kind === "ack_request") && payload.summary ? ET.el("span", { class: "feed-summary", text: payload.summary }) : null,
        ackButton(payload),
        n.created_at ? ET.el("time", { datetime: n.created_at, text: ET.fmt.stamp(n.created_at) }) : null));
    });
    var empty = ET.$("feed-empty");
    if (empty) empty.hidden = this.items.length > 0;
  };

  // ---------------------------------------------------------------- page start

  // Protected pages call this: the page gets its access token from the browser's login (no login -> the login
  // page); then header, live socket and feed are set up and the promise resolves with the user.
  ET.start = function () {
    return ET.resume().then(function (user) {
      if (!user) { sessionLost(); return new Promise(function () {}); }
      return begin(user);
    }, function (err) {
      ET.toast(err.message || t("No connection to the server. Try again."), "error");
      return new Promise(function () {});
    });
  };

  function begin(user) {
    var name = ET.$("user-name");
    if (name) name.textContent = (user.profile && user.profile.full_name) || user.email;
    document.querySelectorAll("[data-roles]").forEach(function (link) {
      link.hidden = link.dataset.roles.split(" ").indexOf(user.role) < 0;
    });
    var logout = ET.$("logout");
    if (logout) logout.addEventListener("click", ET.logout);
    ET.live = new Live();
    ET.feed = new Feed(ET.live, user.id);
    ET.live.connect();
    ET.feed.start().catch(function (err) { ET.toast(err.message, "error"); });
    return user;
  }
})();
