"""The official SDK's README examples run unchanged on this SDK, against the local server.

The examples are read at test time from the official 0.2.10 wheel's metadata (downloaded from
the package index), so they are the published text, not a copy kept here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import snapshot

OFFICIAL = "streamstraight-server==0.2.10"
CACHE = Path(__file__).resolve().parent.parent / ".venv" / "official-wheel"

RUNNER = textwrap.dedent(
    """
    import ast, asyncio, sys
    source = sys.stdin.read()
    code = compile(source, "<official README>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, {"__name__": "__main__"})
    if asyncio.iscoroutine(result):  # a snippet with a top-level await
        asyncio.run(result)
    """
)


def official_readme() -> str:
    wheels = sorted(CACHE.glob("streamstraight_server-0.2.10-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(CACHE),
                OFFICIAL,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"cannot download {OFFICIAL}: {done.stderr[-2000:]}"
        wheels = sorted(CACHE.glob("streamstraight_server-0.2.10-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        return wheel.read(name).decode()


def python_blocks(readme: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)


@pytest.fixture(scope="module")
def examples() -> list[str]:
    blocks = [
        b for b in python_blocks(official_readme()) if "from streamstraight_server import" in b
    ]
    assert len(blocks) == 3, f"expected the README's three examples, found {len(blocks)}"
    return blocks


@pytest.fixture
def official_key_server() -> Iterator[ThreadedDevServer]:
    key = "YOUR_STREAMSTRAIGHT_API_KEY"  # the placeholder the examples use, as they are
    with ThreadedDevServer(api_key=key) as running:
        yield running


def run_example(source: str, server: ThreadedDevServer) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STREAMSTRAIGHT_API_BASE_URL": server.base_url}
    env.pop("STREAMSTRAIGHT_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=source,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, f"example failed:\n{source}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.parametrize(
    ("marker", "data"),
    [
        pytest.param("stream_writer", ['"first"', '"second"'], id="writer"),
        pytest.param(
            ".stream(", ['{"content":"first chunk"}', '{"content":"second chunk"}'], id="stream"
        ),
    ],
)
def test_a_writing_example(
    examples: list[str], official_key_server: ThreadedDevServer, marker: str, data: list[str]
) -> None:
    run_example(next(b for b in examples if marker in b), official_key_server)
    snap = snapshot(official_key_server, "your-stream-id")
    assert snap.data == data
    assert snap.end_reason == "completed"


def test_token_example(examples: list[str], official_key_server: ThreadedDevServer) -> None:
    token_example = next(b for b in examples if "fetch_client_token" in b)
    run_example(token_example + "\nprint(token)\n", official_key_server)


def test_the_writing_examples_back_to_back_get_one_piece_of_advice(
    examples: list[str], official_key_server: ThreadedDevServer
) -> None:
    """Both examples write `your-stream-id`: run one after the other, the second is refused
    because the stream has ended, and says once what to do."""
    run_example(next(b for b in examples if "stream_writer" in b), official_key_server)
    stream_example = next(b for b in examples if ".stream(" in b)
    env = {**os.environ, "STREAMSTRAIGHT_API_BASE_URL": official_key_server.base_url}
    env.pop("STREAMSTRAIGHT_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=stream_example,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("streamstraight_server._core.errors.HandshakeRejectedError: ")
    assert (
        "stream 'your-stream-id' has ended (completed). Give each answer a new stream_id" in error
    )
    assert error.count("overwrite") == 1, error
    assert snapshot(official_key_server, "your-stream-id").data == ['"first"', '"second"']
