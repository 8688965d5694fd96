"""What a process holds that a client could leave behind: threads, descriptors, asyncio tasks."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    threads: frozenset[tuple[int | None, str]]
    fds: frozenset[int]
    tasks: frozenset[int]


def _open(fd: int) -> bool:
    try:
        os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    return True


def _fds() -> frozenset[int]:
    # the listing holds the descriptor that read the folder, closed by now: drop it
    return frozenset(fd for fd in map(int, os.listdir("/proc/self/fd")) if _open(fd))


def _tasks() -> frozenset[int]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # the blocking flavour: no loop in this thread
        return frozenset()
    return frozenset(id(t) for t in asyncio.all_tasks(loop) if not t.done())


def take() -> Resources:
    return Resources(
        threads=frozenset((t.ident, t.name) for t in threading.enumerate() if t.is_alive()),
        fds=_fds(),
        tasks=_tasks(),
    )


def left_behind(before: Resources, after: Resources) -> list[str]:
    """What ``after`` holds that ``before`` did not, described for an assertion message."""
    found = [f"thread {name!r}" for _, name in sorted(after.threads - before.threads, key=str)]
    for fd in sorted(after.fds - before.fds):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile (listing the folder itself opens one)
        found.append(f"fd {fd} -> {target}")
    found += (
        [f"{len(after.tasks - before.tasks)} asyncio task(s)"] if after.tasks - before.tasks else []
    )
    return found
