"""An open page whose session is cut elsewhere goes to the login page at once, not when its token expires:
the account deactivated by an administrator, or its password changed on another device."""

from __future__ import annotations

import urllib.parse

from aiohttp.test_utils import TestClient

from tests.e2e.conftest import Browsers
from tests.support.factories import Factory
from tests.support.school import BuiltSchool


async def test_a_deactivated_students_open_chat_goes_to_the_login_page(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    student = school.student(0, 1)
    tab = await browsers.login(student.email, expect_path="/diary")
    page = tab.page
    await page.goto(f"/chat?channel=class:{cls.id}")
    await page.locator("#message-list .empty").wait_for()

    admin = await factory.login(school.admin)
    resp = await client.patch(f"/api/v1/users/{student.id}", headers=admin.headers, json={"is_active": False})
    assert resp.status == 200, await resp.text()

    await page.wait_for_url("**/login?next=*")  # the socket was closed with 4001: log in again
    assert urllib.parse.unquote(page.url).endswith(f"next=/chat?channel=class:{cls.id}")  # back here after login
    tab.assert_clean()


async def test_a_password_changed_on_another_device_signs_this_page_out(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    parent = school.parents(school.student(0, 2).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page

    phone = await factory.login(parent)  # the other device
    resp = await client.put("/api/v1/profile/me/password", headers=phone.headers,
                            json={"current_password": phone.password, "new_password": "a-brand-new-secret-7"})
    assert resp.status == 200, await resp.text()

    # 4002 first (a refresh might do), then the refresh is refused (its refresh token was revoked): log in again.
    await page.wait_for_url("**/login?next=*")
    tab.assert_clean()
