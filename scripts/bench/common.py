"""What the benchmarks share: a free port, the API process's environment, a process's CPU time, and loading a
sibling script as a module. Imported as `scripts.bench.common` (each script puts the repository root on
sys.path)."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import uuid
from pathlib import Path
from types import ModuleType


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": "bench-" + "s" * 40,
            "NAMESPACE": f"bench{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "WARNING", "ENVIRONMENT": "production",
            "DEV_MAIL_CATCHER": "false"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_script(path: Path, alias: str) -> ModuleType:
    """A sibling script (not importable by name: scripts/bench/ is kept off sys.path) as a module registered under
    `alias`, the name the loader processes it spawns import it by too."""
    spec = importlib.util.spec_from_file_location(alias, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module
