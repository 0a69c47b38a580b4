"""The app factory: `create_app(settings)` builds one API node with its own resources."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from edutrack import public_web, realtime, web_account, web_admin, web_notify
from edutrack import web as web_client
from edutrack.api import absences as absences_api
from edutrack.api import accounts, admin_people, diary_structure, docs, health, news, timetable
from edutrack.api import analytics as analytics_api
from edutrack.api import attachments as attachments_api
from edutrack.api import attendance as attendance_api
from edutrack.api import attestations as attestations_api
from edutrack.api import calendar as calendar_api
from edutrack.api import chats as chats_api
from edutrack.api import diary_seen as diary_seen_api
from edutrack.api import exports as exports_api
from edutrack.api import final_marks as final_marks_api
from edutrack.api import grades as grades_api
from edutrack.api import handin as handin_api
from edutrack.api import imports as imports_api
from edutrack.api import journal as journal_api
from edutrack.api import lesson_changes as lesson_changes_api
from edutrack.api import news_acks as news_acks_api
from edutrack.api import notifications as notifications_api
from edutrack.api import outbox as outbox_api
from edutrack.api import people as people_api
from edutrack.api import push as push_api
from edutrack.api.middlewares import (
    cors_and_security,
    db_admission,
    error_handler,
    request_context,
    route_contract,
    server_header,
)
from edutrack.i18n.web import locale_middleware
from edutrack.keys import CTX, SETTINGS
from edutrack.resources import open_context
from edutrack.settings import Settings
from edutrack.web import STATIC_DIR

log = logging.getLogger(__name__)


async def _resources(app: web.Application) -> AsyncIterator[None]:
    async with open_context(app[SETTINGS], role="api") as ctx:
        app[CTX] = ctx
        yield


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_context, cors_and_security(settings), locale_middleware, error_handler, db_admission,
                     route_contract],
    )
    app[SETTINGS] = settings
    app.on_response_prepare.append(server_header)
    app.cleanup_ctx.append(_resources)
    health.setup_routes(app)
    accounts.setup_routes(app)
    diary_structure.setup(app)
    news.setup(app)
    outbox_api.setup(app)
    grades_api.setup(app)
    attestations_api.setup(app)
    final_marks_api.setup(app)
    attendance_api.setup(app)
    absences_api.setup(app)
    journal_api.setup(app)
    analytics_api.setup(app)
    people_api.setup(app)
    chats_api.setup(app)
    admin_people.setup(app)
    timetable.setup(app)
    lesson_changes_api.setup(app)
    imports_api.setup(app)
    attachments_api.setup(app)
    handin_api.setup(app)
    exports_api.setup(app)
    calendar_api.setup(app)
    notifications_api.setup(app)
    news_acks_api.setup(app)
    push_api.setup(app)
    diary_seen_api.setup(app)
    realtime.setup(app)
    web_client.setup(app)
    web_admin.setup(app)
    web_account.setup(app)
    public_web.setup(app)
    web_notify.setup(app)
    docs.setup_routes(app)
    app.router.add_static("/static", STATIC_DIR, name="static")
    return app
