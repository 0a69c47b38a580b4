"""Create users and log them in, for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.db.models import User
from edutrack.services import accounts

DEFAULT_PASSWORD = "correct-horse-42"


@dataclass
class Actor:
    user: User
    password: str
    access_token: str
    refresh_token: str

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Factory:
    def __init__(self, client: TestClient, ctx: AppContext) -> None:
        self.client = client
        self.ctx = ctx
        self._seq = itertools.count(1)

    async def user(self, role: str = "student", *, school_id: int | None = None, is_superuser: bool = False,
                   email: str | None = None, password: str = DEFAULT_PASSWORD, first_name: str | None = None,
                   last_name: str = "Тестов", **extra: Any) -> User:
        n = next(self._seq)
        new = accounts.NewUser(
            email=email or f"{role}{n}@example.test",
            password=password,
            role=role,
            first_name=first_name or f"{role.capitalize()}{n}",
            last_name=last_name,
            school_id=school_id,
            is_superuser=is_superuser,
            **extra,
        )
        # Bypass the HTTP layer's authorization: tests set up any shape of school they need.
        return await accounts._create(self.ctx, new)

    async def login(self, user: User, password: str = DEFAULT_PASSWORD) -> Actor:
        resp = await self.client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
        body = await resp.json()
        assert resp.status == 200, body
        return Actor(user, password, body["access_token"], body["refresh_token"])

    async def actor(self, role: str = "student", **kwargs: Any) -> Actor:
        password = kwargs.pop("password", DEFAULT_PASSWORD)
        return await self.login(await self.user(role, password=password, **kwargs), password)
