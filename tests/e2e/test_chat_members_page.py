"""The chat page names everyone it shows online, parents and teachers included (from the chat's member list)."""

from __future__ import annotations

from tests.e2e.conftest import Browsers
from tests.support.school import BuiltSchool


async def test_a_parent_and_a_teacher_online_in_the_class_chat_are_named(browsers: Browsers,
                                                                         school: BuiltSchool) -> None:
    cls = school.classes[0]
    student = school.student(0, 1)
    parent = school.parents(school.student(0, 0).id)[0]
    teacher = school.users[cls.class_teacher_id or cls.teacher_by_subject[school.subject(0)]]
    tabs = {}
    for who, email, start in (("student", student.email, "/diary"), ("parent", parent.email, "/diary"),
                              ("teacher", teacher.email, "/teacher")):
        tab = await browsers.login(email, expect_path=start)
        await tab.page.goto(f"/chat?channel=class:{cls.id}")
        await tab.page.locator("#message-list .empty").wait_for()
        tabs[who] = tab
    page = tabs["student"].page
    online = page.locator("#online")
    await online.filter(has_text="Школьников Родитель0").wait_for()
    await online.filter(has_text="Педагогов Учитель").wait_for()
    assert "Участник №" not in await online.inner_text()
    for tab in tabs.values():
        tab.assert_clean()
