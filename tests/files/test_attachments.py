"""Attachments: upload typed by content, limits and quota with nothing half-written, thumbnails without the
original's metadata, download in a sandbox, and who may download (tried from the attacker's side)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import zipfile

import aiohttp
from PIL import Image

from tests.files.helpers import PDF_BYTES, png_bytes, stored_counts, upload
from tests.realtime.helpers import collect_messages, connect, make_class_world, recv_until, send, subscribe


async def test_an_image_is_stored_typed_by_content_with_a_clean_thumbnail(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    photo = png_bytes((1200, 900), exif_gps=True)  # a JPEG named .png, with a camera and a GPS position
    status, body = await upload(client, world.students[0], photo, "фото класса.png", content_type="image/png")
    assert status == 201, body
    assert body["type"] == "image/jpeg"
    assert body["name"] == "фото класса.png.jpg"  # the extension follows the content
    assert body["size"] == len(photo)
    assert body["has_thumbnail"] is True

    resp = await client.get(f"/api/v1/files/{body['id']}", headers=world.students[0].headers)
    assert resp.status == 200
    assert await resp.read() == photo
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE" in resp.headers["Content-Disposition"]
    again = await client.get(f"/api/v1/files/{body['id']}", headers={
        **world.students[0].headers, "If-None-Match": resp.headers["ETag"]})
    assert again.status == 304

    thumb = await client.get(f"/api/v1/files/{body['id']}/thumbnail", headers=world.students[0].headers)
    assert thumb.status == 200
    assert thumb.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await thumb.read())) as image:
        assert max(image.size) == 320
        assert not image.getexif()  # no camera, no GPS
        assert "exif" not in image.info

    pdf_status, pdf = await upload(client, world.students[0], PDF_BYTES, "реферат.pdf")
    assert pdf_status == 201
    assert pdf["has_thumbnail"] is False
    resp = await client.get(f"/api/v1/files/{pdf['id']}/thumbnail", headers=world.students[0].headers)
    assert resp.status == 404


async def test_office_documents_are_told_by_their_inner_structure(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    status, body = await upload(client, world.teacher, docx.getvalue(), "задание.docx")
    assert status == 201, body
    assert body["type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    status, body = await upload(client, world.teacher, odt.getvalue(), "задание.odt")
    assert status == 201, body
    assert body["type"] == "application/vnd.oasis.opendocument.text"
    text = "Прочитать параграф 12.\n".encode()
    status, body = await upload(client, world.teacher, text, "задание")
    assert status == 201
    assert body["type"] == "text/plain; charset=utf-8"
    assert body["name"] == "задание.txt"


async def test_a_wrong_type_is_refused_by_content_and_nothing_is_stored(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    student = world.students[0]
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256)) * 2000
    page = b"<!DOCTYPE html><html><script>fetch('/api/v1/me')</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    macros = io.BytesIO()
    with zipfile.ZipFile(macros, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", "macro")
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("setup.exe", "MZ")
    for data, name in ((program, "домашка.pdf"), (page, "ответы.txt"), (svg, "картинка.png"),
                       (macros.getvalue(), "отчёт.docx"), (plain_zip.getvalue(), "архив.docx"),
                       ("текст".encode("cp1251"), "текст.txt")):
        status, body = await upload(client, student, data, name, content_type="application/pdf")
        assert status == 415, (name, body)
        assert body["error"]["code"] == "file_type_not_allowed"
        assert "Такой тип файла не разрешён" in body["error"]["message"]
    assert await stored_counts(ctx, student.id) == (0, 0)


async def test_size_limit_and_school_quota_refuse_without_leaving_rows(make_client, ctx, factory):
    client = await make_client(file_max_bytes=300 * 1024, file_school_quota_bytes=700 * 1024)
    world = await make_class_world(ctx, factory)
    student = world.students[0]
    text = ("Домашнее задание по алгебре. " * 20000).encode()[:400 * 1024]

    async def streamed(data: bytes):  # no Content-Length: the limit must bite as the bytes arrive
        for i in range(0, len(data), 16 * 1024):
            yield data[i:i + 16 * 1024]

    resp = await client.post("/api/v1/files?name=big.txt", data=streamed(text), headers=student.headers)
    body = await resp.json()
    assert resp.status == 413, body
    assert body["error"]["code"] == "payload_too_large"
    assert "больше" in body["error"]["message"]
    resp = await client.post("/api/v1/files?name=big.txt", data=text, headers=student.headers)  # declared
    assert resp.status == 413
    assert await stored_counts(ctx, student.id) == (0, 0)

    part = text[:250 * 1024]
    for _ in range(2):
        status, body = await upload(client, student, part, "часть.txt")
        assert status == 201, body
    status, body = await upload(client, world.teacher, part, "ещё.txt")
    assert status == 413, body
    assert body["error"]["code"] == "school_quota_exceeded"
    assert "Хранилище файлов школы заполнено" in body["error"]["message"]
    assert await stored_counts(ctx, world.teacher.id) == (0, 0)
    status, body = await upload(client, world.stranger, part, "другая школа.txt")  # another school's quota
    assert status == 201, body


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")  # 64 megapixels in a few kilobytes
    assert len(bomb.getvalue()) < 100_000
    status, body = await upload(client, world.students[0], bomb.getvalue(), "bomb.png")
    assert status == 415, body
    assert body["error"]["code"] == "image_too_large"
    broken = png_bytes((50, 50))[:60]
    status, body = await upload(client, world.students[0], broken, "broken.png")
    assert status == 415
    assert body["error"]["code"] == "image_unreadable"
    assert await stored_counts(ctx, world.students[0].id) == (0, 0)


async def test_chat_attachments_reach_members_and_only_members_can_download(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sender, classmate = world.students
    other_parent = await factory.actor("parent", school_id=world.school_id)  # a parent of no one in the class
    reader = await connect(client, classmate)
    await subscribe(reader, world.channel)
    status, pdf = await upload(client, sender, PDF_BYTES, "конспект.pdf")
    assert status == 201
    # Before it is attached, only its uploader can read it.
    for outsider in (classmate, world.teacher, world.stranger):
        resp = await client.get(f"/api/v1/files/{pdf['id']}", headers=outsider.headers)
        assert resp.status == 404
    # Nobody can attach someone else's file.
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages",
                             json={"text": "моё", "attachments": [pdf["id"]]}, headers=classmate.headers)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "file_not_found"

    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", json={"attachments": [pdf["id"]]},
                             headers=sender.headers)
    sent = await resp.json()
    assert resp.status == 201, sent
    meta = {"id": pdf["id"], "name": "конспект.pdf", "type": "application/pdf", "size": len(PDF_BYTES),
            "has_thumbnail": False}
    assert sent["attachments"] == [meta]
    assert sent["text"] == ""
    [live] = await collect_messages(reader, world.channel, 1)
    assert live["attachments"] == [meta]
    page = await (await client.get(f"/api/v1/chats/{world.channel}/messages", headers=classmate.headers)).json()
    assert page["items"][-1]["attachments"] == [meta]

    resp = await client.post(f"/api/v1/chats/{world.channel}/messages",
                             json={"text": "ещё раз", "attachments": [pdf["id"]]}, headers=sender.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "file_already_attached"

    for member in (classmate, world.teacher, world.parent):  # the parent's child is in the class
        resp = await client.get(f"/api/v1/files/{pdf['id']}", headers=member.headers)
        assert resp.status == 200, member
        assert await resp.read() == PDF_BYTES
    # Another class's student, a parent of another child, a user of another school; and guessing ids.
    for attacker in (world.outsider, other_parent, world.stranger):
        resp = await client.get(f"/api/v1/files/{pdf['id']}", headers=attacker.headers)
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "file_not_found"
        for guess in range(max(1, pdf["id"] - 3), pdf["id"] + 4):
            resp = await client.get(f"/api/v1/files/{guess}", headers=attacker.headers)
            assert resp.status == 404
            resp = await client.get(f"/api/v1/files/{guess}/thumbnail", headers=attacker.headers)
            assert resp.status == 404
    resp = await client.get(f"/api/v1/files/{pdf['id']}")
    assert resp.status == 401

    # A deleted message takes its files with it for everyone.
    resp = await client.delete(f"/api/v1/chats/{world.channel}/messages/{sent['id']}", headers=sender.headers)
    assert resp.status == 204
    resp = await client.get(f"/api/v1/files/{pdf['id']}", headers=classmate.headers)
    assert resp.status == 404
    await reader.close()


async def test_websocket_send_carries_attachments_with_thumbnails(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sender, classmate = world.students
    reader = await connect(client, classmate)
    await subscribe(reader, world.channel)
    status, image = await upload(client, sender, png_bytes((400, 400)), "доска.png")
    assert status == 201
    assert image["has_thumbnail"]
    ws = await connect(client, sender)
    await send(ws, {"type": "chat.send", "channel": world.channel, "text": "Смотрите доску", "req": "s1",
                    "attachments": [image["id"]]})
    ack, _ = await recv_until(ws, lambda f: f.get("req") == "s1")
    assert ack["type"] == "ack", ack
    [live] = await collect_messages(reader, world.channel, 1)
    assert live["text"] == "Смотрите доску"
    assert live["attachments"] == [{"id": image["id"], "name": "доска.png", "type": "image/png",
                                    "size": image["size"], "has_thumbnail": True}]
    resp = await client.get(f"/api/v1/files/{image['id']}/thumbnail", headers=classmate.headers)
    assert resp.status == 200
    # A socket that comes back replays the message with its attachments (the resume path reads them too).
    again = await connect(client, classmate)
    await subscribe(again, world.channel, since=0)
    [replayed] = await collect_messages(again, world.channel, 1)
    assert replayed["attachments"] == live["attachments"]
    await again.close()
    resp = await client.get(f"/api/v1/files/{image['id']}/thumbnail", headers=world.outsider.headers)
    assert resp.status == 404
    # Someone else's file over the socket: refused, nothing sent.
    status, other = await upload(client, classmate, PDF_BYTES, "чужой.pdf")
    await send(ws, {"type": "chat.send", "channel": world.channel, "text": "украл", "req": "s2",
                    "attachments": [other["id"]]})
    refused, _ = await recv_until(ws, lambda f: f.get("req") == "s2")
    assert refused["type"] == "error", refused
    assert refused["code"] == "file_not_found", refused
    await send(ws, {"type": "chat.send", "channel": world.channel, "text": "x", "req": "s3", "attachments": ["1"]})
    invalid, _ = await recv_until(ws, lambda f: f.get("req") == "s3")
    assert invalid["type"] == "error"
    assert invalid["code"] == "invalid_frame"
    await ws.close()
    await reader.close()


async def test_upload_rate_limit(make_client, factory, ctx):
    client = await make_client(file_uploads_per_hour=2)
    world = await make_class_world(ctx, factory)
    for _ in range(2):
        status, _body = await upload(client, world.teacher, b"ok", "a.txt")
        assert status == 201
    status, body = await upload(client, world.teacher, b"ok", "a.txt")
    assert status == 429, body


async def test_an_upload_cut_off_midway_leaves_nothing(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    student = world.students[0]
    sent = asyncio.Event()

    async def cut_off():
        yield b"%PDF-1.4\n" + b"x" * (600 * 1024)  # more than two chunks reach the database
        sent.set()
        await asyncio.sleep(0.5)
        raise ConnectionAbortedError("the phone lost its network")

    with contextlib.suppress(aiohttp.ClientError, ConnectionAbortedError):
        await client.post("/api/v1/files?name=обрыв.pdf", data=cut_off(), headers=student.headers)
    assert sent.is_set()
    await asyncio.sleep(1.5)  # time enough for the server to have committed, had it taken the cut for the end
    assert await stored_counts(ctx, student.id) == (0, 0)
    status, body = await upload(client, student, PDF_BYTES, "целиком.pdf")  # and the next upload works
    assert status == 201, body


async def test_ranges_of_a_file_cross_chunk_boundaries(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    student = world.students[0]
    data = "".join(f"строка {i:06d}\n" for i in range(30000)).encode()  # ~600 KB: three chunks
    status, body = await upload(client, student, data, "длинный.txt")
    assert status == 201, body
    path = f"/api/v1/files/{body['id']}"
    boundary = 256 * 1024
    for header, first, last in ((f"bytes={boundary - 100}-{boundary + 99}", boundary - 100, boundary + 99),
                                ("bytes=-10", len(data) - 10, len(data) - 1),
                                (f"bytes={2 * boundary - 1}-", 2 * boundary - 1, len(data) - 1),
                                ("bytes=0-0", 0, 0)):
        resp = await client.get(path, headers={**student.headers, "Range": header})
        assert resp.status == 206, header
        assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
        assert await resp.read() == data[first:last + 1], header
    resp = await client.get(path, headers={**student.headers, "Range": f"bytes={len(data)}-"})
    assert resp.status == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(data)}"
    resp = await client.get(path, headers={**student.headers, "Range": "bytes=0-1, 5-6"})  # several: the whole file
    assert resp.status == 200
    assert await resp.read() == data
    resp = await client.get(path, headers={**world.outsider.headers, "Range": "bytes=0-10"})
    assert resp.status == 404
