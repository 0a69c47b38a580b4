// The administrator's home: the school in numbers, and what needs attention (failed emails, classes without a
// class teacher or students, no current term), each with a link to where it is fixed.
(function () {
  "use strict";
  var ET = window.EduTrack;
  var A = window.Admin;
  var el = ET.el;
  var t = ET.t;

  function count(path) {
    return ET.api(path).then(function (page) { return page.total; });
  }

  function link(href, text) {
    return el("a", { href: href + (A.superuser ? (href.indexOf("?") < 0 ? "?" : "&") + "school=" + A.schoolId : ""),
      text: text });
  }

  function overview(numbers) {
    var box = ET.clear(ET.$("overview"));
    [[t("Students"), numbers.students], [t("Parents"), numbers.parents], [t("Teachers"), numbers.teachers],
      [t("Classes"), numbers.classes.length]].forEach(function (pair) {
      box.append(el("div", {}, el("dt", { text: pair[0] }), el("dd", { text: String(pair[1]) })));
    });
  }

  function attention(numbers) {
    var list = ET.clear(ET.$("attention"));
    var today = ET.isoDay(new Date());
    var term = numbers.terms.filter(function (x) { return x.starts_on <= today && today <= x.ends_on; })[0];
    if (!term) list.append(el("li", {}, t("No term covers today. "), link("/admin/calendar", t("Add the terms"))));
    if (numbers.dead) {
      list.append(el("li", {}, ET.tn("%(num)s email could not be delivered. ", "%(num)s emails could not be delivered. ",
        numbers.dead), link("/admin/outbox", t("Open the outbox"))));
    }
    var leaderless = numbers.classes.filter(function (c) { return !c.class_teacher_id; });
    if (leaderless.length) {
      list.append(el("li", {}, t("Without a class teacher: %(classes)s. ", {
        classes: leaderless.map(function (c) { return c.name; }).join(", ") }), link("/admin/classes", t("Open the classes"))));
    }
    var empty = numbers.classes.filter(function (c) { return !c.students; });
    if (empty.length) {
      list.append(el("li", {}, t("No students yet: %(classes)s. ", {
        classes: empty.map(function (c) { return c.name; }).join(", ") }), link("/admin/classes", t("Enrol students"))));
    }
    if (!list.children.length) list.append(el("li", { text: t("Nothing: everything is in order.") }));
  }

  A.start().then(function () {
    var people = "/api/v1/admin/people?limit=1&active=true" + A.scope() + "&role=";
    return Promise.all([count(people + "student"), count(people + "parent"), count(people + "teacher"), A.classes(),
      count("/api/v1/admin/outbox?status=dead&limit=1"), A.terms()]).then(function (r) {
      var numbers = { students: r[0], parents: r[1], teachers: r[2], classes: r[3], dead: r[4], terms: r[5] };
      overview(numbers);
      attention(numbers);
    });
  }).catch(function (err) { ET.toast(err.message, "error"); });
})();
