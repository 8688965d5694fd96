"""The ``streamstraight`` command run as a subprocess: its environment, its one-line errors, and
``streamstraight dev``'s banner."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import pytest

from streamstraight_server.devserver import ThreadedDevServer

from .helpers import child_env

CLI = [sys.executable, "-m", "streamstraight_server.cli"]


def cli_env(server: ThreadedDevServer | None = None, **overrides: str | None) -> dict[str, str]:
    env = child_env(server, PYTHONUNBUFFERED="1")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(
    *args: str, env: Mapping[str, str], stdin: str = "", timeout: float = 20.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        input=stdin,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], code: int, *, prefix: bool = True
) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    if prefix:
        assert lines[0].startswith("streamstraight: ")
    return lines[0]


def popen(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 15.0) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the command did not finish in {timeout}s; stderr: {err}")
    return proc.returncode, out, err


def read_line(stream: IO[str] | None) -> str:
    assert stream is not None
    return stream.readline().rstrip("\n")


def read_banner(proc: subprocess.Popen[str]) -> tuple[str, str, list[str]]:
    """The URL, the viewer URL and every banner line of ``streamstraight dev``, up to Ctrl-C."""
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl-C to stop."):
        line = read_line(proc.stdout)
        assert line or proc.poll() is None, lines
        lines.append(line)
    match = re.fullmatch(
        r"Streamstraight dev server listening on (http://127\.0\.0\.1:\d+)", lines[0]
    )
    assert match, lines
    url = match.group(1)
    viewer = re.fullmatch(r"\s*viewer:\s+(\S+)", lines[1])
    assert viewer and viewer.group(1).startswith(f"{url}/?token="), lines
    assert lines[2].strip() == f"export STREAMSTRAIGHT_API_BASE_URL={url}"
    return url, viewer.group(1), lines


def generated_key(lines: list[str]) -> str:
    match = re.fullmatch(r"\s*export STREAMSTRAIGHT_API_KEY=(sk_dev_\S+)", lines[3])
    assert match, lines
    return match.group(1)


@dataclass
class DevRun:
    """A ``streamstraight dev`` process: its banner, then how it ended (``code``, and what it
    printed after the banner)."""

    proc: subprocess.Popen[str]
    url: str
    viewer_url: str
    banner: list[str]
    code: int | None = None
    out: str = ""
    err: str = ""

    @property
    def key(self) -> str:
        return generated_key(self.banner)


@contextmanager
def dev_running(*args: str, env: Mapping[str, str]) -> Iterator[DevRun]:
    """``streamstraight dev ARGS`` once its banner is read; Ctrl-C when the block ends, unless it
    has stopped already."""
    proc = popen("dev", *args, env=env)
    run: DevRun | None = None
    try:
        run = DevRun(proc, *read_banner(proc))
        yield run
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code, out, err = finish(proc)
        if run is not None:
            run.code, run.out, run.err = code, out, err
