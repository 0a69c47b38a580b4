"""A school's public news: the items its admins marked public, once published, for anyone without login, as a
page and as an Atom feed (RFC 4287)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.queries import public as q

ATOM = "http://www.w3.org/2005/Atom"
ITEMS = 50


@dataclass
class SchoolNews:
    school_id: int
    school_name: str
    timezone: str
    items: list[Any]

    @property
    def updated(self) -> datetime | None:
        return max((i.updated_at for i in self.items), default=None)


async def school_news(ctx: AppContext, school_id: int) -> SchoolNews:
    async with ctx.reads() as session:
        found = await q.school(session, school_id)
        if found is None:
            raise errors.NotFound(_("No such school"))
        items = await q.public_news(session, school_id, ITEMS)
    return SchoolNews(found.id, found.name, found.timezone, items)


def atom(news: SchoolNews, base_url: str) -> bytes:
    page = f"{base_url}/schools/{news.school_id}/news"
    feed = ET.Element("feed", {"xmlns": ATOM})  # the default namespace, written as an attribute

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        element.text = text
        return element

    add(feed, "id", f"{page}.atom")
    add(feed, "title", _("News: %(school)s", school=news.school_name))
    updated = news.updated
    add(feed, "updated", (updated or datetime(2000, 1, 1).astimezone()).isoformat())
    add(feed, "link", rel="self", href=f"{page}.atom", type="application/atom+xml")
    add(feed, "link", rel="alternate", href=page, type="text/html")
    author = add(feed, "author")
    add(author, "name", news.school_name)
    for item in news.items:
        entry = add(feed, "entry")
        add(entry, "id", f"{page}#news-{item.id}")
        add(entry, "title", item.title)
        add(entry, "published", item.published_at.isoformat())
        add(entry, "updated", item.updated_at.isoformat())
        add(entry, "link", rel="alternate", href=f"{page}#news-{item.id}", type="text/html")
        add(entry, "content", item.body, type="text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
