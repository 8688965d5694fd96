"""FastAPI: the answer streams to the browser and to Streamstraight at once.

Run it (with ``streamstraight dev`` running elsewhere, and its key and URL exported)::

    STREAMSTRAIGHT_API_KEY=sk_dev_... STREAMSTRAIGHT_API_BASE_URL=http://127.0.0.1:8787 \\
        python examples/fastapi_app.py
    curl -N 'http://127.0.0.1:8000/chat?message_id=42'

The browser that goes away mid-answer (a reload, a closed tab) finds the whole answer on
Streamstraight under ``answer-42``: ``tee()`` reads the model to its end whatever the response
does, and the app's lifespan waits for answers still streaming before it shuts down.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from streamstraight_server import AsyncStreamstraight

#: one client for the whole app; STREAMSTRAIGHT_API_KEY and _BASE_URL come from the environment
streamstraight = AsyncStreamstraight()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await streamstraight.acheck()  # a wrong key or a stopped server stops the app here
    yield
    await streamstraight.aclose()  # waits (30 s at most) for the answers still streaming


app = FastAPI(lifespan=lifespan)


async def fake_llm(prompt: str) -> AsyncIterator[str]:
    """Stands for the model's streaming API: 40 words, 20 ms apart."""
    for i in range(40):
        await asyncio.sleep(0.02)
        yield f"{prompt}-{i} "


@app.get("/chat")
async def chat(message_id: str, prompt: str = "word") -> StreamingResponse:
    answer = streamstraight.tee(fake_llm(prompt), stream_id=f"answer-{message_id}")
    return StreamingResponse(answer, media_type="text/plain")


@app.post("/streamstraight-token")
async def streamstraight_token() -> dict[str, str]:
    # check that the user may read the stream first: the token reads every stream of the key
    return {"token": await streamstraight.fetch_client_token()}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
