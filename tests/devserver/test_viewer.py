from __future__ import annotations

import aiohttp
from playwright.async_api import async_playwright, expect

from streamstraight_server.devserver import DevServer

from .ds_helpers import FAST, RawProducer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def test_streams_snapshot_endpoint() -> None:
    async with DevServer(**FAST) as server, aiohttp.ClientSession() as http:
        producer = await RawProducer(server.base_url, server.api_key, "snap").connect()
        await producer.send("a")
        await producer.wait_acks(1)
        headers = {"Authorization": f"Bearer {server.api_key}"}
        async with http.get(server.base_url + "/api/streams", headers=headers) as resp:
            body = await resp.json()
        [stream] = body["streams"]
        assert stream["streamId"] == "snap" and stream["chunks"] == [{"seq": 0, "data": "a"}]
        assert stream["ended"] is False and stream["producerConnected"] is True
        await producer.close()


async def test_viewer_shows_live_chunks_and_end_in_a_browser() -> None:
    async with DevServer(**FAST) as server, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            refused = await page.goto(server.base_url + "/")
            assert refused is not None and refused.status == 401
            await expect(page.locator("h1")).to_have_text("This viewer needs its token")

            opened = await page.goto(server.viewer_url)
            assert opened is not None and opened.status == 200
            assert page.url == server.base_url + "/"  # the token left the address bar
            await expect(page.locator("#conn")).to_have_text("connected")

            producer = await RawProducer(server.base_url, server.api_key, "web").connect()
            section = page.locator('section[data-stream-id="web"]')
            await expect(section.locator(".status")).to_have_text("live")
            await producer.send('"hello"', "<b>not bold</b>")
            chunks = section.locator("li.chunk")
            await expect(chunks).to_have_count(2)
            await expect(chunks.nth(0)).to_have_text('"hello"')
            await expect(chunks.nth(1)).to_have_text("<b>not bold</b>")
            assert await section.locator("b").count() == 0

            await producer.chunk(2, "last")
            await expect(chunks).to_have_count(3)
            assert (await producer.end(2))["success"]
            await expect(section.locator(".status")).to_have_text("ended: completed")
            await producer.close()

            await page.reload()
            reloaded = page.locator('section[data-stream-id="web"]')
            await expect(reloaded.locator("li.chunk")).to_have_count(3)
            await expect(reloaded.locator(".status")).to_have_text("ended: completed")
        finally:
            await browser.close()


async def test_browser_through_a_rebound_name_is_forbidden() -> None:
    """DNS rebinding, for real: the browser resolves attacker.example to 127.0.0.1."""
    async with DevServer(**FAST) as server, async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP attacker.example 127.0.0.1"],
        )
        try:
            page = await browser.new_page()
            rebound = f"http://attacker.example:{server.port}"
            for path in ("/", f"/?token={server.viewer_token}", "/api/streams"):
                answer = await page.goto(rebound + path)
                assert answer is not None and answer.status == 403, path
            status = await page.evaluate(
                "async (url) => (await fetch(url)).status", rebound + "/api/events"
            )
            assert status == 403
        finally:
            await browser.close()
