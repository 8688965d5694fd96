"""The pytest plugin: the ``streamstraight`` fixture here, and in a user's project that installed
the wheel (a module-level client created at import time, two tests, a fault for one of them)."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from streamstraight_server import Streamstraight
from streamstraight_server.devserver import Faults
from streamstraight_server.testing import StreamstraightFixture
from tests.support.wheel import build_wheel, fresh_venv, run_clean

APP = """
from streamstraight_server import Streamstraight

client = Streamstraight()  # reads STREAMSTRAIGHT_API_KEY and _BASE_URL now, at import


def answer(message_id):
    return client.stream([f"w{i}" for i in range(5)], stream_id=f"answer-{message_id}")
"""

USER_TESTS = """
import streamstraight_server

import app

WORDS = [f'"w{i}"' for i in range(5)]


def test_first_answer(streamstraight):
    assert app.answer("1") == 5
    snapshot = streamstraight.wait_for_end("answer-1")
    assert snapshot.end_reason == "completed" and snapshot.data == WORDS
    assert streamstraight.stream_ids() == ["answer-1"]


def test_second_answer_through_a_refused_connection(streamstraight):
    streamstraight.inject(refuse_connections=1)
    assert app.answer("1") == 5  # the same stream id: the first test's stream was dropped
    assert streamstraight.server.faults.refuse_connections == 0
    assert streamstraight.stream_ids() == ["answer-1"]
    assert streamstraight.wait_for_end("answer-1").data == WORDS
    print("PLUGIN FROM", streamstraight_server.__file__)
"""


def test_fixture_sees_only_this_tests_streams(streamstraight: StreamstraightFixture) -> None:
    assert os.environ["STREAMSTRAIGHT_API_BASE_URL"] == streamstraight.base_url
    assert os.environ["STREAMSTRAIGHT_API_KEY"] == streamstraight.api_key
    assert streamstraight.server.faults == Faults()  # nothing left by an earlier test
    assert streamstraight.stream_ids() == []
    Streamstraight().stream(["a", "b"], stream_id="plugin-own")  # options from the environment
    assert streamstraight.stream_ids() == ["plugin-own"]
    assert streamstraight.chunks("plugin-own") == ['"a"', '"b"']
    streamstraight.inject(error_after_chunks=1)


def test_faults_and_streams_do_not_outlive_their_test(
    streamstraight: StreamstraightFixture,
) -> None:
    assert streamstraight.server.faults == Faults()
    assert streamstraight.snapshot("plugin-own") is None
    assert streamstraight.stream_ids() == []


async def test_async_tests_wait_without_blocking_the_loop(
    streamstraight: StreamstraightFixture,
) -> None:
    from streamstraight_server import AsyncStreamstraight

    tee = AsyncStreamstraight(**streamstraight.options).tee(["x"], stream_id="plugin-async")
    snapshot = await streamstraight.wait_for_end_async("plugin-async")
    assert snapshot.end_reason == "completed"
    assert await tee.wait() == 1


def test_a_user_project_gets_the_fixture_from_the_installed_wheel(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    venv, python = fresh_venv(tmp_path, wheel)
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    (project / "test_app.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")
    # run_clean gives the project a shell without Streamstraight settings: the plugin provides them
    result = run_clean(
        [str(python), "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_app.py"],
        cwd=project,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 passed" in output
    installed = output.split("PLUGIN FROM", 1)[1].split()[0]
    assert Path(installed).resolve().is_relative_to(venv.resolve()), installed


UNUSED_PROJECT_TEST = """
import sys
import threading


def test_nothing_streamstraight():
    assert True


def test_report():
    loaded = sorted(m for m in sys.modules if m.startswith(HEAVY))
    threads = [t.name for t in threading.enumerate() if t.name.startswith("streamstraight")]
    print("LOADED", loaded, "THREADS", threads)
"""


def test_the_plugin_costs_nothing_until_a_test_asks_for_the_server(tmp_path: Path) -> None:
    """A project that has the package installed but never uses the fixture: the plugin loads
    (the environment is pointed at the reserved server) and imports neither the SDK nor the
    server, and starts no thread."""
    heavy = (
        "aiohttp",
        "socketio",
        "engineio",
        "requests",
        "jwt",
        "streamstraight_server._a",
        "streamstraight_server._s",
        "streamstraight_server.devserver",
    )
    (tmp_path / "test_unused.py").write_text(
        f"HEAVY = {heavy!r}\n" + textwrap.dedent(UNUSED_PROJECT_TEST), encoding="utf-8"
    )
    result = run_clean(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "test_unused.py",
        ],
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "LOADED [] THREADS []" in output
    assert "2 passed" in output
