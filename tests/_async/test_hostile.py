"""The hostile-server catalogue against this flavour: one case per mode of ``tests/hostile``.

The modes, and what each expects, are in ``tests/hostile/modes.py``; what every case asserts
(the verdict read from what the server stored, the deadline, the error's type and message, no
key fragment anywhere) in ``tests/hostile/checks.py``. Here: the scenario, and no thread, task
or descriptor left behind.
"""

from __future__ import annotations

import gc
import traceback
from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, StreamstraightServerError
from streamstraight_server._shims._async import monotonic
from tests.hostile.checks import KEY, Outcome, Records, captured_logs, verdict
from tests.hostile.modes import CATALOGUE, CHUNKS, OPTIONS, TRANSPORT, Mode
from tests.hostile.server import HostileServer, Stored
from tests.support._async.leftovers import nothing_left
from tests.support.leakcheck import take
from tests.support.shims._async import FLAVOUR


def cases() -> list[Any]:
    """One case per mode. A mode this flavour's transport cannot pass yet is a strict xfail; its
    reader may die meanwhile and leave its socket to the garbage collector, which is no news."""
    pending = [
        pytest.mark.xfail(strict=True, reason=TRANSPORT),
        pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
        pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    ]
    return [
        pytest.param(
            mode,
            id=mode.name,
            marks=[
                pytest.mark.timeout(mode.deadline + 30),
                *(pending if FLAVOUR in mode.pending else []),
            ],
        )
        for mode in CATALOGUE
    ]


async def scenario(
    mode: Mode, client: AsyncStreamstraight, stream_id: str
) -> tuple[StreamstraightServerError | None, Any]:
    """The call each mode is judged on: a whole stream, or one client token."""
    try:
        if mode.action == "token":
            return None, await client.fetch_client_token()
        writer = client.stream_writer(stream_id=stream_id)
        async with writer:
            for i in range(CHUNKS):
                await writer.send(f"chunk-{i}")
            await writer.flush()
            return None, await writer.close()
    except StreamstraightServerError as exc:
        return exc, None


async def run_case(mode: Mode, stream_id: str) -> tuple[Outcome, Stored, Records]:
    """The scenario against a server in ``mode``; the client is closed and has let go of every
    thread, task and descriptor it started."""
    with HostileServer(mode.behaviour()) as server, captured_logs() as records:
        before = take()
        client = AsyncStreamstraight(
            api_key=KEY, base_url=server.base_url, **{**OPTIONS, **mode.options}
        )
        started = monotonic()
        error, returned = await scenario(mode, client, stream_id)
        elapsed = monotonic() - started
        await client.aclose()
        await nothing_left(before, timeout=5.0)
    return Outcome(error, returned, elapsed), server.stored(stream_id), records


@pytest.mark.parametrize("mode", cases())
async def test_a_hostile_server(mode: Mode, capfd: pytest.CaptureFixture[str]) -> None:
    stream_id = f"hostile-{mode.name}"
    try:
        outcome, stored, records = await run_case(mode, stream_id)
    except BaseException as exc:
        # let go of the client now: what it leaked warns in this case, not in a later one
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        gc.collect()  # a socket the client dropped without closing warns here
    verdict(mode, outcome, stored, records, stream_id)
    assert "Traceback" not in capfd.readouterr().err
