// Live on every signed-in page (after core.js, before the page's own script): the page's one socket (ET.live in
// core.js) also keeps the chat badge in the menu moving with new messages and read markers, picks up a private
// chat someone has just started, and tells the page what arrived (window events "edutrack:notification" from
// core.js; "edutrack:chats" from here). The chat page keeps its own list of chats and badges (chat.js) and
// writes the menu badge through ET.showChatUnread.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var MAX_WATCHED = 150;

  // The menu's "Chats" badge: how many messages from others are unread, over all chats.
  ET.showChatUnread = function (total) {
    var badge = ET.$("chat-unread-total");
    if (!badge) return;
    badge.hidden = total <= 0;
    badge.textContent = String(total);
    badge.setAttribute("aria-label", ET.tn("%(num)s unread", "%(num)s unread", total));
  };

  // Every chat of the user, watched on the page's socket with the last id the list reported, so messages that
  // come while the page is open (or while it was offline: the socket resumes from the cursor) move the badge.
  // Unread = what the list said was unread before its last message (until a read marker passes it) + messages
  // from others that came since, above the read marker.
  function ChatBadge(user) {
    this.me = user.id;
    this.chats = {};
    this.loading = null;
  }

  ChatBadge.prototype.total = function () {
    var chats = this.chats;
    return Object.keys(chats).reduce(function (sum, name) {
      var c = chats[name];
      return sum + c.base + Object.keys(c.fresh).length;
    }, 0);
  };

  ChatBadge.prototype.render = function () { ET.showChatUnread(this.total()); };

  ChatBadge.prototype.load = function () {
    var self = this;
    if (this.loading) return this.loading;
    this.loading = ET.api("/api/v1/chats").then(function (data) {
      // A socket takes up to 200 subscriptions (docs/websocket.md); a superuser may belong to more chats than
      // that, and their badge then counts the first ones the list names.
      data.items.slice(0, MAX_WATCHED).forEach(function (s) {
        var known = self.chats[s.channel];
        if (known) {
          known.base = s.unread;
          known.baseUpTo = s.last_message_id;
          known.fresh = {};
          return;
        }
        self.chats[s.channel] = { base: s.unread, baseUpTo: s.last_message_id, lastRead: s.last_read_id, fresh: {} };
        ET.live.watch(s.channel, s.last_message_id, self.handlers(s.channel));
      });
      self.render();
      window.dispatchEvent(new CustomEvent("edutrack:chats", { detail: data.items }));
    }, function () {}).finally(function () { self.loading = null; });
    return this.loading;
  };

  ChatBadge.prototype.handlers = function (name) {
    var self = this;
    return {
      event: function (frame) {
        var c = self.chats[name];
        if (!c) return;
        if (frame.type === "chat.message") {
          if (frame.sender_id !== self.me && frame.id > c.lastRead && !frame.deleted) c.fresh[frame.id] = true;
          if (frame.sender_id === self.me) self.readUpTo(c, frame.id); // writing in a chat means having read it
        } else if (frame.type === "chat.deleted") {
          delete c.fresh[frame.id];
        } else if (frame.type === "read") {
          self.readUpTo(c, frame.up_to);
        } else {
          return;
        }
        self.render();
      },
      resync: function () { self.load(); },
      revoked: function () { delete self.chats[name]; self.render(); },
    };
  };

  ChatBadge.prototype.readUpTo = function (c, upTo) {
    c.lastRead = Math.max(c.lastRead, upTo);
    if (upTo >= c.baseUpTo) c.base = 0;
    Object.keys(c.fresh).forEach(function (id) { if (Number(id) <= upTo) delete c.fresh[id]; });
  };

  // A private message in a chat not watched yet (someone started a chat with us): read the list again.
  ChatBadge.prototype.notified = function (n) {
    if (n.kind !== "message") return;
    var channel = n.payload && n.payload.channel;
    if (channel && !this.chats[channel]) this.load();
  };

  // Wraps ET.start, which every signed-in page calls first: once the user is known, the badge goes live.
  var start = ET.start;
  ET.start = function () {
    return start.apply(ET, arguments).then(function (user) {
      if (document.body.dataset.page !== "chat") {
        var badge = new ChatBadge(user);
        ET.chatBadge = badge;
        badge.load();
        window.addEventListener("edutrack:notification", function (event) { badge.notified(event.detail); });
      }
      return user;
    });
  };
})();
