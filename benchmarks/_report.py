"""BENCHMARKS.md: the machine, the versions, the tables, the ratios and the issue's targets."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

NAMES = {
    "sdk-async": "this SDK, async",
    "sdk-blocking": "this SDK, blocking",
    "official": "official 0.2.10",
    "raw-async": "raw python-socketio `AsyncClient`",
    "raw-blocking": "raw python-socketio `Client`",
    "node": "Node `socket.io-client` (ceiling)",
    "sdk-before-async": "this SDK before, async",
    "sdk-before-blocking": "this SDK before, blocking",
}
PACKAGES = ["python-socketio", "python-engineio", "aiohttp", "websocket-client", "simple-websocket"]

Runs = dict[tuple[str, str, str], list[dict[str, Any]]]
Section = Callable[[Runs], list[str]]


class SettingsLike(Protocol):
    rounds: int
    chunks: int
    size: int
    connects: int
    streams: int
    stream_chunks: int
    threads: int
    rss_chunks: int
    rss_rounds: int
    ack_delay_ms: int
    contenders: list[str]


@dataclass
class Figure:
    """Medians (with the range) of one cell's successful runs, and what failed."""

    values: list[float]
    ok: int
    total: int
    failure: str | None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def show(self, fmt: str = ",.0f", spread: bool = False, why: bool = True) -> str:
        if self.median is None:
            if not self.failure:
                return "-"
            return f"failed: {self.failure}" if why else "failed"
        text = format(self.median, fmt)
        if spread and len(self.values) > 1:
            text += f" ({format(min(self.values), fmt)}-{format(max(self.values), fmt)})"
        return text


def figure(runs: list[dict[str, Any]], value: Any) -> Figure:
    good = [r for r in runs if "failed" not in r]
    failures = [r["failed"] for r in runs if "failed" in r]
    values: list[float] = []
    for run in good:
        got = value(run)
        values.extend(got if isinstance(got, list) else [got])
    return Figure(values, len(good), len(runs), failures[0] if failures else None)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def times(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _versions(python: str) -> dict[str, str]:
    script = (
        "import json, importlib.metadata as m\n"
        f"names = {[*PACKAGES, 'streamstraight-server']!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    found: dict[str, str] = json.loads(_run([python, "-I", "-c", script]) or "{}")
    return found


def commit_label() -> str:
    """The checkout's short commit, and whether the SDK's files differ from it."""
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "streamstraight_server"])
    return (commit or "?") + (" (with uncommitted changes)" if dirty else "")


def _node_package(name: str) -> str:
    try:
        manifest = json.loads((HERE / "node_modules" / name / "package.json").read_text())
        return str(manifest["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def before_of(contender: str) -> str:
    """The contender that runs this flavour of the SDK as of ``--before``."""
    return contender.replace("sdk-", "sdk-before-", 1)


class Report:
    """``sections`` come after the memory section, ``targets`` after the issue's targets."""

    def __init__(
        self,
        settings: SettingsLike,
        official_python: Path | None,
        sections: Sequence[Section] = (),
        targets: Sequence[Section] = (),
        before: str | None = None,
    ) -> None:
        self.settings = settings
        self.before = before
        self.official_python = official_python
        self.more_sections = sections
        self.more_targets = targets
        self.load_before = os.getloadavg()
        self.elapsed = 0.0

    def machine(self) -> list[str]:
        load_after = os.getloadavg()
        ours = _versions(sys.executable)
        lines = [
            "## Machine and versions",
            "",
            f"- {os.cpu_count()} cores, {_cpu_model()}, {platform.system()} {platform.release()}",
            f"- load average (1 min) {self.load_before[0]:.2f} before, {load_after[0]:.2f} "
            "after: the machine is shared, so absolute figures move from run to run; the ratios "
            "within one run are the stable part",
            f"- Python {platform.python_version()}; this SDK "
            f"{ours.get('streamstraight-server', '?')} at {commit_label()}",
            "- " + ", ".join(f"{n} {ours[n]}" for n in PACKAGES if n in ours),
        ]
        if self.before is not None:
            lines.append(
                f"- this SDK before: the package as of {self.before}, exported with `git archive` "
                "and first on its runs' `PYTHONPATH`, with the same dependencies (the first-chunk "
                "section names its own)"
            )
        if self.official_python is not None:
            theirs = _versions(str(self.official_python))
            lines.append("- official SDK venv: " + ", ".join(f"{n} {v}" for n, v in theirs.items()))
        lines.append(
            f"- Node {_run(['node', '--version'])}, socket.io {_node_package('socket.io')}, "
            f"socket.io-client {_node_package('socket.io-client')}"
        )
        lines.append(f"- the whole run took {self.elapsed / 60:.1f} min")
        return lines

    def render(self, runs: Runs) -> str:
        s = self.settings
        out = [
            "# Benchmarks",
            "",
            "Written by `make bench` (`benchmarks/run.py`); do not edit by hand. Every producer "
            "runs in a fresh process of its own; CPU is the producer process's own CPU time "
            "(every thread), measured inside it, excluding interpreter start-up and imports. "
            "Every run is checked against the server's counts afterwards (every chunk held once "
            "and in order, the stream ended as completed); a run that fails a check counts as "
            "failed, not as a figure. In the real-load workloads (LLM pace, idle writers), "
            "where one run holds hundreds of streams, the streams that raised or that the "
            "server does not hold whole are counted instead.",
            "",
            "The server is the canonical Node Socket.IO server running `benchmarks/sink.mjs`, "
            "which checks the handshake, answers `stream:info`, acks every chunk and answers END, "
            "and stores nothing but counts, so the producer is the bottleneck. The local Python "
            "server is the server-bound column.",
            "",
        ]
        out += [*self.machine(), ""]
        sections: list[Section] = [self.single, self.connect, self.concurrent, self.memory]
        sections += self.more_sections
        if any(k[0] in ("single", "connect", "concurrent") for k in runs):
            sections.append(self.targets)
        for section in [*sections, *self.more_targets]:
            lines = section(runs)
            out += [*lines, ""] if lines else []
        settings = f"{s.rounds} rounds, {s.chunks:,} chunks of {s.size} bytes"
        if not any(k[0] in ("single", "connect", "concurrent", "rss") for k in runs):
            ran = sorted({k[0] for k in runs}, key=lambda w: (w == "first-chunk", w))
            plural = "s" if len(ran) > 1 else ""
            settings = f"only the {', '.join(ran)} workload{plural}" if ran else "no workload"
        out.append(f"_Generated {time.strftime('%Y-%m-%d %H:%M %Z')}; settings: {settings}._")
        return "\n".join(out) + "\n"

    # single stream ----------------------------------------------------------------------------

    def rate(self, runs: Runs, contender: str, column: str = "node") -> Figure:
        return figure(
            runs.get(("single", column, contender), []), lambda r: self.settings.chunks / r["wall"]
        )

    def cpu(self, runs: Runs, contender: str, column: str = "node") -> Figure:
        return figure(
            runs.get(("single", column, contender), []),
            lambda r: r["cpu"] / self.settings.chunks * 1e6,
        )

    def single(self, runs: Runs) -> list[str]:
        s = self.settings
        rows = []
        bound = any(k[0] == "single" and k[1] == "python" for k in runs)
        for c in s.contenders:
            node_runs = runs.get(("single", "node", c), [])
            if not node_runs:
                continue
            connect = figure(node_runs, lambda r: r["connect_wall"] * 1e3)
            rss = figure(node_runs, lambda r: r["rss_peak_kb"] / 1024)
            rate = self.rate(runs, c)
            rows.append(
                [
                    NAMES[c],
                    rate.show(spread=True),
                    self.cpu(runs, c).show(".1f", why=False),
                    connect.show(".1f", why=False),
                    rss.show(".0f", why=False),
                    "END only" if c == "official" else "every chunk",
                    f"{rate.ok}/{rate.total}",
                ]
            )
            if bound:
                rows[-1][5:5] = [
                    self.rate(runs, c, "python").show(),
                    self.cpu(runs, c, "python").show(".1f", why=False),
                ]
        if not rows:
            return []
        lines = [
            f"## One stream: {s.chunks:,} chunks of {s.size} bytes",
            "",
            f"Medians of {s.rounds} interleaved rounds (range in brackets). chunks/s and CPU run "
            "from the stream being writable (connected and `stream:info` read: for this SDK, "
            "whose writer is entered before its handshake, once `flush()` with nothing sent "
            "returns) until END is answered; connect is the cold first connection, from "
            "creating the client to a writable stream. The raw clients and Node "
            "keep a window of 4,096 unconfirmed chunks like the SDK, and wait for every ack.",
            "",
        ]
        header = ["producer", "chunks/s", "CPU µs/chunk", "connect ms", "peak RSS MB"]
        if bound:
            header += ["server-bound chunks/s", "server-bound CPU µs/chunk"]
        lines += table([*header, "confirms", "runs ok"], rows)
        others = [c for c in ("official", "raw-async", "raw-blocking", "node") if c in s.contenders]
        # each flavour beside its own earlier version, when the run has it
        ours_all = [c for c in ("sdk-async", "sdk-blocking") if c in s.contenders]
        with_before = all(before_of(c) in s.contenders for c in ours_all) and bool(ours_all)
        ratio_rows = []
        for ours in ours_all:
            row = [NAMES[ours]]
            for other in [before_of(ours)] * with_before + others:
                speed = ratio(self.rate(runs, ours).median, self.rate(runs, other).median)
                cost = ratio(self.cpu(runs, ours).median, self.cpu(runs, other).median)
                row.append(f"{times(speed)} speed, {times(cost)} CPU")
            ratio_rows.append(row)
        if (others or with_before) and ratio_rows:
            header = ["vs this SDK before, same flavour"] * with_before
            header += [f"vs {NAMES[o]}" for o in others]
            lines += ["", "Ratios of this SDK (Node sink): chunks/s ratio, then CPU per chunk.", ""]
            lines += table(["", *header], ratio_rows)
        return lines

    # connect ----------------------------------------------------------------------------------

    def connect_figure(self, runs: Runs, contender: str, key: str) -> Figure:
        return figure(
            runs.get(("connect", "node", contender), []), lambda r: [x * 1e3 for x in r[key]]
        )

    def connect(self, runs: Runs) -> list[str]:
        s = self.settings
        rows = []
        for c in s.contenders:
            if ("connect", "node", c) not in runs:
                continue
            conn = self.connect_figure(runs, c, "connects")
            first = self.connect_figure(runs, c, "first_sends")
            rows.append(
                [
                    NAMES[c],
                    conn.show(".2f", spread=True),
                    first.show(".2f", spread=True, why=False),
                    f"{conn.ok}/{conn.total}",
                ]
            )
        if not rows:
            return []
        lines = [
            "## Connect latency and first send",
            "",
            f"Warm figures: {s.connects} of each per process after one warm-up, "
            f"{s.rounds} processes; medians of every sample (range in brackets). connect: from "
            "opening until the stream is writable (the handshake done and `stream:info` read; "
            "for this SDK, `stream_writer()` entered and `flush()` with nothing sent "
            "returned); first send: from entering `stream_writer()` (for the others, from "
            "starting to connect) until the first `send()` returns, which for this SDK since "
            "125d923 is before the handshake (see the first-chunk section).",
            "",
        ]
        return lines + table(["producer", "connect ms", "first send ms", "runs ok"], rows)

    # concurrent -------------------------------------------------------------------------------

    def concurrent_figures(self, runs: Runs, contender: str) -> tuple[Figure, Figure, Figure]:
        """Total s, chunks/s and CPU per chunk; a failed run's figures are kept (and flagged)
        when it got as far as measuring them."""
        s = self.settings
        chunks = s.streams * s.stream_chunks
        got = runs.get(("concurrent", "node", contender), [])
        measured = [{k: v for k, v in r.items() if k != "failed"} for r in got if "wall" in r]
        unmeasured = [r for r in got if "wall" not in r]
        return (
            figure(measured + unmeasured, lambda r: r["wall"]),
            figure(measured + unmeasured, lambda r: chunks / r["wall"]),
            figure(measured + unmeasured, lambda r: r["cpu"] / chunks * 1e6),
        )

    def connect_cpu_ms(self, runs: Runs, contender: str) -> float | None:
        got = runs.get(("connect", "node", contender), [])
        return figure(got, lambda r: [x * 1e3 for x in r.get("connect_cpus", [])]).median

    def concurrent(self, runs: Runs) -> list[str]:
        s = self.settings
        chunks = s.streams * s.stream_chunks
        rows = []
        for c, how in (
            ("sdk-async", f"{s.streams:,} streams at once, one async client, one process"),
            (
                "sdk-blocking",
                f"{s.streams:,} streams over {s.threads} threads, one blocking client",
            ),
        ):
            if ("concurrent", "node", c) not in runs:
                continue
            wall, rate, cpu = self.concurrent_figures(runs, c)
            single_cpu = self.cpu(runs, c).median
            connect_ms = self.connect_cpu_ms(runs, c)
            net = (
                cpu.median - connect_ms * 1e3 * s.streams / chunks
                if cpu.median is not None and connect_ms is not None
                else None
            )
            got = runs[("concurrent", "node", c)]
            failed = [r for r in got if "failed" in r]
            failures = sum(int(r.get("failures", 0)) for r in got)
            rows.append(
                [
                    f"{NAMES[c]}: {how}",
                    wall.show(".2f", why=False),
                    rate.show(why=False),
                    cpu.show(".1f", why=False),
                    times(ratio(cpu.median, single_cpu)),
                    _fmt(connect_ms, ".2f"),
                    _fmt(net, ".1f"),
                    f"{failures} streams raised; {len(failed)} of {len(got)} runs failed"
                    + (f" ({failed[0]['failed']})" if failed else ""),
                ]
            )
        if not rows:
            return []
        lines = [
            f"## Concurrent streams: {s.streams:,} x {s.stream_chunks} chunks",
            "",
            f"Medians of {s.rounds} rounds. Total time from starting every stream until the "
            "last END is answered, connections included; CPU per chunk over every chunk of "
            "every stream (each stream has a connection of its own, so connecting is part of "
            "the cost). CPU of one connection is the warm median of the connect workload; "
            '"net of connecting" subtracts that figure once per stream, an estimate of the '
            "per-chunk cost alone. Figures of a run that failed are shown when it measured them; "
            "failures must be 0.",
            "",
        ]
        return lines + table(
            [
                "run",
                "total s",
                "chunks/s",
                "CPU µs/chunk",
                "CPU vs one stream",
                "CPU ms/connection",
                "CPU µs/chunk net of connecting",
                "failures",
            ],
            rows,
        )

    # memory -----------------------------------------------------------------------------------

    def memory(self, runs: Runs) -> list[str]:
        s = self.settings
        rows = []
        mb = 1 / 1024
        for c in s.contenders:
            got = runs.get(("rss", "node", c), [])
            if not got:
                continue
            rows.append(
                [
                    NAMES[c],
                    figure(got, lambda r: s.rss_chunks / r["wall"]).show(),
                    figure(got, lambda r: r["rss_start_kb"] * mb).show(".1f"),
                    figure(got, lambda r: r["rss_tenth_kb"] * mb).show(".1f"),
                    figure(got, lambda r: r["rss_peak_kb"] * mb).show(".1f"),
                    figure(got, lambda r: r["max_in_flight"]).show() if c != "official" else "-",
                    f"{len([r for r in got if 'failed' not in r])}/{len(got)}",
                ]
            )
        if not rows:
            return []
        lines = [
            f"## Memory: {s.rss_chunks:,} chunks to a sink that acks {s.ack_delay_ms} ms late",
            "",
            f"{s.rss_rounds} round(s). Chunks are made as they are sent, so the stream itself "
            "costs nothing: the RSS that grows is the producer's. With a window of 4,096 "
            "chunks the SDK waits for acks; the peak must not depend on the stream's length "
            "(compare the RSS at a tenth of the stream with the peak). The official SDK, "
            "which ignores acks, runs here only with `--rss-official`; its RSS on a short "
            "stream is in the first table.",
            "",
        ]
        return lines + table(
            [
                "producer",
                "chunks/s",
                "RSS after connect MB",
                "RSS at 10% MB",
                "peak RSS MB",
                "most chunks in flight",
                "runs ok",
            ],
            rows,
        )

    # targets ----------------------------------------------------------------------------------

    def targets(self, runs: Runs) -> list[str]:
        lines = ["## The issue's targets", ""]

        def verdict(value: float | None, limit: float, at_most: bool) -> str:
            if value is None:
                return "**not measured**"
            met = value <= limit if at_most else value >= limit
            return "**met**" if met else "**not met**"

        a_cpu = self.cpu(runs, "sdk-async").median
        o_cpu = self.cpu(runs, "official").median
        r = ratio(a_cpu, o_cpu)
        lines.append(
            f"- async CPU per chunk ≤ 0.6x the official SDK's: {verdict(r, 0.6, True)}: "
            f"{_fmt(a_cpu, '.1f')} vs {_fmt(o_cpu, '.1f')} µs, {times(r)}"
        )
        b_rate = self.rate(runs, "sdk-blocking").median
        a_rate = self.rate(runs, "sdk-async").median
        r = ratio(b_rate, a_rate)
        lines.append(
            f"- blocking throughput ≥ 0.9x async: {verdict(r, 0.9, False)}: "
            f"{_fmt(b_rate, ',.0f')} vs {_fmt(a_rate, ',.0f')} chunks/s, {times(r)}"
        )
        for c in ("sdk-async", "sdk-blocking"):
            _, _, cpu = self.concurrent_figures(runs, c)
            single = self.cpu(runs, c).median
            r = ratio(cpu.median, single)
            failed = [x["failed"] for x in runs.get(("concurrent", "node", c), []) if "failed" in x]
            mark = "**not met** (failures)" if failed else verdict(r, 1.5, True)
            note = f"; {len(failed)} run(s) failed: {failed[0]}" if failed else ""
            lines.append(
                f"- {self.settings.streams:,} concurrent streams, CPU per chunk ≤ 1.5x one "
                f"stream's, no failures ({NAMES[c]}): {mark}: {_fmt(cpu.median, '.1f')} vs "
                f"{_fmt(single, '.1f')} µs, {times(r)}{note}"
            )
        for ours, raw in (("sdk-async", "raw-async"), ("sdk-blocking", "raw-blocking")):
            mine = self.connect_figure(runs, ours, "connects").median
            theirs = self.connect_figure(runs, raw, "connects").median
            r = ratio(mine, theirs)
            lines.append(
                f"- connect latency ≤ 1.1x raw ({NAMES[ours]} vs {NAMES[raw]}): "
                f"{verdict(r, 1.1, True)}: {_fmt(mine, '.2f')} vs {_fmt(theirs, '.2f')} ms, "
                f"{times(r)}"
            )
        return lines


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)
