"""BENCHMARKS.md's first-chunk section and its targets."""

from __future__ import annotations

import time
from typing import Any

from _first_chunk_runs import (
    BEFORE,
    CURRENT,
    TOLERANCE_MS,
    WORKLOAD,
    FirstChunkLog,
    FirstChunkSettings,
)
from _report import NAMES, Figure, Runs, commit_label, figure, table

Row = list[str]


def _show(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def _signed(value: float | None) -> str:
    if value is None:
        return "-"
    shown = round(value, 1)
    return "0.0" if shown == 0 else f"{shown:+.1f}"


class FirstChunkReport:
    def __init__(self, settings: FirstChunkSettings, log: FirstChunkLog) -> None:
        self.settings = settings
        self.log = log

    # -- figures ---------------------------------------------------------------------------

    def runs(self, runs: Runs, contender: str, delay: int) -> list[dict[str, Any]]:
        return runs.get((WORKLOAD, str(delay), contender), [])

    def figure(self, runs: Runs, contender: str, delay: int, key: str) -> Figure:
        got = self.runs(runs, contender, delay)
        return figure([r for r in got if "failed" in r or r.get(key) is not None], lambda r: r[key])

    def ideal(self, runs: Runs, contender: str, delay: int) -> float | None:
        """max(handshake, first chunk ready) + one way, with the median handshake."""
        handshake = self.figure(runs, contender, delay, "handshake_ms").median
        if handshake is None:
            return None
        return max(handshake, float(delay)) + self.settings.proxy_delay_ms

    def gap(self, runs: Runs, contender: str, delay: int) -> tuple[float | None, float | None]:
        """The median time chunk 0 was held, and how far it is from the ideal."""
        held = self.figure(runs, contender, delay, "held_ms").median
        ideal = self.ideal(runs, contender, delay)
        return held, (None if held is None or ideal is None else held - ideal)

    def contenders(self, runs: Runs) -> list[str]:
        known = self.log.contenders or [*CURRENT, *BEFORE.values(), "official"]
        return [c for c in known if any(self.runs(runs, c, d) for d in self.settings.delays)]

    # -- the section -----------------------------------------------------------------------

    def row(self, runs: Runs, contender: str, delay: int) -> Row:
        got = self.runs(runs, contender, delay)
        handshake = self.figure(runs, contender, delay, "handshake_ms")
        held = self.figure(runs, contender, delay, "held_ms")
        ideal = self.ideal(runs, contender, delay)
        _, gap = self.gap(runs, contender, delay)
        sequential = (
            None
            if handshake.median is None
            else handshake.median + delay + self.settings.proxy_delay_ms
        )
        ok = len([r for r in got if "failed" not in r])
        return [
            NAMES[contender],
            self.figure(runs, contender, delay, "entered_ms").show(".1f", why=False),
            handshake.show(".1f", spread=True, why=False),
            self.figure(runs, contender, delay, "accepted_ms").show(".0f", why=False),
            self.figure(runs, contender, delay, "ready_ms").show(".1f", why=False),
            held.show(".1f", spread=True),
            _show(ideal),
            _signed(gap),
            _show(sequential),
            f"{ok}/{len(got)}",
        ]

    def section(self, runs: Runs) -> list[str]:
        s = self.settings
        contenders = self.contenders(runs)
        if not contenders:
            return []
        one_way = f"{s.proxy_delay_ms:g} ms"
        lines = [
            f"## First chunk: through a proxy adding {one_way} each way",
            "",
        ]
        if self.log.started:
            when = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(self.log.started))
            lines += [
                f"Measured {when} at {commit_label()}; load average (1 min) "
                f"{self.log.load_before:.2f} before, {self.log.load_after:.2f} after; "
                f"{s.runs} runs of each row, a fresh process each; medians (range in brackets).",
                "",
            ]
        lines += [
            "The time from entering the writer until the server holds chunk 0, through "
            f"`benchmarks/_proxy.py`, which forwards to the sink and delays every read by "
            f"{one_way} in each direction (in order, not throughput-limited). The TCP connect "
            "to the proxy is local, so a connection costs two round trips through it: the "
            "WebSocket upgrade (answered with Engine.IO's open), then Socket.IO's CONNECT "
            "(answered with `stream:info`); a real network adds one for TCP, and TLS more. "
            "Inside the writer the app starts its source, a model whose first chunk is ready "
            "after the time shown (its time to first token), and sends each chunk as it comes "
            f"({s.chunks} chunks of {s.size} bytes, the rest at once). In each process a "
            "warm-up stream comes first, then the measured stream, then a bare handshake, each "
            "a fresh connection through the proxy.",
            "",
            "- **t0** is read just before entering the writer (for the official SDK, before "
            "its `connect`, which its API requires before a writer); every time is in ms from "
            "t0. **held**: the sink stamps when it stored chunk 0 (`firstChunkAt`, "
            "`Date.now()`: the same machine's wall clock, which the child reads for t0, to the "
            "ms). **accepted**: when the sink accepted the stream's Socket.IO connection.",
            "- **handshake**: the bare handshake in the same process, from entering a writer "
            "until `flush()` returns with nothing sent, that is once the connection is open and "
            "`stream:info` read (for the official SDK, its `connect`). **ideal**: "
            f"max(handshake, first chunk ready) + {one_way}, the soonest an SDK can have "
            "chunk 0 held; **sequential**: handshake + first chunk ready + "
            f"{one_way}, what an SDK costs whose writer waits for the handshake on entry (the "
            "app's source starts only once it is entered).",
            f"- **this SDK before** is the same package as of commit "
            f"{self.log.before or s.before}, the last before entering a writer stopped waiting "
            "for the handshake: `git archive` of it, first on the child's `PYTHONPATH`, in the "
            "same venv.",
        ]
        header = [
            "producer",
            "writer entered",
            "handshake",
            "accepted",
            "chunk 0 ready",
            "chunk 0 held",
            "ideal",
            "held - ideal",
            "sequential",
            "runs ok",
        ]
        for delay in s.delays:
            rows = [self.row(runs, c, delay) for c in contenders if self.runs(runs, c, delay)]
            if rows:
                lines += ["", f"### First chunk ready after {delay} ms", ""]
                lines += table(header, rows)
        return lines

    # -- targets ---------------------------------------------------------------------------

    def targets(self, runs: Runs) -> list[str]:
        s = self.settings
        if not self.contenders(runs):
            return []
        one_way = f"{s.proxy_delay_ms:g} ms"
        lines = [
            "## The first-chunk targets",
            "",
            f"Through the {one_way} proxy, the server holds chunk 0 within "
            f"{TOLERANCE_MS:g} ms of max(handshake, first chunk ready) + one way (medians; "
            "see the first-chunk section).",
            "",
        ]
        for contender in CURRENT:
            for delay in s.delays:
                held, gap = self.gap(runs, contender, delay)
                if gap is None:
                    verdict = "**not measured**"
                else:
                    verdict = "**met**" if abs(gap) <= TOLERANCE_MS else "**not met**"
                ideal = self.ideal(runs, contender, delay)
                others = []
                for other in (BEFORE[contender], "official"):
                    other_held, other_gap = self.gap(runs, other, delay)
                    if other_held is not None:
                        others.append(
                            f"{NAMES[other]} {_show(other_held)} ms, {_signed(other_gap)}"
                        )
                tail = f" ({'; '.join(others)})" if others else ""
                lines.append(
                    f"- {NAMES[contender]}, first chunk ready after {delay} ms: within "
                    f"{TOLERANCE_MS:g} ms of max(handshake, first chunk ready) + one way: "
                    f"{verdict}: held at {_show(held)} ms vs {_show(ideal)} ms, "
                    f"{_signed(gap)} ms{tail}"
                )
        return lines
