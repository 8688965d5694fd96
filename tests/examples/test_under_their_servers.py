"""The web examples under their own servers, started for real: a browser that leaves after the
first word, and the stream that completes all the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks, example_server, read_then_disconnect, request


@pytest.mark.parametrize(
    ("script", "server", "path", "stream_id"),
    [
        pytest.param("django_app.py", "runserver", "/chat/dj-live", "answer-dj-live", id="django"),
        pytest.param(
            "fastapi_app.py", "uvicorn", "/chat?message_id=fa-live", "answer-fa-live", id="fastapi"
        ),
        pytest.param("flask_app.py", "werkzeug", "/chat/fl-live", "answer-fl-live", id="flask"),
    ],
)
def test_the_stream_completes_after_the_browser_left(
    streamstraight: StreamstraightFixture,
    tmp_path: Path,
    script: str,
    server: str,
    path: str,
    stream_id: str,
) -> None:
    with example_server(script, tmp_path / f"{server}.log") as port:
        received = read_then_disconnect(port, path, until=b"word-0 ")
        assert b"word-39" not in received  # the browser left mid-answer
        snap = streamstraight.wait_for_end(stream_id)
        status, body = request(port, "POST", "/streamstraight-token")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks()
    assert status == 200 and b'"token"' in body
