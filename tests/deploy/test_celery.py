"""A real Celery worker (prefork, a filesystem broker: no server needed) runs
``examples/celery_app.py``'s task: its children stream with the client they inherited through
``fork()``, recycle after each task, and a warm shutdown (SIGTERM) lets running answers finish."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks
from tests.support.helpers import REPO

END_TIMEOUT = 60.0


def test_a_prefork_worker_streams_whole_answers_and_finishes_them_on_sigterm(
    streamstraight: StreamstraightFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("celery")
    folder = tmp_path / "broker"
    folder.mkdir()
    monkeypatch.setenv("CELERY_BROKER_FOLDER", str(folder))
    from tests.deploy import celery_broker

    importlib.reload(celery_broker)  # this test's folder
    log = tmp_path / "celery.log"
    command = [
        sys.executable, "-m", "celery", "-A", "tests.deploy.celery_broker", "worker",
        "--pool", "prefork", "--concurrency", "2", "--max-tasks-per-child", "1",
        "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=output)
    try:
        for i in range(4):  # two per child, each child recycled after one task
            celery_broker.answer.delay(f"celery-{i}", f"c{i}")
        for i in range(4):
            snap = streamstraight.wait_for_end(f"answer-celery-{i}", timeout=END_TIMEOUT)
            assert (snap.end_reason, snap.data) == ("completed", answer_chunks(f"c{i}"))
        for i in range(4, 6):
            celery_broker.answer.delay(f"celery-{i}", f"c{i}")
        deadline = time.monotonic() + END_TIMEOUT
        while not all(streamstraight.snapshot(f"answer-celery-{i}") for i in range(4, 6)):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        worker.send_signal(signal.SIGTERM)  # warm shutdown, while both answers are under way
        worker.wait(END_TIMEOUT)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)
    for i in range(4, 6):
        snap = streamstraight.wait_for_end(f"answer-celery-{i}", timeout=END_TIMEOUT)
        assert (snap.end_reason, snap.data) == ("completed", answer_chunks(f"c{i}"))
