"""Every text a person reads comes from the catalogue, and the catalogue has Russian for all of it.

The sweep that converts the remaining modules empties NOT_YET_TRANSLATED; nothing else here should grow.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from edutrack.i18n import extract

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "edutrack"
# Modules whose messages are still English literals (being rewritten elsewhere right now); each is converted in
# one sweep and then removed from this list. Paths relative to the repository; a trailing "/" means a folder.
NOT_YET_TRANSLATED: tuple[str, ...] = ()
# Sample data in Russian (people's names, subjects, topics), not messages.
DATA_MODULES = ("edutrack/demo/",)
CYRILLIC = re.compile("[А-Яа-яЁё]")
LETTERS = re.compile("[A-Za-zА-Яа-яЁё]")
# Calls that carry a message for people, and where it is: errors.X(message, details=...),
# ma.ValidationError(message, field), _bad(field, message, details) / _bad_ref(field, message).
ERROR_CALL = re.compile(r"^errors\.[A-Z]\w*$")
VALIDATION_CALL = re.compile(r"^(ma\.)?ValidationError$")
HELPER_CALL = re.compile(r"^_bad\w*$")


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _converted(path: Path) -> bool:
    rel = _relative(path)
    return not any(rel == skip or (skip.endswith("/") and rel.startswith(skip)) for skip in NOT_YET_TRANSLATED)


def _python_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if _converted(p) and not any(_relative(p).startswith(data) for data in DATA_MODULES)]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _literal_text(node: ast.expr) -> bool:
    """A string written in the code (a constant, an f-string, or one glued from pieces), not from the catalogue."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(LETTERS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) or _literal_text(node.right)
    if isinstance(node, ast.List | ast.Tuple):
        return any(_literal_text(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return any(v is not None and _literal_text(v) for v in node.values)
    return False


def _not_for_people(tree: ast.AST) -> set[int]:
    """Strings that are developer documentation: docstrings, `@doc(...)` and `metadata=` (the OpenAPI text)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
        if isinstance(node, ast.Call):
            docs = [*node.args, *(k.value for k in node.keywords)] if _name(node.func) == "doc" else \
                [k.value for k in node.keywords if k.arg == "metadata"]
            found |= {id(n) for d in docs for n in ast.walk(d) if isinstance(n, ast.Constant)}
    return found


def test_every_message_has_a_russian_translation() -> None:
    problems = extract.check()
    assert not problems, "\n".join(problems[:40])


def test_api_errors_and_validation_messages_come_from_the_catalogue() -> None:
    """errors.NotFound("No such lesson") slips past the catalogue; errors.NotFound(_("No such lesson")) does not."""
    found = []
    for path in _python_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if ERROR_CALL.match(name):
                texts = node.args[:1] + [k.value for k in node.keywords if k.arg in ("message", "details")]
            elif VALIDATION_CALL.match(name):
                texts = node.args[:1]
            elif HELPER_CALL.match(name):
                texts = node.args[1:]
            else:
                continue
            for text in texts:
                if _literal_text(text):
                    found.append(f"{_relative(path)}:{node.lineno}: {ast.unparse(node)[:100]}")
    assert not found, "messages written in the code, not taken from the catalogue:\n" + "\n".join(found)


def test_no_russian_text_in_code_outside_the_catalogue() -> None:
    found = []
    for path in _python_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _not_for_people(tree)
        for node in ast.walk(tree):
            # A pattern ("^[А-Яа-я]+$") names letters; it says nothing to anyone.
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs \
                    and CYRILLIC.search(node.value) and not node.value.startswith("^"):
                found.append(f"{_relative(path)}:{node.lineno}: {node.value[:60]!r}")
    assert not found, "Russian text belongs in messages.po:\n" + "\n".join(found)


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# Words that are the same in every language: the product's name, and each language's own name on the switch.
ANY_LANGUAGE = re.compile(r"EduTrack|English|Русский")
VISIBLE_ATTRIBUTES = {"aria-label", "placeholder", "title", "alt", "label"}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.texts.append(data)


def test_templates_take_every_word_from_the_catalogue() -> None:
    found = []
    for path in sorted((PACKAGE / "templates").rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        source = JINJA.sub(" ", path.read_text(encoding="utf-8"))
        if path.suffix == ".html":
            parser = _VisibleText()
            parser.feed(source)
            texts = parser.texts
        else:
            texts = [source]
        for text in texts:
            if LETTERS.search(ANY_LANGUAGE.sub("", text)):
                found.append(f"{_relative(path)}: {text.strip()[:60]!r}")
    assert not found, "words written into templates instead of {{ _(...) }}:\n" + "\n".join(found)


JS_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
# Where a script puts words on the page: each must be t(...), never a literal.
JS_SINKS = re.compile(
    r"""(text:\s*|textContent\s*=\s*|toast\(\s*|new Error\(\s*|"aria-label":\s*|title:\s*|placeholder:\s*)"""
    r"""(["'])(?=[^"']*[A-Za-zА-Яа-яЁё])""")


def test_scripts_take_every_word_from_the_catalogue() -> None:
    found = []
    for path in sorted((ROOT / "static").rglob("*.js")):
        if "swagger-ui" in path.parts:  # vendored, not ours; its words are Swagger UI's own
            continue
        code = JS_COMMENT.sub("", path.read_text(encoding="utf-8"))
        for number, line in enumerate(code.splitlines(), 1):
            if CYRILLIC.search(line) or JS_SINKS.search(line):
                found.append(f"{_relative(path)}:{number}: {line.strip()[:100]}")
    assert not found, "words written into scripts instead of t(...):\n" + "\n".join(found)


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The scanners above find a literal message, Russian in code and a bare word in a template."""
    tree = ast.parse('raise errors.NotFound("No such lesson")\nraise errors.NotFound(_("No such lesson"))')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) == "errors.NotFound"]
    assert [_literal_text(c.args[0]) for c in calls] == [True, False]
    parser = _VisibleText()
    parser.feed(JINJA.sub(" ", '<p title="Hi">{{ _("x") }}</p><button aria-label="{{ _(\'y\') }}">Save</button>'))
    assert [t for t in parser.texts if LETTERS.search(t)] == ["Hi", "Save"]
    assert JS_SINKS.search('el("p", { text: "Loading" })')
    assert not JS_SINKS.search('el("p", { text: t("x") })')
