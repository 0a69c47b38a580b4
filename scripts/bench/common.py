"""What the REST benchmarks (rest.py, overload.py, mixed.py) share: a free port, the API process's environment,
and a process's CPU time. Imported as `scripts.bench.common` (each script puts the repository root on sys.path)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


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
