"""Live viewer: the HTML page, a JSON snapshot and a Server-Sent Events feed."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

from aiohttp import web

from .store import Store

_QUEUE_LIMIT = 2000
_CLOSE: dict[str, Any] = {"type": "__close__"}


class ViewerHub:
    """Fans store events out to SSE subscribers.

    Each subscriber has a bounded queue; one that falls behind is closed (the browser's
    EventSource reconnects and starts again from a full snapshot) so memory stays bounded.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        store.listeners.append(self.publish)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.subscribers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(_CLOSE)

    def close_all(self) -> None:
        for queue in list(self.subscribers):
            self.subscribers.discard(queue)
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(_CLOSE)

    def full_snapshot(self, chunks: bool = True) -> list[dict[str, Any]]:
        out = []
        for state in self.store.streams.values():
            meta = state.meta()
            if chunks:
                meta["chunks"] = [{"seq": c.seq, "data": c.data} for c in state.chunks]
            out.append(meta)
        return out

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files(__package__).joinpath("static/viewer.html").read_text("utf-8")
        return web.Response(text=html, content_type="text/html")

    async def streams(self, request: web.Request) -> web.Response:
        """Every stream; ``?chunks=false`` leaves the chunks out (``streamstraight ls``)."""
        chunks = request.query.get("chunks", "true").lower() != "false"
        return web.json_response({"streams": self.full_snapshot(chunks)})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE_LIMIT)
        self.subscribers.add(queue)
        try:
            await _send(response, {"type": "snapshot", "streams": self.full_snapshot()})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), 15.0)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is _CLOSE:
                    break
                await _send(response, event)
        except ConnectionResetError:
            pass
        finally:
            self.subscribers.discard(queue)
        return response


async def _send(response: web.StreamResponse, event: dict[str, Any]) -> None:
    await response.write(f"data: {json.dumps(event)}\n\n".encode())
