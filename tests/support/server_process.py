"""A local server in a process of its own, to be killed with SIGKILL and started again.

Its store is written through to a journal file (one JSON event per line, written before the
server acknowledges anything), which stands in for the hosted service's Redis: restarting with
the journal is a server restart that keeps its stored state, restarting with an empty one a
restart that lost it. Tests read what the server holds from the same journal.

    python -m tests.support.server_process PORT API_KEY JOURNAL
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamstraight_server.devserver import DevServer
from streamstraight_server.devserver.store import Store

from .helpers import REPO, closed_port

READY = "ready"


@dataclass
class Held:
    """What the server holds for one stream."""

    chunks: list[tuple[int, str]] = field(default_factory=list)
    ended: bool = False
    end_reason: str | None = None

    @property
    def data(self) -> list[str]:
        return [data for _, data in self.chunks]

    @property
    def seqs(self) -> list[int]:
        return [seq for seq, _ in self.chunks]


def replay(lines: list[str]) -> dict[str, Held]:
    streams: dict[str, Held] = {}
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        if event["type"] == "stream":
            meta = event["stream"]
            held = streams.get(meta["streamId"])
            if held is None or (meta["chunkCount"] == 0 and not meta["ended"]):
                held = streams[meta["streamId"]] = Held()
            held.ended, held.end_reason = meta["ended"], meta["endReason"]
        elif event["type"] == "chunk":
            streams.setdefault(event["streamId"], Held()).chunks.append(
                (event["seq"], event["data"])
            )
        elif event["type"] == "dropped":
            streams.pop(event["streamId"], None)
    return streams


def _restore(store: Store, streams: dict[str, Held]) -> None:
    for stream_id, held in streams.items():
        state = store.create(stream_id)
        for _, data in held.chunks:
            store.append(state, data)
        if held.ended:
            store.end(state, held.end_reason or "completed")


async def _serve(port: int, api_key: str, journal: Path) -> None:
    server = DevServer(port=port, api_key=api_key, producer_grace=5.0, consumer_wait=1.0)
    store: Store = server._store
    _restore(store, replay(journal.read_text().splitlines()))
    with journal.open("a") as out:

        def write(event: dict[str, Any]) -> None:
            out.write(json.dumps(event) + "\n")
            out.flush()

        store.listeners.append(write)
        await server.start()
        print(READY, flush=True)
        await asyncio.Event().wait()


class ServerProcess:
    """The server process, its port kept across restarts."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.port = closed_port()
        self.api_key = "sk_test_process_server"
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[str] | None = None
        journal.write_text("")

    def start(self) -> None:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.server_process",
                str(self.port),
                self.api_key,
                str(self.journal),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != READY:
            process.kill()
            raise RuntimeError(f"the server process did not start: {line!r}")
        self._process = process

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()

    def restart(self, *, keep_store: bool) -> None:
        """SIGKILL, then start again with its stored state or without it."""
        self.kill()
        if not keep_store:
            self.journal.write_text("")
        self.start()

    def held(self, stream_id: str) -> Held | None:
        return replay(self.journal.read_text().splitlines()).get(stream_id)


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
