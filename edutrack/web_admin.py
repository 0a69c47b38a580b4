"""The administrator's pages (/admin...): people, classes, subjects and teaching assignments, the calendar, the
timetable and its one-off changes (covers, cancellations, moves), the email outbox, and the superuser's schools.
Shells like every page of edutrack.web: the data comes from the JSON API, which decides who may see and change
what (a teacher who opens /admin gets the page and nothing from the API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from edutrack.api.openapi import doc
from edutrack.i18n import N_
from edutrack.i18n.browser import page_catalogues
from edutrack.web import CATALOGUES, CORE_SCRIPT, LIVE_SCRIPT, PAGES_TAG, STATIC_DIR, Page, render_page

Handler = Callable[[web.Request], Awaitable[web.Response]]
ADMIN_SCRIPT = "web/admin.js"  # shared by the admin pages: forms with errors by their fields, tables, dialogs


def _page(name: str, template: str, title: str, script: str) -> Page:
    return Page(name, f"admin/{template}", title, (LIVE_SCRIPT, ADMIN_SCRIPT, script))


HOME = _page("admin", "home.html", N_("Administration"), "web/admin-home.js")
PEOPLE = _page("admin-people", "people.html", N_("People"), "web/admin-people.js")
CLASSES = _page("admin-classes", "classes.html", N_("Classes"), "web/admin-classes.js")
SUBJECTS = _page("admin-subjects", "subjects.html", N_("Subjects and teachers"), "web/admin-subjects.js")
CALENDAR = _page("admin-calendar", "calendar.html", N_("Years and terms"), "web/admin-calendar.js")
TIMETABLE = _page("admin-timetable", "timetable.html", N_("Timetable"), "web/admin-timetable.js")
CHANGES = _page("admin-changes", "changes.html", N_("Lesson changes"), "web/admin-changes.js")
OUTBOX = _page("admin-outbox", "outbox.html", N_("Email outbox"), "web/admin-outbox.js")
SCHOOLS = _page("admin-schools", "schools.html", N_("Schools"), "web/admin-schools.js")
PAGES = {"/admin": HOME, "/admin/people": PEOPLE, "/admin/classes": CLASSES, "/admin/subjects": SUBJECTS,
         "/admin/calendar": CALENDAR, "/admin/timetable": TIMETABLE, "/admin/changes": CHANGES, "/admin/outbox": OUTBOX,
         "/admin/schools": SCHOOLS}


def _handler(path: str, page: Page) -> Handler:
    async def admin_page(request: web.Request) -> web.Response:
        return render_page(request, page)

    # One operation per page in /openapi.json, each with its own id (get_admin_people_page, ...).
    admin_page.__name__ = path.strip("/").replace("/", "_") + "_page"
    summary = f"Web client: the administrator's page {path} (HTML); a superuser picks the school with ?school="
    return doc(summary, tags=PAGES_TAG, auth=False)(admin_page)


def setup(app: web.Application) -> None:
    """After edutrack.web.setup, which creates the catalogues these pages join."""
    for path, page in PAGES.items():
        app[CATALOGUES][page.name] = page_catalogues(STATIC_DIR / s for s in (CORE_SCRIPT, *page.scripts))
        app.router.add_get(path, _handler(path, page))
