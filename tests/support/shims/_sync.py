"""Blocking twins of ``_async.py``: threads where the async helpers use tasks."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: the flavour these helpers serve (the catalogue marks its pending cases by flavour)
FLAVOUR = "sync"


def run_concurrently(jobs: list[Callable[[], T]]) -> list[T | BaseException]:
    """Run every job at once, each on a thread of its own; results in order."""

    def guarded(job: Callable[[], T]) -> T | BaseException:
        try:
            return job()
        except BaseException as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(guarded, jobs))
