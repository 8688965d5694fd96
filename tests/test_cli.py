"""The ``streamstraight`` command, run for real as a subprocess against a local server."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from streamstraight_server import Streamstraight, fetch_client_token_sync
from streamstraight_server.devserver import ThreadedDevServer
from streamstraight_server.devserver.consumer import read_stream
from tests.support.cli import (
    assert_one_line_error,
    cli_env,
    dev_running,
    finish,
    popen,
    read_line,
    run,
)
from tests.support.helpers import closed_port, snapshot, stored

SECRET = "sk_cli_test_" + "x7Qz" * 6


@pytest.fixture
def env(server: ThreadedDevServer) -> dict[str, str]:
    return cli_env(server)


# send


def test_send_sends_each_line_as_a_json_string(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    result = run("send", "cli-send", stdin="Hello\n world\n\nlast line without newline", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "sent 4 chunks, all confirmed"
    assert result.stdout == ""
    assert stored(server, "cli-send") == [
        '"Hello"',
        '" world"',
        '""',
        '"last line without newline"',
    ]
    assert snapshot(server, "cli-send").end_reason == "completed"


def test_send_json_sends_each_value(server: ThreadedDevServer, env: dict[str, str]) -> None:
    lines = '{"delta": "Hi", "n": 1}\n\n[1, 2]\n"text"\r\nnull\n'
    result = run("send", "cli-json", "--json", stdin=lines, env=env)
    assert result.returncode == 0, result.stderr
    assert stored(server, "cli-json") == ['{"delta":"Hi","n":1}', "[1,2]", '"text"', "null"]


def test_send_bad_json_line_is_a_usage_error(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    result = run("send", "cli-bad", "--json", stdin='{"ok": 1}\n{"ok": 2}\n{oops\n[3]\n', env=env)
    line = assert_one_line_error(result, 2)
    assert "stdin line 3 is not valid JSON" in line
    snap = snapshot(server, "cli-bad")
    assert snap.data == ['{"ok":1}', '{"ok":2}']
    assert snap.end_reason == "producer-error"


def test_send_refuses_an_ended_stream_unless_overwrite(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    assert run("send", "cli-over", stdin="one\n", env=env).returncode == 0
    refused = run("send", "cli-over", stdin="two\n", env=env)
    line = assert_one_line_error(refused, 1)
    assert "--overwrite" in line
    assert stored(server, "cli-over") == ['"one"']
    replaced = run("send", "cli-over", "--overwrite", stdin="two\nthree\n", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert stored(server, "cli-over") == ['"two"', '"three"']


def test_send_ctrl_c_ends_the_stream_with_producer_error(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    proc = popen("send", "cli-int", env=env)
    assert proc.stdin is not None
    proc.stdin.write("first\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        snap = server.snapshot("cli-int")
        if snap is not None and snap.chunks:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        finish(proc)
        pytest.fail("the first line never reached the server")
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert "Traceback" not in err
    assert "producer-error after 1 chunks" in err
    snap = server.wait_for_end("cli-int", timeout=5)
    assert snap.data == ['"first"']
    assert snap.end_reason == "producer-error"


# tail


def test_tail_prints_a_live_stream_until_it_ends(
    server: ThreadedDevServer, env: dict[str, str], options: dict[str, Any]
) -> None:
    client = Streamstraight(**options, stream_id="cli-tail")
    with client.stream_writer() as writer:
        writer.send("Hello")
        writer.flush()
        proc = popen("tail", "cli-tail", env=env)
        try:
            # the replayed chunk shows before the stream goes on: tail flushes every line
            assert read_line(proc.stdout) == "Hello"
            for chunk in (" world", {"delta": "!", "n": 3}, ["a", 1], 42):
                writer.send(chunk)
                time.sleep(0.02)
        except BaseException:
            proc.kill()
            finish(proc)
            raise
    code, out, err = finish(proc)
    assert code == 0, err
    assert out.splitlines() == [" world", '{"delta":"!","n":3}', '["a",1]', "42"]
    assert err == ""


def test_tail_raw_and_from_seq(server: ThreadedDevServer, env: dict[str, str]) -> None:
    assert run("send", "cli-raw", stdin="a\nb\nc\n", env=env).returncode == 0
    raw = run("tail", "cli-raw", "--raw", env=env)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout.splitlines() == ['"a"', '"b"', '"c"']
    later = run("tail", "cli-raw", "--from-seq", "1", env=env)
    assert later.returncode == 0, later.stderr
    assert later.stdout.splitlines() == ["b", "c"]


def test_tail_of_a_failed_stream_exits_1_with_the_reason(
    server: ThreadedDevServer, env: dict[str, str], options: dict[str, Any]
) -> None:
    client = Streamstraight(**options, stream_id="cli-failed")
    with pytest.raises(RuntimeError), client.stream_writer() as writer:
        writer.send("partial")
        raise RuntimeError("the model crashed")
    result = run("tail", "cli-failed", env=env)
    assert result.stdout.splitlines() == ["partial"]
    line = assert_one_line_error(result, 1)
    assert "producer-error" in line


def test_tail_ctrl_c_exits_130(
    server: ThreadedDevServer, env: dict[str, str], options: dict[str, Any]
) -> None:
    client = Streamstraight(**options, stream_id="cli-tail-int")
    with client.stream_writer() as writer:
        writer.send("first")
        writer.flush()
        proc = popen("tail", "cli-tail-int", env=env)
        try:
            assert read_line(proc.stdout) == "first"  # connected, waiting for more
            proc.send_signal(signal.SIGINT)
            code, out, err = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                finish(proc)
    assert code == 130, err
    assert out == ""
    assert "Traceback" not in err


def test_tail_of_a_missing_stream_says_it_waits_then_reports_not_found(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    # the fixture's server holds a consumer 2 s for a stream that does not exist yet
    assert run("send", "cli-somebody", stdin="x\n", env=env).returncode == 0
    proc = popen("tail", "cli-nobody", env=env)
    assert proc.stderr is not None
    waiting = proc.stderr.readline()  # said at once, before the server's wait is over
    assert server.snapshot("cli-nobody") is None and proc.poll() is None
    assert waiting.startswith(
        "waiting for stream 'cli-nobody': the server has no such stream yet (did you mean "
        "'cli-somebody'?); it answers not-found"
    )
    code, out, err = finish(proc)
    assert code == 1 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("streamstraight: stream 'cli-nobody' ended: not-found")
    assert "check the id" in line


# ls


def test_ls_lists_streams_with_status_chunks_size_and_age(
    server: ThreadedDevServer, env: dict[str, str], options: dict[str, Any]
) -> None:
    empty = run("ls", env=env)
    assert empty.returncode == 0, empty.stderr
    assert (
        empty.stdout
        == f"no streams on {server.base_url} yet; they appear once a producer connects\n"
    )
    assert run("send", "ls-done", stdin="one\ntwo\nthree\n", env=env).returncode == 0
    with Streamstraight(**options).stream_writer(stream_id="ls-live") as writer:
        writer.send("still writing")
        writer.flush()
        listed = run("ls", env=env)
        as_json = run("ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["STREAM", "STATUS", "CHUNKS", "SIZE", "AGE"]
    assert re.fullmatch(r"ls-done\s+ended: completed\s+3\s+17 B\s+\d+s", rows[0]), rows
    assert re.fullmatch(r"ls-live\s+live\s+1\s+15 B\s+\d+s", rows[1]), rows
    streams = json.loads(as_json.stdout)
    assert [s["streamId"] for s in streams] == ["ls-done", "ls-live"]
    assert "chunks" not in streams[0]  # the listing leaves the chunks out


def test_ls_problems_are_one_line(server: ThreadedDevServer) -> None:
    from tests.support.token_responder import TokenResponder

    wrong = run("ls", env=cli_env(server, STREAMSTRAIGHT_API_KEY=SECRET))
    assert "rejected the API key (HTTP 401)" in assert_one_line_error(wrong, 1)
    assert SECRET not in wrong.stderr
    with TokenResponder("401") as elsewhere:
        other = run(
            "ls",
            env=cli_env(STREAMSTRAIGHT_API_KEY=SECRET, STREAMSTRAIGHT_API_BASE_URL=elsewhere.url),
        )
    line = assert_one_line_error(other, 1)
    assert "has no stream listing" in line and "only `streamstraight dev` lists" in line


def test_tail_without_a_stream_listing_says_when_nothing_came_yet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The hosted service lists no streams: tail says so after a while without chunks."""
    import argparse

    from streamstraight_server._cli import tail

    with ThreadedDevServer(consumer_wait=4.0) as slow:
        args = argparse.Namespace(stream_id="later", from_seq=None, timeout=10.0, raw=False)
        reason = asyncio.run(tail._tail(slow.base_url, slow.mint_token(), args, hint=True))
    assert reason == "not-found"
    assert capsys.readouterr().err == (
        f"no chunk of stream 'later' after {tail.QUIET_HINT_AFTER:g}s: it may not have started "
        "yet, or its id may be mistyped; still waiting\n"
    )


# token


def test_token_prints_a_token_the_server_accepts(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    result = run("token", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert token.count(".") == 2
    assert run("send", "cli-token", stdin="x\n", env=env).returncode == 0
    consumed = asyncio.run(read_stream(server.base_url, token, "cli-token", timeout=5))
    assert consumed.data == ['"x"']
    assert consumed.end_reason == "completed"


def test_token_decode_prints_the_token_its_claims_and_its_expiry(
    server: ThreadedDevServer, env: dict[str, str]
) -> None:
    result = run("token", "--decode", env=env)
    assert result.returncode == 0, result.stderr
    decoded = json.loads(result.stdout)
    claims = decoded["claims"]
    assert claims["iss"] == "streamstraight-local"
    assert claims["exp"] > time.time()
    assert decoded["token"].count(".") == 2 and decoded["signatureVerified"] is False
    assert 0 < decoded["expiresInSeconds"] <= 300
    assert decoded["expiresAt"].endswith("Z")
    assert server.api_key not in result.stdout


def test_flags_override_the_environment(server: ThreadedDevServer) -> None:
    env = cli_env(STREAMSTRAIGHT_API_KEY="wrong", STREAMSTRAIGHT_API_BASE_URL="http://127.0.0.1:1")
    result = run("token", "--api-key", server.api_key, "--base-url", server.base_url, env=env)
    assert result.returncode == 0, result.stderr


# errors

#: the commands that need the API key, ls aside (only the local server answers it)
KEYED_COMMANDS = [("token",), ("send", "some-stream"), ("tail", "some-stream")]


@pytest.mark.parametrize("args", KEYED_COMMANDS, ids=lambda a: a[0])
def test_missing_api_key_is_a_usage_error(server: ThreadedDevServer, args: tuple[str, ...]) -> None:
    env = cli_env(STREAMSTRAIGHT_API_BASE_URL=server.base_url)
    line = assert_one_line_error(run(*args, env=env), 2)
    assert "STREAMSTRAIGHT_API_KEY" in line


@pytest.mark.parametrize("args", KEYED_COMMANDS, ids=lambda a: a[0])
def test_wrong_api_key_fails_without_printing_it(
    server: ThreadedDevServer, args: tuple[str, ...]
) -> None:
    env = cli_env(server, STREAMSTRAIGHT_API_KEY=SECRET)
    result = run(*args, stdin="never sent\n", env=env)
    line = assert_one_line_error(result, 1)
    assert "key" in line.lower()
    assert SECRET not in result.stdout + result.stderr
    assert server.snapshot("some-stream") is None


@pytest.mark.parametrize("args", [*KEYED_COMMANDS, ("ls",)], ids=lambda a: a[0])
def test_a_server_that_is_not_running_is_named_with_its_url(args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = cli_env(STREAMSTRAIGHT_API_KEY=SECRET, STREAMSTRAIGHT_API_BASE_URL=url)
    result = run(*args, stdin="x\n", env=env)
    line = assert_one_line_error(result, 1)
    assert (
        f"nothing listens at {url} (connection refused): is `streamstraight dev` running?" in line
    )
    assert len(line) < 200
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("nonsense",),
        ("send",),
        ("dev", "--port", "70000"),
        ("dev", "--ack-delay", "-1"),
        ("tail", "x", "--timeout", "0"),
    ],
)
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    result = run(*args, env=cli_env())
    assert result.returncode == 2, result.stderr
    assert "usage: streamstraight" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("tail", "--from-sq", "3", "numbers"),
            "streamstraight tail: error: unknown option --from-sq; did you mean --from-seq? "
            "(usage: streamstraight tail [options] STREAM_ID;",
        ),
        (
            ("dev", "--prot=9000"),
            "streamstraight dev: error: unknown option --prot; did you mean --port? "
            "(usage: streamstraight dev [options];",
        ),
        (
            ("send", "x", "--overwirte"),
            "streamstraight send: error: unknown option --overwirte; did you mean --overwrite?",
        ),
        (("ls", "--jsn"), "streamstraight ls: error: unknown option --jsn; did you mean --json?"),
        (("sned", "x"), "streamstraight: error: unknown command 'sned'; did you mean send?"),
        (("tail", "a", "b"), "streamstraight tail: error: unexpected argument 'b'"),
        ((), "streamstraight: error: name a command: dev, send, tail, token, ls"),
        (("token", "--bogus"), "streamstraight token: error: unknown option --bogus (usage:"),
    ],
)
def test_a_usage_mistake_is_one_line_with_the_commands_usage(
    args: tuple[str, ...], expected: str
) -> None:
    line = assert_one_line_error(run(*args, env=cli_env()), 2, prefix=False)
    assert line.startswith(expected), line
    assert line.endswith("--help lists the options)")


def test_every_subcommand_has_help() -> None:
    for command in ("dev", "send", "tail", "token", "ls"):
        result = run(command, "--help", env=cli_env())
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: streamstraight {command}")


# dev


@pytest.fixture
def dev_server() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """``streamstraight dev`` on a free port, with a fault: an error after 3 chunks.

    A "production" key is exported in its environment: the server must neither adopt nor print it.
    """
    env = cli_env(STREAMSTRAIGHT_API_KEY=SECRET)
    flags = ("--port", "0", "--error-after-chunks", "3", "--consumer-wait", "1")
    with dev_running(*flags, env=env) as dev:
        key, banner = dev.key, dev.banner
        assert key != SECRET and SECRET not in "\n".join(banner)
        assert any("STREAMSTRAIGHT_API_KEY in this shell is not used" in line for line in banner)
        yield dev.proc, dev.url, key


def test_dev_serves_until_sigint(dev_server: tuple[subprocess.Popen[str], str, str]) -> None:
    proc, url, key = dev_server
    client = Streamstraight(
        api_key=key, base_url=url, stream_id="dev-ok", connect_retry_delay_ms=20
    )
    assert client.stream(["a", "b"]) == 2
    token = fetch_client_token_sync(api_key=key, base_url=url)
    consumed = asyncio.run(read_stream(url, token, "dev-ok", timeout=5))
    assert consumed.data == ['"a"', '"b"']
    assert consumed.end_reason == "completed"

    # the fault flag reached the server: the CLI producer fails after 3 chunks
    env = cli_env(STREAMSTRAIGHT_API_KEY=key, STREAMSTRAIGHT_API_BASE_URL=url)
    failed = run("send", "dev-fault", stdin="1\n2\n3\n4\n5\n", env=env)
    line = assert_one_line_error(failed, 1)
    assert "internal" in line
    assert key not in failed.stderr

    # the exported production key is not the dev server's key
    rejected = run(
        "token", env=cli_env(STREAMSTRAIGHT_API_KEY=SECRET, STREAMSTRAIGHT_API_BASE_URL=url)
    )
    assert "HTTP 401" in assert_one_line_error(rejected, 1)

    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 0, err
    assert "Traceback" not in err
    assert err.strip().endswith("dev server stopped")
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) != 0


def test_dev_stops_on_sigterm(dev_server: tuple[subprocess.Popen[str], str, str]) -> None:
    proc, _, _ = dev_server
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 0, err
    assert "Traceback" not in err


def test_dev_on_a_busy_port_fails_in_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run("dev", "--port", str(port), env=cli_env())
    line = assert_one_line_error(result, 1)
    assert f"127.0.0.1:{port}" in line


def test_dev_with_api_key_says_where_the_key_came_from_and_never_prints_it() -> None:
    with dev_running("--port", "0", "--api-key", SECRET, env=cli_env()) as dev:
        assert SECRET not in "\n".join(dev.banner)
        assert any("the one given with --api-key (not printed)" in line for line in dev.banner)
        assert not any("export STREAMSTRAIGHT_API_KEY" in line for line in dev.banner)
        token = fetch_client_token_sync(api_key=SECRET, base_url=dev.url)
        assert token.count(".") == 2
    assert dev.code == 0, dev.err
    assert SECRET not in dev.out + dev.err


@pytest.mark.parametrize(
    "key", [" padded ", "with space", "nul\x00", "t\u00e9l\u00e9phone", ""], ids=repr
)
def test_dev_refuses_a_bad_api_key(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    from streamstraight_server.cli import main

    # in-process: argv cannot carry a NUL; the key is checked before anything listens
    assert main(["dev", "--port", "0", "--api-key", key]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = captured.err.strip()
    assert line.startswith("streamstraight: error: --api-key must be"), line
    if key.strip():
        assert key.strip() not in line


def test_dev_flags_reach_the_server() -> None:
    args = [
        "--port",
        "0",
        "--max-chunk-bytes",
        "100",
        "--allowed-host",
        "dev.example.test",
        "--cors-origin",
        "https://app.example.test",
    ]
    with dev_running(*args, env=cli_env()) as dev:
        assert "  allowed hosts: loopback, dev.example.test" in dev.banner
        assert "  CORS origins: loopback, https://app.example.test" in dev.banner
        asyncio.run(_check_dev_flags(dev.url, dev.viewer_url, dev.key))
    assert dev.code == 0, dev.err


async def _check_dev_flags(url: str, viewer_url: str, key: str) -> None:
    import aiohttp

    from tests.support.devserver import RawProducer, eventually

    # unsafe=True: aiohttp keeps no cookies of IP-address hosts otherwise (browsers do)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url + "/api/streams") as resp:
            assert resp.status == 401
        async with http.get(viewer_url, allow_redirects=False) as resp:
            assert resp.status == 303 and "HttpOnly" in resp.headers["Set-Cookie"]
        async with http.get(url + "/api/streams") as resp:
            assert resp.status == 200  # the session kept the viewer's cookie
        for host, status in [("dev.example.test", 200), ("other.example.test", 403)]:
            async with http.get(url + "/healthz", headers={"Host": host}) as resp:
                assert resp.status == status, host
        polling = url + "/socket.io/?EIO=4&transport=polling"
        for origin, status in [("https://app.example.test", 200), ("https://evil.test", 400)]:
            async with http.get(polling, headers={"Origin": origin}) as resp:
                assert resp.status == status, origin
    producer = await RawProducer(url, key, "small").connect()
    await producer.chunk(0, "x" * 101)
    await eventually(lambda: bool(producer.errors))
    assert producer.errors[0]["code"] == "chunk-too-large"
    await producer.chunk(0, "x" * 100)
    await producer.wait_acks(1)
    await producer.close()


@pytest.mark.parametrize(
    "args",
    [
        ("dev", "--max-chunk-bytes", "0"),
        ("dev", "--allowed-host", "http://x.test/"),
        ("dev", "--cors-origin", "app.example.test"),
        ("dev", "--cors-origin", "https://app.example.test/path"),
    ],
)
def test_dev_bad_flag_values_exit_2(args: tuple[str, ...]) -> None:
    result = run(*args, env=cli_env())
    assert result.returncode == 2, result.stderr
    assert args[1] in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("padding", ["  ", "\t", "\n"], ids=repr)
def test_a_padded_key_echoed_by_the_server_is_redacted(padding: str) -> None:
    with ThreadedDevServer() as echoing:
        echoing.faults.echo_credentials = True
        env = cli_env(STREAMSTRAIGHT_API_BASE_URL=echoing.base_url)
        result = run("token", "--api-key", f"{padding}{SECRET}{padding}", env=env)
    line = assert_one_line_error(result, 1)
    assert "HTTP 401" in line and "got Authorization: Bearer ***" in line
    assert SECRET not in result.stdout + result.stderr
