"""Client frames (commands): how one is declared, and the one parse every frame goes through.

A command is a frozen dataclass whose fields carry their validators (`wire(...)`), and a handler registered with
`@table.command("type", Schema)` next to it (handlers.py). The parse looks the type up in the table (one dict
lookup), runs the field validators and hands the handler a typed object. The validators are small hand-written
functions rather than marshmallow: this runs for every frame of every socket, and the shapes are small.
docs/websocket.md lists the same commands and fields; tests/realtime/test_protocol_docs.py holds the two together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from edutrack import errors
from edutrack.i18n import _
from edutrack.realtime.protocol import ErrorCode, ProtocolError, Req
from edutrack.validation import INT64_MAX, bad_text, parse_json, reject_unstorable_text

if TYPE_CHECKING:
    from edutrack.realtime.connection import Connection

T = TypeVar("T")
Check = Callable[[dict[str, Any], str], Any]  # (frame, field name) -> the field's value, or ProtocolError
Handler = Callable[["Connection", T, Req], Awaitable[None]]

def wire(check: Check) -> Any:
    """A command field, read from the frame by `check`."""
    return dataclasses.field(metadata={"check": check})


@dataclass(frozen=True, slots=True)
class Command(Generic[T]):
    name: str
    schema: type[T]
    handler: Handler[T]
    checks: tuple[tuple[str, Check], ...]

    def load(self, data: dict[str, Any]) -> T:
        return self.schema(**{field: check(data, field) for field, check in self.checks})

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for field, _ in self.checks)


class CommandTable:
    """Commands by type. Filled once, by the decorators in handlers.py, when that module is imported."""

    def __init__(self) -> None:
        self._commands: dict[str, Command[Any]] = {}

    def command(self, kind: str, schema: type[T]) -> Callable[[Handler[T]], Handler[T]]:
        checks = tuple((f.name, f.metadata["check"]) for f in dataclasses.fields(schema))  # type: ignore[arg-type]

        def register(handler: Handler[T]) -> Handler[T]:
            if kind in self._commands:
                raise ValueError(f"command {kind!r} registered twice")
            self._commands[kind] = Command(kind, schema, handler, checks)
            return handler

        return register

    def frozen(self) -> Mapping[str, Command[Any]]:
        return MappingProxyType(self._commands)


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command[Any]
    data: Any
    req: Req


def parse(raw: str, commands: Mapping[str, Command[Any]]) -> Parsed:
    """The frame's command, its typed fields and its `req`, checked as a REST body is (edutrack/validation.py):
    JSON however deeply nested, no NUL or lone surrogate in any string. A ProtocolError carries the frame's
    `req` whenever that could be read, so the error frame echoes it."""
    try:
        data = parse_json(raw, "frame")
    except errors.ApiError as exc:
        raise ProtocolError(exc.code, exc.message, exc.details) from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_FRAME, _("Frame must be a JSON object with a 'type'"))
    req = data.get("req")
    if req is not None and (isinstance(req, bool) or not isinstance(req, str | int)
                            or (isinstance(req, str) and (len(req) > 64 or bad_text(req)))):
        raise ProtocolError(ErrorCode.INVALID_FRAME, _("'req' must be a string (up to 64) or an integer"))
    try:
        reject_unstorable_text(data)
        kind = data.get("type")
        if not isinstance(kind, str):
            raise ProtocolError(ErrorCode.INVALID_FRAME, _("Frame must have a string 'type'"))
        command = commands.get(kind)
        if command is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, _("Unknown frame type %(type)s", type=repr(kind[:40])),
                                {"known": list(commands)})
        return Parsed(command, command.load(data), req)
    except ProtocolError as exc:
        exc.req = req
        raise
    except errors.ApiError as exc:
        raise ProtocolError(exc.code, exc.message, exc.details, req=req) from None


# --- field validators ------------------------------------------------------------------------------------------


def _required(name: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_FRAME, _("'%(name)s' is required", name=name), {name: "required"})


def string(max_len: int, *, required: bool = True) -> Check:
    """A string of 1..max_len characters."""

    def check(data: dict[str, Any], name: str) -> str | None:
        value = data.get(name)
        if value is None:
            if required:
                raise _required(name)
            return None
        if not isinstance(value, str) or not value or len(value) > max_len:
            raise ProtocolError(ErrorCode.INVALID_FRAME, _("'%(name)s' must be a string of 1..%(max)s characters",
                                                                  name=name, max=max_len),
                                {name: "invalid"})
        return value

    return check


def any_string(data: dict[str, Any], name: str) -> str:
    """A string; what it may hold is the service's to say (e.g. a message's length after trimming)."""
    value = data.get(name)
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_FRAME, _("'%(name)s' must be a string", name=name), {name: "invalid"})
    return value


def count(*, required: bool) -> Check:
    """A non-negative integer that fits a bigint."""

    def check(data: dict[str, Any], name: str) -> int | None:
        value = data.get(name)
        if value is None:
            if required:
                raise _required(name)
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > INT64_MAX:
            raise ProtocolError(ErrorCode.INVALID_FRAME, _("'%(name)s' must be a non-negative integer", name=name),
                                {name: "invalid"})
        return value

    return check


def _id_list(max_items: int, refusal: Callable[[str], str]) -> Check:
    """An optional list of up to `max_items` ids (positive 64-bit integers); missing: an empty tuple."""

    def check(data: dict[str, Any], name: str) -> tuple[int, ...]:
        value = data.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > max_items or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= INT64_MAX for v in value):
            raise ProtocolError(ErrorCode.INVALID_FRAME, refusal(name), {name: "invalid"})
        return tuple(value)

    return check


def user_ids(max_items: int) -> Check:
    return _id_list(max_items, lambda name: _("'%(name)s' must be a list of up to %(max)s user ids", name=name,
                                              max=max_items))


def choices(allowed: tuple[str, ...]) -> Check:
    """An optional list of distinct words from `allowed`; missing: an empty tuple."""

    def check(data: dict[str, Any], name: str) -> tuple[str, ...]:
        value = data.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
            raise ProtocolError(ErrorCode.INVALID_FRAME, _("'%(name)s' must be a list of: %(choices)s", name=name,
                                                           choices=", ".join(allowed)), {name: "invalid"})
        return tuple(sorted(set(value)))

    return check


def flag(data: dict[str, Any], name: str) -> bool:
    """True only for a JSON `true`."""
    return data.get(name) is True


def file_ids(max_items: int) -> Check:
    """Uploaded file ids (attachments)."""
    return _id_list(max_items, lambda name: _("'%(name)s' must be a list of up to %(max)s file ids", name=name,
                                              max=max_items))
