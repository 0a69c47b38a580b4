"""Email rendering: jinja2 templates under edutrack/templates/email, one HTML and one text part each, worded
through the catalogue (Jinja2's i18n extension) in the language current while rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from edutrack.i18n import current_locale
from edutrack.i18n.jinja import install_gettext


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class MailTemplates:
    def __init__(self) -> None:
        self._html = jinja2.Environment(
            loader=jinja2.PackageLoader("edutrack", "templates/email"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._text = jinja2.Environment(
            loader=jinja2.PackageLoader("edutrack", "templates/email"),
            autoescape=False,  # noqa: S701 - plain-text parts are never rendered as HTML
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        install_gettext(self._html)
        install_gettext(self._text)

    def render(self, template: str, subject: str, **context: Any) -> RenderedEmail:
        """In the current language (see edutrack.i18n.for_recipients for emails written during a request)."""
        context.update(subject=subject, locale=current_locale())
        return RenderedEmail(
            subject=subject,
            text=self._text.get_template(f"{template}.txt").render(**context),
            html=self._html.get_template(f"{template}.html").render(**context),
        )
