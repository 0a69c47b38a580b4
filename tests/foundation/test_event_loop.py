"""The long-running roles run on uvloop by default and on asyncio's own loop with EVENT_LOOP=asyncio."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from edutrack import loops
from edutrack.settings import Settings
from tests.support.environment import TEST_JWT_SECRET
from tests.support.services import free_port


async def _running_loop() -> str:
    return loops.loop_name(asyncio.get_running_loop())


@pytest.mark.parametrize(("event_loop", "expected"), [("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_the_worker_runner_uses_the_chosen_loop(event_loop: str, expected: str) -> None:
    """`edutrack relay`, `notifier` and `run` start through loops.run."""
    assert loops.run(Settings(event_loop=event_loop), _running_loop()) == expected


@pytest.mark.parametrize(("setting", "expected"), [({}, "uvloop"), ({"EVENT_LOOP": "asyncio"}, "asyncio")])
async def test_the_api_process_runs_on_the_chosen_loop(settings: Settings, tmp_path: Path,
                                                       setting: dict[str, str], expected: str) -> None:
    port = free_port()
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "TMPDIR")
    env = {**{k: os.environ[k] for k in keep if k in os.environ}, "ENVIRONMENT": "test",
           "DATABASE_URL": settings.database_url, "DATABASE_POOL_MODE": settings.database_pool_mode,
           "JWT_SECRET": TEST_JWT_SECRET, "NAMESPACE": settings.namespace, "LOG_LEVEL": "INFO", "LOG_JSON": "true",
           **setting}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), "api", "--port", str(port),
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = asyncio.get_running_loop().time() + 90  # a loaded machine starts slowly
            while asyncio.get_running_loop().time() < deadline:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert proc.returncode is None, "edutrack api exited early"
                await asyncio.sleep(0.05)
            async with http.get(f"http://127.0.0.1:{port}/health") as resp:
                assert resp.status == 200
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    # Logged from the running loop itself (an on_startup hook), so it names what really serves the requests.
    assert [line["event_loop"] for line in lines if line["msg"] == "event loop"] == [expected]
    # Nothing on the way broke on uvloop (a transport check written for asyncio's own once did).
    assert not [line for line in lines if line["level"] == "error"], lines
    assert "Traceback" not in err.decode()
