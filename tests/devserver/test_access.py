"""Who may talk to the dev server: Host allow-list, Socket.IO CORS, the viewer's credentials."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.access import COOKIE_PREFIX
from tests.support.devserver import FAST

POLLING = "/socket.io/?EIO=4&transport=polling"


async def get(
    url: str, *, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One GET with its own session (no cookie jar carried over), redirects not followed."""
    async with (
        aiohttp.ClientSession(cookies=cookies) as http,
        http.get(url, headers=headers or {}, allow_redirects=False) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.text()


# viewer and /api/*


@pytest.mark.parametrize("path", ["/api/streams", "/api/events", "/"])
async def test_viewer_and_api_need_a_credential(path: str, server: DevServer) -> None:
    status, _, body = await get(server.base_url + path)
    assert status == 401
    assert "token" in body
    status, _, _ = await get(
        server.base_url + path, headers={"Authorization": "Bearer not-the-key"}
    )
    assert status == 401
    status, _, _ = await get(server.base_url + path + "?token=not-the-token")
    assert status == 401


@pytest.mark.parametrize("credential", ["api_key", "viewer_token"])
async def test_api_accepts_a_bearer_key_or_viewer_token(credential: str, server: DevServer) -> None:
    secret = getattr(server, credential)
    status, _, body = await get(
        server.base_url + "/api/streams", headers={"Authorization": f"Bearer {secret}"}
    )
    assert status == 200 and '"streams"' in body


async def test_viewer_url_sets_a_cookie_that_opens_page_and_api(server: DevServer) -> None:
    assert server.viewer_url == f"{server.base_url}/?token={server.viewer_token}"
    status, headers, _ = await get(server.viewer_url)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    name = f"{COOKIE_PREFIX}{server.port}"
    assert cookie.startswith(f"{name}={server.viewer_token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    jar = {name: server.viewer_token}
    status, _, page = await get(server.base_url + "/", cookies=jar)
    assert status == 200 and "<title>Streamstraight dev server</title>" in page
    status, _, body = await get(server.base_url + "/api/streams", cookies=jar)
    assert status == 200 and '"streams"' in body
    # the cookie of another port's server opens nothing here
    status, _, _ = await get(
        server.base_url + "/api/streams", cookies={f"{COOKIE_PREFIX}1": server.viewer_token}
    )
    assert status == 401


async def test_token_and_health_routes_stay_as_they_were(server: DevServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/healthz") as resp:
            assert resp.status == 200
        async with http.post(server.base_url + "/v1/token") as resp:
            assert resp.status == 401


# Host


HOST_ROUTES = ["/", "/api/streams", "/healthz", POLLING]


@pytest.mark.parametrize("path", HOST_ROUTES)
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8787", "127.0.0.1.nip.io"])
async def test_a_foreign_host_header_is_forbidden(path: str, host: str, server: DevServer) -> None:
    headers = {"Host": host, "Authorization": f"Bearer {server.api_key}"}
    status, _, body = await get(server.base_url + path, headers=headers)
    assert status == 403, body
    assert "--allowed-host" in body


async def test_token_endpoint_with_a_foreign_host_is_forbidden(server: DevServer) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Host": "attacker.example", "Authorization": f"Bearer {server.api_key}"}
        async with http.post(server.base_url + "/v1/token", headers=headers) as resp:
            assert resp.status == 403
            assert "token" not in await resp.json()


async def test_a_websocket_upgrade_with_a_foreign_host_is_forbidden(server: DevServer) -> None:
    async with aiohttp.ClientSession() as http:
        url = server.base_url + "/socket.io/?EIO=4&transport=websocket"
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(url, headers={"Host": "attacker.example"})
        assert caught.value.status == 403
        async with http.ws_connect(url, headers={"Host": f"localhost:{server.port}"}) as ws:
            opening = await ws.receive()
            assert str(opening.data).startswith('0{"sid"')


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:1", "app.localhost", "127.0.0.1", "127.1.2.3:9", "[::1]:80"]
)
async def test_loopback_hosts_are_allowed(host: str, server: DevServer) -> None:
    status, _, _ = await get(server.base_url + "/healthz", headers={"Host": host})
    assert status == 200


async def test_allowed_hosts_widen_the_list() -> None:
    config: dict[str, Any] = dict(FAST, allowed_hosts=("dev.example.test", ".box.test"))
    async with DevServer(**config) as server:
        for host, expected in [
            ("dev.example.test", 200),
            ("dev.example.test:8787", 200),
            ("box.test", 200),
            ("a.b.box.test", 200),
            ("other.example.test", 403),
            ("notbox.test", 403),
        ]:
            status, _, _ = await get(server.base_url + "/healthz", headers={"Host": host})
            assert status == expected, host


# CORS of Socket.IO


async def test_socketio_cors_allows_loopback_origins_only(server: DevServer) -> None:
    for origin in ("http://localhost:5173", "http://127.0.0.1:3000", "https://[::1]:8443"):
        status, headers, _ = await get(server.base_url + POLLING, headers={"Origin": origin})
        assert status == 200, origin
        assert headers["Access-Control-Allow-Origin"] == origin
    for origin in ("http://attacker.example", "null", "http://localhost.attacker.example"):
        status, headers, _ = await get(server.base_url + POLLING, headers={"Origin": origin})
        assert status == 400, origin
        assert "Access-Control-Allow-Origin" not in headers
    # no Origin at all (a server-side client such as the SDK) is not a CORS request
    status, headers, _ = await get(server.base_url + POLLING)
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


async def test_cors_origins_are_added() -> None:
    async with DevServer(**dict(FAST, cors_origins=("https://app.example.test",))) as server:
        origin = "https://app.example.test"
        status, headers, _ = await get(server.base_url + POLLING, headers={"Origin": origin})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == origin
        assert headers.get("Access-Control-Allow-Credentials") == "true"
        status, headers, _ = await get(
            server.base_url + POLLING, headers={"Origin": "https://evil.example.test"}
        )
        assert status == 400 and "Access-Control-Allow-Origin" not in headers
