"""No list endpoint issues a query per row: the same requests against a small school (N rows) and a
school three times larger (3N rows) send the same number of SQL statements (cache misses, so the
database path is what is measured)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient

from edutrack import cache
from edutrack.context import AppContext
from edutrack.db.diary import News
from tests.support.diary import auth, body_of, count_sql
from tests.support.school import BuiltSchool, add_lessons, build_school

WEEK = [date(2026, 11, 30) + timedelta(days=d) for d in range(5)]


async def _populate(ctx: AppContext, school: BuiltSchool, news_items: int) -> None:
    for cls in school.classes:
        for hour, subject_id in enumerate(school.subject_ids.values()):
            await add_lessons(ctx, school, cls.id, subject_id, WEEK, hour=8 + hour)
    async with ctx.sessions.begin() as session:
        now = datetime.now(UTC)
        session.add_all([
            News(school_id=school.id, author_id=school.admin.id, title=f"Новость {i}", body="...",
                 audience=("school", "class", "role")[i % 3], class_id=school.classes[0].id if i % 3 == 1 else None,
                 role="student" if i % 3 == 2 else None, status="published", published_at=now)
            for i in range(news_items)
        ])


async def _statements(client: TestClient, ctx: AppContext, school: BuiltSchool) -> dict[str, int]:
    c0 = school.classes[0]
    student = school.users[c0.student_ids[0]]
    teacher = school.users[c0.teacher_by_subject[school.subject(0)]]
    parent = school.parents(student.id)[0]
    requests = {
        "classes (admin)": (school.admin, "/api/v1/classes?limit=200"),
        "classes (parent)": (parent, "/api/v1/classes"),
        "class students": (school.admin, f"/api/v1/classes/{c0.id}/students"),
        "subjects": (teacher, "/api/v1/subjects"),
        "assignments": (school.admin, "/api/v1/assignments?limit=200"),
        "parent links": (school.admin, "/api/v1/parent-links?limit=200"),
        "work types": (teacher, "/api/v1/work-types"),
        "terms": (student, f"/api/v1/schools/{school.id}/terms"),
        "week view": (school.admin, f"/api/v1/lessons?class_id={c0.id}&from=2026-11-30"),
        "schedule (student)": (student, "/api/v1/schedule/me?from=2026-11-30"),
        "schedule (teacher)": (teacher, "/api/v1/schedule/me?from=2026-11-30"),
        "schedule (parent)": (parent, f"/api/v1/schedule/me?from=2026-11-30&child_id={student.id}"),
        "news (student)": (student, "/api/v1/news?limit=200"),
        "news (admin)": (school.admin, "/api/v1/news?limit=200"),
        "classmates": (student, "/api/v1/classmates?limit=200"),
    }
    counts = {}
    for name, (user, url) in requests.items():
        # Every request is a miss: what is measured is the PostgreSQL path.
        await cache.invalidate(ctx, cache.schools_bucket(), cache.school_ref_bucket(school.id),
                               cache.school_schedule_bucket(school.id))
        with count_sql(ctx) as statements:
            body = await body_of(await client.get(url, headers=auth(ctx, user)), 200)
        items = body if isinstance(body, list) else body["items"]
        assert items, name  # measured with rows, not on empty answers
        counts[name] = len(statements)
    return counts


async def test_list_query_counts_do_not_grow_with_rows(client: TestClient, ctx: AppContext) -> None:
    small = await build_school(ctx, classes=1, students_per_class=3, parents_per_student=1)
    large = await build_school(ctx, classes=3, students_per_class=9, parents_per_student=2)
    await _populate(ctx, small, news_items=3)
    await _populate(ctx, large, news_items=9)
    await client.get("/api/v1/schools", headers=auth(ctx, small.admin))  # warm-up (pools, first statements)
    small_counts = await _statements(client, ctx, small)
    large_counts = await _statements(client, ctx, large)
    assert large_counts == small_counts
    assert max(small_counts.values()) <= 6, small_counts
