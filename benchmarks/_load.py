"""The paced workloads of run.py (``llm``, ``idle``): their settings, their runs against the
sink, what each run is checked against, and the process limits they need.

Unlike the other workloads, a paced run is many streams in one process, so a stream that
raised or that the sink does not hold whole is counted, not a reason to discard the run's
figures; only a child that printed no result at all is a failed run.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _paced import WORKLOADS
from _services import NodeSink, Service

PACED = list(WORKLOADS)
PACED_CONTENDERS = [
    "sdk-async",
    "sdk-blocking",
    "sdk-before-async",
    "sdk-before-blocking",
    "official",
    "raw-async",
    "raw-blocking",
    "node",
]

#: how long a run may go on beyond its plan: the SDK's own timeouts (connect 10 s with its
#: retries, acks 15 s, END 10 s) fire, and are reported, well before the harness gives up
DEADLINE_MARGIN = 120.0
#: a child's start-up, its client's close and its wind-down, beyond the run's deadline
CHILD_MARGIN = 60.0
#: threads a stream may cost at most in any contender, and the app's own thread, for the limits
THREADS_PER_STREAM = 6

RunChild = Callable[[str, str, Service, str, dict[str, Any], float], dict[str, Any]]
AddResult = Callable[[str, str, str, dict[str, Any]], None]


@dataclass
class LoadSettings:
    llm_streams: list[int]
    chunks: int
    rate: float
    open_rate: float
    size: int
    idle_writers: int
    idle_seconds: float
    rounds: int

    def chunks_of(self, workload: str) -> int:
        return self.chunks if workload == "llm" else 1

    def plan(self, workload: str, streams: int) -> dict[str, Any]:
        """The child's ``Plan`` (``_paced.py``) as keyword arguments."""
        busy = self.chunks / self.rate if workload == "llm" else self.idle_seconds
        return {
            "streams": streams,
            "count": self.chunks,
            "rate": self.rate,
            "open_rate": self.open_rate,
            "size": self.size,
            "idle": self.idle_seconds,
            "deadline": streams / self.open_rate + busy + DEADLINE_MARGIN,
        }

    def groups(self, workloads: list[str]) -> list[tuple[str, int]]:
        """(workload, streams) in the order they run."""
        chosen = [("llm", n) for n in self.llm_streams] if "llm" in workloads else []
        return chosen + ([("idle", self.idle_writers)] if "idle" in workloads else [])


@dataclass
class Group:
    """When a group of runs was measured, and the load average (1 min) around it."""

    started: float
    load_before: float
    load_after: float


@dataclass
class LoadLog:
    groups: dict[tuple[str, int], Group] = field(default_factory=dict)
    limits: list[str] = field(default_factory=list)


def raise_limits(streams: int) -> list[str]:
    """Raise the soft limits on open files and threads for the largest run (children and the
    sink inherit them); what they are, and a warning for each that stays too low."""
    notes = []
    wanted = {
        "open files": (resource.RLIMIT_NOFILE, streams * 2 + 256),
        "processes and threads": (resource.RLIMIT_NPROC, streams * THREADS_PER_STREAM + 256),
    }
    for name, (limit, needed) in wanted.items():
        soft, hard = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY and soft < needed:
            target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
            try:
                resource.setrlimit(limit, (target, hard))
            except (ValueError, OSError):
                pass
            soft = resource.getrlimit(limit)[0]
        shown = "unlimited" if soft == resource.RLIM_INFINITY else f"{soft:,}"
        notes.append(f"{name} {shown}")
        if soft != resource.RLIM_INFINITY and soft < needed:
            print(f"warning: the {name} limit ({soft}) is below {needed}", file=sys.stderr)
            notes[-1] += f" (below the {needed:,} the largest run may need)"
    return notes


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _note(workload: str, chunks: int, outcome: dict[str, Any]) -> str:
    """One line of progress for stderr."""
    streams = outcome["streams"]
    raised = ", ".join(f"{k} {v}" for k, v in outcome["errors"].items()) or "none raised"
    if outcome.get("raised_whole"):
        raised += f" ({outcome['raised_whole']} of them held whole)"
    whole = f"{outcome.get('whole', '?')}/{streams} whole"
    threads = f"threads {outcome['threads']} (SDK {outcome['sdk_threads']})"
    opens = _ms(outcome.get("open_p99_ms"))
    threads += f", open p99 {opens}, start lag p99 {_ms(outcome.get('lag_p99_ms'))}"
    if workload == "llm":
        per_chunk = outcome["cpu"] / (streams * chunks) * 1e6
        slip = outcome.get("slip_p99")
        slip_text = "-" if slip is None else f"{slip:.2f}"
        return f"{per_chunk:,.0f} µs/chunk, slip p99 {slip_text}, {threads}, {raised}, {whole}"
    idle = outcome.get("idle_cpu", 0.0) / max(outcome.get("idle_wall", 0.0), 1e-9) * 100
    return f"idle CPU {idle:.1f}% of a core, {threads}, {raised}, {whole}"


def one_run(
    workload: str,
    streams: int,
    contender: str,
    tag: str,
    settings: LoadSettings,
    sink: NodeSink,
    run_child: RunChild,
) -> dict[str, Any]:
    plan = settings.plan(workload, streams)
    stream_id = f"{workload}{streams}-{tag}-{contender}"
    sink_cpu = sink.cpu()
    outcome = run_child(contender, workload, sink, stream_id, plan, plan["deadline"] + CHILD_MARGIN)
    sink_cpu = sink.cpu() - sink_cpu
    if "failed" in outcome:
        return outcome
    chunks = settings.chunks_of(workload)
    summary = sink.summary(stream_id + "-", chunks)
    outcome["whole"] = summary["whole"]
    # a stream can raise although the server holds it whole: a timeout on the wall clock that
    # ran out while the starved process had not yet read the answer
    whole = set(summary["wholeIds"])
    raised = outcome.get("raised", [])
    outcome["raised_whole"] = sum(1 for i in raised if f"{stream_id}-{i}" in whole)
    outcome["sink_share"] = sink_cpu / outcome["wall"] if outcome["wall"] > 0 else None
    outcome["note"] = _note(workload, chunks, outcome)
    return outcome


def paced_runs(
    settings: LoadSettings,
    workloads: list[str],
    contenders: list[str],
    sink: NodeSink,
    run_child: RunChild,
    add: AddResult,
    log: LoadLog,
) -> None:
    """Every group of paced runs, contenders back to back (their order rotating by round)."""
    chosen = [c for c in contenders if c in PACED_CONTENDERS]
    if not chosen:
        return
    for workload, streams in settings.groups(workloads):
        start, load_before = time.time(), os.getloadavg()[0]
        for round_ in range(settings.rounds):
            shift = round_ % len(chosen)
            for contender in chosen[shift:] + chosen[:shift]:
                outcome = one_run(
                    workload, streams, contender, f"r{round_}", settings, sink, run_child
                )
                add(workload, str(streams), contender, outcome)
        log.groups[(workload, streams)] = Group(start, load_before, os.getloadavg()[0])
        print(f"{workload} {streams}: {time.time() - start:.0f}s", file=sys.stderr)
