"""BENCHMARKS.md's real-load sections: LLM pace, idle writers, and their targets."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from _load import DEADLINE_MARGIN, PACED_CONTENDERS, LoadLog, LoadSettings
from _report import NAMES, Figure, Runs, commit_label, figure, ratio, table, times

#: the most threads the blocking SDK may have beyond the app's own: a small constant per client
#: (the design: a selector thread and a few helpers per client, however many writers are open)
SDK_THREADS_LIMIT = 8
SLIP_P99_LIMIT = 1.05
BLOCKING_VS_ASYNC_LIMIT = 1.3
ASYNC_VS_NODE_LIMIT = 1.2
#: the stream counts the issue's targets are set for
TARGET_STREAMS = (300, 1000)

Row = list[str]


def _show(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _verdict(met: bool | None) -> str:
    return "**not measured**" if met is None else ("**met**" if met else "**not met**")


class LoadReport:
    def __init__(self, settings: LoadSettings, contenders: list[str], log: LoadLog) -> None:
        self.settings = settings
        self.contenders = [c for c in contenders if c in PACED_CONTENDERS]
        self.log = log

    # -- figures ---------------------------------------------------------------------------

    def runs(self, runs: Runs, workload: str, streams: int, contender: str) -> list[dict[str, Any]]:
        return runs.get((workload, str(streams), contender), [])

    def cpu_per_chunk(self, runs: Runs, streams: int, contender: str) -> Figure:
        chunks = streams * self.settings.chunks
        return figure(self.runs(runs, "llm", streams, contender), lambda r: r["cpu"] / chunks * 1e6)

    def value(self, runs: Runs, workload: str, streams: int, contender: str, key: str) -> Figure:
        got = self.runs(runs, workload, streams, contender)
        return figure([r for r in got if "failed" in r or r.get(key) is not None], lambda r: r[key])

    def failures(self, got: list[dict[str, Any]]) -> tuple[int | None, str]:
        """Streams that raised over every measured run, and the cell that says so."""
        crashed = [r["failed"] for r in got if "failed" in r]
        measured = [r for r in got if "failed" not in r]
        errors: Counter[str] = Counter()
        for run in measured:
            errors.update(run["errors"])
        total = sum(errors.values())
        held = sum(int(run.get("raised_whole", 0)) for run in measured)
        cell = f"{total:,}"
        if total:
            kinds = ", ".join(f"{kind} {count:,}" for kind, count in errors.most_common())
            cell = f"{total:,}: {kinds}" + (f" ({held:,} of them held whole)" if held else "")
        if crashed:
            cell = f"{cell}; {len(crashed)} of {len(got)} runs failed ({crashed[0]})"
        return (total if measured and not crashed else None), cell

    def whole(self, got: list[dict[str, Any]]) -> tuple[bool | None, str]:
        measured = [r for r in got if "failed" not in r]
        if not measured:
            return None, "-"
        held = sum(int(r.get("whole", 0)) for r in measured)
        planned = sum(int(r["streams"]) for r in measured)
        every = held == planned and len(measured) == len(got)
        return every, f"{held:,}/{planned:,}"

    # -- shared text -----------------------------------------------------------------------

    def measured(self, workload: str, streams: int) -> str:
        group = self.log.groups.get((workload, streams))
        if group is None:
            return ""
        when = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(group.started))
        return (
            f"Measured {when} at {commit_label()}; load average (1 min) "
            f"{group.load_before:.2f} before, {group.load_after:.2f} after (it counts these "
            f"runs' own runnable threads too); {self.settings.rounds} round(s), medians."
        )

    def spread(self, streams: int) -> str:
        return f"{streams / self.settings.open_rate:.1f} s"

    # -- LLM pace --------------------------------------------------------------------------

    def llm_row(self, runs: Runs, streams: int, contender: str) -> Row:
        got = self.runs(runs, "llm", streams, contender)

        def pair(low: str, high: str, fmt: str) -> str:
            a = self.value(runs, "llm", streams, contender, low).median
            b = self.value(runs, "llm", streams, contender, high).median
            return f"{_show(a, fmt)} / {_show(b, fmt)}"

        def median(key: str, fmt: str, scale: float = 1.0) -> str:
            shown = self.value(runs, "llm", streams, contender, key).median
            return _show(None if shown is None else shown * scale, fmt)

        share = figure(got, lambda r: r["cpu"] / r["wall"] * 100)
        return [
            NAMES[contender],
            self.cpu_per_chunk(runs, streams, contender).show(",.0f", spread=True, why=False),
            share.show(".0f", why=False),
            pair("slip_p50", "slip_p99", ".2f"),
            pair("open_p50_ms", "open_p99_ms", ",.0f"),
            median("lag_p99_ms", ",.0f"),
            median("most_open", ",.0f"),
            median("threads", ",.0f"),
            median("sdk_threads", ",.0f"),
            median("rss_peak_kb", ",.0f", 1 / 1024),
            self.failures(got)[1],
            self.whole(got)[1],
            median("sink_share", ".0f", 100),
        ]

    def llm(self, runs: Runs) -> list[str]:
        s = self.settings
        counts = [n for n in s.llm_streams if any(self.runs(runs, "llm", n, c) for c in NAMES)]
        if not counts:
            return []
        paced = s.chunks / s.rate
        sizes = " and ".join(f"{n:,}" for n in counts)
        lines = [
            f"## LLM pace: {sizes} streams of {s.chunks} chunks at {s.rate:g} chunks/s",
            "",
            "Every stream of a run in one process, as an application serves its answers: a task "
            "per stream on one event loop for the async contenders, a thread per stream for the "
            "blocking ones (started before the run, as a threaded server's pool is, each "
            "waiting for its stream's slot). This SDK uses one shared client; the official "
            "SDK, whose API has one stream per client, a client per stream; the raw "
            "python-socketio clients and Node a connection per stream. Stream starts are "
            "staggered: stream *i* opens "
            f"*i*/{s.open_rate:g} s after the first ("
            + ", ".join(f"{n:,} streams over {self.spread(n)}" for n in counts)
            + f"; {s.open_rate:g} opens a second is the arrival rate that keeps "
            f"{s.open_rate * paced:,.0f} answers of {paced:g} s in flight). Once writable, a "
            f"stream is paced on an absolute schedule: chunk *k* ({s.size} bytes) is due "
            f"*k*/{s.rate:g} s after the stream became writable and its end {paced:g} s after; "
            "a late chunk goes at once, so lateness never adds up as sleep error.",
            "",
            "- **CPU**: the process's CPU time (every thread) from the first stream's slot until "
            "the last stream closed, over every planned chunk of every stream (connecting "
            "included); % of a core is that CPU over the same wall time.",
            "- **slip**: a stream's time from writable until its writer closed (END answered), "
            f"over its paced {paced:g} s; 1.00 is on time. p50 / p99 over the streams that did "
            "not raise. **open**: from a stream's task or thread beginning to open it until it is "
            "writable (the SDK's connect). **start lag**: from the stream's slot until its task "
            "or thread began (the app's side: a thread waiting for the GIL, or a busy event "
            "loop). **most open at once**: streams writable and not yet closed at one instant.",
            "- **threads**: the most the kernel counted in the process, sampled every 0.1 s; "
            "**SDK threads** subtracts the app's own at the same instant (its live per-stream "
            "threads and its main thread), leaving the SDK's and its libraries' (for Node, the "
            "runtime's).",
            "- **failures**: streams that raised, by exception type; `Unfinished` counts "
            "streams still running at the harness's deadline (the plan's length plus "
            f'{DEADLINE_MARGIN:.0f} s); "held whole" counts those that raised although the '
            "sink holds them whole (a timeout on the wall clock that ran out while the starved "
            "process had not read the answer yet). **whole**: streams the sink holds whole "
            "(every seq once, in order, ended `completed`). **sink**: the Node sink's own CPU "
            "over the run, as a share of a core (it must not be the bottleneck).",
        ]
        if self.log.limits:
            lines.append("- limits for these runs: " + ", ".join(self.log.limits) + ".")
        header = [
            "producer",
            "CPU µs/chunk",
            "CPU % of a core",
            "slip p50 / p99",
            "open ms p50 / p99",
            "start lag ms p99",
            "most open at once",
            "peak threads",
            "SDK threads",
            "peak RSS MB",
            "failures",
            "streams whole",
            "sink % of a core",
        ]
        for n in counts:
            rows = [
                self.llm_row(runs, n, c) for c in self.contenders if self.runs(runs, "llm", n, c)
            ]
            lines += ["", f"### {n:,} streams, opened over {self.spread(n)}", ""]
            measured = self.measured("llm", n)
            lines += [measured, ""] if measured else []
            lines += table(header, rows)
        return [*lines, "", *self.llm_ratios(runs, counts), "", *self.llm_costs(runs, counts)]

    def llm_costs(self, runs: Runs, counts: list[int]) -> list[str]:
        """Where the CPU goes: the kernel's share, and context switches per chunk."""
        header = [""]
        for n in counts:
            header += [f"{n:,}: kernel share of CPU", f"{n:,}: context switches per chunk"]
        rows = []
        for c in self.contenders:
            row = [NAMES[c]]
            for n in counts:
                got = [r for r in self.runs(runs, "llm", n, c) if "cpu_kernel" in r]
                kernel = figure(got, lambda r: r["cpu_kernel"] / r["cpu"] * 100 if r["cpu"] else 0)
                chunks = n * self.settings.chunks
                switches = figure(got, lambda r, chunks=chunks: r["switches"] / chunks)
                share = kernel.show(".0f", why=False)
                row += [share if share == "-" else f"{share}%", switches.show(".1f")]
            if any(cell != "-" for cell in row[1:]):
                rows.append(row)
        if not rows:
            return []
        lines = [
            "### Where the CPU goes",
            "",
            "The share of the CPU above spent in the kernel (system time: system calls, thread "
            "wake-ups and switches) and the process's context switches (voluntary and not, "
            "every thread) per planned chunk, over the same window.",
            "",
        ]
        return lines + table(header, rows)

    def llm_ratios(self, runs: Runs, counts: list[int]) -> list[str]:
        pairs = [
            ("sdk-blocking", "sdk-async"),
            ("sdk-async", "sdk-before-async"),
            ("sdk-blocking", "sdk-before-blocking"),
            ("sdk-async", "node"),
            ("sdk-async", "official"),
            ("sdk-async", "raw-async"),
            ("sdk-blocking", "raw-blocking"),
        ]
        rows = []
        for ours, other in pairs:
            if ours not in self.contenders or other not in self.contenders:
                continue
            cells = []
            for n in counts:
                mine = self.cpu_per_chunk(runs, n, ours).median
                theirs = self.cpu_per_chunk(runs, n, other).median
                cells.append(times(ratio(mine, theirs)))
            rows.append([f"{NAMES[ours]} vs {NAMES[other]}", *cells])
        if not rows:
            return []
        lines = ["### Ratios of CPU µs/chunk in this run", ""]
        return lines + table(["", *(f"{n:,} streams" for n in counts)], rows)

    # -- idle writers ----------------------------------------------------------------------

    def idle(self, runs: Runs) -> list[str]:
        s = self.settings
        n = s.idle_writers
        rows = []
        for c in self.contenders:
            got = self.runs(runs, "idle", n, c)
            if not got:
                continue

            def median(key: str, fmt: str, scale: float = 1.0, c: str = c) -> str:
                shown = self.value(runs, "idle", n, c, key).median
                return _show(None if shown is None else shown * scale, fmt)

            share = self.idle_share(runs, c)
            opens = f"{median('open_p50_ms', ',.0f')} / {median('open_p99_ms', ',.0f')}"
            lag = median("lag_p99_ms", ",.0f")
            rows.append(
                [
                    NAMES[c],
                    share.show(".1f", why=False),
                    median("idle_threads", ",.0f"),
                    median("idle_sdk_threads", ",.0f"),
                    median("idle_rss_kb", ",.0f", 1 / 1024),
                    median("rss_peak_kb", ",.0f", 1 / 1024),
                    opens,
                    lag,
                    self.failures(got)[1],
                    self.whole(got)[1],
                ]
            )
        if not rows:
            return []
        lines = [
            f"## Idle writers: {n:,} writers silent for {s.idle_seconds:g} s",
            "",
            f"{n:,} writers opened as above (over {self.spread(n)}, one process, a task or a "
            "thread each), then silent until "
            f"{s.idle_seconds:g} s after the last is open (a reasoning model thinking), then one "
            "chunk each and the end. **CPU** is the process's CPU over that idle window, as a "
            "share of a core; **threads** the most counted in the window (sampled every 0.5 s), "
            "and **SDK threads** those beyond the app's own, as above; **RSS** at the end of the "
            "window, and the peak.",
            "",
        ]
        measured = self.measured("idle", n)
        lines += [measured, ""] if measured else []
        lines += table(
            [
                "producer",
                "CPU % of a core while idle",
                "threads",
                "SDK threads",
                "RSS MB while idle",
                "peak RSS MB",
                "open ms p50 / p99",
                "start lag ms p99",
                "failures",
                "streams whole",
            ],
            rows,
        )
        ratios = []
        for ours, other in (
            ("sdk-blocking", "sdk-async"),
            ("sdk-async", "sdk-before-async"),
            ("sdk-blocking", "sdk-before-blocking"),
            ("sdk-async", "node"),
        ):
            if ours in self.contenders and other in self.contenders:
                r = ratio(self.idle_share(runs, ours).median, self.idle_share(runs, other).median)
                ratios.append(f"{NAMES[ours]} vs {NAMES[other]} {times(r)}")
        if ratios:
            lines += ["", "Ratios of idle CPU in this run: " + "; ".join(ratios) + "."]
        return lines

    def idle_share(self, runs: Runs, contender: str) -> Figure:
        got = self.runs(runs, "idle", self.settings.idle_writers, contender)
        usable = [r for r in got if "failed" in r or r.get("idle_wall")]
        return figure(usable, lambda r: r["idle_cpu"] / r["idle_wall"] * 100)

    # -- targets ---------------------------------------------------------------------------

    def targets(self, runs: Runs) -> list[str]:
        counts = self.settings.llm_streams
        if not any(self.runs(runs, "llm", n, c) for n in counts for c in NAMES):
            return []
        first, largest = counts[0], counts[-1]
        lines = ["## The targets at real load", ""]
        if (first, largest) != TARGET_STREAMS:
            lines += [
                f"_The targets are set for {TARGET_STREAMS[0]:,} and {TARGET_STREAMS[1]:,} "
                f"streams; this run had {first:,} and {largest:,}._",
                "",
            ]
        b = "sdk-blocking"
        got = self.runs(runs, "llm", first, b)
        raised, raised_cell = self.failures(got)
        whole, whole_cell = self.whole(got)
        slip = self.value(runs, "llm", first, b, "slip_p99").median
        threads = self.value(runs, "llm", first, b, "sdk_threads").median
        mine = self.cpu_per_chunk(runs, first, b).median
        theirs = self.cpu_per_chunk(runs, first, "sdk-async").median
        cpu_ratio = ratio(mine, theirs)
        head = f"- {first:,} LLM-paced streams, {NAMES[b]}"
        lines += [
            f"{head}, no failures: {_verdict(None if raised is None else raised == 0)}: "
            f"{raised_cell}",
            f"{head}, every stream whole: {_verdict(whole)}: {whole_cell}",
            f"{head}, slip p99 ≤ {SLIP_P99_LIMIT:.2f}: "
            f"{_verdict(None if slip is None else slip <= SLIP_P99_LIMIT)}: {_show(slip, '.2f')}",
            f"{head}, SDK threads ≤ {SDK_THREADS_LIMIT} (a small constant per client; one "
            f"client here): {_verdict(None if threads is None else threads <= SDK_THREADS_LIMIT)}"
            f": {_show(threads, ',.0f')}",
            f"{head}, CPU per chunk ≤ {BLOCKING_VS_ASYNC_LIMIT}x {NAMES['sdk-async']}'s: "
            f"{_verdict(None if cpu_ratio is None else cpu_ratio <= BLOCKING_VS_ASYNC_LIMIT)}: "
            f"{_show(mine, ',.0f')} vs {_show(theirs, ',.0f')} µs, {times(cpu_ratio)}",
        ]
        for c in ("sdk-async", "sdk-blocking"):
            raised, raised_cell = self.failures(self.runs(runs, "llm", largest, c))
            lines.append(
                f"- {largest:,} LLM-paced streams, {NAMES[c]}, no failures: "
                f"{_verdict(None if raised is None else raised == 0)}: {raised_cell}"
            )
        for n in dict.fromkeys(counts):
            mine = self.cpu_per_chunk(runs, n, "sdk-async").median
            node = self.cpu_per_chunk(runs, n, "node").median
            r = ratio(mine, node)
            lines.append(
                f"- {NAMES['sdk-async']} CPU per chunk ≤ {ASYNC_VS_NODE_LIMIT}x Node's at LLM "
                f"pace, {n:,} streams: "
                f"{_verdict(None if r is None else r <= ASYNC_VS_NODE_LIMIT)}: "
                f"{_show(mine, ',.0f')} vs {_show(node, ',.0f')} µs, {times(r)}"
            )
        return lines
