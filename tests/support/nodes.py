"""`edutrack api` as a real process on a free port, and its memory (RSS) sampled while it works: what the
multi-node file tests and scripts/bench/files.py measure."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class ApiNode:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    @contextlib.asynccontextmanager
    async def peak_rss(self, interval: float = 0.02) -> AsyncIterator[list[int]]:
        """Samples the node's RSS (KiB) until the block ends: [before, peak] once it has."""
        before = self.rss_kib()
        result = [before, before]

        async def sample() -> None:
            while True:
                result[1] = max(result[1], self.rss_kib())
                await asyncio.sleep(interval)

        task = asyncio.create_task(sample())
        try:
            yield result
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            result[1] = max(result[1], self.rss_kib())


async def _wait_until_up(port: int, proc: asyncio.subprocess.Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline and proc.returncode is None:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("edutrack api did not start")


@contextlib.asynccontextmanager
async def api_node(env: Mapping[str, str]) -> AsyncIterator[ApiNode]:
    """An `edutrack api` process with this environment, stopped (SIGTERM) when the block ends."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edutrack", "--env-file", "/nonexistent", "api", "--host", "127.0.0.1",
        "--port", str(port), env=dict(env), cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        await _wait_until_up(port, proc)
        yield ApiNode(proc, port)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
