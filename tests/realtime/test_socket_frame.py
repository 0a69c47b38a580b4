"""An open socket keeps one middleware frame alive, not the whole chain, and still speaks its handshake's language.

Every middleware around a handler keeps a coroutine frame for as long as the handler runs; for a websocket that
is the socket's life, ~3 KB a socket over six middlewares (docs/benchmarks.md, "Memory per socket and connect
time"). The websocket handler therefore answers the handshake and leaves the socket's life to request_context
(api/middlewares.py, `defer_to_outer`), which runs it after the others have returned.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType

from tests.realtime.helpers import connect, gateway_of, make_class_world, recv_until, subscribe

CHAIN = ("cors_and_security.<locals>.middleware", "locale_middleware", "error_handler", "db_admission",
         "route_contract", "ws_handler")


def _awaiting(task: asyncio.Task[Any]) -> list[str]:
    """The qualified names of the coroutines a task is suspended in, outermost first."""
    names: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None and hasattr(coro, "cr_code"):
        names.append(coro.cr_code.co_qualname)
        coro = coro.cr_await
    return names


def _socket_tasks() -> list[list[str]]:
    stacks = [_awaiting(task) for task in asyncio.all_tasks()]
    return [names for names in stacks if "_lifetime" in names]


async def test_an_open_socket_holds_only_the_outer_middleware_frame(client, ctx, factory) -> None:
    world = await make_class_world(ctx, factory)
    ws = await connect(client, world.teacher)
    await subscribe(ws, world.channel)
    [stack] = _socket_tasks()
    assert "request_context" in stack, stack
    assert not [name for name in stack if name in CHAIN], stack
    assert len(gateway_of(client).connections) == 1
    await ws.close()


async def test_the_socket_speaks_the_language_of_its_handshake(client, ctx, factory) -> None:
    world = await make_class_world(ctx, factory)
    for language, words in (("en", "Send JSON text frames, not binary"),
                            ("ru", "Отправляйте текстовые кадры JSON, а не двоичные")):
        ws = await connect(client, world.teacher, headers={"Accept-Language": language})
        await ws.send_bytes(b"\x00")
        error, _ = await recv_until(ws, lambda f: f["type"] == "error")
        assert error["message"] == words
        await ws.close()
        assert (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
