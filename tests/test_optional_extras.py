"""The redis and otel extras cost nothing unless used: fresh interpreters write streams and
report which modules they imported.

python-socketio imports ``redis`` when it is installed (for its own Redis manager), and
redis-py 8 imports ``opentelemetry`` when that is installed, so in this test environment both
are imported whatever this package does. The tests therefore also run with both made
uninstalled by an import hook that records who tried to import them: this package never does
unless ``cancel_url`` or telemetry asks for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import child_env

ROOT = Path(__file__).resolve().parent.parent

WRITE_BOTH_FLAVOURS = """
import asyncio, json, sys
from streamstraight_server import AsyncStreamstraight, Streamstraight

Streamstraight().stream(["a", "b"], stream_id="blocking")
tee = Streamstraight().tee(["c"], stream_id="blocking-tee")
tee.wait()

async def main():
    client = AsyncStreamstraight()
    await client.stream(["a", "b"], stream_id="asyncio")
    await client.tee(["c"], stream_id="asyncio-tee").wait()
    await client.aclose()

asyncio.run(main())
print(json.dumps({
    "imported": sorted(m for m in sys.modules if m.split(".")[0] in ("opentelemetry", "redis")),
    "ours": sorted(m for m in sys.modules if m.startswith("streamstraight_server")
                   and m.rsplit(".", 1)[-1] in ("_otel", "_async_redis", "_sync_redis")),
    "tried_by_us": sorted(set(globals().get("TRIED_BY_US", []))),
}))
"""

BLOCK_THE_EXTRAS = """
import importlib.abc, sys

TRIED_BY_US = []

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in ("opentelemetry", "redis"):
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
            frame = frame.f_back
        importer = frame.f_globals.get("__name__", "") if frame is not None else ""
        if importer.startswith("streamstraight_server"):
            TRIED_BY_US.append(f"{importer} -> {name}")
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
"""

WITHOUT_THE_EXTRAS = """
from streamstraight_server import ConfigurationError, Streamstraight

for settings in ({"telemetry": True}, {"cancel_url": "redis://127.0.0.1:6379/0"}):
    try:
        Streamstraight(**settings)
    except ConfigurationError as exc:
        print(exc)
"""

GLOBAL_PROVIDER = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(provider)

from streamstraight_server import Streamstraight

Streamstraight().stream(["a"], stream_id="auto")  # telemetry=None: on, the app uses OpenTelemetry
Streamstraight(telemetry=False).stream(["b"], stream_id="off")
print([dict(s.attributes)["streamstraight.stream.id"] for s in spans.get_finished_spans()])
"""


def run(server: ThreadedDevServer, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env(server, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_without_the_extras_installed_no_opentelemetry_or_redis_module_is_imported(
    server: ThreadedDevServer,
) -> None:
    report: dict[str, Any] = json.loads(run(server, BLOCK_THE_EXTRAS + WRITE_BOTH_FLAVOURS))
    assert report == {"imported": [], "ours": [], "tried_by_us": []}
    assert server.snapshot("asyncio-tee") is not None


def test_with_the_extras_installed_but_unused_this_package_stays_out_of_them(
    server: ThreadedDevServer,
) -> None:
    report: dict[str, Any] = json.loads(run(server, WRITE_BOTH_FLAVOURS))
    assert report["ours"] == []  # no relay, no telemetry: python-socketio's imports only


def test_without_the_extras_asking_for_them_says_what_to_install(
    server: ThreadedDevServer,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_THE_EXTRAS + WITHOUT_THE_EXTRAS],
        cwd=ROOT,
        env=child_env(STREAMSTRAIGHT_API_KEY=server.api_key, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "telemetry needs the opentelemetry-api package: pip install 'streamstraight-server[otel]'",
        "cancel_url needs the redis package: pip install 'streamstraight-server[redis]'",
    ]


def test_an_app_that_configured_opentelemetry_gets_spans_by_default(
    server: ThreadedDevServer,
) -> None:
    assert run(server, GLOBAL_PROVIDER) == "['auto']"
