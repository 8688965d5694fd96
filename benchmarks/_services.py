"""The servers the contenders write to, each in its own process, and how to read their counts."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol


class Service(Protocol):
    url: str
    key: str

    def count(self, stream_id: str) -> dict[str, Any] | None: ...


class NodeSink:
    """``sink.mjs`` on the canonical Socket.IO server; ``ack_delay_ms`` makes it ack late."""

    def __init__(self, here: Path, key: str, ack_delay_ms: int = 0) -> None:
        self.key = key
        self.process = subprocess.Popen(
            ["node", str(here / "sink.mjs"), "--api-key", key, "--ack-delay-ms", str(ack_delay_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url: str = json.loads(self.process.stdout.readline())["url"]

    def _get(self, path: str, **query: str) -> Any:
        address = f"{self.url}{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(address, timeout=30) as answer:
            return json.load(answer)

    def count(self, stream_id: str) -> dict[str, Any] | None:
        state: dict[str, Any] | None = self._get("/count", streamId=stream_id)
        return state

    def summary(self, prefix: str, chunks: int | None = None) -> dict[str, Any]:
        """Totals of the streams whose id starts with ``prefix``; with ``chunks``, also how
        many are ``whole`` (seq 0..chunks-1 once each, ended completed) and their ids
        (``wholeIds``)."""
        query = {"prefix": prefix} if chunks is None else {"prefix": prefix, "chunks": str(chunks)}
        totals: dict[str, Any] = self._get("/streams", **query)
        return totals

    def cpu(self) -> float:
        """The sink's own CPU seconds so far."""
        return float(self._get("/cpu")["cpu"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> NodeSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class DelayProxy:
    """``_proxy.py`` in front of a sink: every byte 50 ms late (``delay_ms``) each way. Its
    ``url`` is the proxy's; its key and counts are the sink's."""

    def __init__(self, here: Path, sink: NodeSink, delay_ms: float) -> None:
        self.sink = sink
        self.key = sink.key
        self.delay_ms = delay_ms
        upstream = urllib.parse.urlsplit(sink.url).netloc
        command = [sys.executable, str(here / "_proxy.py"), "--upstream", upstream]
        command += ["--delay-ms", str(delay_ms)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        port = json.loads(self.process.stdout.readline())["port"]
        self.url = f"http://127.0.0.1:{port}"

    def count(self, stream_id: str) -> dict[str, Any] | None:
        return self.sink.count(stream_id)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PythonServer:
    """This package's local server (``_server.py``): the server-bound column."""

    def __init__(self, here: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(here / "_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        started = json.loads(self.process.stdout.readline())
        self.url: str = started["base_url"]
        self.key: str = started["api_key"]

    def count(self, stream_id: str) -> dict[str, Any] | None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(stream_id + "\n")
        self.process.stdin.flush()
        state: dict[str, Any] | None = json.loads(self.process.stdout.readline())
        return state

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
