"""API keys: open mode until one exists, hashed at rest, required once one exists, a clean 401
for any malformed Authorization header, and each user sees only their threads."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from orchestratex.runtime.auth import NewKey, create_key
from tests.api.conftest import Api
from tests.waiting import status_ended


async def _key(api: Api, name: str, *, admin: bool = False) -> NewKey:
    async with api.service.sessions() as session:
        return await create_key(session, name=name, is_admin=admin)


def _bearer(key: NewKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.key}"}


MALFORMED: list[bytes] = [
    b"Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    b"Token abc",
    b"Bearer " + b"k" * 600,
    b"Bearer two words",
    "Bearer café".encode(),
    b"Bearer \xb2\xb9",
    b"Bearer a\x01b",
    b"Bearer\tabc",
    b"bearerabc",
]


async def test_open_mode_accepts_any_bearer_until_a_key_exists(api: Api) -> None:
    health = (await api.client.get("/healthz")).json()
    assert health["auth"] == "open"
    assert "any API key" in health["note"]
    for headers in (
        {},
        {"Authorization": "Bearer sk-anything"},
        {"Authorization": "bearer orx_not_a_real_key"},
        {"Authorization": "Bearer"},
    ):
        response = await api.client.get("/api/threads", headers=headers)
        assert response.status_code == 200, (headers, response.text)
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    for probe in ("/healthz", "/readyz"):  # load balancers and uptime checks send HEAD
        assert (await api.client.head(probe)).status_code == 200

    key = await _key(api, "alice")
    health = (await api.client.get("/healthz")).json()
    assert health["auth"] == "enabled" and health["note"] is None
    for headers in ({}, {"Authorization": "Bearer orx_wrong"}, {"Authorization": "Bearer sk-x"}):
        response = await api.client.get("/api/threads", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    rejected = await api.client.post("/api/orchestrate/prompt", json={"prompt": "hi"})
    assert rejected.status_code == 401
    assert (await api.client.get("/api/threads", headers=_bearer(key))).status_code == 200


async def test_malformed_authorization_is_a_clean_401_in_both_modes(api: Api) -> None:
    for phase in ("open", "keyed"):
        if phase == "keyed":
            await _key(api, "dave")
        for value in MALFORMED:
            headers = {b"Authorization": value}
            response = await api.client.get("/api/threads", headers=headers)
            assert response.status_code == 401, (phase, headers)
            error = response.json()["error"]
            assert error["code"] == "unauthorized"
            assert "malformed Authorization header" in error["message"]
            v1 = await api.client.get("/v1/models", headers=headers)
            assert v1.status_code == 401, (phase, headers)
            assert v1.json()["error"]["type"] == "authentication_error"


async def test_keys_are_stored_hashed_only(api: Api) -> None:
    key = await _key(api, "bob", admin=True)
    assert key.key.startswith("orx_") and len(key.key) > 40
    async with api.service.sessions() as session:
        rows = (await session.execute(text("SELECT * FROM users"))).all()
    dump = repr(rows)
    assert key.key not in dump
    assert key.key[12:] not in dump
    assert hashlib.sha256(key.key.encode()).hexdigest() in dump


async def test_users_see_only_their_own_threads(api: Api) -> None:
    alice, bob = await _key(api, "alice"), await _key(api, "bob")
    admin = await _key(api, "root", admin=True)
    submitted = await api.client.post(
        "/api/orchestrate/prompt",
        json={"prompt": "Bob's private question", "max_rounds": 1},
        headers=_bearer(bob),
    )
    assert submitted.status_code == 202
    thread_id = submitted.json()["thread_id"]

    for method, url in [
        ("GET", f"/api/orchestrate/status/{thread_id}"),
        ("GET", f"/api/threads/{thread_id}"),
        ("POST", f"/api/orchestrate/{thread_id}/cancel"),
    ]:
        response = await api.client.request(method, url, headers=_bearer(alice))
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "thread_not_found"
    listed = (await api.client.get("/api/threads", headers=_bearer(alice))).json()
    assert listed["total"] == 0 and listed["items"] == []

    status = await status_ended(api.client, thread_id, headers=_bearer(bob))
    assert status["status"] == "completed", "alice's cancel did not touch bob's run"
    own = (await api.client.get("/api/threads", headers=_bearer(bob))).json()
    assert [t["id"] for t in own["items"]] == [thread_id]
    everything = (await api.client.get("/api/threads", headers=_bearer(admin))).json()
    assert [t["id"] for t in everything["items"]] == [thread_id]
    seen = await api.client.get(f"/api/threads/{thread_id}", headers=_bearer(admin))
    assert seen.status_code == 200


async def test_self_test_needs_an_admin(api: Api) -> None:
    user = await _key(api, "carol")
    response = await api.client.post("/api/orchestrate/test", headers=_bearer(user))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_a_revoked_key_stops_working(api: Api) -> None:
    from orchestratex.runtime.auth import revoke_key

    keep, gone = await _key(api, "keep"), await _key(api, "gone")
    async with api.service.sessions() as session:
        assert await revoke_key(session, gone.prefix) == 1
    assert (await api.client.get("/api/threads", headers=_bearer(gone))).status_code == 401
    assert (await api.client.get("/api/threads", headers=_bearer(keep))).status_code == 200
