"""examples/django_app.py under Django's test client; under runserver: test_under_their_servers."""

from __future__ import annotations

import json

import django  # type: ignore[import-untyped]

from examples import django_app
from streamstraight_server import token_expiry
from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks, answer_text

django.setup()

from django.test import Client  # type: ignore[import-untyped]  # noqa: E402


def test_chat_view_streams_to_the_browser_and_to_streamstraight(
    streamstraight: StreamstraightFixture,
) -> None:
    response = Client().get("/chat/dj-1", {"prompt": "hi"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == answer_text("hi")
    response.close()
    snap = streamstraight.wait_for_end("answer-dj-1")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks("hi")


def test_response_closed_early_leaves_the_whole_answer_on_streamstraight(
    streamstraight: StreamstraightFixture,
) -> None:
    response = Client().get("/chat/dj-2")
    first = next(iter(response.streaming_content))
    response.close()  # what Django's handler does when the browser has gone
    assert first == b"word-0 "
    snap = streamstraight.wait_for_end("answer-dj-2")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks()


def test_token_view_returns_a_token_and_takes_post_only(
    streamstraight: StreamstraightFixture,
) -> None:
    response = Client().post("/streamstraight-token")
    assert response.status_code == 200
    assert token_expiry(json.loads(response.content)["token"]) is not None
    assert Client().get("/streamstraight-token").status_code == 405
    assert django_app.streamstraight.options.base_url == streamstraight.base_url
