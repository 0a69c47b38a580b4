"""The code stays easy to read for the next person: small files and functions, one fact per assert in tests,
test helpers shared through tests/support/, no comments pointing at issue trackers, no placeholder commands."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "edutrack"
TESTS = ROOT / "tests"
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 60


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _name(path: Path, root: Path) -> str:
    return str(path.relative_to(root.parent))


def long_files(root: Path) -> list[str]:
    return [f"{_name(p, root)}: {n} lines" for p in _modules(root)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES]


def long_functions(root: Path) -> list[str]:
    found = []
    for path in _modules(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{_name(path, root)}:{node.lineno} {node.name}: {length} lines")
    return found


def chained_asserts(root: Path) -> list[str]:
    """`assert a and b`: a failure would not say which fact was false."""
    return [f"{_name(path, root)}:{node.lineno}" for path in _modules(root)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And)]


def foreign_conftest_imports(root: Path) -> list[str]:
    """A test module may import its own folder's conftest; what several folders share lives in tests/support/."""
    found = []
    for path in _modules(root):
        own = ".".join(path.relative_to(root.parent).parent.parts) + ".conftest"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{_name(path, root)}:{node.lineno} imports {name}" for name in names
                      if name.split(".")[-1] == "conftest" and name != own]
    return found


ISSUE_REFERENCE = re.compile(r"\b(issue|ticket)\s*#?\d+|#\d{1,4}\b", re.IGNORECASE)


def issue_references(root: Path) -> list[str]:
    """Comments and docstrings say why the code is so, not which ticket asked for it."""
    found = []
    for path in _modules(root):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ISSUE_REFERENCE.search(line):
                found.append(f"{_name(path, root)}:{number}: {line.strip()}")
    return found


def test_no_file_in_the_package_is_over_450_lines() -> None:
    assert long_files(PACKAGE) == []


def test_no_function_in_the_package_is_over_60_lines() -> None:
    assert long_functions(PACKAGE) == []


def test_tests_assert_one_fact_at_a_time() -> None:
    assert chained_asserts(TESTS) == []


def test_tests_import_no_other_folders_conftest() -> None:
    assert foreign_conftest_imports(TESTS) == []


def test_the_package_refers_to_no_issue_numbers() -> None:
    assert issue_references(PACKAGE) == []


def test_the_cli_has_no_placeholder_commands() -> None:
    cli = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    names = {node.name for node in ast.walk(cli) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert "_not_yet" not in names


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "big.py").write_text("x = 1\n" * (MAX_FILE_LINES + 1), encoding="utf-8")
    body = "".join(f"    y{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (package / "fn.py").write_text(f"def long() -> None:\n{body}\n\n# see issue 12\n", encoding="utf-8")
    tests = tmp_path / "tests"
    (tests / "area").mkdir(parents=True)
    (tests / "area" / "test_x.py").write_text(
        "from tests.other.conftest import helper\nfrom tests.area.conftest import own\n\n"
        "def test_x():\n    assert 1 and 2\n    assert 1 or 2\n", encoding="utf-8")
    assert long_files(package) == [f"pkg/big.py: {MAX_FILE_LINES + 1} lines"]
    assert long_functions(package) == [f"pkg/fn.py:1 long: {MAX_FUNCTION_LINES + 1} lines"]
    assert issue_references(package) == ["pkg/fn.py:64: # see issue 12"]
    assert chained_asserts(tests) == ["tests/area/test_x.py:5"]
    assert foreign_conftest_imports(tests) == ["tests/area/test_x.py:1 imports tests.other.conftest"]
