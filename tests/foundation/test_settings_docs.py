"""The README's settings table and the Settings dataclass say the same thing: every variable the code reads is
documented, nothing documented is unread, and a plain default in the table is the code's default."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from edutrack.settings import Settings, env_name, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rows() -> list[tuple[list[str], list[str]]]:
    """(variables, backticked values of the default cell) of each row of the Configuration table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rows.append((re.findall(r"`([A-Z0-9_]+)`", cells[0]), re.findall(r"`([^`]*)`", cells[1])))
    return rows


def shown(value: Any) -> str:
    """A default as the README writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(shown(v) for v in value)
    return str(value)


def test_every_setting_read_from_the_environment_is_in_the_readme_and_nothing_else() -> None:
    read = {name for f in dataclasses.fields(Settings) if (name := env_name(f)) is not None}
    documented = [name for names, _ in readme_rows() for name in names]
    assert len(documented) == len(set(documented)), "a variable is documented twice"
    assert set(documented) == read


def test_the_defaults_in_the_readme_are_the_code_defaults() -> None:
    defaults = Settings()
    fields = {name: f for f in dataclasses.fields(Settings) if (name := env_name(f)) is not None}
    compared = 0
    for names, values in readme_rows():
        if len(values) != len(names):
            continue  # a default in words ("generated per process outside production"), checked by other tests
        for name, value in zip(names, values, strict=True):
            assert shown(getattr(defaults, fields[name].name)) == value, name
            compared += 1
    assert compared > 40


def test_the_environment_parses_every_documented_default_back_to_itself() -> None:
    """Writing the README's defaults into the environment changes nothing."""
    env = {}
    for names, values in readme_rows():
        if len(values) == len(names):
            env.update(zip(names, values, strict=True))
    env["JWT_SECRET"] = "x" * 40
    loaded = load_settings(env, env_file=None)
    assert loaded.replace(jwt_secret="") == Settings().replace(jwt_secret="")
