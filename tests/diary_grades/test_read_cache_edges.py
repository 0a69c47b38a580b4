"""Edges of the read cache: a middle-name change, and a parent unlinked from a child who was moved to another school."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from tests.diary_grades.test_read_cache import WEEK, _cached_read
from tests.support.diary import auth, body_of
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, build_school


async def test_teacher_middle_name_change_reaches_the_cached_week(client: TestClient, ctx: AppContext,
                                                                  school: BuiltSchool) -> None:
    c0, math = school.classes[0], school.subject(0)
    admin = auth(ctx, school.admin)
    teacher = auth(ctx, school.teacher_of(c0.id, math))
    await body_of(await client.post("/api/v1/lessons", headers=admin, json={
        "class_id": c0.id, "subject_id": math, "teacher_id": c0.teacher_by_subject[math],
        "starts_at": "2026-10-06T10:00:00", "ends_at": "2026-10-06T10:45:00"}), 201)
    url = f"/api/v1/lessons?class_id={c0.id}&{WEEK}"
    await _cached_read(client, ctx, url, admin)
    # teacher_name is "last first middle" (full_name_sql): a middle-name change must invalidate too.
    await body_of(await client.put("/api/v1/profile/me", headers=teacher, json={"middle_name": "Петровна"}), 200)
    week = await body_of(await client.get(url, headers=admin), 200)
    assert all(x["teacher_name"].endswith("Петровна") for x in week["items"]), week


async def test_unlinked_parent_keeps_the_cached_week_of_a_child_moved_to_another_school(
        client: TestClient, ctx: AppContext, factory: Factory, school: BuiltSchool) -> None:
    c0 = school.classes[0]
    child = school.user(c0.student_ids[0])
    parent = school.parents(child.id)[0]
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    token, _ = ctx.tokens.issue_access(school.admin.id, "admin", None, True)  # a superuser's token
    su = {"Authorization": f"Bearer {token}"}
    # The child moves to the other school (still enrolled in c0 until someone unenrols them).
    await body_of(await client.patch(f"/api/v1/users/{child.id}", headers=su, json={"school_id": other.id}), 200)
    url = f"/api/v1/lessons?class_id={c0.id}&{WEEK}"
    await _cached_read(client, ctx, url, auth(ctx, parent))  # the parent (school A) may still see the class
    # The new school's admin unlinks the parent: PostgreSQL now says 404 for the parent.
    await body_of(await client.delete(f"/api/v1/parent-links/{parent.id}/{child.id}",
                                      headers=auth(ctx, other.admin)), 204)
    await body_of(await client.get(url, headers=auth(ctx, parent)), 404)
