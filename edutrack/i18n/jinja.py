"""Jinja2's i18n extension wired to the catalogue: `{{ _("Hello, %(name)s!", name=name) }}`, `ngettext`,
`pgettext`, and `gendered(gender, "...")` (see edutrack.i18n.gendered), all in the language current while the
template renders."""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from edutrack.i18n import GENDERS, current_locale
from edutrack.i18n.catalogue import translations


def _gettext(message: str) -> str:
    return translations(current_locale()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return translations(current_locale()).pgettext(context, message)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).npgettext(context, singular, plural, n)


@jinja2.pass_context
def _gendered(context: jinja2.runtime.Context, gender: str | None, message: str, **params: Any) -> str:
    text = _pgettext(gender, message) if gender in GENDERS else _gettext(message)
    # The catalogue's text is trusted like the template itself; the parameters are escaped, as `_()` does.
    return Markup(text) % params if context.eval_ctx.autoescape else text % params  # noqa: S704


def install_gettext(env: jinja2.Environment) -> None:
    """Add the i18n extension (if missing) and the catalogue's functions to an environment."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext)
    env.globals["gendered"] = _gendered
