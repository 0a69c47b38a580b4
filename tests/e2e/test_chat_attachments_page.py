"""The chat page's attach button: a photo and a PDF go with a message; a classmate sees the photo's thumbnail
and the PDF's name and size, fetched with their own token."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import Browsers
from tests.files.helpers import PDF_BYTES, png_bytes
from tests.support.school import BuiltSchool


async def test_a_photo_and_a_pdf_attached_in_the_chat_reach_a_classmate(browsers: Browsers,
                                                                       school: BuiltSchool) -> None:
    cls = school.classes[0]
    sender, reader = school.student(0, 0), school.student(0, 1)
    tabs = []
    for who in (sender, reader):
        tab = await browsers.login(who.email, expect_path="/diary")
        await tab.page.goto(f"/chat?channel=class:{cls.id}")
        await tab.page.locator("#message-list .empty").wait_for()
        tabs.append(tab)
    page = tabs[0].page
    await expect(page.locator("label[for=attach-input]")).to_have_text("Прикрепить файлы")
    await page.locator("#attach-input").set_input_files([
        {"name": "доска.png", "mimeType": "image/png", "buffer": png_bytes((640, 480))},
        {"name": "конспект.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
    ])
    await expect(page.locator("#pending-attachments li")).to_have_count(2)
    await page.locator("#message-input").fill("Материалы к уроку")
    await page.locator("#send-form button[type=submit]").click()
    await expect(page.locator("#pending-attachments li")).to_have_count(0)

    other = tabs[1].page
    message = other.locator("#message-list .message", has_text="Материалы к уроку")
    await expect(message.locator("img.attachment-thumb")).to_have_attribute("src", re.compile("^blob:"))
    await expect(message.locator(".attachment-link", has_text="конспект.pdf")).to_contain_text("КБ")
    for tab in tabs:
        tab.assert_clean()
