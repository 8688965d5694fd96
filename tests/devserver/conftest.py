"""The local server itself, on each test's own loop: here ``server`` is a ``DevServer``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from streamstraight_server.devserver import DevServer
from tests.support.devserver import FAST


@pytest.fixture
async def server() -> AsyncIterator[DevServer]:
    """A local server with short timers, stopped after the test."""
    async with DevServer(**FAST) as running:
        yield running
