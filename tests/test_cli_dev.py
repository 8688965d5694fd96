"""``streamstraight dev`` narrates what goes through it, and keeps its key on request."""

from __future__ import annotations

import json
import queue
import re
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from streamstraight_server import AuthenticationError, HandshakeRejectedError, Streamstraight
from tests.support.cli import assert_one_line_error, cli_env, dev_running, run

WRONG_KEY = "sk_dev_a_key_of_an_earlier_run"


class Lines:
    """The lines a process prints, read on a thread so that a wait can time out."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        """The first line from now on that matches ``pattern`` (after its clock)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; got {self.seen}") from None
            self.seen.append(line)
            if re.fullmatch(r"\d\d:\d\d:\d\d  " + pattern, line):
                return line


def test_dev_narrates_a_connect_a_resume_a_refusal_and_an_end(tmp_path: Path) -> None:
    env = cli_env(XDG_CONFIG_HOME=str(tmp_path))
    with dev_running("--port", "0", "--drop-after-chunks", "2", env=env) as dev:
        url, key = dev.url, dev.key
        lines = Lines(dev.proc)
        client = Streamstraight(api_key=key, base_url=url, connect_retry_delay_ms=20)
        assert client.stream(["a", "b", "c"], stream_id="told") == 3
        lines.wait_for("told  producer connected")
        lines.wait_for(r"told  injected fault --drop-after-chunks: dropped .* after 2 chunks.*")
        lines.wait_for(r"told  producer dropped before END with 2 chunks stored; .*")
        lines.wait_for(r"told  producer resumed \(connection 2\); the server holds 2 chunks")
        lines.wait_for(r"told  ended completed: 3 chunks, 9 B in .*")

        stale = Streamstraight(api_key=WRONG_KEY, base_url=url, stream_id="stale")
        with pytest.raises(AuthenticationError, match="makes a new API key each time it starts"):
            stale.stream(["x"])
        refusal = lines.wait_for(r"stale  refused a producer: wrong API key\. .*")
        assert "makes a new key at each start" in refusal and "--keep-key" in refusal

        with pytest.raises(HandshakeRejectedError, match="Give each answer a new stream_id"):
            client.stream(["again"], stream_id="told")
        lines.wait_for(r"told  refused a producer: the stream has ended \(completed\); .*")
    assert dev.code == 0, dev.err
    assert WRONG_KEY not in "\n".join(lines.seen) + dev.err
    assert key not in "\n".join(lines.seen)  # the banner printed it once; narration never


def test_dev_quiet_prints_the_banner_only(tmp_path: Path) -> None:
    with dev_running("--port", "0", "--quiet", env=cli_env()) as dev:
        assert dev.banner[-1] == "Press Ctrl-C to stop."
        Streamstraight(api_key=dev.key, base_url=dev.url).stream(["a"], stream_id="hushed")
        with pytest.raises(AuthenticationError):
            Streamstraight(api_key=WRONG_KEY, base_url=dev.url).stream(["x"], stream_id="hushed-2")
    assert dev.code == 0, dev.err
    assert dev.out == ""  # the banner was read already; nothing followed it


def test_keep_key_survives_a_restart_and_stays_private(tmp_path: Path) -> None:
    env = cli_env(XDG_CONFIG_HOME=str(tmp_path))
    kept = tmp_path / "streamstraight" / "dev-server.json"
    with dev_running("--port", "0", "--keep-key", env=env) as first:
        key, url, banner = first.key, first.url, first.banner
        assert f"  the key is kept in {kept}: the same at every start with --keep-key" in banner
        app = Streamstraight(api_key=key, base_url=url)  # an app started against the first run
        assert app.stream(["before"], stream_id="kept-1") == 1
    assert first.code == 0, first.err
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert json.loads(kept.read_text())["api_key"] == key

    port = url.rsplit(":", 1)[1]
    with dev_running("--port", port, "--keep-key", env=env) as second:
        assert second.key == key
        assert second.viewer_url == first.viewer_url  # an open viewer reconnects as well
        assert app.stream(["after"], stream_id="kept-2") == 1  # the running app goes on
    assert second.code == 0, second.err


def test_keep_key_problems_are_one_line(tmp_path: Path) -> None:
    env = cli_env(XDG_CONFIG_HOME=str(tmp_path))
    both = run("dev", "--port", "0", "--keep-key", "--api-key", "sk_x", env=env)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    kept = tmp_path / "streamstraight" / "dev-server.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{not json")
    line = assert_one_line_error(run("dev", "--port", "0", "--keep-key", env=env), 1)
    assert f"the kept key at {kept} is damaged; delete the file" in line


def test_dev_help_shows_every_default() -> None:
    from streamstraight_server._cli.parser import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command")
    dev = commands.choices["dev"]  # type: ignore[index]
    options = [a for a in dev._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 20
    for action in options:
        assert action.help and "(default: " in action.help, action.option_strings
    result = run("dev", "--help", env=cli_env())
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for shown in ("(default: 8787)", "(default: 1048576)", "(default: 30)", "(default: 300)"):
        assert shown in text
