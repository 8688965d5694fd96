"""Producer benchmarks against a server that is not the bottleneck; writes BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py [--quick] [--contenders ...] [--write BENCHMARKS.md]
        [--workloads single,connect,concurrent,rss,llm,idle,first-chunk] [--llm-streams 300,1000]
        [--first-chunk-runs 9] [--first-chunk-delays 0,300] [--proxy-delay-ms 50] ...

The server is the canonical Node Socket.IO server running ``sink.mjs`` (it counts and acks,
stores nothing); the local Python server gives a second, server-bound column. Every contender
runs in a fresh process of its own (``_child.py``, or ``producer.mjs`` for Node), and every run
is checked against the server's counts afterwards: a run that lost, duplicated or misordered a
chunk, or did not end as completed, is a failure, not a figure. Rounds are interleaved, and the
contenders' order rotates from one round to the next.

The real-load workloads (``llm``: hundreds of LLM-paced streams in one process; ``idle``:
writers open and silent) run many streams per child (``_load.py``, ``_paced.py``); there a
stream that raised or is not whole is counted rather than failing the run. The ``first-chunk``
workload (``_first_chunk_runs.py``) times how long after entering the writer the server holds
chunk 0, through a proxy that delays every byte (``_proxy.py``), against this SDK as of an
earlier commit and the official SDK. With ``--write`` and only some workloads, the sections
they measured are merged into the existing file (``_merge.py``) and the others are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _first_chunk_runs import (
    BEFORE_COMMIT,
    FirstChunkLog,
    FirstChunkSettings,
    describe_commit,
    exported_package,
    first_chunk_runs,
)
from _load import PACED, LoadLog, LoadSettings, paced_runs, raise_limits
from _merge import merge
from _report import Report
from _report_first import FirstChunkReport
from _report_load import LoadReport
from _services import DelayProxy, NodeSink, PythonServer, Service

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OFFICIAL_VENV = ROOT / ".venv" / "official-0.2.10"
OFFICIAL = "streamstraight-server==0.2.10"

CONTENDERS = ["sdk-async", "sdk-blocking", "official", "raw-async", "raw-blocking", "node"]
#: this SDK as of ``--before``, beside today's in every workload but memory (by choice only)
BEFORE_CONTENDERS = ["sdk-before-async", "sdk-before-blocking"]
FIRST_CHUNK = "first-chunk"
WORKLOADS = ["single", "connect", "concurrent", "rss", *PACED, FIRST_CHUNK]
CONCURRENT = ["sdk-async", "sdk-blocking", *BEFORE_CONTENDERS]
RSS = ["sdk-async", "sdk-blocking"]


@dataclass
class Settings:
    rounds: int
    chunks: int
    size: int
    connects: int
    streams: int
    stream_chunks: int
    threads: int
    rss_chunks: int
    rss_rounds: int
    rss_official: bool
    ack_delay_ms: int
    server_bound: bool
    workloads: list[str]
    contenders: list[str]
    write: Path | None
    load: LoadSettings
    first_chunk: FirstChunkSettings


#: where ``--before`` is exported while the sdk-before-* contenders run
_before_package: Path | None = None


@dataclass
class Results:
    """Every run's outcome, by (workload, column, contender)."""

    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, workload: str, column: str, contender: str, outcome: dict[str, Any]) -> None:
        self.runs.setdefault((workload, column, contender), []).append(outcome)
        status = outcome.get("failed") or outcome.get("note") or "ok"
        print(f"  {workload:<10} {column:<6} {contender:<19} {status}", file=sys.stderr)


def official_python() -> Path:
    python = OFFICIAL_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {OFFICIAL_VENV} for {OFFICIAL} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", OFFICIAL], check=True, timeout=600
        )
    return python


def run_child(
    contender: str,
    workload: str,
    service: Service,
    stream_id: str,
    params: dict[str, Any],
    timeout: float,
    *,
    pythonpath: Path | None = None,
) -> dict[str, Any]:
    """One run in a fresh process; ``pythonpath`` (this SDK as of an earlier commit) goes first
    on the child's path, which then runs without ``-I`` (that would ignore it)."""
    env = None
    if pythonpath is None and contender in BEFORE_CONTENDERS:
        pythonpath = _before_package
    if contender == "node" and workload in PACED:
        command = ["node", str(HERE / "paced.mjs"), workload, service.url, service.key]
        command += [stream_id, json.dumps(params)]
    elif contender == "node":
        if workload == "single":
            extra = [str(params["count"]), str(params["size"]), "4096"]
        else:
            extra = [str(params["count"])]
        command = ["node", str(HERE / "producer.mjs"), workload, service.url, service.key]
        command += [stream_id, *extra]
    else:
        python = official_python() if contender == "official" else Path(sys.executable)
        # -I and a neutral cwd keep the official SDK's run from importing this checkout
        isolated = ["-I"] if pythonpath is None else []
        if pythonpath is not None:
            env = {**os.environ, "PYTHONPATH": str(pythonpath)}
        command = [str(python), *isolated, str(HERE / "_child.py"), contender, workload]
        command += [service.url, service.key, stream_id, json.dumps(params)]
    with tempfile.TemporaryDirectory() as cwd:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env
            )
        except subprocess.TimeoutExpired:
            return {"failed": f"no result within {timeout:.0f}s"}
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        errors = [line for line in lines if "Error" in line or "error" in line]
        last = (errors or lines or ["no output"])[-1].strip()
        return {"failed": f"exit {done.returncode}: {last[:160]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def stream_problem(state: dict[str, Any] | None, chunks: int) -> str | None:
    """Why a finished single stream is wrong, from the server's counts; None when right."""
    if state is None:
        return "the server never saw the stream"
    problems = []
    if state["chunks"] != chunks or state["lastSeq"] != (chunks - 1 if chunks else None):
        problems.append(f"holds {state['chunks']} of {chunks} chunks (last seq {state['lastSeq']})")
    if not state["ended"] or state["reason"] != "completed":
        problems.append(f"end {state['reason']!r}")
    for counter in ("gaps", "dups", "endLastSeqMismatch"):
        if state.get(counter):
            problems.append(f"{counter} {state[counter]}")
    return "; ".join(problems) or None


def checked(
    outcome: dict[str, Any], service: Service, stream_id: str, chunks: int
) -> dict[str, Any]:
    if "failed" in outcome:
        return outcome
    problem = stream_problem(service.count(stream_id), chunks)
    if problem is None and outcome.get("confirmed") not in (None, chunks):
        problem = f"the producer says {outcome['confirmed']} of {chunks} confirmed"
    return {"failed": problem} if problem else outcome


def concurrent_checked(
    outcome: dict[str, Any], service: NodeSink, prefix: str, streams: int, chunks: int
) -> dict[str, Any]:
    if "failed" in outcome:
        return outcome
    summary = service.summary(prefix + "-")
    problems = []
    if outcome["failures"]:
        problems.append(f"{outcome['failures']} streams raised ({outcome['first_error']})")
    if summary["completed"] != streams or summary["chunks"] != streams * chunks:
        problems.append(
            f"the server holds {summary['chunks']} of {streams * chunks} chunks, "
            f"{summary['completed']} of {streams} streams completed"
        )
    for counter in ("gaps", "dups", "endLastSeqMismatch"):
        if summary[counter]:
            problems.append(f"{counter} {summary[counter]}")
    return {"failed": "; ".join(problems), **outcome} if problems else outcome


def one_round(
    round_: int,
    settings: Settings,
    sink: NodeSink,
    python_server: PythonServer | None,
    results: Results,
) -> None:
    shift = round_ % len(settings.contenders)
    order = settings.contenders[shift:] + settings.contenders[:shift]
    single = {"count": settings.chunks, "size": settings.size}
    for contender in order:
        tag = f"r{round_}-{contender}"
        if "single" in settings.workloads:
            sid = f"single-{tag}"
            outcome = run_child(contender, "single", sink, sid, single, 300)
            results.add("single", "node", contender, checked(outcome, sink, sid, settings.chunks))
            if python_server is not None:
                outcome = run_child(contender, "single", python_server, sid, single, 300)
                outcome = checked(outcome, python_server, sid, settings.chunks)
                results.add("single", "python", contender, outcome)
        if "connect" in settings.workloads:
            sid = f"connect-{tag}"
            params = {"count": settings.connects, "size": settings.size}
            outcome = run_child(contender, "connect", sink, sid, params, 120)
            if "failed" not in outcome:
                summary = sink.summary(f"{sid}-f")
                if summary["chunks"] != settings.connects + 1:
                    outcome = {"failed": f"first sends: the server holds {summary['chunks']}"}
            results.add("connect", "node", contender, outcome)
        if "concurrent" in settings.workloads and contender in CONCURRENT:
            sid = f"concurrent-{tag}"
            params = {
                "streams": settings.streams,
                "count": settings.stream_chunks,
                "size": settings.size,
                "threads": settings.threads,
            }
            outcome = run_child(contender, "concurrent", sink, sid, params, 600)
            outcome = concurrent_checked(
                outcome, sink, sid, settings.streams, settings.stream_chunks
            )
            results.add("concurrent", "node", contender, outcome)


def rss_rounds(settings: Settings, slow_sink: NodeSink, results: Results) -> None:
    params = {"count": settings.rss_chunks, "size": settings.size}
    for round_ in range(settings.rss_rounds):
        for contender in RSS + (["official"] if settings.rss_official else []):
            if contender not in settings.contenders:
                continue
            sid = f"rss-r{round_}-{contender}"
            outcome = run_child(contender, "rss", slow_sink, sid, params, 1200)
            results.add(
                "rss", "node", contender, checked(outcome, slow_sink, sid, settings.rss_chunks)
            )


def parse_settings(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--chunks", type=int, help="chunks of the single-stream workload")
    parser.add_argument("--size", type=int, default=20, help="bytes of a chunk's JSON data")
    parser.add_argument("--connects", type=int, help="connections timed per run")
    parser.add_argument("--streams", type=int, help="concurrent streams")
    parser.add_argument("--stream-chunks", type=int, help="chunks of each concurrent stream")
    parser.add_argument("--threads", type=int, help="threads of the blocking concurrent run")
    parser.add_argument("--rss-chunks", type=int, help="chunks of the memory workload")
    parser.add_argument("--rss-rounds", type=int, default=1)
    parser.add_argument(
        "--rss-official", action="store_true", help="the official SDK in the memory workload too"
    )
    parser.add_argument("--ack-delay-ms", type=int, default=300, help="the slow sink's delay")
    parser.add_argument("--no-server-bound", action="store_true", help="skip the Python server")
    parser.add_argument(
        "--llm-streams", help="streams of each LLM-pace run, comma-separated (300,1000)"
    )
    parser.add_argument("--llm-chunks", type=int, help="chunks of each LLM-paced stream")
    parser.add_argument("--llm-rate", type=float, default=20.0, help="chunks/s of a stream")
    parser.add_argument(
        "--open-rate", type=float, default=200.0, help="streams opened a second (the stagger)"
    )
    parser.add_argument("--idle-writers", type=int, help="writers of the idle workload")
    parser.add_argument("--idle-seconds", type=float, help="how long the writers stay silent")
    parser.add_argument("--load-rounds", type=int, default=1, help="rounds of llm and idle")
    parser.add_argument(
        "--first-chunk-runs", type=int, help="runs (processes) of each first-chunk row and delay"
    )
    parser.add_argument(
        "--first-chunk-delays", default="0,300", help="ms until the source's first chunk is ready"
    )
    parser.add_argument(
        "--proxy-delay-ms", type=float, default=50.0, help="the first-chunk proxy's delay each way"
    )
    parser.add_argument(
        "--before",
        default=BEFORE_COMMIT,
        help="the commit of 'this SDK before' (first-chunk, and the sdk-before-* contenders)",
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--write", type=Path, help="write the report there (BENCHMARKS.md)")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: int | None, full: int, small: int) -> int:
        return value if value is not None else (small if quick else full)

    workloads = args.workloads.split(",")
    contenders = args.contenders.split(",")
    for name, chosen, known in (
        ("workload", workloads, WORKLOADS),
        ("contender", contenders, CONTENDERS + BEFORE_CONTENDERS),
    ):
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            parser.error(f"unknown {name}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return Settings(
        rounds=pick(args.rounds, 3, 1),
        chunks=pick(args.chunks, 10_000, 2_000),
        size=args.size,
        connects=pick(args.connects, 10, 3),
        streams=pick(args.streams, 1_000, 100),
        stream_chunks=pick(args.stream_chunks, 100, 20),
        threads=pick(args.threads, 100, 10),
        rss_chunks=pick(args.rss_chunks, 1_000_000, 20_000),
        rss_rounds=args.rss_rounds,
        rss_official=args.rss_official,
        ack_delay_ms=args.ack_delay_ms,
        server_bound=not args.no_server_bound and "single" in workloads,
        workloads=workloads,
        contenders=contenders,
        write=args.write,
        load=LoadSettings(
            llm_streams=(
                [int(n) for n in args.llm_streams.split(",")]
                if args.llm_streams
                else ([50, 150] if quick else [300, 1000])
            ),
            chunks=pick(args.llm_chunks, 100, 40),
            rate=args.llm_rate,
            open_rate=args.open_rate,
            size=args.size,
            idle_writers=pick(args.idle_writers, 300, 50),
            idle_seconds=(
                args.idle_seconds if args.idle_seconds is not None else (3.0 if quick else 10.0)
            ),
            rounds=args.load_rounds,
        ),
        first_chunk=FirstChunkSettings(
            runs=pick(args.first_chunk_runs, 9, 2),
            delays=[int(d) for d in args.first_chunk_delays.split(",")],
            proxy_delay_ms=args.proxy_delay_ms,
            chunks=3,
            size=args.size,
            before=args.before,
        ),
    )


def log_time(label: str, start: float) -> None:
    print(f"{label}: {time.monotonic() - start:.0f}s", file=sys.stderr)


def write_report(settings: Settings, text: str) -> None:
    """The whole file after a run of every workload; otherwise only the sections measured."""
    path = settings.write
    if path is None:
        return
    if set(WORKLOADS) <= set(settings.workloads) or not path.exists():
        path.write_text(text)
        print(f"wrote {path}", file=sys.stderr)
        return
    merged, taken = merge(path.read_text(), text, set(settings.workloads))
    path.write_text(merged)
    print(f"merged {', '.join(taken) or 'no sections'} into {path}", file=sys.stderr)


def main() -> None:
    settings = parse_settings()
    if not (HERE / "node_modules" / "socket.io").is_dir():
        raise SystemExit("benchmarks/node_modules is missing: run `npm ci` in benchmarks/")
    key = "sk_bench_" + secrets.token_urlsafe(18)
    official = official_python() if "official" in settings.contenders else None
    log = LoadLog()
    paced = [w for w in settings.workloads if w in PACED]
    if paced:
        log.limits = raise_limits(max([*settings.load.llm_streams, settings.load.idle_writers]))
    load_report = LoadReport(settings.load, settings.contenders, log)
    first_log = FirstChunkLog()
    first_report = FirstChunkReport(settings.first_chunk, first_log)
    report = Report(
        settings,
        official,
        [load_report.llm, load_report.idle, first_report.section],
        [load_report.targets, first_report.targets],
        before=(
            describe_commit(ROOT, settings.first_chunk.before)
            if set(BEFORE_CONTENDERS) & set(settings.contenders)
            else None
        ),
    )
    results = Results()
    started = time.monotonic()
    global _before_package
    with contextlib.ExitStack() as stack:
        if set(BEFORE_CONTENDERS) & set(settings.contenders):
            _before_package = stack.enter_context(
                exported_package(ROOT, settings.first_chunk.before)
            )
        run_all(settings, key, results, log, first_log)
    report.elapsed = time.monotonic() - started
    text = report.render(results.runs)
    print(text)
    write_report(settings, text)


def run_all(
    settings: Settings, key: str, results: Results, log: LoadLog, first_log: FirstChunkLog
) -> None:
    paced = [w for w in settings.workloads if w in PACED]
    with NodeSink(HERE, key) as sink, NodeSink(HERE, key, settings.ack_delay_ms) as slow:
        python_server = PythonServer(HERE) if settings.server_bound else None
        try:
            # a cold V8 runs the sink's first thousands of events far slower: warm it first
            warm_up = {"count": 20_000, "size": settings.size}
            for service in (sink, python_server):
                if service is not None:
                    run_child("node", "single", service, "warm-up", warm_up, 120)
            per_round = {"single", "connect", "concurrent"} & set(settings.workloads)
            for round_ in range(settings.rounds if per_round else 0):
                start = time.monotonic()
                one_round(round_, settings, sink, python_server, results)
                log_time(f"round {round_ + 1} of {settings.rounds}", start)
            if "rss" in settings.workloads:
                start = time.monotonic()
                rss_rounds(settings, slow, results)
                log_time("memory workload", start)
            if paced:
                start = time.monotonic()
                paced_runs(
                    settings.load,
                    paced,
                    settings.contenders,
                    sink,
                    run_child,
                    results.add,
                    log,
                )
                log_time("real-load workloads", start)
            if FIRST_CHUNK in settings.workloads:
                with DelayProxy(HERE, sink, settings.first_chunk.proxy_delay_ms) as proxy:
                    first_chunk_runs(
                        settings.first_chunk,
                        settings.contenders,
                        proxy,
                        ROOT,
                        run_child,
                        stream_problem,
                        results.add,
                        first_log,
                    )
        finally:
            if python_server is not None:
                python_server.close()


if __name__ == "__main__":
    main()
