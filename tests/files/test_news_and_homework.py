"""Files of news items and of a lesson's homework: attached by those who may change the item, downloadable by
those who may read it, and by nobody else (another class, a parent of another child, another school)."""

from __future__ import annotations

from datetime import date

import aiohttp

from tests.files.helpers import PDF_BYTES
from tests.support.diary import auth, body_of
from tests.support.school import add_lessons, build_school


async def _upload(client, headers, data: bytes, name: str) -> int:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name)
    body = await body_of(await client.post("/api/v1/files", data=form, headers=headers), 201)
    return int(body["id"])


async def _downloads(client, headers, file_id: int) -> bool:
    resp = await client.get(f"/api/v1/files/{file_id}", headers=headers)
    assert resp.status in (200, 404), resp.status
    return resp.status == 200


async def test_homework_files_reach_the_class_and_its_parents_only(client, ctx):
    school = await build_school(ctx, classes=2, students_per_class=2, parents_per_student=1)
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    mine, theirs = school.classes
    subject = school.subject()
    [lesson_id] = await add_lessons(ctx, school, mine.id, subject, [date(2026, 10, 5)])
    teacher = auth(ctx, school.teacher_of(mine.id, subject))
    student = auth(ctx, school.student(0, 0))
    file_id = await _upload(client, teacher, PDF_BYTES, "Задание.pdf")

    own = await _upload(client, student, PDF_BYTES, "моё.pdf")  # a student cannot attach to homework
    await body_of(await client.post(f"/api/v1/lessons/{lesson_id}/attachments", json={"file_ids": [own]},
                                    headers=student), 403)

    body = await body_of(await client.post(f"/api/v1/lessons/{lesson_id}/attachments",
                                           json={"file_ids": [file_id]}, headers=teacher), 200)
    assert [f["id"] for f in body["items"]] == [file_id]
    listed = await body_of(await client.get(f"/api/v1/lessons/{lesson_id}/attachments", headers=student), 200)
    assert listed["items"][0]["name"] == "Задание.pdf"

    readers = [student, auth(ctx, school.student(0, 1)), auth(ctx, school.parents(mine.student_ids[0])[0]),
               auth(ctx, school.admin)]
    for headers in readers:
        assert await _downloads(client, headers, file_id)
    attackers = [auth(ctx, school.student(1, 0)), auth(ctx, school.parents(theirs.student_ids[0])[0]),
                 auth(ctx, other.student(0, 0)), auth(ctx, other.admin)]
    for headers in attackers:
        assert not await _downloads(client, headers, file_id)
        await body_of(await client.get(f"/api/v1/lessons/{lesson_id}/attachments", headers=headers), 404)


async def test_news_files_follow_the_news_audience(client, ctx):
    school = await build_school(ctx, classes=2, students_per_class=1, parents_per_student=1)
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    mine, theirs = school.classes
    admin = auth(ctx, school.admin)
    news = await body_of(await client.post("/api/v1/news", json={
        "title": "Экскурсия", "body": "Согласие во вложении", "audience": "class", "class_id": mine.id,
        "status": "published"}, headers=admin), 201)
    file_id = await _upload(client, admin, PDF_BYTES, "Согласие.pdf")
    teacher = auth(ctx, school.teacher_of(mine.id, school.subject()))
    await body_of(await client.post(f"/api/v1/news/{news['id']}/attachments", json={"file_ids": [file_id]},
                                    headers=teacher), 403)
    await body_of(await client.post(f"/api/v1/news/{news['id']}/attachments", json={"file_ids": [file_id]},
                                    headers=admin), 200)
    parent = auth(ctx, school.parents(mine.student_ids[0])[0])
    listed = await body_of(await client.get(f"/api/v1/news/{news['id']}/attachments", headers=parent), 200)
    assert [f["id"] for f in listed["items"]] == [file_id]
    assert await _downloads(client, parent, file_id)
    assert await _downloads(client, auth(ctx, school.student(0, 0)), file_id)
    for headers in (auth(ctx, school.parents(theirs.student_ids[0])[0]), auth(ctx, school.student(1, 0)),
                    auth(ctx, other.admin), auth(ctx, other.student(0, 0))):
        assert not await _downloads(client, headers, file_id)
        await body_of(await client.get(f"/api/v1/news/{news['id']}/attachments", headers=headers), 404)
