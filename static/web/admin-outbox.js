// The school's email outbox: emails that could not be delivered (with the mail server's answer) and their
// "send again", emails still waiting, and those sent.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;
  var PAGE = 50;
  var KINDS = { password_reset: t("Password reset"), invitation: t("Invitation"), digest: t("Digest of news"),
    chat_message: t("Chat message") };
  var STATUSES = { pending: t("Waiting"), publishing: t("Being queued"), published: t("Being sent"), sent: t("Sent"),
    dead: t("Not delivered") };
  var state = { offset: 0 };

  function statusCell(row) {
    var text = STATUSES[row.status] || row.status;
    if (row.attempts) text += " · " + ET.tn("%(num)s attempt", "%(num)s attempts", row.attempts);
    return el("span", { class: "tag tag-" + row.status, text: text });
  }

  function answerCell(row) {
    // The mail server's own words, as it sent them: shown for the administrator as a quotation, not translated.
    return row.last_error ? el("code", { class: "server-answer", translate: "no", text: row.last_error }) : "";
  }

  var loads = 0;
  function load() {
    var status = ET.$("outbox-status").value;
    var box = ET.$("outbox");
    var mine = ++loads;
    return ET.api("/api/v1/admin/outbox?limit=" + PAGE + "&offset=" + state.offset + (status ? "&status=" + status : ""))
      .then(function (page) { if (mine === loads) render(box, page); }, function (err) { A.failure(box, err); });
  }

  function render(box, page) {
    ET.$("outbox-count").textContent = page.total ? ET.tn("%(num)s email", "%(num)s emails", page.total) : t("No emails here.");
    ET.$("outbox-prev").disabled = state.offset === 0;
    ET.$("outbox-next").disabled = state.offset + PAGE >= page.total;
    ET.clear(box);
    if (!page.items.length) return;
    box.append(A.table(t("Emails"), [t("Created"), t("To"), t("Subject"), t("Kind"), t("Status"), t("The mail server's answer"),
      t("Action")], page.items.map(function (row) {
      var again = row.status === "dead"
        ? el("button", { type: "button", class: "secondary small", text: t("Send again"), "data-outbox-id": row.id,
          "aria-label": t("Send again: %(subject)s to %(to)s", { subject: row.subject, to: row.recipient }),
          onclick: function (event) { retry(row, event.currentTarget); } })
        : "";
      return [ET.fmt.stamp(row.created_at), row.recipient, row.subject, KINDS[row.kind] || row.kind, statusCell(row),
        answerCell(row), again];
    })));
  }

  function retry(row, button) {
    var result = ET.$("outbox-result");
    button.disabled = true;
    ET.api("/api/v1/admin/outbox/" + row.id + "/retry", { method: "POST" }).then(function () {
      result.textContent = t("The email to %(to)s is queued again.", { to: row.recipient });
      result.className = "form-status ok";
      return load();
    }, function (err) {
      button.disabled = false;
      result.textContent = err.message;
      result.className = "form-status error";
    });
  }

  A.start().then(function () {
    ET.$("outbox-filter").addEventListener("submit", function (event) { event.preventDefault(); });
    ET.$("outbox-status").addEventListener("change", function () { state.offset = 0; load(); });
    ET.$("outbox-prev").addEventListener("click", function () { state.offset = Math.max(0, state.offset - PAGE); load(); });
    ET.$("outbox-next").addEventListener("click", function () { state.offset += PAGE; load(); });
    return load();
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
