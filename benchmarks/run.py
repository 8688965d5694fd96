"""Producer benchmarks: this SDK's two flavours beside the official SDK, figures side by side.

    .venv/bin/python benchmarks/run.py [--chunks 5000] [--size 40] [--rounds 3]

The local server runs in its own process and each producer run in a fresh process, so the CPU
figure is the producer's alone. Every run is checked afterwards: the server must hold every
chunk and the stream must have ended as completed. The official SDK (0.2.10) runs from its own
virtual environment (created on first use) since it has the same import name.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OFFICIAL_VENV = ROOT / ".venv" / "official-0.2.10"
OFFICIAL = "streamstraight-server==0.2.10"


def official_python() -> Path:
    python = OFFICIAL_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {OFFICIAL_VENV} for {OFFICIAL} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", OFFICIAL], check=True, timeout=600
        )
    return python


def start_server() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def stream_state(base_url: str, stream_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/api/streams") as answer:
        streams = json.load(answer)["streams"]
    return next(s for s in streams if s["streamId"] == stream_id)


def run_once(
    flavour: str, server: dict[str, str], stream_id: str, chunks: int, size: int
) -> dict[str, Any]:
    python = official_python() if flavour == "official" else Path(sys.executable)
    # -I and a neutral cwd keep the official run from importing this checkout
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [
                str(python),
                "-I",
                str(HERE / "_client.py"),
                flavour,
                server["base_url"],
                server["api_key"],
                stream_id,
                str(chunks),
                str(size),
            ],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=600,
        )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
        return {"failed": f"the run failed: {last[:150]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    state = stream_state(server["base_url"], stream_id)
    if state["chunkCount"] != chunks or state["endReason"] != "completed":
        return {
            "failed": f"the server holds {state['chunkCount']} of {chunks} chunks, "
            f"end reason {state['endReason']}"
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--size", type=int, default=40, help="characters of text per chunk")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flavours", default="official,async,sync")
    args = parser.parse_args()
    flavours = args.flavours.split(",")
    process, server = start_server()
    results: dict[str, list[dict[str, Any]]] = {f: [] for f in flavours}
    try:
        for round_ in range(args.rounds):
            for flavour in flavours:
                stream_id = f"bench-{flavour}-{round_}"
                results[flavour].append(
                    run_once(flavour, server, stream_id, args.chunks, args.size)
                )
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)

    print(
        f"\n{args.chunks} chunks of ~{args.size + 20} bytes, median of {args.rounds} runs, "
        "local server in its own process\n"
    )
    header = (
        f"{'producer':<20}{'chunks/s':>10}{'CPU µs/chunk':>14}{'stream s':>10}"
        f"{'connect s':>11}  confirmed"
    )
    print(header)
    print("-" * len(header))
    names = {
        "official": "official 0.2.10",
        "async": "this SDK, async",
        "sync": "this SDK, blocking",
    }
    for flavour in flavours:
        failures = [r["failed"] for r in results[flavour] if "failed" in r]
        runs = [r for r in results[flavour] if "failed" not in r]
        if failures:
            print(
                f"{names[flavour]:<20}{len(failures)} of {args.rounds} runs failed: {failures[0]}"
            )
        if not runs:
            continue
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        connect = statistics.median(r["connect_wall"] for r in runs)
        confirmed = "END only" if flavour == "official" else "every chunk"
        print(
            f"{names[flavour]:<20}{args.chunks / wall:>10,.0f}{cpu / args.chunks * 1e6:>14.1f}"
            f"{wall:>10.2f}{connect:>11.2f}  {confirmed}"
        )
    print(
        "\nstream: from the first send() until the server has answered END; "
        "connect: import, client and handshake."
    )


if __name__ == "__main__":
    main()
