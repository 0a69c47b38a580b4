"""Who may create, list, read and change users: admins of their own school, superusers everywhere."""

from __future__ import annotations

from tests.foundation.helpers import error_of, make_school

USERS = "/api/v1/users"


def _new(email: str, role: str = "teacher", **extra: object) -> dict[str, object]:
    return {"email": email, "password": "long-enough-pw", "first_name": "Иван", "last_name": "Иванов",
            "role": role, **extra}


async def test_non_admins_cannot_manage_users(client, factory):
    school = await make_school(factory.ctx, "Школа 1")
    target = await factory.user("student", school_id=school)
    for role in ("student", "parent", "teacher"):
        actor = await factory.actor(role, school_id=school)
        error = await error_of(await client.post(USERS, json=_new(f"new-{role}@example.test"), headers=actor.headers),
                               403)
        assert error["code"] == "forbidden"
        await error_of(await client.get(USERS, headers=actor.headers), 403)
        await error_of(await client.patch(f"{USERS}/{target.id}", json={"is_active": False}, headers=actor.headers),
                       403)
        # Reading someone else is "not found", not "forbidden": ids of other people are not confirmed.
        await error_of(await client.get(f"{USERS}/{target.id}", headers=actor.headers), 404)
        # Yourself is always visible.
        assert (await client.get(f"{USERS}/{actor.id}", headers=actor.headers)).status == 200


async def test_admin_creates_users_in_own_school_only(client, factory):
    school1 = await make_school(factory.ctx, "Школа 1")
    school2 = await make_school(factory.ctx, "Школа 2")
    admin = await factory.actor("admin", school_id=school1)

    resp = await client.post(USERS, json=_new("T.New@Example.test"), headers=admin.headers)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["school_id"] == school1
    assert created["email"] == "t.new@example.test"
    # The new teacher can log in with the password the admin set.
    login = await client.post("/api/v1/auth/login", json={"email": "t.new@example.test", "password": "long-enough-pw"})
    assert login.status == 200

    await error_of(await client.post(USERS, json=_new("a2@example.test", "admin"), headers=admin.headers), 403)
    await error_of(await client.post(USERS, json=_new("su@example.test", is_superuser=True), headers=admin.headers),
                   403)
    await error_of(await client.post(USERS, json=_new("x@example.test", school_id=school2), headers=admin.headers),
                   403)
    await error_of(await client.post(USERS, json=_new("t.new@EXAMPLE.test"), headers=admin.headers), 409)


async def test_admin_without_school_cannot_create(client, factory):
    admin = await factory.actor("admin")
    await error_of(await client.post(USERS, json=_new("n@example.test"), headers=admin.headers), 403)


async def test_admin_sees_only_own_school(client, factory):
    school1 = await make_school(factory.ctx, "Школа 1")
    school2 = await make_school(factory.ctx, "Школа 2")
    admin = await factory.actor("admin", school_id=school1)
    mine = await factory.user("student", school_id=school1)
    theirs = await factory.user("student", school_id=school2)

    assert (await client.get(f"{USERS}/{mine.id}", headers=admin.headers)).status == 200
    await error_of(await client.get(f"{USERS}/{theirs.id}", headers=admin.headers), 404)
    await error_of(await client.patch(f"{USERS}/{theirs.id}", json={"is_active": False}, headers=admin.headers), 404)
    await error_of(await client.get(f"{USERS}/999999", headers=admin.headers), 404)
    await error_of(await client.get(f"{USERS}/abc", headers=admin.headers), 404)
    await error_of(await client.get(f"{USERS}/0", headers=admin.headers), 404)
    await error_of(await client.get(f"{USERS}/99999999999999999999999", headers=admin.headers), 404)

    # Listing ignores a school_id pointing elsewhere: an admin's list is always their own school.
    resp = await client.get(USERS, params={"school_id": str(school2)}, headers=admin.headers)
    body = await resp.json()
    assert {u["id"] for u in body["items"]} == {admin.id, mine.id}
    assert body["total"] == 2
    resp = await client.get(USERS, params={"role": "student"}, headers=admin.headers)
    assert [u["id"] for u in (await resp.json())["items"]] == [mine.id]
    await error_of(await client.get(USERS, params={"limit": "0"}, headers=admin.headers), 422)
    await error_of(await client.get(USERS, params={"role": "pilot"}, headers=admin.headers), 422)


async def test_admin_deactivating_a_user_signs_them_out(client, factory):
    school = await make_school(factory.ctx, "Школа 1")
    admin = await factory.actor("admin", school_id=school)
    student = await factory.actor("student", school_id=school)
    resp = await client.patch(f"{USERS}/{student.id}", json={"is_active": False}, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["is_active"] is False
    await error_of(await client.post("/api/v1/auth/refresh", json={"refresh_token": student.refresh_token}), 401)
    await error_of(await client.patch(f"{USERS}/{admin.id}", json={"is_active": False}, headers=admin.headers), 409)
    # An admin cannot promote anyone to admin or move them between schools.
    await error_of(await client.patch(f"{USERS}/{student.id}", json={"role": "admin"}, headers=admin.headers), 403)
    await error_of(await client.patch(f"{USERS}/{student.id}", json={"school_id": None}, headers=admin.headers), 403)


async def test_admin_cannot_change_another_admin(client, factory):
    school = await make_school(factory.ctx, "Школа 1")
    admin = await factory.actor("admin", school_id=school)
    other = await factory.user("admin", school_id=school)
    await error_of(await client.patch(f"{USERS}/{other.id}", json={"is_active": False}, headers=admin.headers), 403)


async def test_superuser_manages_everything(client, factory):
    school1 = await make_school(factory.ctx, "Школа 1")
    school2 = await make_school(factory.ctx, "Школа 2")
    root = await factory.actor("admin", is_superuser=True)
    resp = await client.post(USERS, json=_new("adm@example.test", "admin", school_id=school2), headers=root.headers)
    assert resp.status == 201, await resp.text()
    new_admin = await resp.json()
    assert new_admin["role"] == "admin"
    assert new_admin["school_id"] == school2
    resp = await client.patch(f"{USERS}/{new_admin['id']}", json={"school_id": school1}, headers=root.headers)
    assert (await resp.json())["school_id"] == school1
    resp = await client.get(USERS, params={"school_id": str(school1)}, headers=root.headers)
    assert [u["id"] for u in (await resp.json())["items"]] == [new_admin["id"]]


async def test_user_search_is_literal_and_case_insensitive(client, factory):
    school = await make_school(factory.ctx, "Школа 1")
    admin = await factory.actor("admin", school_id=school)
    anna = await factory.user("student", school_id=school, first_name="Анна", email="anna_k@example.test")
    await factory.user("student", school_id=school, first_name="Борис", email="boris@example.test")

    async def search(text: str) -> list[int]:
        resp = await client.get(USERS, params={"q": text}, headers=admin.headers)
        assert resp.status == 200, await resp.text()
        return [u["id"] for u in (await resp.json())["items"]]

    assert await search("АННА") == [anna.id]
    assert await search("ANNA_K") == [anna.id]
    # Wildcards typed by a user are plain characters.
    assert await search("%") == []
    assert await search("a_n") == []
    assert await search("\\") == []
