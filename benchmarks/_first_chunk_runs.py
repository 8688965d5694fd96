"""The first-chunk workload of run.py: how long after entering the writer the server holds
chunk 0, through a proxy that delays every byte (``_proxy.py``), for a source whose first chunk
is ready at once and one whose first chunk takes a model's time to first token.

Each run is a fresh process (``_child.py``, the workload ``first-chunk``), and in it a warm-up
stream, the measured stream and a bare handshake, each on a fresh connection through the proxy
(see ``_first_chunk.py``). The contenders: this SDK in both flavours as checked out; the same
flavours as of an earlier commit (``git archive`` of its package into a temporary folder, put
first on the child's ``PYTHONPATH``), which waited for the whole handshake on entering the
writer; and the official SDK. Every run is checked against the sink's counts (every chunk
held once, in order, ended completed) and against the file its SDK was imported from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from _services import Service

WORKLOAD = "first-chunk"
#: the contenders that can run it, and each current flavour's earlier version
CURRENT = ("sdk-async", "sdk-blocking")
BEFORE = {"sdk-async": "sdk-before-async", "sdk-blocking": "sdk-before-blocking"}
#: the commit before entering the writer stopped waiting for the handshake
BEFORE_COMMIT = "94e81ec"
#: how far from max(handshake, first chunk ready) + one way the target allows (ms)
TOLERANCE_MS = 10.0


class RunChild(Protocol):
    def __call__(
        self,
        contender: str,
        workload: str,
        service: Service,
        stream_id: str,
        params: dict[str, Any],
        timeout: float,
        *,
        pythonpath: Path | None = None,
    ) -> dict[str, Any]: ...


StreamProblem = Callable[[dict[str, Any] | None, int], str | None]
AddResult = Callable[[str, str, str, dict[str, Any]], None]


@dataclass
class FirstChunkSettings:
    runs: int
    delays: list[int]
    proxy_delay_ms: float
    chunks: int
    size: int
    before: str = BEFORE_COMMIT

    def params(self, delay: int) -> dict[str, Any]:
        return {"delay_ms": delay, "count": self.chunks, "size": self.size}


@dataclass
class FirstChunkLog:
    """When the runs were measured, the load average (1 min) around them, and the version
    that ``before`` names."""

    started: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    before: str = ""
    contenders: list[str] = field(default_factory=list)


def first_chunk_contenders(chosen: list[str]) -> list[str]:
    """This SDK's flavours among ``chosen``, each followed by its earlier version; then the
    official SDK if chosen."""
    out: list[str] = []
    for contender in chosen:
        if contender in BEFORE:
            out += [contender, BEFORE[contender]]
    return out + (["official"] if "official" in chosen else [])


def describe_commit(root: Path, commit: str) -> str:
    """``commit`` as its short hash, for the report."""
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", commit], capture_output=True, text=True
    )
    return done.stdout.strip() or commit


@contextmanager
def exported_package(root: Path, commit: str) -> Iterator[Path]:
    """The folder holding ``streamstraight_server`` as of ``commit``, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="streamstraight-before-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", commit, "streamstraight_server"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _checked(
    outcome: dict[str, Any],
    service: Service,
    stream_id: str,
    settings: FirstChunkSettings,
    sdk_under: Path | None,
    problem_of: StreamProblem,
) -> dict[str, Any]:
    """The run's figures with the sink's times, or why it failed."""
    if "failed" in outcome:
        return outcome
    state = service.count(stream_id)
    problem = problem_of(state, settings.chunks)
    imported = Path(outcome["sdk"]).resolve()
    if problem is None and sdk_under is not None and not imported.is_relative_to(sdk_under):
        problem = f"imported the SDK from {imported}, not from {sdk_under}"
    if problem is None and (state is None or state.get("firstChunkAt") is None):
        problem = "the sink has no time for chunk 0"
    if problem is not None:
        return {"failed": problem}
    assert state is not None
    held = state["firstChunkAt"] - outcome["t0_ms"]
    return {
        **outcome,
        "held_ms": held,
        "accepted_ms": state["connectedAt"] - outcome["t0_ms"],
        "note": f"chunk 0 held at {held:.0f} ms, handshake {outcome['handshake_ms']:.0f} ms",
    }


def first_chunk_runs(
    settings: FirstChunkSettings,
    contenders: list[str],
    proxy: Service,
    root: Path,
    run_child: RunChild,
    problem_of: StreamProblem,
    add: AddResult,
    log: FirstChunkLog,
) -> None:
    """``settings.runs`` rounds of every (contender, delay), a fresh process each; the order
    rotates from one round to the next."""
    chosen = first_chunk_contenders(contenders)
    if not chosen:
        return
    log.contenders = chosen
    log.before = describe_commit(root, settings.before)
    log.started, log.load_before = time.time(), os.getloadavg()[0]
    cells = [(c, d) for d in settings.delays for c in chosen]
    with exported_package(root, settings.before) as before:
        for round_ in range(settings.runs):
            shift = round_ % len(cells)
            for contender, delay in cells[shift:] + cells[:shift]:
                stream_id = f"first-d{delay}-r{round_}-{contender}"
                is_before = contender in BEFORE.values()
                outcome = run_child(
                    contender,
                    WORKLOAD,
                    proxy,
                    stream_id,
                    settings.params(delay),
                    60,
                    pythonpath=before if is_before else None,
                )
                sdk_under = before.resolve() if is_before else None
                if contender in CURRENT:
                    sdk_under = (root / "streamstraight_server").resolve()
                outcome = _checked(outcome, proxy, stream_id, settings, sdk_under, problem_of)
                add(WORKLOAD, str(delay), contender, outcome)
    log.load_after = os.getloadavg()[0]
    print(f"first chunk: {time.time() - log.started:.0f}s", file=sys.stderr)
