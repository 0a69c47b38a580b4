// Who has confirmed a news item or a chat announcement ("ознакомлен"), per class: each student and their parents,
// and the staff. It re-reads the table when a confirmation arrives live (the news.ack or chat.ack frame on the
// author's own channel), and can remind those who have not (once per few hours: the API says when).
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

  function mark(person) {
    return el("span", { class: person.acknowledged ? "ack-yes" : "ack-no", "data-user": person.id,
                        text: person.name + (person.acknowledged ? " ✓" : " —") });
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
    ET.$("acks-summary").textContent = t("Confirmed: %(done)s of %(total)s", { done: data.acknowledged,
                                                                              total: data.required });
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

  // Confirmations may stream in (hundreds a second after an announcement): one re-read at a time, and one more
  // after it if any arrived meanwhile, so the table is never more than one read behind and the API one reader.
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
      if (concerns(event.detail)) load();
    });
    ET.$("acks-remind").addEventListener("click", function () {
      ET.api(base + "/ack-reminders", { method: "POST" }).then(function (done) {
        ET.toast(ET.tn("Reminded %(num)s person", "Reminded %(num)s people", done.reminded));
      }, function (err) { ET.toast(err.message, "error"); });
    });
    return load();
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
