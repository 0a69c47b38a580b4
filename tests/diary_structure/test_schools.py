"""Schools, academic years, terms and work types: CRUD, validation and who may do what."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.db.models import User
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool, build_school


async def test_superuser_creates_school_with_default_work_types(client: TestClient, ctx: AppContext,
                                                                 superuser: User) -> None:
    su = auth(ctx, superuser)
    created = await body_of(await client.post("/api/v1/schools", headers=su, json={
        "name": "Лицей №1", "address": "Москва", "timezone": "Asia/Vladivostok", "min_marks_for_attestation": 4,
    }), 201)
    assert created["timezone"] == "Asia/Vladivostok"
    assert created["min_marks_for_attestation"] == 4
    assert created["rounding_threshold"] == 0.5  # the default: x.5 rounds up
    await body_of(await client.post("/api/v1/schools", headers=su, json={"name": "лицей №1"}), 409)

    types = await body_of(await client.get(f"/api/v1/work-types?school_id={created['id']}", headers=su), 200)
    weights = {t["name"]: t["weight"] for t in types}
    assert weights["Контрольная работа"] == 3
    assert weights["Самостоятельная работа"] == 2
    assert weights["Ответ на уроке"] == 1
    assert weights["Домашняя работа"] == 1

    page = await body_of(await client.get("/api/v1/schools?q=лицей", headers=su), 200)
    assert [s["id"] for s in page["items"]] == [created["id"]]
    assert page["total"] == 1
    await body_of(await client.delete(f"/api/v1/schools/{created['id']}", headers=su), 204)
    await body_of(await client.get(f"/api/v1/schools/{created['id']}", headers=su), 404)


async def test_school_validation(client: TestClient, ctx: AppContext, superuser: User) -> None:
    su = auth(ctx, superuser)
    for bad in ({"name": ""}, {"name": "X", "timezone": "Mars/Olympus"}, {"name": "X", "rounding_threshold": 1.5},
                {"name": "X", "min_marks_for_attestation": 0}, {"name": "X", "unknown": 1}, {}):
        body = await body_of(await client.post("/api/v1/schools", headers=su, json=bad), 422)
        assert body["error"]["code"] == "validation_error"
    await body_of(await client.get("/api/v1/schools/abc", headers=su), 404)
    await body_of(await client.get("/api/v1/schools/999999", headers=su), 404)
    await body_of(await client.patch("/api/v1/schools/999999", headers=su, json={"name": "Y"}), 404)


async def test_school_authorization(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1)
    admin, teacher = auth(ctx, school.admin), auth(ctx, school.teachers[0])
    student, parent = auth(ctx, school.student()), auth(ctx, school.parents(school.student().id)[0])

    for who in (admin, teacher, student, parent):
        await body_of(await client.post("/api/v1/schools", headers=who, json={"name": "Новая"}), 403)
        await body_of(await client.delete(f"/api/v1/schools/{school.id}", headers=who), 403)
        # Another school's page does not exist for them.
        await body_of(await client.get(f"/api/v1/schools/{other.id}", headers=who), 404)
        page = await body_of(await client.get("/api/v1/schools", headers=who), 200)
        assert [s["id"] for s in page["items"]] == [school.id]

    changed = await body_of(await client.patch(f"/api/v1/schools/{school.id}", headers=admin, json={
        "rounding_threshold": 0.6, "parents_in_class_chat": False, "at_risk_average": 3.5}), 200)
    assert changed["rounding_threshold"] == 0.6
    assert changed["parents_in_class_chat"] is False
    await body_of(await client.patch(f"/api/v1/schools/{other.id}", headers=admin, json={"address": "x"}), 404)
    for who in (teacher, student, parent):
        await body_of(await client.patch(f"/api/v1/schools/{school.id}", headers=who, json={"address": "x"}), 403)
    await body_of(await client.patch(f"/api/v1/schools/{school.id}", headers=admin, json={"name": other.name}),
                  409)


async def test_years_and_terms(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    base = f"/api/v1/schools/{school.id}"
    bad_dates = {"name": "2027/2028", "starts_on": "2028-05-31", "ends_on": "2027-09-01"}
    body = await body_of(await client.post(f"{base}/years", headers=admin, json=bad_dates), 422)
    assert "ends_on" in body["error"]["details"]
    await body_of(await client.post(f"{base}/years", headers=admin, json={
        "name": "x", "starts_on": "2027-02-30", "ends_on": "2027-05-01"}), 422)
    # Overlaps the builder's 2026/2027 year.
    await body_of(await client.post(f"{base}/years", headers=admin, json={
        "name": "2027", "starts_on": "2027-05-01", "ends_on": "2027-12-31"}), 409)
    year = await body_of(await client.post(f"{base}/years", headers=admin, json={
        "name": "2027/2028", "starts_on": "2027-09-01", "ends_on": "2028-05-31"}), 201)

    terms = f"/api/v1/years/{year['id']}/terms"
    q1 = await body_of(await client.post(terms, headers=admin, json={
        "name": "1 четверть", "starts_on": "2027-09-01", "ends_on": "2027-10-31"}), 201)
    # Outside the year, end before start, overlap (dates are inclusive), duplicate name.
    await body_of(await client.post(terms, headers=admin, json={
        "name": "0", "starts_on": "2027-08-01", "ends_on": "2027-09-10"}), 422)
    await body_of(await client.post(terms, headers=admin, json={
        "name": "2", "starts_on": "2027-12-01", "ends_on": "2027-11-01"}), 422)
    clash = await body_of(await client.post(terms, headers=admin, json={
        "name": "2 четверть", "starts_on": "2027-10-31", "ends_on": "2027-12-28"}), 409)
    assert "1 четверть" in clash["error"]["message"]
    await body_of(await client.post(terms, headers=admin, json={
        "name": "1 четверть", "starts_on": "2028-01-10", "ends_on": "2028-03-20"}), 409)
    q2 = await body_of(await client.post(terms, headers=admin, json={
        "name": "2 четверть", "starts_on": "2027-11-01", "ends_on": "2027-12-28"}), 201)

    listed = await body_of(await client.get(f"{base}/terms?year_id={year['id']}", headers=admin), 200)
    assert [t["id"] for t in listed] == [q1["id"], q2["id"]]
    await body_of(await client.patch(f"/api/v1/terms/{q2['id']}", headers=admin,
                                      json={"starts_on": "2027-10-15"}), 409)
    moved = await body_of(await client.patch(f"/api/v1/terms/{q2['id']}", headers=admin,
                                             json={"ends_on": "2027-12-27"}), 200)
    assert moved["ends_on"] == "2027-12-27"
    # The year cannot shrink past its terms.
    await body_of(await client.patch(f"/api/v1/years/{year['id']}", headers=admin,
                                     json={"ends_on": "2027-12-01"}), 409)

    # Members read the calendar; only admins change it; other schools see nothing.
    teacher, student = auth(ctx, school.teachers[0]), auth(ctx, school.student())
    years = await body_of(await client.get(f"{base}/years", headers=student), 200)
    assert {y["name"] for y in years} == {"2026/2027", "2027/2028"}
    await body_of(await client.post(terms, headers=teacher, json={
        "name": "3", "starts_on": "2028-01-10", "ends_on": "2028-03-20"}), 403)
    other = await build_school(ctx, classes=1, students_per_class=1)
    await body_of(await client.get(f"{base}/years", headers=auth(ctx, other.admin)), 404)
    await body_of(await client.patch(f"/api/v1/terms/{q1['id']}", headers=auth(ctx, other.admin),
                                     json={"name": "x"}), 404)
    await body_of(await client.delete(f"/api/v1/terms/{q2['id']}", headers=admin), 204)
    await body_of(await client.delete(f"/api/v1/terms/{q2['id']}", headers=admin), 404)
    # A year with classes keeps them.
    await body_of(await client.delete(f"/api/v1/years/{school.year_id}", headers=admin), 409)


async def test_work_types(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    admin = auth(ctx, school.admin)
    created = await body_of(await client.post("/api/v1/work-types", headers=admin,
                                              json={"name": "Диктант", "weight": 2}), 201)
    assert created["school_id"] == school.id
    for bad in ({"name": "Эссе", "weight": 0}, {"name": "Эссе", "weight": 11}, {"name": "", "weight": 1}):
        await body_of(await client.post("/api/v1/work-types", headers=admin, json=bad), 422)
    await body_of(await client.post("/api/v1/work-types", headers=admin, json={"name": "диктант", "weight": 1}),
                  409)
    changed = await body_of(await client.patch(f"/api/v1/work-types/{created['id']}", headers=admin,
                                               json={"weight": 3}), 200)
    assert changed["weight"] == 3
    teacher = auth(ctx, school.teachers[0])
    listed: list[dict[str, Any]] = await body_of(await client.get("/api/v1/work-types", headers=teacher), 200)
    assert any(t["name"] == "Диктант" and t["weight"] == 3 for t in listed)
    await body_of(await client.patch(f"/api/v1/work-types/{created['id']}", headers=teacher,
                                     json={"weight": 1}), 403)
    await body_of(await client.delete(f"/api/v1/work-types/{created['id']}", headers=admin), 204)
