"""Open mode serves this machine only: a DNS-rebinding Host or another site's Origin is refused
over real HTTP and WebSockets, while CLIs, SDKs and the local dashboard go on working, and a key
once it exists decides alone (api/local_guard.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orchestratex.api.local_guard import OpenModeRefused, check_open_mode, is_local_name
from tests.hostile.server import serve

PROMPT = {"prompt": "Name a prime", "max_rounds": 1}


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("evil.example", False),
        ("localhost.evil.example", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_local_names(host: str, local: bool) -> None:
    assert is_local_name(host) is local


def test_headers_open_mode_serves() -> None:
    check_open_mode({})
    check_open_mode({"host": "127.0.0.1:8000"})
    check_open_mode({"host": "localhost", "origin": "http://localhost:5173"})
    check_open_mode({"host": "[::1]:8000", "origin": "http://[::1]:8000"})
    check_open_mode({"host": "localhost", "origin": "https://app.example"}, ["https://app.example"])
    for headers in (
        {"host": "rebound.example:8000"},
        {"host": "localhost:notaport]"},
        {"host": "localhost", "origin": "https://evil.example"},
        {"host": "localhost", "origin": "null"},
    ):
        with pytest.raises(OpenModeRefused):
            check_open_mode(headers)


def test_open_mode_serves_a_loopback_peer_that_no_proxy_relayed() -> None:
    check_open_mode({"host": "localhost"}, peer="127.0.0.1")
    check_open_mode({}, peer="::1")
    # A service on 0.0.0.0 whose last key was revoked: a remote caller naming localhost.
    with pytest.raises(OpenModeRefused, match="only its own machine, not 192.0.2.2"):
        check_open_mode({"host": "localhost"}, peer="192.0.2.2")
    for header in ("x-forwarded-for", "forwarded", "x-real-ip"):
        with pytest.raises(OpenModeRefused, match=f"proxy relayed \\({header} header"):
            check_open_mode({"host": "127.0.0.1:8000", header: "8.8.8.8"}, peer="127.0.0.1")


def test_http_in_open_mode(tmp_path: Path) -> None:
    with serve(tmp_path) as served, httpx.Client(base_url=served.base_url, trust_env=False) as http:
        assert http.post("/api/orchestrate/prompt", json=PROMPT).status_code == 202

        rebound = http.post(
            "/api/orchestrate/prompt", json=PROMPT, headers={"host": "rebound.example:8000"}
        )
        assert rebound.status_code == 403, rebound.text
        assert rebound.json()["error"]["code"] == "forbidden"
        assert "DNS rebinding" in rebound.json()["error"]["message"]
        cross_site = http.get("/api/threads", headers={"origin": "https://evil.example"})
        assert cross_site.status_code == 403, cross_site.text
        chat = http.post(
            "/v1/chat/completions",
            json={"model": "orchestratex/auto", "messages": [{"role": "user", "content": "hi"}]},
            headers={"origin": "https://evil.example"},
        )
        assert chat.status_code == 403 and chat.json()["error"]["type"] == "permission_error"
        local_page = http.get("/api/threads", headers={"origin": served.base_url})
        assert local_page.status_code == 200, local_page.text
        # uvicorn itself takes a loopback peer's X-Forwarded-For as the client: either way, 403.
        relayed = http.get("/api/threads", headers={"x-forwarded-for": "8.8.8.8"})
        assert relayed.status_code == 403 and "8.8.8.8" in relayed.json()["error"]["message"]
        relayed = http.get("/api/threads", headers={"forwarded": "for=8.8.8.8;host=evil.example"})
        assert relayed.status_code == 403 and "proxy relayed" in relayed.json()["error"]["message"]

        key = served.new_key_sync("owner", admin=True)
        keyed = http.get(
            "/api/threads",
            headers={"authorization": f"Bearer {key}", "host": "api.example", "origin": "x"},
        )
        assert keyed.status_code == 200, "with keys, the key decides"


async def _first_message(url: str, origin: str | None) -> tuple[dict[str, object], int | None]:
    headers = {"origin": origin} if origin else {}
    async with connect(url, additional_headers=headers, open_timeout=10) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if first["type"] != "error":
            return first, None
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return first, ws.close_code


def test_websocket_in_open_mode(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        url = f"{served.ws_url}/ws/dash"
        refused, code = asyncio.run(_first_message(url, "https://evil.example"))
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
        assert code == 1008
        ready, _ = asyncio.run(_first_message(url, served.base_url))
        assert ready["type"] == "ready" and ready["auth"] == "disabled", ready
