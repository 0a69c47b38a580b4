"""The catalogue machinery: language negotiation, plural forms, marshmallow's messages, pages' catalogues."""

from __future__ import annotations

import inspect
import json
import re

import pytest
from aiohttp.test_utils import TestClient
from babel import Locale
from marshmallow import fields, validate

from edutrack.i18n import _, ngettext, use_locale
from edutrack.i18n.catalogue import LOCALES, PLURAL_CATEGORIES, translations
from edutrack.i18n.negotiate import negotiate, parse_accept_language
from edutrack.i18n.validation import MARSHMALLOW_MESSAGES, translate_message, translate_messages

CYRILLIC = re.compile("[А-Яа-яЁё]")
REGISTER = "/api/v1/auth/register"


@pytest.mark.parametrize(("header", "expected"), [
    (None, "ru"), ("", "ru"), ("en", "en"), ("en-GB,en;q=0.9", "en"), ("fr-FR, de;q=0.8", "ru"),
    ("fr, en;q=0.5, ru;q=0.7", "ru"), ("de, en;q=0.9, ru;q=0.8", "en"), ("ru-RU,ru;q=0.9,en-US;q=0.8", "ru"),
    ("en;q=0, ru;q=0.1", "ru"), ("*", "ru"), ("EN-us", "en"), ("en;q=abc, ru", "ru"), (";;,,", "ru"),
])
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_q_values_order_and_ties_keep_the_order_given() -> None:
    assert parse_accept_language("da, en-gb;q=0.8, en;q=0.7") == ["da", "en-gb", "en"]
    assert parse_accept_language("en;q=0.5, ru;q=0.5") == ["en", "ru"]
    assert parse_accept_language("ru;q=0.1, en") == ["en", "ru"]


async def test_api_errors_speak_the_requests_language(client: TestClient) -> None:
    ru = await client.get("/api/v1/profile/me")
    body = await ru.json()
    assert ru.status == 401
    assert body["error"]["code"] == "unauthorized"
    assert body["error"]["message"].startswith("Сначала войдите")
    assert ru.headers["Content-Language"] == "ru"
    en = await client.get("/api/v1/profile/me", headers={"Accept-Language": "en-US,en;q=0.9"})
    body = await en.json()
    assert body["error"]["code"] == "unauthorized"
    assert body["error"]["message"].startswith("Sign in first")
    assert en.headers["Content-Language"] == "en"
    forced = await client.get("/api/v1/profile/me?lang=ru", headers={"Accept-Language": "en"})
    assert (await forced.json())["error"]["message"].startswith("Сначала войдите")
    nowhere = await client.get("/api/v1/nope", headers={"Accept-Language": "fr"})
    assert (await nowhere.json())["error"]["message"] == "Адреса GET /api/v1/nope нет."


@pytest.mark.parametrize(("n", "word"), [
    (0, "непрочитанных"), (1, "непрочитанное"), (2, "непрочитанных"), (21, "непрочитанное"), (11, "непрочитанных"),
])
def test_plural_forms_come_from_the_catalogues_rule(n: int, word: str) -> None:
    with use_locale("ru"):
        assert ngettext("%(num)s unread", "%(num)s unread", n) == f"{n} {word}"
    with use_locale("en"):
        assert ngettext("%(num)s unread", "%(num)s unread", n) == f"{n} unread"


@pytest.mark.parametrize(("n", "word"), [
    (0, "оценок"), (1, "оценка"), (2, "оценки"), (4, "оценки"), (5, "оценок"), (11, "оценок"), (12, "оценок"),
    (14, "оценок"), (21, "оценка"), (22, "оценки"), (25, "оценок"), (101, "оценка"), (111, "оценок"),
    (1002, "оценки"),
])
def test_russian_plural_forms(n: int, word: str) -> None:
    with use_locale("ru"):
        assert ngettext("%(num)s grade", "%(num)s grades", n) == f"{n} {word}"
    with use_locale("en"):
        assert ngettext("%(num)s grade", "%(num)s grades", n) == f"{n} grade{'' if n == 1 else 's'}"


def test_browser_plural_categories_match_the_catalogues_rule() -> None:
    """The browser picks a form by the CLDR category (Intl.PluralRules mapped through PLURAL_CATEGORIES); the
    server by the .po file's Plural-Forms rule. Both must pick the same form for every number."""
    forms = {"ru": ["%(num)s оценка", "%(num)s оценки", "%(num)s оценок"], "en": ["%(num)s grade", "%(num)s grades"]}
    for locale in LOCALES:
        rule = Locale.parse(locale).plural_form
        categories = PLURAL_CATEGORIES[locale]
        for n in range(0, 250):
            category = rule(n)
            index = categories.index(category) if category in categories else len(categories) - 1
            by_server = translations(locale).ngettext("%(num)s grade", "%(num)s grades", n)
            assert by_server == forms[locale][index], (locale, n, category)


def _marshmallow_defaults() -> set[str]:
    """Every default message of the installed marshmallow, rendered the way marshmallow renders it."""
    texts: set[str] = set()
    for _name, cls in inspect.getmembers(fields, inspect.isclass):
        for text in getattr(cls, "default_error_messages", {}).values():
            obj_type = getattr(cls, "OBJ_TYPE", "datetime")
            texts.add(text.replace("{obj_type}", obj_type))
            if "{awareness}" in text:
                texts |= {text.format(awareness=a, obj_type="datetime") for a in ("aware", "naive")}
    for _name, cls in inspect.getmembers(validate, inspect.isclass):
        for attr, text in vars(cls).items():
            if isinstance(text, str) and (attr.startswith("message") or attr == "default_message"):
                texts.add(text)
    ops = {"message_gte": "greater than or equal to", "message_gt": "greater than",
           "message_lte": "less than or equal to", "message_lt": "less than"}
    for lo in ("message_gte", "message_gt"):
        texts.add(validate.Range.message_min.format(min_op=ops[lo]))
        for hi in ("message_lte", "message_lt"):
            texts.add(validate.Range.message_all.format(min_op=ops[lo], max_op=ops[hi]))
    for hi in ("message_lte", "message_lt"):
        texts.add(validate.Range.message_max.format(max_op=ops[hi]))
    texts |= set(fields.Field.default_error_messages.values())
    texts.add("Invalid input type.")
    texts.add("Unknown field.")
    # Fragments and templates of templates, not messages anyone sees; "cannot be formatted" comes from dumping
    # our own responses, never from a request.
    return {t for t in texts if t not in ops.values() and "{min_op}" not in t and "{max_op}" not in t
            and "{awareness}" not in t and "cannot be formatted" not in t}


def test_every_marshmallow_message_has_a_russian_translation() -> None:
    samples = {"min": "1", "max": "200", "choices": "a, b", "equal": "3", "other": "5", "values": "x",
               "input": "31.02", "obj_type": "datetime"}
    with use_locale("ru"):
        for template in _marshmallow_defaults():
            rendered = template.replace("{input!r}", "'31.02'").format(**samples)
            translated = translate_message(rendered)
            assert CYRILLIC.search(translated), f"marshmallow message without a translation: {template!r}"
    catalogue_forms = {re.sub(r"%\((\w+)\)s", r"{\1}", m) for m in MARSHMALLOW_MESSAGES}
    assert "Missing data for required field." in catalogue_forms


def test_a_range_with_both_bounds_is_translated_whole() -> None:
    """Not "Должно быть не меньше 1 and less than or equal to 9": the one-bound template fits the text too."""
    with use_locale("ru"):
        assert translate_message("Must be greater than or equal to 1 and less than or equal to 9.") == \
            "Должно быть от 1 до 9."
        assert translate_message("Must be greater than 1 and less than 9.") == "Должно быть больше 1 и меньше 9."


def test_marshmallow_messages_keep_their_values_and_structure() -> None:
    details = {"name": ["Length must be between 1 and 100."], "marks": {0: {"student_id": ["Not a valid integer."]}},
               "mine": ["Уже по-русски."]}
    with use_locale("ru"):
        assert translate_messages(details) == {
            "name": ["Длина должна быть от 1 до 100."], "marks": {0: {"student_id": ["Нужно целое число."]}},
            "mine": ["Уже по-русски."]}
    with use_locale("en"):
        assert translate_messages(details) == details


async def test_validation_errors_in_russian_and_in_english(client: TestClient) -> None:
    resp = await client.post(REGISTER, json={"email": "nobody", "password": 5})
    body = await resp.json()
    assert resp.status == 422
    assert body["error"]["code"] == "validation_error"
    details = body["error"]["details"]
    assert details["first_name"] == ["Обязательное поле не заполнено."]
    assert details["email"] == ["Неверный адрес электронной почты."]
    assert details["password"] == ["Нужна строка."]
    assert body["error"]["message"] == "Запрос заполнен неверно"
    resp = await client.post(REGISTER, json={"email": "nobody", "password": 5}, headers={"Accept-Language": "en"})
    details = (await resp.json())["error"]["details"]
    assert details["first_name"] == ["Missing data for required field."]
    query = await client.get("/api/v1/users?limit=0", headers={"Accept-Language": "ru"})
    assert (await query.json())["error"]["code"] in ("validation_error", "unauthorized")


def _embedded_catalogue(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="i18n-catalogue">(.*?)</script>', html, re.DOTALL)
    assert found, "the page embeds no catalogue"
    data: dict[str, object] = json.loads(found.group(1))
    return data


async def test_pages_are_russian_by_default_and_english_when_chosen(client: TestClient) -> None:
    resp = await client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    html = await resp.text()
    assert '<html lang="ru">' in html
    assert "Вход в электронный дневник" in html
    catalogue = _embedded_catalogue(html)
    assert catalogue["locale"] == "ru"
    assert catalogue["plural"] == ["one", "few", "many"]
    messages = catalogue["messages"]
    assert isinstance(messages, dict)
    assert messages["Close"] == "Закрыть"  # core.js
    assert messages["Enter your email and password."] == "Введите почту и пароль."  # login.js
    assert "Choose a lesson or a date." not in messages  # teacher.js: not this page's
    assert messages["repeated %(num)s time"] == [
        "повторилось %(num)s раз", "повторилось %(num)s раза", "повторилось %(num)s раз"]

    english = await client.get("/login?lang=en")
    html = await english.text()
    assert '<html lang="en">' in html
    assert "Sign in to the school diary" in html
    assert english.cookies["edutrack_lang"].value == "en"
    assert _embedded_catalogue(html)["plural"] == ["one", "other"]
    # The choice is remembered; the link at the foot switches back.
    again = await client.get("/diary")
    assert '<html lang="en">' in await again.text()
    back = await client.get("/diary?lang=ru")
    assert '<html lang="ru">' in await back.text()
    assert (await (await client.get("/chat")).text()).count('lang="ru"') >= 1


def test_untranslated_message_falls_back_to_english() -> None:
    with use_locale("ru"):
        assert _("A message nobody translated, %(who)s", who="x") == "A message nobody translated, x"
