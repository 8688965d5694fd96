"""A lost stream reaches a person: on stderr when the app set up no logging, else through the
app's logging alone, once either way. Each case runs in a process of its own, as an app would,
with the logging set-up of a framework (pytest's own log capture would hide the fallback here).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from streamstraight_server import Streamstraight
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import child_env

FALLBACK_ERROR = "streamstraight_server ERROR: "
RECORD = "RECORD "  # the format the configured handlers of the script use

SETUPS = {
    "nothing": "",
    "basicConfig": "logging.basicConfig(format='RECORD %(levelname)s %(name)s %(message)s')",
    # uvicorn and Django configure their own loggers only: the root logger has no handler
    "uvicorn": "import uvicorn.config; logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)",
    "django default": (
        "import django; from django.conf import settings; settings.configure(); django.setup()"
    ),
    "django with a root handler": (
        "logging.config.dictConfig({'version': 1, 'disable_existing_loggers': False,"
        " 'formatters': {'f': {'format': 'RECORD %(levelname)s %(name)s %(message)s'}},"
        " 'handlers': {'h': {'class': 'logging.StreamHandler', 'formatter': 'f'}},"
        " 'root': {'handlers': ['h'], 'level': 'WARNING'}})"
    ),
    "a handler on the SDK's logger": (
        "h = logging.StreamHandler(); h.setFormatter(logging.Formatter('RECORD %(message)s'));"
        " logging.getLogger('streamstraight_server').addHandler(h)"
    ),
    "a NullHandler on the SDK's logger": (
        "logging.getLogger('streamstraight_server').addHandler(logging.NullHandler())"
    ),
}
# (fallback lines, configured records) expected for the lost stream
EXPECTED = {
    "nothing": (1, 0),
    "basicConfig": (0, 1),
    "uvicorn": (1, 0),
    "django default": (1, 0),
    "django with a root handler": (0, 1),
    "a handler on the SDK's logger": (0, 1),
    "a NullHandler on the SDK's logger": (0, 0),
}

APP = """
import logging, logging.config, os, sys
from streamstraight_server import Streamstraight

{setup}
url, key = os.environ["TEST_URL"], os.environ["TEST_KEY"]
# a resume after a drop: routine, logged at WARNING, never on the fallback
assert Streamstraight(api_key=key, base_url=url).stream(["1", "2", "3", "4"], stream_id="ok") == 4
tee = Streamstraight(api_key="sk_stale_key_of_an_earlier_run", base_url=url).tee(
    ["the", "whole", "answer"], stream_id="answer-1"
)
print("RESPONSE", "".join(tee))
try:
    tee.join()
except Exception as exc:
    print("JOIN", type(exc).__name__)
"""


@pytest.fixture
def dropping_server() -> Iterator[ThreadedDevServer]:
    with ThreadedDevServer(producer_grace=5.0) as running:
        running.faults.drop_after_chunks = 2
        yield running


def run_app(setup: str, server: ThreadedDevServer) -> subprocess.CompletedProcess[str]:
    env = child_env(TEST_URL=server.base_url, TEST_KEY=server.api_key, PYTHONUNBUFFERED="1")
    script = textwrap.dedent(APP).format(setup=setup)
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )


def record_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(RECORD)]


@pytest.mark.parametrize("setup", list(SETUPS))
def test_a_lost_stream_is_reported_once_whatever_the_logging_setup(
    setup: str, dropping_server: ThreadedDevServer
) -> None:
    done = run_app(SETUPS[setup], dropping_server)
    assert done.returncode == 0, done.stderr
    assert "RESPONSE thewholeanswer" in done.stdout and "JOIN AuthenticationError" in done.stdout
    fallback = [line for line in done.stderr.splitlines() if line.startswith("streamstraight")]
    errors = [line for line in record_lines(done.stderr) if "answer-1" in line]
    assert (len(fallback), len(errors)) == EXPECTED[setup], done.stderr
    for line in fallback + errors:
        assert "stream 'answer-1': streaming to Streamstraight failed" in line
        assert "rejected the API key" in line and "Check STREAMSTRAIGHT_API_KEY" in line
    assert "sk_stale_key_of_an_earlier_run" not in done.stderr
    assert dropping_server.snapshot("ok") is not None  # the routine resume happened
    if EXPECTED[setup][0]:
        assert done.stderr.splitlines() == fallback  # the resume's warning stayed off stderr


def test_the_blocking_client_on_an_event_loop_warns_on_stderr_once(
    server: ThreadedDevServer,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # in-process: pytest's handlers on the root logger are taken away for this test
    monkeypatch.setattr(logging.getLogger(), "handlers", [])

    async def route() -> None:
        client = Streamstraight(**options)
        client.fetch_client_token()
        client.stream(["a"], stream_id="on-the-loop")

    asyncio.run(route())
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("streamstraight_server WARNING: Streamstraight (the blocking")
    assert "use AsyncStreamstraight in async code" in lines[0]
