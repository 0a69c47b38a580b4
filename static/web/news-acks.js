// Who has confirmed a news item or a chat announcement ("ознакомлен"), per class: each student and their parents,
// and the staff. A confirmation that arrives live (the news.ack or chat.ack frame on the author's own channel)
// marks its person in place, with the count and their families: a school's table is thousands of people, too big
// to re-read for each of hundreds of confirmations a minute. It is re-read when the frame names someone not in
// it, and every minute (a frame lost while the socket was down). It can remind those who have not (once per few
// hours: the API says when).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var box = ET.$("acks").dataset;
  var newsId = Number(box.newsId);
  var room = box.room || null;
  var messageId = Number(box.messageId);
  var base = room ? "/api/v1/chats/" + encodeURIComponent(room) + "/messages/" + messageId : "/api/v1/news/" + newsId;

  function concerns(frame) {
    return room ? frame.type === "chat.ack" && frame.room === room && frame.message_id === messageId
      : frame.type === "news.ack" && frame.news_id === newsId;
  }

  var shown = null;  // the table as last read, kept up to date by live confirmations
  var RELOAD_EVERY_MS = 60000;

  function markText(name, done) { return name + (done ? " ✓" : " —"); }

  function mark(person) {
    return el("span", { class: person.acknowledged ? "ack-yes" : "ack-no", "data-user": person.id,
                        "data-name": person.name, text: markText(person.name, person.acknowledged) });
  }

  function familyText(row) {
    var parents = Array.prototype.slice.call(row.querySelectorAll(".ack-parent [data-user]"));
    var done = parents.filter(function (p) { return p.classList.contains("ack-yes"); }).length;
    var ok = parents.length > 0 && (shown.each_parent ? done === parents.length : done > 0);
    return ok ? t("family: confirmed") : t("family: not yet");
  }

  // One confirmation, in place; false when its person is not in the table (then it is re-read).
  function confirmLive(userId) {
    var marks = document.querySelectorAll('#acks [data-user="' + userId + '"]');
    if (!shown || !marks.length) return false;
    if (marks[0].classList.contains("ack-yes")) return true;
    Array.prototype.forEach.call(marks, function (m) {
      m.classList.replace("ack-no", "ack-yes");
      m.textContent = markText(m.dataset.name, true);
      var row = m.closest("tr[data-student]");
      var family = row && row.querySelector(".ack-family");
      if (family && family.textContent) family.textContent = familyText(row);
    });
    shown.acknowledged += 1;
    summary();
    return true;
  }

  function summary() {
    ET.$("acks-summary").textContent = t("Confirmed: %(done)s of %(total)s", { done: shown.acknowledged,
                                                                              total: shown.required });
  }

  function studentRow(s) {
    var family = s.family_acknowledged === null ? "" :
      (s.family_acknowledged ? t("family: confirmed") : t("family: not yet"));
    return el("tr", { "data-student": s.id },
      el("th", { scope: "row" }, s.required ? mark(s) : el("span", { text: s.name })),
      el("td", {}, ...s.parents.map(function (p) { return el("span", { class: "ack-parent" }, mark(p), " "); })),
      el("td", { class: "ack-family", text: family }));
  }

  function render(data) {
    shown = data;
    summary();
    var box = ET.clear(ET.$("acks-classes"));
    data.classes.forEach(function (c) {
      box.append(el("h2", { text: t("Class %(name)s", { name: c.class_name }) }),
        el("table", { class: "acks-table", "data-class": c.class_id },
          el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("Student") }),
            el("th", { scope: "col", text: t("Parents") }), el("th", { scope: "col", text: t("Family") }))),
          el("tbody", {}, ...c.students.map(studentRow))));
    });
    var staff = ET.clear(ET.$("acks-staff"));
    if (data.staff.length) {
      staff.append(el("h2", { text: t("Staff") }), el("p", {}, ...data.staff.map(function (p) {
        return el("span", {}, mark(p), " ");
      })));
    }
  }

  // One re-read at a time, and one more after it if another was asked for meanwhile.
  var reading = null;
  var again = false;
  function load() {
    if (reading) { again = true; return reading; }
    reading = ET.api(base + "/acks").then(render, function (err) { ET.toast(err.message, "error"); })
      .then(function () {
        reading = null;
        if (again) { again = false; return load(); }
      });
    return reading;
  }

  ET.start().then(function () {
    window.addEventListener("edutrack:live", function (event) {
      if (!concerns(event.detail)) return;
      if (reading) again = true;  // the read in flight may have begun before this confirmation was stored
      if (!confirmLive(event.detail.user_id)) load();
    });
    ET.$("acks-remind").addEventListener("click", function () {
      ET.api(base + "/ack-reminders", { method: "POST" }).then(function (done) {
        ET.toast(ET.tn("Reminded %(num)s person", "Reminded %(num)s people", done.reminded));
      }, function (err) { ET.toast(err.message, "error"); });
    });
    window.setInterval(load, RELOAD_EVERY_MS);
    return load();
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
