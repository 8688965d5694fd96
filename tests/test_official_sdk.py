"""A real client nobody here wrote: the official ``streamstraight-server`` 0.2.10, our server.

The official package has the same import name as ours, so it lives in its own virtual
environment (cached in ``.venv/official-<version>/`` so that repeated runs are fast) and runs in a
subprocess with ``python -I`` from a temporary directory. The test process hosts a
``ThreadedDevServer``; what the official SDK sent is read back with our consumer and compared with
what the script says it sent.

Installing needs the package index; when pip cannot reach it the tests FAIL (never skip): a
compatibility check that silently does not run is worse than none.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamstraight_server.devserver import ThreadedDevServer
from streamstraight_server.devserver.consumer import ConsumedStream, read_stream

OFFICIAL_VERSION = "0.2.10"
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.timeout(600)

# Runs inside the official SDK's venv; argv: api key. The base URL comes from
# STREAMSTRAIGHT_API_BASE_URL (read by the official SDK itself) except where a case passes it.
SCRIPT = textwrap.dedent(
    """
    import asyncio
    import importlib.metadata
    import json
    import os
    import sys

    import streamstraight_server as ss

    KEY = sys.argv[1]
    URL = os.environ["STREAMSTRAIGHT_API_BASE_URL"]
    results = {
        "version": importlib.metadata.version("streamstraight-server"),
        "file": ss.__file__,
        "has_our_blocking_client": hasattr(ss, "Streamstraight"),
    }


    def outcome(exc):
        return {"type": type(exc).__name__, "message": str(exc)}


    async def writer_case():
        sent = ["Hello", " world", {"delta": "!", "n": 3}, [1, 2], None, 4.5]
        server = await ss.streamstraight_server({"api_key": KEY}, {"stream_id": "off-writer"})
        async with server.stream_writer() as writer:
            for chunk in sent:
                await writer.send(chunk)
        return {"sent": sent}


    async def generator_case():
        sent = [f"token-{i} " for i in range(50)]

        async def tokens():
            for token in sent:
                yield token
                await asyncio.sleep(0)

        server = ss.StreamstraightServer({"api_key": KEY, "base_url": URL})
        await server.connect({"stream_id": "off-generator"})
        await server.stream(tokens())
        return {"sent": sent}


    async def error_case():
        server = await ss.streamstraight_server({"api_key": KEY}, {"stream_id": "off-error"})
        try:
            async with server.stream_writer() as writer:
                await writer.send("partial 1")
                await writer.send("partial 2")
                raise RuntimeError("the model crashed")
        except RuntimeError as exc:
            return {"sent": ["partial 1", "partial 2"], "raised": outcome(exc)}
        return {"raised": None}


    async def encoder_case():
        options = {"stream_id": "off-encoder", "encoder": lambda chunk: chunk.upper()}
        server = await ss.streamstraight_server({"api_key": KEY}, options)
        async with server.stream_writer() as writer:
            for chunk in ["a", "", "b"]:
                await writer.send(chunk)
        return {"data": ["A", "B"]}


    async def overwrite_case():
        first = await ss.streamstraight_server({"api_key": KEY}, {"stream_id": "off-overwrite"})
        await first.stream(["old 1", "old 2", "old 3"])
        refused = None
        try:
            again = await ss.streamstraight_server(
                {"api_key": KEY, "num_connect_retries": 0}, {"stream_id": "off-overwrite"}
            )
            await again.stream(["never"])
        except Exception as exc:
            refused = outcome(exc)
        third = await ss.streamstraight_server(
            {"api_key": KEY},
            {"stream_id": "off-overwrite", "overwrite_existing_stream": True},
        )
        await third.stream(["new 1", "new 2"])
        return {"sent": ["new 1", "new 2"], "refused": refused}


    async def token_case():
        token = await ss.fetch_client_token({"api_key": KEY, "base_url": URL})
        try:
            await ss.fetch_client_token({"api_key": KEY + "-wrong", "base_url": URL})
            wrong = None
        except Exception as exc:
            wrong = outcome(exc)
        return {"token": token, "wrong_key": wrong}


    async def main():
        for name, case in [
            ("writer", writer_case),
            ("generator", generator_case),
            ("error", error_case),
            ("encoder", encoder_case),
            ("overwrite", overwrite_case),
            ("token", token_case),
        ]:
            try:
                results[name] = await asyncio.wait_for(case(), 30)
            except Exception as exc:
                results[name] = {"failed": outcome(exc)}


    asyncio.run(main())
    print(json.dumps(results))
    """
)


def _run(cmd: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _probe(venv: Path, cwd: Path) -> dict[str, Any] | None:
    """What ``import streamstraight_server`` gives in ``venv`` (isolated mode), or None."""
    if not _python(venv).exists():
        return None
    code = (
        "import importlib.metadata as m, json, streamstraight_server as s; "
        "print(json.dumps({'version': m.version('streamstraight-server'), 'file': s.__file__}))"
    )
    result = _run([str(_python(venv)), "-I", "-c", code], cwd=cwd, timeout=60)
    if result.returncode != 0:
        return None
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _install(venv: Path, cwd: Path) -> None:
    """A fresh venv with the official package, built next to ``venv`` and moved into place."""
    building = venv.with_name(venv.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    made = _run([sys.executable, "-m", "venv", str(building)], cwd=cwd, timeout=180)
    if made.returncode != 0:
        pytest.fail(f"could not create a virtual environment for the official SDK:\n{made.stderr}")
    pip = _run(
        [
            str(_python(building)),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            f"streamstraight-server=={OFFICIAL_VERSION}",
        ],
        cwd=cwd,
        timeout=540,
    )
    if pip.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        tail = "\n".join((pip.stdout + pip.stderr).strip().splitlines()[-15:])
        pytest.fail(
            f"pip could not install streamstraight-server=={OFFICIAL_VERSION} from the package "
            "index, so the official SDK cannot be checked against our server. This test needs "
            f"the index (or a pip cache holding the package). pip said:\n{tail}",
            pytrace=False,
        )
    shutil.rmtree(venv, ignore_errors=True)
    building.rename(venv)


@pytest.fixture(scope="module")
def official_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a venv where ``streamstraight_server`` is the official package."""
    cwd = tmp_path_factory.mktemp("official-cwd")
    cache_root = REPO / ".venv"
    root = cache_root if cache_root.is_dir() else tmp_path_factory.mktemp("official-venv")
    venv = root / f"official-{OFFICIAL_VERSION}"
    found = _probe(venv, cwd)
    if found is None or found.get("version") != OFFICIAL_VERSION:
        _install(venv, cwd)
        found = _probe(venv, cwd)
    assert found is not None, f"the official SDK does not import in {venv}"
    assert found["version"] == OFFICIAL_VERSION
    module_file = Path(found["file"]).resolve()
    assert module_file.is_relative_to(venv.resolve()), module_file
    assert not module_file.is_relative_to(REPO / "streamstraight_server"), module_file
    return _python(venv)


@pytest.fixture(scope="module")
def official_server() -> Iterator[ThreadedDevServer]:
    with ThreadedDevServer(producer_grace=2.0, consumer_wait=2.0) as running:
        yield running


@pytest.fixture(scope="module")
def results(
    official_python: Path,
    official_server: ThreadedDevServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Run every case once in the official SDK's venv; what it did, as it reports it."""
    cwd = tmp_path_factory.mktemp("official-run")
    script = cwd / "official_client.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STREAMSTRAIGHT_"))}
    env["STREAMSTRAIGHT_API_BASE_URL"] = official_server.base_url
    run = subprocess.run(
        [str(official_python), "-I", str(script), official_server.api_key],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"the official client crashed:\n{run.stderr}"
    found: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    found["stderr"] = run.stderr
    return found


def consume(server: ThreadedDevServer, stream_id: str) -> ConsumedStream:
    return asyncio.run(read_stream(server.base_url, server.mint_token(), stream_id, timeout=10))


def encoded(chunks: list[Any]) -> list[str]:
    """How the official SDK encodes chunks by default: compact JSON."""
    return [json.dumps(chunk, separators=(",", ":")) for chunk in chunks]


def case(results: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = results[name]
    assert "failed" not in found, f"case {name!r} failed in the official client: {found}"
    return found


def test_the_official_package_is_what_runs(results: dict[str, Any]) -> None:
    assert results["version"] == OFFICIAL_VERSION
    assert not results["has_our_blocking_client"]
    assert "official-" in results["file"]


def test_writer_context_completes(
    results: dict[str, Any], official_server: ThreadedDevServer
) -> None:
    sent = case(results, "writer")["sent"]
    consumed = consume(official_server, "off-writer")
    assert consumed.data == encoded(sent)
    assert [seq for seq, _ in consumed.chunks] == list(range(len(sent)))
    assert consumed.end_reason == "completed"
    snap = official_server.snapshot("off-writer")
    assert snap is not None and snap.producer_connections == 1


def test_stream_of_an_async_generator_completes(
    results: dict[str, Any], official_server: ThreadedDevServer
) -> None:
    sent = case(results, "generator")["sent"]
    consumed = consume(official_server, "off-generator")
    assert consumed.data == encoded(sent)
    assert consumed.end_reason == "completed"
    assert consumed.last_seq == len(sent) - 1


def test_exception_in_the_writer_ends_with_producer_error(
    results: dict[str, Any], official_server: ThreadedDevServer
) -> None:
    found = case(results, "error")
    assert found["raised"] == {"type": "RuntimeError", "message": "the model crashed"}
    consumed = consume(official_server, "off-error")
    assert consumed.data == encoded(found["sent"])
    assert consumed.end_reason == "producer-error"


def test_custom_encoder_and_skipped_empty_chunk(
    results: dict[str, Any], official_server: ThreadedDevServer
) -> None:
    expected = case(results, "encoder")["data"]
    consumed = consume(official_server, "off-encoder")
    assert consumed.data == expected
    assert consumed.end_reason == "completed"


def test_overwrite_replaces_an_ended_stream(
    results: dict[str, Any], official_server: ThreadedDevServer
) -> None:
    found = case(results, "overwrite")
    assert found["refused"] is not None, "an ended stream was reopened without overwrite"
    assert found["refused"]["type"] == "StreamstraightServerError"
    consumed = consume(official_server, "off-overwrite")
    assert consumed.data == encoded(found["sent"])
    assert consumed.end_reason == "completed"


def test_fetch_client_token(results: dict[str, Any], official_server: ThreadedDevServer) -> None:
    found = case(results, "token")
    assert found["wrong_key"] is not None
    assert found["wrong_key"]["type"] == "StreamstraightTokenError"
    assert "401" in found["wrong_key"]["message"]
    # the token the official SDK fetched lets a consumer read a stream
    consumed = asyncio.run(
        read_stream(official_server.base_url, found["token"], "off-writer", timeout=10)
    )
    assert consumed.end_reason == "completed"
    assert consumed.data
