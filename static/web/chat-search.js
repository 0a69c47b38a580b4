// Search in every chat of the user (GET /api/v1/chats/search): each hit shows its chat, author, date and the
// snippet with the found words marked; a hit opens its chat (chat.js, ET.chat) at the message.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">" };

  // The API's snippet is the message's text HTML-escaped, with the found words in <mark>. It is rebuilt here as
  // text nodes and <mark> elements, never parsed as HTML: nothing in it can become markup.
  function snippetNode(html) {
    var node = el("p", { class: "search-snippet" });
    html.split(/(<mark>|<\/mark>)/).reduce(function (marked, part) {
      if (part === "<mark>") return true;
      if (part === "</mark>") return false;
      var text = part.replace(/&(amp|lt|gt);/g, function (entity) { return ENTITIES[entity]; });
      if (text) node.append(marked ? el("mark", { text: text }) : document.createTextNode(text));
      return marked;
    }, false);
    return node;
  }

  function hitNode(hit) {
    var title = ET.chat ? ET.chat.title(hit.channel) : hit.channel;
    return el("li", { class: "search-hit" }, el("a", {
      href: "/chat?channel=" + encodeURIComponent(hit.channel), class: "search-link",
      onclick: function (event) {
        if (ET.chat && ET.chat.openAt(hit.channel, hit.id)) event.preventDefault();
      },
    }, el("span", { class: "search-chat", text: title }),
    el("span", { class: "message-meta" }, el("span", { class: "sender", text: hit.sender }), " ",
      el("time", { datetime: hit.created_at, text: ET.fmt.stamp(hit.created_at) })),
    snippetNode(hit.snippet)));
  }

  function show(q, page) {
    var box = ET.clear(ET.$("search-results"));
    box.append(el("p", { class: "muted", text: page.items.length
      ? ET.tn("%(num)s message found", "%(num)s messages found", page.items.length, { num: page.items.length })
      : t("Nothing found for “%(q)s”.", { q: q }) }));
    var list = el("ul", { class: "search-list" });
    page.items.forEach(function (hit) { list.append(hitNode(hit)); });
    if (page.items.length) box.append(list);
  }

  var form = ET.$("search-form");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = ET.$("search-input").value.trim();
    if (!q) return;
    // A search typed while the page still starts waits for it (ET.chat.ready): until then there is no token.
    var ready = ET.chat && ET.chat.ready ? ET.chat.ready : Promise.resolve();
    ready.then(function () { return ET.api("/api/v1/chats/search?q=" + encodeURIComponent(q)); })
      .then(function (page) { show(q, page); }, function (err) { ET.toast(err.message, "error"); });
  });
})();
