"""Profile one contender's run against the Node sink with py-spy (not a project dependency).

    .venv/bin/pip install py-spy
    .venv/bin/python benchmarks/profile.py sdk-blocking [--workload single] [--chunks 30000]
        [--format speedscope|flamegraph|raw] [--output profile.json] [--native]
    .venv/bin/python benchmarks/profile.py sdk-blocking --workload llm --streams 300

Starts the sink, warms it up, then runs ``_child.py`` under ``py-spy record`` (every thread,
idle time excluded) and prints where the output went. ``--no-profile`` just prints the run's
JSON result, which is handy with ``perf stat`` or ``valgrind`` wrapped around this script.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from _load import PACED, LoadSettings
from _services import NodeSink
from run import CONTENDERS, run_child

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("contender", choices=[c for c in CONTENDERS if c != "node"])
    parser.add_argument("--workload", default="single", choices=["single", "concurrent", *PACED])
    parser.add_argument("--chunks", type=int, help="30,000 (single), 100 a stream (others)")
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--streams", type=int, help="1,000 (concurrent), 300 (llm, idle)")
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--format", default="raw", choices=["speedscope", "flamegraph", "raw"])
    parser.add_argument("--output", type=Path)
    parser.add_argument("--rate", type=int, default=500, help="samples a second")
    parser.add_argument("--native", action="store_true", help="C frames as well")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    chunks = args.chunks or (30_000 if args.workload == "single" else 100)
    streams = args.streams or (300 if args.workload in PACED else 1_000)
    params: dict[str, Any]
    if args.workload == "single":
        params = {"count": chunks, "size": args.size}
    elif args.workload in PACED:
        load = LoadSettings([streams], chunks, 20.0, 200.0, args.size, streams, 10.0, 1)
        params = load.plan(args.workload, streams)
    else:
        params = {
            "streams": streams,
            "count": chunks,
            "size": args.size,
            "threads": args.threads,
        }
    key = "sk_bench_" + secrets.token_urlsafe(18)
    with NodeSink(HERE, key) as sink:
        run_child("node", "single", sink, "warm-up", {"count": 20_000, "size": args.size}, 120)
        if args.workload not in PACED:  # a paced run is long; the sink is warm already
            run_child(args.contender, args.workload, sink, "warm-up-py", params, 300)
        command = [sys.executable, "-I", str(HERE / "_child.py"), args.contender, args.workload]
        command += [sink.url, sink.key, "profiled", json.dumps(params)]
        if not args.no_profile:
            spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            output = args.output or Path(f"profile-{args.contender}.{args.format}")
            options = ["record", "--threads", "-r", str(args.rate), "-f", args.format]
            options += ["-o", str(output)] + (["--native"] if args.native else [])
            command = [spy, *options, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        print(done.stdout.strip())
        if done.returncode != 0:
            print(done.stderr.strip()[-2000:], file=sys.stderr)
            raise SystemExit(done.returncode)
        if not args.no_profile:
            print(f"profile written to {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
