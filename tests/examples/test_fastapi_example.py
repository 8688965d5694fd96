"""examples/fastapi_app.py: FastAPI's test client, then uvicorn with a browser that leaves."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from examples import fastapi_app
from streamstraight_server import token_expiry
from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import (
    answer_chunks,
    answer_text,
    example_server,
    read_then_disconnect,
    request,
)


def test_chat_streams_to_the_browser_and_to_streamstraight(
    streamstraight: StreamstraightFixture,
) -> None:
    with TestClient(fastapi_app.app) as client:
        response = client.get("/chat", params={"message_id": "fa-1", "prompt": "hi"})
    assert response.status_code == 200
    assert response.text == answer_text("hi")
    snap = streamstraight.wait_for_end("answer-fa-1")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks("hi")
    assert streamstraight.stream_ids() == ["answer-fa-1"]


def test_browser_leaving_early_the_lifespan_waits_for_the_whole_answer(
    streamstraight: StreamstraightFixture,
) -> None:
    with TestClient(fastapi_app.app) as client:
        with client.stream("GET", "/chat", params={"message_id": "fa-2"}) as response:
            first = next(response.iter_text())
        assert first.startswith("word-0 ")
    # leaving the block ran the lifespan's shutdown, which waited for the tee
    snap = streamstraight.snapshot("answer-fa-2")
    assert snap is not None and snap.ended
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks()


def test_token_route_returns_a_token(streamstraight: StreamstraightFixture) -> None:
    with TestClient(fastapi_app.app) as client:
        response = client.post("/streamstraight-token")
    assert response.status_code == 200
    assert token_expiry(response.json()["token"]) is not None


def test_under_uvicorn_the_stream_completes_after_the_browser_left(
    streamstraight: StreamstraightFixture, tmp_path: Path
) -> None:
    with example_server("fastapi_app.py", tmp_path / "uvicorn.log") as port:
        received = read_then_disconnect(port, "/chat?message_id=fa-live", until=b"word-0 ")
        assert b"word-39" not in received  # the browser left mid-answer
        snap = streamstraight.wait_for_end("answer-fa-live")
        status, body = request(port, "POST", "/streamstraight-token")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks()
    assert status == 200 and b'"token"' in body
