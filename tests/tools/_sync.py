"""Blocking twins of ``_async.py``: threads where the async helpers use tasks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_concurrently(jobs: list[Callable[[], T]]) -> list[T | BaseException]:
    """Run every job at once, each on a thread of its own; results in order."""

    def guarded(job: Callable[[], T]) -> T | BaseException:
        try:
            return job()
        except BaseException as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(guarded, jobs))


def live_workers() -> int:
    """Threads other than the main one and the local servers' own."""
    return sum(
        1
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and "devserver" not in thread.name
    )
