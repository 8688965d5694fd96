"""examples/worker.py: the request returns at once, a worker thread streams the answer."""

from __future__ import annotations

from pathlib import Path

from examples import worker
from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks, example_server, request


def test_request_returns_and_the_worker_streams_the_answer(
    streamstraight: StreamstraightFixture,
) -> None:
    response = worker.app.test_client().post("/answers/wk-1?prompt=hi")
    assert response.status_code == 202
    assert response.get_json() == {"stream_id": "answer-wk-1"}
    snap = streamstraight.wait_for_end("answer-wk-1")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks("hi")


def test_many_answers_at_once_share_one_client(streamstraight: StreamstraightFixture) -> None:
    futures = [worker.submit(f"wk-many-{i}", "w") for i in range(6)]
    assert [future.result(timeout=30) for future in futures] == [40] * 6
    for i in range(6):
        snap = streamstraight.wait_for_end(f"answer-wk-many-{i}")
        assert snap.end_reason == "completed" and snap.data == answer_chunks("w")


def test_under_werkzeug_the_answer_streams_after_the_response(
    streamstraight: StreamstraightFixture, tmp_path: Path
) -> None:
    with example_server("worker.py", tmp_path / "worker.log") as port:
        status, body = request(port, "POST", "/answers/wk-live")
        assert status == 202 and b"answer-wk-live" in body
        at_response = streamstraight.snapshot("answer-wk-live")
        assert at_response is None or not at_response.ended  # the request did not wait
        snap = streamstraight.wait_for_end("answer-wk-live")
    assert snap.end_reason == "completed"
    assert snap.data == answer_chunks()
