"""Every page of the web client, as each role sees it: fits 375, 768 and 1,280 px and passes axe-core."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Browsers
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.school import BuiltSchool


@pytest.mark.parametrize(("who", "pages"), [
    ("student", ["/diary", "/chat", "/news", "/profile", "/settings/notifications"]),
    ("parent", ["/diary", "/chat", "/news", "/profile", "/settings/notifications"]),
    ("teacher", ["/teacher", "/chat", "/news", "/profile", "/settings/notifications"]),
])
async def test_each_page_fits_and_is_accessible(browsers: Browsers, school: BuiltSchool, who: str,
                                                pages: list[str]) -> None:
    child = school.student(0, 0)
    email = {"student": child.email, "parent": school.parents(child.id)[0].email,
             "teacher": school.teachers[0].email}[who]
    tab = await browsers.login(email, expect_path=pages[0])
    for path in pages:
        await tab.page.goto(path)
        await tab.page.wait_for_selector('#conn-status[data-state="online"]')
        await assert_fits(tab.page)
        await assert_accessible(tab.page)
    tab.assert_clean()


@pytest.mark.parametrize("path", ["/login", "/reset-password", "/forgot-password", "/register"])
async def test_public_pages_fit_and_are_accessible(browsers: Browsers, path: str) -> None:
    tab = await browsers.open()
    await tab.page.goto(path)
    await assert_fits(tab.page)
    await assert_accessible(tab.page)
    tab.assert_clean()


async def test_the_checks_catch_what_they_are_for(browsers: Browsers) -> None:
    """A button without a name and a block wider than a phone are caught: the checks above can fail."""
    tab = await browsers.open()
    await tab.page.goto("/login")
    await tab.page.evaluate("""() => {
        const b = document.createElement("button"); document.body.append(b);
        const wide = document.createElement("div"); wide.id = "too-wide"; wide.style.width = "900px";
        wide.textContent = "x"; document.body.append(wide);
    }""")
    with pytest.raises(AssertionError, match="button-name"):
        await assert_accessible(tab.page)
    with pytest.raises(AssertionError, match="too-wide"):
        await assert_fits(tab.page)
