"""Waiting until a client has let go of everything it started (threads, descriptors, tasks)."""

from __future__ import annotations

import time

from streamstraight_server._shims._async import sleep

from ..leakcheck import Resources, left_behind, take


async def nothing_left(before: Resources, timeout: float = 5.0) -> None:
    """Fail unless everything started since ``before`` is gone within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        extra = left_behind(before, take())
        if not extra:
            return
        if time.monotonic() > deadline:
            raise AssertionError("left behind: " + ", ".join(extra))
        await sleep(0.02)
