"""Profile read/update, password change, password policy, email uniqueness, argon2 under passlib."""

from __future__ import annotations

import asyncio
import importlib.metadata
import urllib.parse

import pytest
from passlib.context import CryptContext

from edutrack.security.passwords import PasswordHasher
from tests.foundation.helpers import error_of, scalar

# The policy's messages as a Russian reader gets them (the API answers in Russian when no language is asked for).
COMMON = "Этот пароль слишком распространён: его подбирают первым. Придумайте другой."
LIKE_ACCOUNT = "Пароль не должен совпадать с почтой или именем или быть похожим на них."

ME = "/api/v1/profile/me"
PASSWORD = "/api/v1/profile/me/password"
REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


def test_the_drawn_avatar_link_is_what_urlencode_makes() -> None:
    """avatar_for builds the link by hand (a tenth of `/profile/me`'s CPU went to urlencode): the same bytes."""
    from edutrack.services.accounts import avatar_for

    for first, last, email in [("Мария", "Иванова", "m@example.org"), ("", "", "x+y@example.org"),
                               ("A&B", "C=D ё", "e@example.org"), (" ", " ", "q@example.org")]:
        name = f"{first} {last}".strip() or email
        query = urllib.parse.urlencode({"name": name, "background": "random", "size": 128, "format": "png"})
        assert avatar_for(None, first, last, email) == f"https://ui-avatars.com/api/?{query}"
    assert avatar_for("https://example.org/me.png", "A", "B", "e") == "https://example.org/me.png"


async def test_profile_read_and_defaults(client, factory):
    actor = await factory.actor("student", first_name="Мария", last_name="Иванова")
    body = await (await client.get(ME, headers=actor.headers)).json()
    profile = body["profile"]
    assert profile["first_name"] == "Мария"
    assert profile["full_name"] == "Иванова Мария"
    assert profile["show_birthday"] is False
    assert profile["email_notifications"] == "immediate"
    assert profile["has_custom_avatar"] is False
    avatar = urllib.parse.urlsplit(profile["avatar_url"])
    assert avatar.scheme == "https"
    assert avatar.netloc == "ui-avatars.com"
    assert urllib.parse.parse_qs(avatar.query)["name"] == ["Мария Иванова"]
    assert "password_hash" not in str(body)


async def test_profile_update(client, factory):
    actor = await factory.actor("student")
    changes = {"first_name": "  Пётр ", "middle_name": "Ильич", "birthday": "2010-05-17", "show_birthday": True,
               "avatar_url": "https://cdn.example/me.png", "email_notifications": "daily"}
    resp = await client.put(ME, json=changes, headers=actor.headers)
    assert resp.status == 200, await resp.text()
    profile = (await resp.json())["profile"]
    assert profile["first_name"] == "Пётр"
    assert profile["middle_name"] == "Ильич"
    assert profile["birthday"] == "2010-05-17"
    assert profile["show_birthday"] is True
    assert profile["avatar_url"] == "https://cdn.example/me.png"
    assert profile["has_custom_avatar"] is True
    assert profile["email_notifications"] == "daily"
    # It persisted.
    again = (await (await client.get(ME, headers=actor.headers)).json())["profile"]
    assert again == profile

    # Clearing the own avatar falls back to initials; clearing the birthday is allowed.
    resp = await client.put(ME, json={"avatar_url": None, "birthday": None, "email_notifications": "off"},
                            headers=actor.headers)
    profile = (await resp.json())["profile"]
    assert profile["has_custom_avatar"] is False
    assert profile["avatar_url"].startswith("https://ui-avatars.com/api/?")
    assert profile["birthday"] is None
    assert profile["email_notifications"] == "off"


async def test_profile_update_validation(client, factory):
    actor = await factory.actor("student")
    cases = [
        ({}, "_schema"),
        ({"email_notifications": "hourly"}, "email_notifications"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"avatar_url": "ftp://example.com/a.png"}, "avatar_url"),
        ({"birthday": "2010-02-30"}, "birthday"),
        ({"show_birthday": "sometimes"}, "show_birthday"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "   "}, "last_name"),
        ({"email": "new@example.test"}, "email"),
        ({"role": "admin"}, "role"),
    ]
    for body, field in cases:
        error = await error_of(await client.put(ME, json=body, headers=actor.headers), 422)
        assert field in error["details"], (body, error)
    await error_of(await client.put(ME, json={"first_name": "X"}), 401)
    profile = (await (await client.get(ME, headers=actor.headers)).json())["profile"]
    assert profile["email_notifications"] == "immediate"


async def test_change_password(client, factory):
    actor = await factory.actor("teacher")
    other_device = await factory.login(actor.user)
    body = {"current_password": "wrong-one", "new_password": "a-new-password"}
    error = await error_of(await client.put(PASSWORD, json=body, headers=actor.headers), 422)
    assert "current_password" in error["details"]
    body = {"current_password": actor.password, "new_password": "short"}
    error = await error_of(await client.put(PASSWORD, json=body, headers=actor.headers), 422)
    assert "new_password" in error["details"]

    body = {"current_password": actor.password, "new_password": "a-new-password"}
    resp = await client.put(PASSWORD, json=body, headers=actor.headers)
    assert resp.status == 200, await resp.text()
    pair = await resp.json()
    # This device continues with the new pair; the other device is signed out.
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status == 200
    await error_of(await client.post("/api/v1/auth/refresh", json={"refresh_token": other_device.refresh_token}),
                   401)
    await error_of(await client.post(LOGIN, json={"email": actor.user.email, "password": actor.password}), 401)
    assert (await client.post(LOGIN, json={"email": actor.user.email, "password": "a-new-password"})).status == 200


async def test_password_policy(client, ctx):
    def reg(email: str, password: str):
        return client.post(REGISTER, json={"email": email, "password": password, "first_name": "A",
                                           "last_name": "B"})

    error = await error_of(await reg("a@example.test", "1234567"), 422)
    assert error["details"]["password"] == ["Пароль должен быть не короче 8 символов."]
    error = await error_of(await reg("a@example.test", "p" * 129), 422)
    assert error["details"]["password"] == ["Пароль должен быть не длиннее 128 символов."]
    error = await error_of(await reg("longaddress@example.test", "LongAddress@Example.TEST"), 422)
    assert error["details"]["password"] == ["Пароль не должен совпадать с адресом почты."]
    assert await scalar(ctx, "SELECT count(*) FROM users") == 0
    # The boundaries themselves are fine.
    assert (await reg("b@example.test", "k3p9-x!z")).status == 201
    assert (await reg("c@example.test", "p" * 128)).status == 201


async def test_common_passwords_are_refused_everywhere_a_password_is_set(client, ctx, factory):
    from edutrack.security import password_policy

    # At least NIST's "list of commonly used passwords": the shipped list holds tens of thousands.
    assert len(password_policy.common_passwords()) >= 10_000

    for common in ("12345678", "password", "Password1", "QWERTYUIOP", "iloveyou", "11111111"):
        body = {"email": "new@example.test", "password": common, "first_name": "Н", "last_name": "К"}
        error = await error_of(await client.post(REGISTER, json=body), 422)
        assert error["code"] == "weak_password", error
        assert error["details"]["password"] == [COMMON], error
    assert await scalar(ctx, "SELECT count(*) FROM users") == 0

    actor = await factory.actor("student")
    resp = await client.put(PASSWORD, json={"current_password": actor.password, "new_password": "qwerty123"},
                            headers=actor.headers)
    error = await error_of(resp, 422)
    assert error["code"] == "weak_password"
    assert error["details"]["new_password"] == [COMMON]


@pytest.mark.parametrize("password", ["anna.petrova", "Petrova2010", "2010annapetrova", "AnnaPetrova!",
                                      "petrovaanna", "anna.petrova@example", "annapetrva1", "ANNA-PETROVA-1"])
async def test_passwords_like_the_email_or_name_are_refused(client, ctx, password):
    body = {"email": "anna.petrova@example.test", "password": password, "first_name": "Анна",
            "last_name": "Петрова"}
    error = await error_of(await client.post(REGISTER, json=body), 422)
    assert error["code"] == "weak_password"
    assert error["details"]["password"] == [LIKE_ACCOUNT]
    assert await scalar(ctx, "SELECT count(*) FROM users") == 0


async def test_password_change_refuses_ones_like_the_name(client, factory):
    actor = await factory.actor("student", first_name="Мария", last_name="Иванова")
    for new in ("ivanova-maria", "Мария1999", "mariyaivanova"):
        resp = await client.put(PASSWORD, json={"current_password": actor.password, "new_password": new},
                                headers=actor.headers)
        error = await error_of(resp, 422)
        assert error["code"] == "weak_password", (new, error)
    # Unrelated passphrases that merely share a few letters are fine.
    resp = await client.put(PASSWORD, json={"current_password": actor.password, "new_password": "зимний-сад-1917"},
                            headers=actor.headers)
    assert resp.status == 200, await resp.text()


async def test_emails_are_case_insensitive_and_unique(client, ctx):
    body = {"email": "Olga@Example.Test", "password": "long-enough-pw", "first_name": "O", "last_name": "K"}
    assert (await client.post(REGISTER, json=body)).status == 201
    error = await error_of(await client.post(REGISTER, json={**body, "email": "OLGA@example.test"}), 409)
    assert error["code"] == "email_taken"
    assert await scalar(ctx, "SELECT email FROM users") == "olga@example.test"


async def test_concurrent_registrations_of_one_email(client, ctx):
    body = {"email": "race@example.test", "password": "long-enough-pw", "first_name": "R", "last_name": "C"}
    responses = await asyncio.gather(*(client.post(REGISTER, json=body) for _ in range(4)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [201, 409, 409, 409], statuses
    assert await scalar(ctx, "SELECT count(*) FROM users") == 1


async def test_argon2_under_passlib():
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, workers=1)
    try:
        hashed = await hasher.hash("пароль-с-юникодом")
        assert hashed.startswith("$argon2id$")
        assert await hasher.verify("пароль-с-юникодом", hashed) == (True, False)
        assert await hasher.verify("wrong", hashed) == (False, False)
        assert await hasher.verify("anything", None) == (False, False)
        assert await hasher.hash("same") != await hasher.hash("same")  # salted
    finally:
        hasher.close()

    # A hash made with weaker parameters verifies and asks to be upgraded.
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, workers=1)
    try:
        assert await stronger.verify("пароль-с-юникодом", hashed) == (True, True)
    finally:
        stronger.close()
    assert CryptContext(schemes=["argon2"]).identify(hashed) == "argon2"


# Made by passlib 1.7.4 (the last passlib release) with the production defaults: ARGON2_TIME_COST=3,
# ARGON2_MEMORY_COST=65536, ARGON2_PARALLELISM=2. Existing accounts carry hashes like this one.
PASSLIB_174_HASH = "$argon2id$v=19$m=65536,t=3,p=2$qrV2jtEa45yTMiYkJIRwLg$rKVVzOEWFeMATLInQRKbfkjQUljy/I8REFQ0RDkZmOM"
PASSLIB_174_PASSWORD = "пароль-от-дневника-1.7.4"


async def test_hashes_made_by_passlib_174_still_verify_under_libpass():
    # The maintained fork installs the same `passlib` module; the unmaintained original must be gone.
    assert importlib.metadata.version("libpass")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("passlib")
    hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=2, workers=1)
    try:
        assert await hasher.verify(PASSLIB_174_PASSWORD, PASSLIB_174_HASH) == (True, False)
        assert await hasher.verify(PASSLIB_174_PASSWORD + "x", PASSLIB_174_HASH) == (False, False)
    finally:
        hasher.close()


async def test_login_upgrades_an_old_hash(make_client, factory, ctx):
    user = await factory.user("student")
    old_hash = await scalar(ctx, "SELECT password_hash FROM users WHERE id = :i", i=user.id)
    stronger = await make_client(argon2_time_cost=2)
    resp = await stronger.post(LOGIN, json={"email": user.email, "password": "correct-horse-42"})
    assert resp.status == 200
    new_hash = await scalar(ctx, "SELECT password_hash FROM users WHERE id = :i", i=user.id)
    assert new_hash != old_hash
    assert "t=2" in new_hash


async def test_hashing_does_not_block_the_event_loop():
    import time

    # Expensive enough to notice: if it ran on the loop, the ticker below would stall for its whole duration.
    hasher = PasswordHasher(time_cost=3, memory_cost=32 * 1024, parallelism=1, workers=2)
    try:
        worst_gap = 0.0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal worst_gap
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                worst_gap = max(worst_gap, now - last)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)  # the ticker is running before the hash starts
        started = time.perf_counter()
        hashed = await hasher.hash("password-1")
        elapsed = time.perf_counter() - started
        stop.set()
        await tick
    finally:
        hasher.close()
    assert hashed.startswith("$argon2id$")
    assert elapsed > 0.05, elapsed  # the work was real
    assert worst_gap < elapsed / 2, (worst_gap, elapsed)
