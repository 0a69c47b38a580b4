// The lesson screen's hand-ins (docs/homework-handin.md): every student of the class, handed in or not, late or
// not, with the answer and its files; the teacher returns one for rework with a comment or grades it (a normal
// grade of the lesson, with the work type chosen for new grades above).
(function () {
  "use strict";
  var ET = window.EduTrack;
  var el = ET.el;
  var t = ET.t;
  var current = null;

  function statusText(item) {
    var s = item.submission;
    switch (item.status) {
      case "submitted": return s.late ? t("Handed in late") : t("Handed in");
      case "returned": return t("Returned for rework: %(comment)s", { comment: s.teacher_comment || "" });
      case "graded": return t("Checked, grade %(grade)s", { grade: s.grade || "" });
      default: return t("Not handed in");
    }
  }

  function act(path, body) {
    return ET.api(path, { method: "POST", body: body }).then(function () { load(current); }, function (err) {
      ET.toast(t("Not saved: %(error)s", { error: err.message }), "error");
    });
  }

  function actions(item) {
    var s = item.submission;
    if (!s || s.status === "graded") return null;
    var id = "handin-comment-" + s.id;
    var comment = el("input", { id: id, type: "text", maxlength: 500 });
    var value = el("select", { "aria-label": t("Grade") });
    ["5", "4", "3", "2", "1"].forEach(function (v) { value.append(el("option", { value: v, text: v })); });
    var box = el("div", { class: "handin-actions" },
      el("label", { for: id, text: t("Comment") }), comment, value,
      el("button", { type: "button", class: "secondary", text: t("Give the grade"), onclick: function () {
        act("/api/v1/submissions/" + s.id + "/grade", { work_type_id: Number(ET.$("roll-work-type").value),
          value: Number(value.value), comment: comment.value.trim() || null });
      } }));
    if (s.status === "submitted") {
      box.append(el("button", { type: "button", class: "link-button", text: t("Return for rework"), onclick: function () {
        if (!comment.value.trim()) { comment.focus(); ET.toast(t("Write what to rework"), "error"); return; }
        act("/api/v1/submissions/" + s.id + "/return", { comment: comment.value.trim() });
      } }));
    }
    return box;
  }

  function render(data) {
    ET.$("handins-summary").textContent = t("Handed in: %(done)s, not handed in: %(missing)s",
      { done: data.submitted, missing: data.missing });
    var body = el("tbody");
    data.items.forEach(function (item) {
      var s = item.submission;
      var files = el("span", { class: "handin-files" });
      (s ? s.attachments : []).forEach(function (f) {
        files.append(el("button", { type: "button", class: "link-button", text: f.name,
          onclick: function () { ET.saveFile(f); } }), " ");
      });
      body.append(el("tr", { "data-handin-student": item.student_id, class: "handin-" + item.status },
        el("td", { text: item.student_name }),
        el("td", { class: "handin-status" + (s && s.late ? " late" : ""), text: statusText(item) }),
        el("td", {}, s && s.text ? el("p", { class: "handin-text", text: s.text }) : null, files),
        el("td", {}, actions(item))));
    });
    ET.clear(ET.$("handins")).append(el("table", { class: "handins" },
      el("thead", {}, el("tr", {}, el("th", { text: t("Student") }), el("th", { text: t("Status") }),
        el("th", { text: t("Answer") }), el("th", { text: t("Check") }))), body));
  }

  function load(lessonId) {
    current = lessonId;
    return ET.api("/api/v1/lessons/" + lessonId + "/submissions").then(function (data) {
      if (current === lessonId) render(data);
    }, function (err) {
      if (current === lessonId) ET.clear(ET.$("handins")).append(el("p", { class: "muted", text: err.message }));
    });
  }

  ET.teacherHandins = { load: load };
})();
