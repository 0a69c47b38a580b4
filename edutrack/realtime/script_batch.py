"""Redis script calls made within one turn of the event loop, sent as one pipeline.

A reconnect wave opens hundreds of sockets per turn of the loop, and each makes a presence call or two (its touch
at connect, its "who is online" at subscribe). One call on its own costs a connection taken from the pool and
given back, redis-py's retry and parser layers and a round trip: a fifth of a node's CPU while 5,000 sockets
connected (docs/benchmarks.md, "Memory per socket and connect time"). Gathered into one pipeline they share all of
that. Not for a Redis Cluster, where a pipeline of keys on many masters is split by the client anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

_Call = tuple[AsyncScript, list[Any], list[Any], "asyncio.Future[Any]"]


class ScriptBatch:
    """`call` queues a script call and returns a future of its result (or its error); the calls queued before the
    loop's next turn go out together. One per Presence (per gateway)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._calls: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()

    def call(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        # A caller that went away (its socket closed) leaves its result unread; that is no error.
        done.add_done_callback(_consume_error)
        self._calls.append((script, keys, args, done))
        if len(self._calls) == 1:
            # Runs after every callback already due in this turn: the handshakes that arrived together join.
            loop.call_soon(self._flush)
        return done

    def _flush(self) -> None:
        calls, self._calls = self._calls, []
        if calls:
            task = asyncio.create_task(self._send(calls), name="realtime-script-batch")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            results = await self._pipeline(calls)
            missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
            if missing:  # Redis lost its script cache (a restart, SCRIPT FLUSH): load them, send those again
                for script in {calls[i][0] for i in missing}:
                    await self._redis.script_load(script.script)
                for i, result in zip(missing, await self._pipeline([calls[i] for i in missing]), strict=True):
                    results[i] = result
        except BaseException as exc:
            for *_, done in calls:
                if not done.done():
                    done.set_exception(exc if isinstance(exc, Exception) else ConnectionError("batch cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, done), result in zip(calls, results, strict=True):
            if done.done():
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        # EVALSHA straight away: redis-py's own script handling in a pipeline asks SCRIPT EXISTS first, a second
        # round trip for every batch.
        async with self._redis.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))

    async def close(self) -> None:
        self._flush()
        for task in list(self._sending):
            task.cancel()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def _consume_error(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
