"""The examples under the other servers users deploy on, started for real: uvicorn on uvloop
(FastAPI), Django through gunicorn's threaded WSGI workers and through uvicorn's ASGI. Browsers
leave mid-answer and the server is stopped with SIGTERM while answers are still being written;
what counts is what Streamstraight holds."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from streamstraight_server.testing import StreamstraightFixture
from tests.support.examples import answer_chunks, read_then_disconnect
from tests.support.web_servers import gunicorn, uvicorn

END_TIMEOUT = 40.0


def leave_then_stop(
    streamstraight: StreamstraightFixture,
    port: int,
    master: object,
    name: str,
    route: str = "/chat/{id}?prompt={prompt}",
) -> None:
    """Four browsers leave after the first word; then SIGTERM; every answer must be whole."""
    for i in range(4):
        path = route.format(id=f"{name}-{i}", prompt=f"{name}{i}")
        read_then_disconnect(port, path, until=b"-0 ")
    master.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    master.wait(END_TIMEOUT)  # type: ignore[attr-defined]
    for i in range(4):
        snap = streamstraight.wait_for_end(f"answer-{name}-{i}", timeout=END_TIMEOUT)
        assert (snap.end_reason, snap.data) == ("completed", answer_chunks(f"{name}{i}"))


def test_fastapi_on_uvicorn_with_uvloop(
    streamstraight: StreamstraightFixture, tmp_path: Path
) -> None:
    pytest.importorskip("uvloop")
    log = tmp_path / "uvicorn.log"
    with uvicorn(log, "examples.fastapi_app:app", "--loop", "uvloop") as (port, master):
        route = "/chat?message_id={id}&prompt={prompt}"
        leave_then_stop(streamstraight, port, master, "uvloop", route)


def test_django_wsgi_on_gunicorn_gthread(
    streamstraight: StreamstraightFixture, tmp_path: Path
) -> None:
    options = ("--worker-class", "gthread", "--threads", "4")
    log = tmp_path / "gunicorn.log"
    with gunicorn(log, *options, app="tests.deploy.django_apps:wsgi") as (port, master):
        leave_then_stop(streamstraight, port, master, "djwsgi")


def test_django_asgi_on_uvicorn(streamstraight: StreamstraightFixture, tmp_path: Path) -> None:
    log = tmp_path / "uvicorn.log"
    with uvicorn(log, "tests.deploy.django_apps:asgi") as (port, master):
        leave_then_stop(streamstraight, port, master, "djasgi")
