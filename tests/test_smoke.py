async def test_health(client):
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_login_roundtrip(factory, client):
    actor = await factory.actor("teacher")
    resp = await client.get("/api/v1/profile/me", headers=actor.headers)
    assert resp.status == 200
    assert (await resp.json())["role"] == "teacher"
