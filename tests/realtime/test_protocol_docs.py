"""docs/websocket.md says what the code does: its tables of client and server frames against the registered commands
(edutrack/realtime/handlers.py) and the declared server frames (edutrack/realtime/frames.py)."""

from __future__ import annotations

import re
from pathlib import Path

from edutrack.realtime.frames import SERVER_FRAMES
from edutrack.realtime.handlers import COMMANDS
from edutrack.realtime.protocol import ErrorCode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "websocket.md").read_text()
NAME = re.compile(r"`([a-z_.]+)`(\??)")


def table_rows(section: str) -> dict[str, str]:
    """The first table of `section`: frame type -> its fields column."""
    body = DOC[DOC.index(f"## {section}\n"):]
    body = body[:body.index("\n## ", 1)]
    rows: dict[str, str] = {}
    lines = body.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_the_docs_list_exactly_the_registered_commands_with_their_fields() -> None:
    documented = table_rows("Client -> server frames")
    assert set(documented) == set(COMMANDS), {"documented only": set(documented) - set(COMMANDS),
                                              "registered only": set(COMMANDS) - set(documented)}
    for kind, command in COMMANDS.items():
        names = {name for name, _ in NAME.findall(documented[kind])}
        assert names == set(command.fields), (kind, names, command.fields)


def test_the_docs_list_exactly_the_declared_server_frames_with_their_fields() -> None:
    documented = table_rows("Server -> client frames")
    assert set(documented) == set(SERVER_FRAMES), {"documented only": set(documented) - set(SERVER_FRAMES),
                                                   "declared only": set(SERVER_FRAMES) - set(documented)}
    for kind, declared in SERVER_FRAMES.items():
        fields = NAME.findall(documented[kind])
        required = {name for name, optional in fields if not optional}
        optional = {name for name, optional in fields if optional}
        assert required == declared.__required_keys__ - {"type"}, (kind, required)  # type: ignore[attr-defined]
        assert optional == declared.__optional_keys__, (kind, optional)  # type: ignore[attr-defined]


def test_the_docs_list_every_protocol_error_code() -> None:
    """The protocol's own error codes are all in the docs' list."""
    listed = DOC[DOC.index("## Error codes"):]
    listed = listed[:listed.index("\n## ", 1)]
    names = {name for name, _ in NAME.findall(listed)}
    own = {value for key, value in vars(ErrorCode).items() if key.isupper()}
    assert own <= names, own - names
