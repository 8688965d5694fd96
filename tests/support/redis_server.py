"""A throwaway ``redis-server`` (Debian's package) on 127.0.0.1, a free port, no persistence."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from .helpers import closed_port


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is missing: run `make redis` (apt-get install redis-server)")
        self._process = subprocess.Popen(
            [
                binary,
                *("--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self._folder)),
                *("--daemonize", "no", "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        with self.client() as probe:
            while True:
                try:
                    if probe.ping():
                        return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self._process.poll() is not None:
                        self.stop()
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.02)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
