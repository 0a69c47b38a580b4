"""The demo school: `edutrack load-demo` builds it and keeps it alive on any day (see `loader`)."""

from __future__ import annotations

import asyncio
import sys
from datetime import date

from sqlalchemy.exc import SQLAlchemyError

from edutrack.demo.loader import DEMO_PASSWORD, DemoError, DemoResult, load_demo, print_logins
from edutrack.demo.names import female, patronymic
from edutrack.settings import Settings

__all__ = ["DEMO_PASSWORD", "DemoError", "DemoResult", "female", "load_demo", "patronymic", "print_logins",
           "run_load_demo"]


def run_load_demo(settings: Settings, *, small: bool, today: date | None = None) -> int:
    """The `edutrack load-demo` command: migrate-free (run `edutrack migrate` first), prints the logins."""
    from edutrack.resources import open_context

    async def main() -> DemoResult:
        async with open_context(settings, role="cli", connect_amqp=False, small_pool=True) as ctx:
            return await load_demo(ctx, small=small, today=today)

    try:
        result = asyncio.run(main())
    except DemoError as exc:
        print(f"edutrack load-demo: {exc}", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        print(f"edutrack load-demo: {exc.__class__.__name__}: {str(exc)[:300]} "
              "(is PostgreSQL up and `edutrack migrate` done?)", file=sys.stderr)
        return 1
    print_logins(result)
    return 0
