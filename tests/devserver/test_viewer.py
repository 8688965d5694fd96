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
        async with http.get(server.base_url + "/api/streams") as resp:
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
            await page.goto(server.base_url + "/")
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
