"""examples/fastapi_app.py under FastAPI's test client; under uvicorn: test_under_their_servers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from examples import fastapi_app
from streamstraight_server import token_expiry
from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks, answer_text


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
