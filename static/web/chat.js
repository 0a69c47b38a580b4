// Chats: the class chats and private chats of the user, with unread badges that move live. The open chat shows
// its history (older pages over REST as you scroll up), live messages, who is online and who is typing.
// After a dropped connection core.js resubscribes with the last id seen, and the messages that were missed
// are replayed, marked, and announced.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var PAGE = 30;
  var TYPING_SHOW_MS = 4000;
  var TYPING_SEND_EVERY_MS = 2000;

  var me = null;
  var channels = {};   // name -> state
  var order = [];
  var active = null;
  var names = {};      // user id -> display name
  var lastTypingSent = 0;

  function chan(name) { return channels[name]; }
  function nameOf(id) { return id === me.id ? t("You") : names[id] || t("Member no. %(id)s", { id: id }); }
  function chatTitle(c) { return c.kind === "class" ? t("Class %(name)s", { name: c.title }) : c.title || c.name; }
  // The sender's label (frames carry a code; the words are the page's).
  function roleText(code) {
    switch (code) {
      case "student": return t("student");
      case "parent": return t("parent");
      case "teacher": return t("teacher");
      case "class_teacher": return t("class teacher");
      case "admin": return t("administrator");
      default: return "";
    }
  }
  // Announcements: only teachers and admins post; students and parents read.
  function readOnly(c) {
    return (c.kind === "announcements" || c.kind === "class-announcements" || c.kind === "grade-announcements") &&
      (me.role === "student" || me.role === "parent") && !me.is_superuser;
  }
  function isBoard(c) { return c.kind === "announcements" || c.kind === "class-announcements"; }
  function atBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 40; }

  // ---------------------------------------------------------------- channel list and badges

  function renderChannels() {
    var list = ET.clear(ET.$("channels"));
    if (!order.length) { list.append(el("li", { class: "muted", text: t("You have no chats yet.") })); }
    var total = 0;
    order.forEach(function (name) {
      var c = chan(name);
      total += c.unread;
      list.append(el("li", {}, el("a", {
        href: "/chat?channel=" + encodeURIComponent(name), class: "channel-link", "data-channel": name,
        "aria-current": name === active ? "page" : null,
        onclick: function (event) { event.preventDefault(); open(name); },
      }, el("span", { text: chatTitle(c) }),
      c.unread > 0 ? el("span", { class: "badge", "aria-label": ET.tn("%(num)s unread", "%(num)s unread", c.unread),
        text: String(c.unread) }) : null)));
    });
    ET.showChatUnread(total);
  }

  function recountUnread(c) {
    if (c.loaded) {
      c.unread = 0;
      Object.keys(c.messages).forEach(function (id) {
        var m = c.messages[id];
        if (m.id > c.lastRead && m.sender_id !== me.id && !m.deleted) c.unread += 1;
      });
    } else {
      c.unread = Math.max(0, c.lastId - c.lastRead);
    }
  }

  // ---------------------------------------------------------------- messages

  function messageNode(c, m) {
    var classes = "message" + (m.sender_id === me.id ? " mine" : "") + (c.missed[m.id] ? " missed" : "") +
      (m.deleted ? " deleted" : "") + (c.found === m.id ? " found" : "");
    return el("li", { class: classes, "data-id": m.id },
      el("div", { class: "message-meta" },
        el("span", { class: "sender", text: m.sender_id === me.id ? t("You") : m.sender || nameOf(m.sender_id) }), " ",
        roleText(m.sender_role) ? el("span", { class: "role-label", text: roleText(m.sender_role) }) : null, " ",
        el("time", { datetime: m.created_at, text: ET.fmt.stamp(m.created_at) }),
        m.edited_at && !m.deleted ? el("span", { class: "muted", text: " " + t("(edited)") }) : null),
      m.reply_to ? quoteNode(m.reply_to) : null,
      m.deleted || m.text ? el("p", { class: "message-text", text: m.deleted ? t("Message deleted") : m.text }) : null,
      m.deleted ? null : ET.fileLinks(m.attachments),
      m.deleted ? null : reactionsNode(c, m),
      c.acks && c.acks[m.id] && !m.deleted ? ackNode(c, c.acks[m.id]) : null,
      m.deleted ? null : messageActions(c, m));
  }

  // ---------------------------------------------------------------- replies that quote

  // The quote is what the server read with the reply; a later edit or deletion of the quoted message updates it.
  function quoteNode(q) {
    return el("blockquote", { class: "reply-quote" + (q.deleted ? " deleted" : "") },
      el("span", { class: "sender", text: q.sender_id === me.id ? t("You") : q.sender || nameOf(q.sender_id) }),
      el("span", { class: "reply-excerpt", text: q.deleted ? t("message deleted") : q.excerpt }));
  }

  function excerptOf(text) {
    var flat = String(text || "").split(/\s+/).join(" ").trim();
    return flat.length <= 120 ? flat : flat.slice(0, 119).trim() + "…";
  }

  function quoteOf(m) {
    return { id: m.id, sender_id: m.sender_id, sender: m.sender || nameOf(m.sender_id), excerpt: excerptOf(m.text),
      deleted: false };
  }

  // The quoted message changed (edited, deleted): the replies on the page that quote it follow.
  function refreshQuotes(c, quoted) {
    Object.keys(c.messages).forEach(function (id) {
      var m = c.messages[id];
      if (!m.reply_to || m.reply_to.id !== quoted.id) return;
      m.reply_to = quoted.deleted ? Object.assign({}, m.reply_to, { deleted: true, excerpt: null })
        : Object.assign({}, m.reply_to, { excerpt: excerptOf(quoted.text) });
      place(c, m);
    });
  }

  function startReply(c, m) {
    c.replyTo = m;
    renderReplyBar(c);
    ET.$("message-input").focus();
  }

  function renderReplyBar(c) {
    var bar = ET.clear(ET.$("reply-bar"));
    var m = c && c.replyTo;
    bar.hidden = !m;
    if (!m) return;
    bar.append(el("span", { text: t("Reply to %(name)s:", { name: m.sender_id === me.id ? t("You")
      : m.sender || nameOf(m.sender_id) }) + " " }), el("span", { class: "reply-excerpt", text: excerptOf(m.text) }),
    el("button", { type: "button", class: "link-button", text: t("Cancel reply"),
      onclick: function () { c.replyTo = null; renderReplyBar(c); } }));
  }

  // ---------------------------------------------------------------- attachments

  var pending = [];  // files uploaded for the next message: {id, name, size, ...}

  function renderPending() {
    var box = ET.$("pending-attachments");
    box.replaceChildren();
    pending.forEach(function (a, i) {
      box.append(el("li", { class: "attachment pending" }, a.name + " (" + ET.sizeText(a.size) + ") ",
        el("button", { type: "button", class: "link-button", text: t("Remove"),
          onclick: function () { pending.splice(i, 1); renderPending(); } })));
    });
  }

  function setupAttach() {
    var input = ET.$("attach-input");
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) {
        ET.upload(file).then(function (meta) { pending.push(meta); renderPending(); }, function (err) {
          ET.toast(t("%(name)s was not attached: %(error)s", { name: file.name, error: err.message }), "error");
        });
      });
      input.value = "";
    });
  }

  // ---------------------------------------------------------------- announcements asking for confirmation

  function loadAcks(c) {
    if (!isBoard(c)) return Promise.resolve();
    return ET.api("/api/v1/chats/" + encodeURIComponent(c.name) + "/ack-requests").then(function (page) {
      c.acks = {};
      page.items.forEach(function (item) { c.acks[item.message_id] = item; });
      if (active === c.name) renderMessages();
    }, function () {});
  }

  function ackNode(c, item) {
    var box = el("p", { class: "message-ack" });
    if (item.asks_me && item.acknowledged_at) {
      box.append(el("span", { class: "ack-done", text: t("Confirmed") }));
    } else if (item.asks_me) {
      box.append(el("button", { type: "button", class: "chat-ack", text: t("Confirm you have read it"),
        onclick: function (event) {
          var button = event.currentTarget;
          button.disabled = true;
          var frame = { type: "chat.ack", channel: c.name, message_id: item.message_id };
          var viaRest = function () {
            return ET.api("/api/v1/chats/" + encodeURIComponent(c.name) + "/messages/" + item.message_id + "/ack",
              { method: "POST" });
          };
          var done = ET.live.ready ? ET.live.request(frame).then(null, function (err) {
            if (err.code) throw err;
            return viaRest();
          }) : viaRest();
          done.then(function (reply) {
            item.acknowledged_at = reply.acknowledged_at;
            if (active === c.name) renderMessages();
          }, function (err) { button.disabled = false; ET.toast(err.message, "error"); });
        } }));
    }
    if (item.manage) {
      box.append(" ", el("a", { href: "/chat/" + encodeURIComponent(c.name) + "/" + item.message_id +
        "/acknowledgements", text: t("Who has read it") }));
    }
    return box;
  }

  // ---------------------------------------------------------------- reactions

  var REACTIONS = [["thumbs_up", "👍"], ["heart", "❤"], ["check", "✓"]];
  function reactionName(code) {
    switch (code) {
      case "thumbs_up": return t("Like");
      case "heart": return t("Love it");
      default: return t("Noted");
    }
  }

  // Message pages do not carry reactions: the newest messages of an opened chat ask for theirs.
  function loadReactions(c) {
    Object.keys(c.messages).map(Number).sort(function (a, b) { return b - a; }).slice(0, 20).forEach(function (id) {
      if (c.reactions[id] || c.messages[id].deleted) return;
      ET.api(messageUrl(c, c.messages[id]) + "/reactions").then(function (view) { setReactions(c, view); },
        function () {});
    });
  }

  function setReactions(c, view) {
    var mine = {};
    (view.mine || []).forEach(function (code) { mine[code] = true; });
    c.reactions[view.id] = { counts: view.counts || {}, mine: mine };
    if (c.messages[view.id]) place(c, c.messages[view.id]);
  }

  function reactionsNode(c, m) {
    var known = c.reactions[m.id] || { counts: {}, mine: {} };
    var row = el("div", { class: "reactions" });
    REACTIONS.forEach(function (pair) {
      var code = pair[0];
      var count = known.counts[code] || 0;
      var pressed = Boolean(known.mine[code]);
      row.append(el("button", { type: "button", class: "reaction", "aria-pressed": pressed ? "true" : "false",
        "aria-label": reactionName(code) + (count ? " (" + count + ")" : ""), title: reactionName(code),
        text: pair[1] + (count ? " " + count : ""),
        onclick: function () {
          ET.api(messageUrl(c, m) + "/reactions/" + code, { method: pressed ? "DELETE" : "PUT" })
            .then(function (view) { setReactions(c, view); }, function (err) { ET.toast(err.message, "error"); });
        } }));
    });
    return row;
  }

  // ---------------------------------------------------------------- editing and deleting one's own messages

  function messageActions(c, m) {
    var reply = readOnly(c) ? null : el("button", { type: "button", class: "link-button message-reply",
      text: t("Reply"), onclick: function () { startReply(c, m); } });
    if (m.sender_id !== me.id) {
      var report = c.kind === "dm" ? null : el("button", { type: "button", class: "link-button message-report",
        text: t("Report"), onclick: function (event) {
          ET.chatModeration.reportForm(c.name, m, event.target.closest(".message"));
        } });
      return reply || report ? el("div", { class: "message-actions" }, reply, report) : null;
    }
    var del = el("button", { type: "button", class: "link-button message-delete", text: t("Delete") });
    del.addEventListener("click", function () {
      // The first click asks, the second deletes: no browser dialog in another language.
      if (!del.dataset.armed) { del.dataset.armed = "1"; del.textContent = t("Delete for good?"); return; }
      ET.api(messageUrl(c, m), { method: "DELETE" }).then(function () {
        c.messages[m.id] = Object.assign({}, m, { deleted: true, text: null });
        place(c, c.messages[m.id]);
      }, function (err) { ET.toast(err.message, "error"); });
    });
    return el("div", { class: "message-actions" }, reply,
      el("button", { type: "button", class: "link-button message-edit", text: t("Edit"),
        onclick: function (event) { startEdit(c, m, event.target.closest(".message")); } }), del);
  }

  function messageUrl(c, m) {
    return "/api/v1/chats/" + encodeURIComponent(c.name) + "/messages/" + m.id;
  }

  function startEdit(c, m, node) {
    var inputId = "edit-" + m.id;
    var input = el("textarea", { id: inputId, rows: 2, maxlength: 4000, required: true });
    input.value = m.text;
    var form = el("form", { class: "message-edit-form" },
      el("label", { for: inputId, class: "visually-hidden", text: t("Message text") }), input,
      el("div", { class: "form-actions" },
        el("button", { type: "submit", class: "primary", text: t("Save") }),
        el("button", { type: "button", class: "secondary", text: t("Cancel"),
          onclick: function () { place(c, c.messages[m.id]); } })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      ET.api(messageUrl(c, m), { method: "PATCH", body: { text: text } }).then(function (saved) {
        c.messages[m.id] = saved;
        place(c, saved);
      }, function (err) { ET.toast(t("The message was not changed: %(error)s", { error: err.message }), "error"); });
    });
    var text = node.querySelector(".message-text");
    var actions = node.querySelector(".message-actions");
    if (actions) actions.remove();
    text.replaceWith(form);
    input.focus();
  }

  function renderMessages() {
    var c = chan(active);
    var list = ET.clear(ET.$("message-list"));
    Object.keys(c.messages).map(Number).sort(function (a, b) { return a - b; })
      .forEach(function (id) { list.append(messageNode(c, c.messages[id])); });
    ET.$("load-older").hidden = !c.hasMore;
    if (!list.children.length) list.append(el("li", { class: "muted empty", text: t("No messages yet. Be the first to write!") }));
  }

  // Put one message in place (new, replayed or edited) without redrawing the whole list.
  function place(c, m) {
    if (c.name !== active) return;
    var list = ET.$("message-list");
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var node = messageNode(c, m);
    var existing = list.querySelector('[data-id="' + m.id + '"]');
    if (existing) { existing.replaceWith(node); return; }
    var after = null;
    for (var i = list.children.length - 1; i >= 0; i--) {
      if (Number(list.children[i].dataset.id) < m.id) { after = list.children[i]; break; }
    }
    if (after) after.after(node); else list.prepend(node);
  }

  function remember(c, m) {
    if (m.sender && !names[m.sender_id]) names[m.sender_id] = m.sender;
    var isNew = !c.messages[m.id];
    c.messages[m.id] = m;
    if (m.id > c.lastId) c.lastId = m.id;
    return isNew;
  }

  function onMessage(c, m) {
    var box = ET.$("messages");
    var stick = c.name === active && atBottom(box);
    var isNew = remember(c, m);
    if (isNew && m.sender_id !== me.id && m.id > c.lastRead) c.unread += 1;
    delete c.typing[m.sender_id];
    if (c.name === active) {
      place(c, m);
      renderTyping();
      if (stick || m.sender_id === me.id) box.scrollTop = box.scrollHeight;
      if (document.visibilityState === "visible") markRead(c);
    }
    renderChannels();
  }

  function loadHistory(c, before) {
    var query = "/api/v1/chats/" + encodeURIComponent(c.name) + "/messages?limit=" + PAGE + (before ? "&before=" + before : "");
    return ET.api(query).then(function (page) {
      page.items.forEach(function (m) { remember(c, m); });
      if (!before) c.hasMore = page.has_more; else c.hasMore = page.has_more;
      c.loaded = true;
      if (page.last_message_id > c.lastId) c.lastId = page.last_message_id;
      return page;
    });
  }

  function loadOlder() {
    var c = chan(active);
    var ids = Object.keys(c.messages).map(Number);
    if (!ids.length || c.loadingOlder) return;
    c.loadingOlder = true;
    var box = ET.$("messages");
    var fromBottom = box.scrollHeight - box.scrollTop;
    loadHistory(c, Math.min.apply(null, ids)).then(function () {
      renderMessages();
      box.scrollTop = box.scrollHeight - fromBottom; // keep the reader's place
    }, function (err) { ET.toast(err.message, "error"); }).finally(function () { c.loadingOlder = false; });
  }

  // Fetch (from, to] over REST: what the server would not replay over the socket (resync).
  function catchUp(c, from, to) {
    var query = "/api/v1/chats/" + encodeURIComponent(c.name) + "/messages?limit=100&after=" + from;
    return ET.api(query).then(function (page) {
      page.items.forEach(function (m) { if (to === null || m.id <= to) onMessage(c, m); });
      var last = page.items.length ? page.items[page.items.length - 1].id : from;
      if (page.has_more && (to === null || last < to)) return catchUp(c, last, to);
    });
  }

  function markRead(c) {
    if (c.lastId <= c.lastRead) return;
    var upTo = c.lastId;
    c.lastRead = upTo;
    recountUnread(c);
    renderChannels();
    if (!ET.live.send({ type: "read", channel: c.name, up_to: upTo })) {
      ET.api("/api/v1/chats/" + encodeURIComponent(c.name) + "/read", { method: "POST", body: { up_to: upTo } })
        .catch(function () {});
    }
  }

  // ---------------------------------------------------------------- presence and typing

  function renderOnline() {
    var c = active && chan(active);
    var node = ET.$("online");
    // Who is online is known from the subscription's answer on: before it, "nobody else" would be a guess.
    if (!c || !c.subscribed) { node.textContent = ""; return; }
    var ids = Object.keys(c.online).map(Number).filter(function (id) { return id !== me.id; });
    node.textContent = ids.length ? t("Online: %(names)s", { names: ids.map(nameOf).join(", ") })
      : t("Nobody else is online");
  }

  function renderTyping() {
    var c = active && chan(active);
    var node = ET.$("typing");
    if (!c) { node.textContent = ""; return; }
    var now = Date.now();
    var who = Object.keys(c.typing).map(Number).filter(function (id) { return c.typing[id] > now; });
    node.textContent = who.length ? ET.tn("%(names)s is typing…", "%(names)s are typing…", who.length,
      { names: who.map(nameOf).join(", ") }) : "";
  }
  setInterval(renderTyping, 1000);

  // ---------------------------------------------------------------- live events of one channel

  function handlers(c) {
    return {
      event: function (frame) {
        switch (frame.type) {
          case "chat.message":
            if (c.loaded && frame.id > c.lastId + 1) {
              // A hole between what REST showed and what arrives live: fill it first, in order.
              catchUp(c, c.lastId, frame.id - 1).then(function () { onMessage(c, frame); });
            } else {
              onMessage(c, frame);
            }
            break;
          case "chat.edited":
            if (c.messages[frame.id]) { c.messages[frame.id] = frame; place(c, frame); }
            refreshQuotes(c, frame);
            break;
          case "chat.deleted":
            if (c.messages[frame.id]) {
              c.messages[frame.id].deleted = true;
              c.messages[frame.id].text = null;
              place(c, c.messages[frame.id]);
            }
            refreshQuotes(c, { id: frame.id, deleted: true });
            break;
          case "presence":
            if (frame.status === "online") c.online[frame.user_id] = true; else delete c.online[frame.user_id];
            if (c.name === active) renderOnline();
            break;
          case "typing":
            if (frame.user_id !== me.id) {
              c.typing[frame.user_id] = Date.now() + TYPING_SHOW_MS;
              if (c.name === active) renderTyping();
            }
            break;
          case "chat.reactions":
            if (c.messages[frame.id]) {
              var known = c.reactions[frame.id] || { counts: {}, mine: {} };
              known.counts = frame.counts;
              if (frame.user_id === me.id) known.mine[frame.reaction] = frame.added;
              c.reactions[frame.id] = known;
              place(c, c.messages[frame.id]);
            }
            break;
          case "chat.slow_mode":
            c.slowMode = frame.seconds;
            if (c.name === active) renderMode(c);
            break;
          case "chat.pinned":
            if (c.name === active) loadPins(c);
            break;
          case "read":
            c.lastRead = Math.max(c.lastRead, frame.up_to);
            recountUnread(c);
            renderChannels();
            break;
        }
      },
      revoked: function () {
        // No longer a member (unenrolled, unlinked, or parents were let out of class chats): the chat goes away.
        delete channels[c.name];
        order = order.filter(function (n) { return n !== c.name; });
        renderChannels();
        if (active === c.name) {
          active = null;
          ET.clear(ET.$("message-list"));
          ET.$("send-form").hidden = true;
          var notice = ET.$("chat-notice");
          notice.textContent = t("You are no longer a member of the chat “%(chat)s”.", { chat: chatTitle(c) });
          notice.hidden = false;
        }
        ET.toast(t("You are no longer a member of the chat “%(chat)s”.", { chat: chatTitle(c) }));
      },
      subscribed: function (reply, resumed) {
        c.subscribed = true;
        c.online = {};
        (reply.online || []).forEach(function (id) { c.online[id] = true; });
        if (c.name === active) renderOnline();
        if (resumed && reply.missed > 0) {
          for (var id = reply.since + 1; id <= reply.last_id; id++) c.missed[id] = true;
          if (c.name === active) {
            var notice = ET.$("chat-notice");
            notice.textContent = ET.tn("While you were offline %(num)s new message arrived. It is marked below.",
              "While you were offline %(num)s new messages arrived. They are marked below.", reply.missed);
            notice.hidden = false;
          }
        }
      },
      resync: function (frame) { catchUp(c, frame.from, frame.to); },
    };
  }

  // ---------------------------------------------------------------- opening a chat

  function open(name) {
    var c = chan(name);
    if (!c) return;
    active = name;
    // Channel names are [a-z0-9:], safe in a query as they are.
    window.history.replaceState(null, "", "/chat?channel=" + name);
    ET.$("room-title").textContent = chatTitle(c);
    ET.$("chat-notice").hidden = true;
    ET.$("send-form").hidden = readOnly(c);
    ET.$("read-only").hidden = !readOnly(c);
    renderReplyBar(c);
    ET.$("ask-ack-box").hidden = !isBoard(c) || readOnly(c);
    ET.$("ask-ack").checked = false;
    loadPins(c);
    loadModeration(c);
    renderChannels();
    renderOnline();
    renderTyping();
    var ready = c.loaded ? Promise.resolve() : loadHistory(c, null);
    ET.$("members-box").hidden = true;
    // Everyone in the chat (students, parents, teachers) by name, for "who is online", typing and the member list.
    ET.api("/api/v1/chats/" + name + "/members").then(function (page) {
      page.items.forEach(function (m) { names[m.id] = names[m.id] || m.name; });
      if (c.withUserId && !c.title) {
        c.title = names[c.withUserId] || "";
        if (active === name) ET.$("room-title").textContent = chatTitle(c);
        renderChannels();
      }
      if (active !== name) return;
      renderMembers(c, page.items);
      renderOnline();
      renderTyping();
    }, function () {});
    ready.then(function () {
      if (active !== name) return;
      renderMessages();
      var box = ET.$("messages");
      box.scrollTop = box.scrollHeight;
      markRead(c);
      loadReactions(c);
      loadAcks(c);
    }, function (err) {
      // Not a chat of this user (e.g. /chat?with= someone of another school): said in the page's words.
      ET.toast(err.code === "not_a_member" ? t("You are not in this chat.") : err.message, "error");
      if (err.code === "not_a_member" && active === name) ET.$("send-form").hidden = true;
    });
    return ready;
  }

  // ---------------------------------------------------------------- pinned messages

  function loadPins(c) {
    ET.api("/api/v1/chats/" + encodeURIComponent(c.name) + "/pins").then(function (page) {
      if (active !== c.name) return;
      var list = ET.clear(ET.$("pin-list"));
      page.items.forEach(function (p) {
        list.append(el("li", { class: "pin" },
          el("span", { class: "sender", text: nameOf(p.sender_id) }), " ",
          el("time", { datetime: p.created_at, text: ET.fmt.stamp(p.created_at) }),
          el("p", { class: "message-text", text: p.text })));
      });
      ET.$("pins").hidden = !page.items.length;
    }, function () { ET.$("pins").hidden = true; });
  }

  // ---------------------------------------------------------------- slow mode and one's own mute

  function loadModeration(c) {
    ET.$("chat-mode").hidden = true;
    ET.chatModeration.room(c.name, null);
    ET.api("/api/v1/chats/" + encodeURIComponent(c.name) + "/moderation").then(function (state) {
      c.slowMode = state.slow_mode_seconds;
      c.mutedUntil = state.muted_until;
      if (active !== c.name) return;
      renderMode(c);
      ET.chatModeration.room(c.name, state);
    }, function () {});
  }

  function renderMode(c) {
    var parts = [];
    if (c.slowMode > 0) {
      parts.push(ET.tn("Slow mode: one message every %(num)s second.", "Slow mode: one message every %(num)s seconds.",
        c.slowMode));
    }
    if (c.mutedUntil && new Date(c.mutedUntil) > new Date()) {
      parts.push(t("A moderator muted you here until %(time)s.", { time: ET.fmt.stamp(c.mutedUntil) }));
    }
    ET.$("chat-mode").textContent = parts.join(" ");
    ET.$("chat-mode").hidden = !parts.length;
  }

  // A found message: its chat opens, and the message is shown if it is among those loaded.
  function openAt(name, id) {
    if (!chan(name)) return false;
    chan(name).found = id;
    open(name).then(function () {
      var node = ET.$("message-list").querySelector('[data-id="' + id + '"]');
      if (!node) return;
      node.scrollIntoView({ block: "center" });
    });
    return true;
  }
  ET.chat = { openAt: openAt, title: function (name) { return chan(name) ? chatTitle(chan(name)) : name; } };

  function setupForm() {
    var form = ET.$("send-form");
    var input = ET.$("message-input");
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    input.addEventListener("input", function () {
      var now = Date.now();
      if (active && input.value && now - lastTypingSent > TYPING_SEND_EVERY_MS) {
        lastTypingSent = now;
        ET.live.send({ type: "typing", channel: active });
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      var files = pending.slice();
      var ids = files.map(function (a) { return a.id; });
      if ((!text && !ids.length) || !active) return;
      var c = chan(active);
      if (readOnly(c)) return;
      // One id per message: a resend (socket dropped before the ack, then REST) stores it once.
      var clientId = "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
      var quoted = c.replyTo;
      // An announcement may ask the parents to confirm they have read it (docs/notifications.md).
      var ack = isBoard(c) && ET.$("ask-ack").checked ? ["parent"] : [];
      var body = { text: text, client_msg_id: clientId, attachments: ids, ack: ack };
      if (quoted) body.reply_to = quoted.id;
      var viaRest = function () {
        return ET.api("/api/v1/chats/" + encodeURIComponent(c.name) + "/messages", { method: "POST", body: body });
      };
      var sent = ET.live.ready
        ? ET.live.request(Object.assign({ type: "chat.send", channel: c.name }, body))
          .then(function (ack) {
            return { id: ack.id, created_at: ack.created_at, sender_id: me.id, sender: null, text: text,
              client_msg_id: clientId, edited_at: null, deleted: false, attachments: files,
              reply_to: quoted ? quoteOf(quoted) : null };
          }, function (err) { if (err.code) throw err; return viaRest(); })
        : viaRest();
      input.value = "";
      pending = [];
      renderPending();
      c.replyTo = null;
      renderReplyBar(c);
      ET.$("ask-ack").checked = false;
      sent.then(function (m) {
        if (!c.messages[m.id]) onMessage(c, m);
        markRead(c);
        if (ack.length) loadAcks(c);
      }, function (err) {
        input.value = text;
        pending = files;
        renderPending();
        if (quoted && err.code !== "invalid_reply") { c.replyTo = quoted; renderReplyBar(c); }
        ET.toast(t("Message not sent: %(error)s", { error: err.message }), "error");
      });
    });
    setupAttach();
    // An announcement that asks me to confirm it arrives as a notification too: show its button.
    window.addEventListener("edutrack:notification", function (event) {
      var p = event.detail && event.detail.payload;
      if (p && p.ack === true && typeof p.channel === "string" && chan(p.channel)) loadAcks(chan(p.channel));
    });
    ET.$("load-older").addEventListener("click", loadOlder);
    ET.$("messages").addEventListener("scroll", function () {
      var c = active && chan(active);
      if (c && c.hasMore && ET.$("messages").scrollTop < 30) loadOlder();
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && active) markRead(chan(active));
    });
  }

  function addChannel(s) {
    if (channels[s.channel]) return channels[s.channel];
    var c = {
      name: s.channel, kind: s.kind, title: s.title, classId: s.kind === "class" ? Number(s.channel.split(":")[1]) : null,
      withUserId: s.with_user_id || null, lastId: s.last_message_id, lastRead: s.last_read_id, unread: s.unread,
      messages: {}, reactions: {}, missed: {}, online: {}, typing: {}, loaded: false, hasMore: false, subscribed: false,
    };
    if (s.with_user_id && s.title) names[s.with_user_id] = s.title;
    channels[c.name] = c;
    order.push(c.name);
    // Every chat is watched, so badges of chats not on screen move live too.
    ET.live.watch(c.name, s.last_message_id, handlers(c));
    return c;
  }

  // A private chat with someone: the one that exists, or a new one (it is stored with its first message).
  function openPrivate(userId, name) {
    var channel = "dm:" + Math.min(me.id, userId) + ":" + Math.max(me.id, userId);
    if (!channels[channel]) {
      addChannel({ channel: channel, kind: "dm", title: name || names[userId] || "", with_user_id: userId,
        last_message_id: 0, last_read_id: 0, unread: 0 });
    }
    open(channel);
    ET.$("message-input").focus();
  }

  // The people of the open chat; a name opens a private chat with that person.
  function renderMembers(c, items) {
    var list = ET.clear(ET.$("member-list"));
    items.forEach(function (m) {
      var others = m.id !== me.id && c.kind !== "dm";
      list.append(el("li", { class: "member" }, el("span", { class: "member-name", text: m.name }),
        others ? el("button", { type: "button", class: "link-button", text: t("Write privately"),
          "aria-label": t("Write privately to %(name)s", { name: m.name }),
          onclick: function () { openPrivate(m.id, m.name); } }) : null));
    });
    ET.$("members-box").hidden = !items.length;
  }

  // Someone started a private chat with us while the page is open: it joins the list.
  window.addEventListener("edutrack:notification", function (event) {
    var n = event.detail;
    // A moderator acted on us (a mute, its end): the open chat says so at once.
    if (n.kind === "moderation" && n.payload && active && n.payload.channel === active) loadModeration(chan(active));
    var channel = n.kind === "message" && n.payload && n.payload.channel;
    if (!channel || channels[channel] || !me) return;
    ET.api("/api/v1/chats").then(function (data) {
      data.items.forEach(function (s) { if (!channels[s.channel]) addChannel(s); });
      renderChannels();
    }, function () {});
  });

  // The chats are known (so a search hit can name its chat) and the page has its access token: a search sent
  // before that went out without a token and was refused (chat-search.js waits for this).
  ET.chat.ready = ET.start().then(function (user) {
    me = user;
    names[user.id] = (user.profile && user.profile.full_name) || user.email;
    setupForm();
    return ET.api("/api/v1/chats").then(function (data) {
      data.items.forEach(addChannel);
      renderChannels();
      ET.chatModeration.start(user);
      var params = new URLSearchParams(window.location.search);
      var wanted = params.get("channel");
      var withId = Number(params.get("with"));
      if (withId && withId !== me.id) openPrivate(withId, null);
      else if (wanted && channels[wanted]) open(wanted);
      // Without a chosen chat, the first one the user may write in (announcements come first in the list).
      else if (order.length) open(order.filter(function (n) { return !readOnly(chan(n)); })[0] || order[0]);
    });
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
