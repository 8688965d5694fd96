from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, async_playwright, expect

from streamstraight_server import AsyncStreamstraight
from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.consumer import read_stream
from tests.support.devserver import RawProducer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@asynccontextmanager
async def chromium(*args: str) -> AsyncIterator[Browser]:
    """Debian's headless Chromium under Playwright (with more ``args``), closed afterwards."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, *args]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def test_streams_snapshot_endpoint(server: DevServer) -> None:
    async with aiohttp.ClientSession() as http:
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


async def test_viewer_shows_live_chunks_and_end_in_a_browser(server: DevServer) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        refused = await page.goto(server.base_url + "/")
        assert refused is not None and refused.status == 401
        await expect(page.locator("h1")).to_have_text("This viewer needs its token")

        opened = await page.goto(server.viewer_url)
        assert opened is not None and opened.status == 200
        assert page.url == server.base_url + "/"  # the token left the address bar
        await expect(page.locator("#conn")).to_have_text("connected")

        producer = await RawProducer(server.base_url, server.api_key, "web").connect()
        section = page.locator('[data-stream-id="web"]')
        await expect(section.locator(".status")).to_have_text("live")
        await producer.send('"hello "', "<b>not bold</b>")
        await expect(section.locator("pre.text")).to_have_text("hello <b>not bold</b>")
        chunks = section.locator("li.chunk")
        await expect(chunks).to_have_count(2)
        await expect(chunks.nth(0)).to_have_text('"hello "')
        await expect(chunks.nth(1)).to_have_text("<b>not bold</b>")
        assert await section.locator("b").count() == 0

        await producer.chunk(2, '" last"')
        await expect(chunks).to_have_count(3)
        assert (await producer.end(2))["success"]
        await expect(section.locator(".status")).to_have_text("ended: completed")
        await producer.close()

        await page.reload()
        reloaded = page.locator('[data-stream-id="web"]')
        await expect(reloaded.locator("li.chunk")).to_have_count(3)
        await expect(reloaded.locator(".status")).to_have_text("ended: completed")
        await expect(reloaded.locator("pre.text")).to_have_text("hello <b>not bold</b> last")


async def test_viewer_is_a_stream_debugger(server: DevServer) -> None:
    """Joined text of object chunks and its raw JSON, numbers, readers, an abnormal end in its
    colour, an empty stream's count, folded ended streams and the filter box."""
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(server.viewer_url)
        await expect(page.locator("#conn")).to_have_text("connected")

        answer = await RawProducer(server.base_url, server.api_key, "answer-1").connect()
        await answer.send('{"type":"delta","text":"Hello"}', '{"type":"delta","text":" world"}')
        card = page.locator('[data-stream-id="answer-1"]')
        await expect(card.locator("pre.text")).to_have_text("Hello world")
        await expect(card.locator("ol.chunks")).to_be_hidden()
        await card.locator("button.raw-toggle").click()
        await expect(card.locator("ol.chunks")).to_be_visible()
        await expect(card.locator("li.chunk").nth(1)).to_have_text(
            '{"type":"delta","text":" world"}'
        )
        await expect(card.locator("pre.text")).to_be_hidden()
        await card.locator("button.raw-toggle").click()
        await expect(card.locator("pre.text")).to_be_visible()

        stats = card.locator(".stats")
        await expect(stats).to_contain_text("2 chunks · 63 B · started ")
        await expect(stats).to_contain_text("1 producer connection · 0 readers")
        await expect(stats).to_contain_text("last chunk ")
        reader = asyncio.create_task(
            read_stream(server.base_url, server.mint_token(), "answer-1", timeout=10)
        )
        await expect(stats).to_contain_text("1 reader")
        assert (await answer.end(1))["success"]
        await reader
        await answer.close()
        await expect(card.locator(".status")).to_have_text("ended: completed")
        await expect(stats).to_contain_text("0 readers")
        await expect(stats).not_to_contain_text("last chunk")

        empty = await RawProducer(server.base_url, server.api_key, "empty-one").connect()
        await expect(page.locator('[data-stream-id="empty-one"] .stats')).to_contain_text(
            "0 chunks · 0 B"
        )
        await empty.send('{"type":"delta","text":"cut"}')
        await empty.client.emit("producer:end", {"reason": "producer-error", "lastSeq": 0})
        failed = page.locator('[data-stream-id="empty-one"]')
        await expect(failed.locator(".status")).to_have_text("ended: producer-error")
        await expect(failed).to_have_class(re.compile(r"\babnormal\b"))
        await expect(failed.locator(".status")).to_have_css(
            "background-color", "rgb(253, 231, 230)"
        )
        await empty.close()
        live = await RawProducer(server.base_url, server.api_key, "live-one").connect()
        await expect(page.locator("#summary")).to_have_text("3 streams, 1 live")

        await page.reload()
        await expect(page.locator("#summary")).to_have_text("3 streams, 1 live")
        for ended_id in ("answer-1", "empty-one"):  # folded: header only
            folded = page.locator(f'[data-stream-id="{ended_id}"]')
            await expect(folded).not_to_have_attribute("open", "")
            await expect(folded.locator("pre.text")).to_be_hidden()
        opened = page.locator('[data-stream-id="live-one"]')
        await expect(opened).to_have_attribute("open", "")
        await page.locator('[data-stream-id="answer-1"] summary').click()
        await expect(page.locator('[data-stream-id="answer-1"] pre.text')).to_be_visible()

        await page.locator("#filter").fill("error")
        await expect(page.locator("details.stream:visible")).to_have_count(1)
        await expect(page.locator("details.stream:visible .sid")).to_have_text("empty-one")
        await expect(page.locator("#summary")).to_have_text("3 streams, 1 live, 1 shown")
        await page.locator("#filter").fill("")
        await expect(page.locator("details.stream:visible")).to_have_count(3)
        await live.close()


async def test_screenshot_of_a_dropped_and_resumed_stream(
    tmp_path: Path, server: DevServer
) -> None:
    """The SDK loses its connection after 3 chunks and resumes: the screenshot of the stream
    shows the whole answer as text and the drop and the resume on the timeline."""
    answer = "Every chunk is stored before anyone reads it, so a reader resumes"
    words = answer.split(" ")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1000, "height": 600})
        await page.goto(server.viewer_url)
        await expect(page.locator("#conn")).to_have_text("connected")
        server.faults.drop_after_chunks = 3
        client = AsyncStreamstraight(
            api_key=server.api_key, base_url=server.base_url, connect_retry_delay_ms=20
        )
        chunks = [{"type": "delta", "text": w if i == 0 else " " + w} for i, w in enumerate(words)]
        assert await client.stream(chunks, stream_id="resumed") == len(words)
        card = page.locator('[data-stream-id="resumed"]')
        await expect(card.locator(".status")).to_have_text("ended: completed")
        await expect(card.locator("pre.text")).to_have_text(answer)
        await expect(card.locator(".stats")).to_contain_text("2 producer connections")
        for kind in ("connected", "fault", "dropped", "resumed", "ended"):
            await expect(card.locator(f".timeline .mark.{kind}")).to_have_count(1)
        await expect(card.locator(".mark.resumed")).to_have_attribute(
            "title", re.compile(r"resumed \(3 chunks stored\)")
        )

        shot = await card.screenshot(path=str(tmp_path / "dropped-and-resumed.png"))
        box = await card.bounding_box()
        assert box is not None
        # the resume marker is in the picture, in its colour (rgb(26, 86, 219))
        resumed = await card.locator(".mark.resumed").bounding_box()
        assert resumed is not None
        x = resumed["x"] - box["x"] + resumed["width"] / 2
        y = resumed["y"] - box["y"] + resumed["height"] / 2
        assert await pixels(page, shot, "at", x, y) == [26, 86, 219]
        # the joined text is in the picture: dark ink across the text's box
        text = await card.locator("pre.text").bounding_box()
        assert text is not None
        area = (text["x"] - box["x"], text["y"] - box["y"], text["width"], text["height"])
        assert text["y"] + text["height"] <= box["y"] + box["height"]
        assert await pixels(page, shot, "ink", *area) > 200


PIXELS_JS = """
async ([png, mode, x, y, width, height]) => {
  const image = new Image();
  image.src = "data:image/png;base64," + png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  if (mode === "at") return Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
  const data = context.getImageData(x, y, width, height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] + data[i + 1] + data[i + 2] < 3 * 100) ink += 1;
  }
  return ink;
}
"""


async def pixels(page: Any, png: bytes, mode: str, x: float, y: float, *size: float) -> Any:
    """Read the screenshot itself (decoded by the browser): the colour of one pixel ("at"), or
    how many dark pixels an area holds ("ink")."""
    width, height = size or (1, 1)
    encoded = base64.b64encode(png).decode()
    return await page.evaluate(PIXELS_JS, [encoded, mode, int(x), int(y), int(width), int(height)])


async def test_browser_through_a_rebound_name_is_forbidden(server: DevServer) -> None:
    """DNS rebinding, for real: the browser resolves attacker.example to 127.0.0.1."""
    async with chromium("--host-resolver-rules=MAP attacker.example 127.0.0.1") as browser:
        page = await browser.new_page()
        rebound = f"http://attacker.example:{server.port}"
        for path in ("/", f"/?token={server.viewer_token}", "/api/streams"):
            answer = await page.goto(rebound + path)
            assert answer is not None and answer.status == 403, path
        status = await page.evaluate(
            "async (url) => (await fetch(url)).status", rebound + "/api/events"
        )
        assert status == 403
