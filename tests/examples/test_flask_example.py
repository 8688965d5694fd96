"""examples/flask_app.py under Flask's test client; under werkzeug: test_under_their_servers."""

from __future__ import annotations

from examples import flask_app
from streamstraight_server import token_expiry
from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks, answer_text


def test_chat_route_streams_to_the_browser_and_to_streamstraight(
    streamstraight: StreamstraightFixture,
) -> None:
    response = flask_app.app.test_client().get("/chat/fl-1?prompt=hi")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == answer_text("hi")
    snap = streamstraight.wait_for_end("answer-fl-1")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks("hi")


def test_response_closed_early_leaves_the_whole_answer_on_streamstraight(
    streamstraight: StreamstraightFixture,
) -> None:
    response = flask_app.app.test_client().get("/chat/fl-2", buffered=False)
    first = next(response.iter_encoded())
    response.close()  # what werkzeug does when the browser has gone
    assert first == b"word-0 "
    snap = streamstraight.wait_for_end("answer-fl-2")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks()


def test_token_route_returns_a_token(streamstraight: StreamstraightFixture) -> None:
    response = flask_app.app.test_client().post("/streamstraight-token")
    assert response.status_code == 200
    assert token_expiry(response.get_json()["token"]) is not None
