"""`load-demo --small` builds a consistent school, and a second run changes nothing."""

from __future__ import annotations

import io

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.diary import Attendance, Grade, Lesson, ParentChild, School, SchoolClass
from edutrack.db.models import User
from edutrack.demo import DEMO_PASSWORD, load_demo, patronymic, print_logins

TABLES = (School, SchoolClass, User, ParentChild, Lesson, Grade, Attendance)


async def counts(ctx: AppContext) -> dict[str, int]:
    async with ctx.sessions.begin() as session:
        return {m.__tablename__: (await session.execute(select(func.count()).select_from(m))).scalar_one()
                for m in TABLES}


async def test_load_demo_small_is_idempotent_and_usable(client: TestClient, ctx: AppContext) -> None:
    progress = io.StringIO()
    first = await load_demo(ctx, small=True, progress_stream=progress)
    assert first.created and "100%" in progress.getvalue()
    after_first = await counts(ctx)
    assert after_first["schools"] == 1 and after_first["classes"] == 2
    # 1 admin + 12 teachers (one per subject at this size) + 16 students + 32 parents
    assert after_first["users"] == 1 + 12 + 16 + 32
    assert after_first["parent_children"] == 2 * 8 * 2
    # Two weeks from Tuesday 1 September: 9 school days × 6 slots per class, nearly all filled.
    assert after_first["lessons"] >= 0.9 * 2 * 9 * 6
    assert after_first["grades"] > after_first["lessons"]
    assert after_first["attendance"] == after_first["lessons"] * 8

    second = await load_demo(ctx, small=True, progress_stream=io.StringIO())
    assert not second.created and second.school_id == first.school_id
    assert await counts(ctx) == after_first

    out = io.StringIO()
    print_logins(first, out)
    assert DEMO_PASSWORD in out.getvalue() and first.logins["teacher"] in out.getvalue()
    # The printed logins work, and the data answers through the API.
    tokens = {}
    for role, email in first.logins.items():
        resp = await client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert resp.status == 200, (role, await resp.text())
        tokens[role] = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        assert (await resp.json())["user"]["role"] == role
    async with ctx.sessions.begin() as session:
        student_id = (await session.execute(select(User.id).where(User.email == first.logins["student"]))).scalar()
    resp = await client.get(f"/api/v1/students/{student_id}/grades", headers=tokens["parent"])
    assert resp.status == 200 and (await resp.json())["grades"]


@pytest.mark.parametrize(("father", "male", "female"), [
    ("Александр", "Александрович", "Александровна"), ("Сергей", "Сергеевич", "Сергеевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"), ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Павел", "Павлович", "Павловна"), ("Михаил", "Михайлович", "Михайловна"),
    ("Илья", "Ильич", "Ильинична"), ("Никита", "Никитич", "Никитична"), ("Лев", "Львович", "Львовна"),
])
def test_demo_patronymics_are_real_russian_patronymics(father: str, male: str, female: str) -> None:
    assert (patronymic(father, False), patronymic(father, True)) == (male, female)
