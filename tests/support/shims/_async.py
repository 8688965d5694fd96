"""Async test helpers with blocking twins of the same names in ``_sync.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: the flavour these helpers serve (the catalogue marks its pending cases by flavour)
FLAVOUR = "async"


async def run_concurrently(jobs: list[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Run every job at once (tasks here, threads in the blocking twin); results in order."""
    return list(await asyncio.gather(*(job() for job in jobs), return_exceptions=True))
