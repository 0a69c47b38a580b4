"""Password hashing with Argon2 (passlib's API from the maintained `libpass` fork, argon2-cffi), off the event loop.

Hashes made under passlib 1.7.4 verify unchanged (tests/foundation/test_profile.py keeps one).
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

from passlib.context import CryptContext


class PasswordHasher:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int, workers: int = 4) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost,
            argon2__parallelism=parallelism,
        )
        # argon2-cffi releases the GIL, so a few threads hash in parallel without blocking the loop.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # Verifying against this when an account does not exist keeps login time independent of existence.
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, bool]:
        """Return (valid, needs_rehash). A missing hash costs the same time as a real check."""
        loop = asyncio.get_running_loop()
        if password_hash is None:
            await loop.run_in_executor(self._pool, self._context.verify, password, self._dummy_hash)
            return False, False
        ok = await loop.run_in_executor(self._pool, self._context.verify, password, password_hash)
        return ok, ok and self._context.needs_update(password_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
