// Homework hand-in on the diary page: under each lesson's homework, the hand-in's status (handed in, late,
// returned with the teacher's comment, graded); a student hands in text and files, and again until it is graded.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;

  function statusText(s) {
    switch (s && s.status) {
      case "submitted": return s.late ? t("Handed in late") : t("Handed in");
      case "returned": return t("Returned for rework: %(comment)s", { comment: s.teacher_comment || "" });
      case "graded": return t("Checked, grade %(grade)s", { grade: s.grade || "" });
      default: return t("Not handed in");
    }
  }

  // lesson id -> the child's hand-in (an empty map when it cannot be read: the diary still shows).
  function forChild(childId) {
    return ET.api("/api/v1/students/" + childId + "/submissions?limit=200").then(function (page) {
      var map = {};
      page.items.forEach(function (s) { map[s.lesson_id] = s; });
      return map;
    }, function () { return {}; });
  }

  function form(lesson, sub, done) {
    var textId = "handin-text-" + lesson.id;
    var filesId = "handin-files-" + lesson.id;
    var area = el("textarea", { id: textId, name: "text", rows: 3, maxlength: 10000 });
    area.value = (sub && sub.text) || "";
    var files = el("input", { type: "file", id: filesId, name: "files", multiple: true });
    var submit = el("button", { type: "submit", class: "primary", text: t("Hand in") });
    var node = el("form", { class: "handin-form" },
      el("label", { for: textId, text: t("Your answer") }), area,
      el("label", { for: filesId, text: t("Files") }), files,
      el("div", { class: "form-actions" }, submit));
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      submit.disabled = true;
      Promise.all(Array.prototype.map.call(files.files, function (file) { return ET.upload(file); }))
        .then(function (uploaded) {
          return ET.api("/api/v1/lessons/" + lesson.id + "/submission", { method: "POST", body: {
            text: area.value.trim() || null, attachments: uploaded.map(function (f) { return f.id; }) } });
        })
        .then(function () { ET.toast(t("Homework handed in")); done(); }, function (err) {
          submit.disabled = false;
          ET.toast(t("Not handed in: %(error)s", { error: err.message }), "error");
        });
    });
    return node;
  }

  function node(lesson, sub, canHandIn, done) {
    var box = el("div", { class: "handin", "data-handin-lesson": lesson.id },
      el("span", { class: "handin-status" + (sub && sub.late ? " late" : ""), text: statusText(sub) }));
    if (canHandIn && !lesson.cancelled && !(sub && sub.status === "graded")) {
      var open = el("button", { type: "button", class: "link-button handin-open",
        text: sub ? t("Hand in again") : t("Hand in") });
      open.addEventListener("click", function () {
        open.hidden = true;
        box.append(form(lesson, sub, done));
      });
      box.append(" ", open);
    }
    return box;
  }

  ET.handin = { forChild: forChild, node: node };
})();
