"""Fixtures shared by both flavours: a real local server on 127.0.0.1, its URL and key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the helpers' asserts explain their failures as the tests' own do
pytest.register_assert_rewrite("tests.support")

from streamstraight_server.devserver import ThreadedDevServer  # noqa: E402
from tests.support.server_process import ServerProcess  # noqa: E402


@pytest.fixture
def server() -> Iterator[ThreadedDevServer]:
    """A fresh local server per test (its own thread and loop, so both flavours can use it)."""
    with ThreadedDevServer(producer_grace=2.0, consumer_wait=2.0) as running:
        yield running


@pytest.fixture
def options(server: ThreadedDevServer) -> dict[str, Any]:
    """Client options pointing at ``server``, with short deadlines so failures show fast."""
    return {
        "api_key": server.api_key,
        "base_url": server.base_url,
        "connect_retry_delay_ms": 20,
        "connect_timeout": 3.0,
        "ack_timeout": 3.0,
        "end_timeout": 3.0,
        "resume_timeout": 5.0,
    }


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests say what they use; a developer's exported key must not leak into them."""
    monkeypatch.delenv("STREAMSTRAIGHT_API_KEY", raising=False)
    monkeypatch.delenv("STREAMSTRAIGHT_API_BASE_URL", raising=False)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """A local server in a process of its own, which a test may kill and start again."""
    process = ServerProcess(tmp_path / "journal.jsonl")
    process.start()
    try:
        yield process
    finally:
        process.kill()
