"""Filling a form with the keyboard alone: focus moves with Tab only, in the order the page gives it, a select is
changed with the arrow keys, a date or time is typed, and the form is sent with Enter on its button.

    await fill_by_keyboard(page, [("invite-role", Choose("Учитель")), ("invite-last", "Соколова"), ...],
                           submit="Отправить приглашение")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from playwright.async_api import Page

# A field by its id, a button or a link by its words.
FOCUSED = """() => { const a = document.activeElement;
    return !a || a === document.body ? null : a.matches("button, a") ? a.textContent.trim() : a.id; }"""


@dataclass(frozen=True)
class Choose:
    """The option of a select whose text starts with `label`."""

    label: str


@dataclass(frozen=True)
class Day:
    """A date typed into a date field, in the order of the browser's own date format."""

    value: date


async def _choose(page: Page, label: str) -> None:
    options: list[str] = await page.evaluate(
        "() => [...document.activeElement.options].map(o => o.textContent.trim())")
    current: int = await page.evaluate("() => document.activeElement.selectedIndex")
    wanted = next(i for i, text in enumerate(options) if text.startswith(label))
    key = "ArrowDown" if wanted > current else "ArrowUp"
    for _ in range(abs(wanted - current)):
        await page.keyboard.press(key)


async def date_order(page: Page) -> str:
    """How this browser's date fields take typed digits ("%m%d%Y" for an English one): they follow the browser's
    own language, not the page's. Found on a probe field, before the form is filled."""
    probe = page.locator("#date-probe")
    await page.evaluate("""() => { const f = document.createElement("input"); f.type = "date"; f.id = "date-probe";
        f.setAttribute("aria-label", "probe"); document.body.append(f); }""")
    try:
        await probe.focus()
        await page.keyboard.type("01022026")
        value = await probe.input_value()
    finally:
        await page.evaluate("() => document.getElementById('date-probe').remove()")
    return {"2026-01-02": "%m%d%Y", "2026-02-01": "%d%m%Y"}[value]


async def tab_out(page: Page) -> None:
    """Tab until the focus leaves this field: a date or time field takes a Tab per part (day, month, year)."""
    here = await page.evaluate_handle("() => document.activeElement")
    for _ in range(5):
        await page.keyboard.press("Tab")
        if not await page.evaluate("(el) => document.activeElement === el", here):
            return
    raise AssertionError("the focus is stuck")


async def tab_to(page: Page, label: str, most: int = 8) -> None:
    """Tab on to the button (or link) whose text is `label`, passing at most `most` other controls."""
    for _ in range(most):
        focused = await page.evaluate(FOCUSED)
        if focused is not None and re.sub(r"\s+", " ", focused) == label:
            return
        await tab_out(page)
    raise AssertionError(f"Tab never reached {label!r}; the focus is on {await page.evaluate(FOCUSED)!r}")


async def fill_by_keyboard(page: Page, steps: list[tuple[str, str | Choose | Day | None]],
                           submit: str | None = None) -> None:
    """`steps`: (id of the field focus must be on, what to enter there or None). The first field is focused as a
    person tabbing to the form would find it; after it only Tab moves the focus, and Enter on the `submit` button
    (reached with Tab) sends the form."""
    order = await date_order(page) if any(isinstance(v, Day) for _, v in steps) else None
    first = page.locator(f"#{steps[0][0]}")
    await first.wait_for(state="visible")  # a page shows its forms once it has the session and its data
    await first.focus()
    for index, (field, value) in enumerate(steps):
        assert await page.evaluate(FOCUSED) == field, (await page.evaluate(FOCUSED), field)
        if isinstance(value, Choose):
            await _choose(page, value.label)
        elif isinstance(value, Day):
            await page.keyboard.type(value.value.strftime(order or "%m%d%Y"))
        elif value is not None:
            await page.keyboard.press("Control+A")
            await page.keyboard.type(value)
        if index < len(steps) - 1 or submit:
            await tab_out(page)
    if submit:
        await tab_to(page, submit)
        await page.keyboard.press("Enter")
