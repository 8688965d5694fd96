"""The flavour-neutral parts of stop, keep and watch, with no sockets."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from streamstraight_server._core.cancel import (
    NO_FINAL_CHUNK,
    CancelRequest,
    channel_for,
    check_cancel_url,
    shown_url,
    stream_of,
)
from streamstraight_server._core.errors import ConfigurationError, DataLossError, EncodeError
from streamstraight_server._core.keep import StreamResult
from streamstraight_server._core.machine import State, StreamMachine
from streamstraight_server._core.options import ServerOptions
from streamstraight_server._core.protocol import StreamInfo
from streamstraight_server._core.stats import (
    ACK_PENDING,
    ACK_SAMPLE_EVERY,
    ACK_SAMPLES,
    StreamCounters,
    percentile,
)
from streamstraight_server._core.telemetry import TelemetryChoice
from streamstraight_server._core.watch import StreamWatch, WatchHub
from tests.core.test_machine import connect_action, dropped, info, opened, send


@dataclasses.dataclass
class Point:
    x: int
    y: int


# -- the cancel request ------------------------------------------------------------------


@pytest.mark.parametrize("final", ["stopped", {"type": "stopped"}, [1, None], Point(1, 2), None])
def test_a_request_travels_as_json_and_comes_back(final: Any) -> None:
    request = CancelRequest.build(final, "producer-error")
    back = CancelRequest.from_message(request.to_message().encode())
    expected = dataclasses.asdict(final) if isinstance(final, Point) else final
    assert back == CancelRequest("producer-error", expected)
    assert back.has_final_chunk


def test_no_final_chunk_is_not_none() -> None:
    request = CancelRequest.build(NO_FINAL_CHUNK, "completed")
    assert not request.has_final_chunk and repr(NO_FINAL_CHUNK) == "NO_FINAL_CHUNK"
    back = CancelRequest.from_message(request.to_message())
    assert back is not None and not back.has_final_chunk
    assert CancelRequest.build(None, "completed").has_final_chunk


def test_bad_requests_are_refused_or_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigurationError, match="reason must be one of completed, producer"):
        CancelRequest.build(NO_FINAL_CHUNK, "done")
    with pytest.raises(EncodeError, match="JSON-encodable to travel"):
        CancelRequest.build(object(), "completed").to_message()
    caplog.set_level(logging.WARNING, logger="streamstraight_server")
    for raw in (b"\xff", "not json", "[]", '{"v": 2}', '{"v": 1, "reason": "bye"}'):
        assert CancelRequest.from_message(raw) is None
    assert len(caplog.records) == 5


def test_channels_and_urls() -> None:
    assert stream_of(channel_for("answer-42").encode()) == "answer-42"
    assert stream_of("other:channel") is None
    assert shown_url("redis://user:pw@host:6380/1?password=pw") == "redis://***@host:6380/1"
    assert shown_url("rediss://host/0") == "rediss://host/0"
    assert check_cancel_url("unix:///run/redis.sock") == "unix:///run/redis.sock"
    for bad in ("", "http://h", "redis://h:port", "redis:///0"):
        with pytest.raises(ConfigurationError):
            check_cancel_url(bad)
    with pytest.raises(ConfigurationError) as caught:
        check_cancel_url("http://u:secret-pw@h")
    assert "secret-pw" not in str(caught.value)


# -- the result ---------------------------------------------------------------------------


def test_the_text_of_a_result() -> None:
    def result(chunks: list[Any]) -> StreamResult:
        return StreamResult("s", chunks, stopped=False, delivered=True)

    assert result(["a", "b"]).text == "ab"
    assert result([]).text == ""
    assert result(["a", {"b": 1}]).text is None


# -- counters -----------------------------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99
    assert percentile([3.0], 0.99) == 3.0 and percentile([], 0.5) is None


def test_latency_is_sampled_one_chunk_in_n_a_few_at_a_time() -> None:
    counters = StreamCounters(0.0)
    sampled = []
    for seq in range(200):
        if seq >= counters.next_sample:
            counters.sample(seq, float(seq))
            sampled.append(seq)
    assert sampled == [i * ACK_SAMPLE_EVERY for i in range(200 // ACK_SAMPLE_EVERY + 1)]
    assert counters.sample_seq == 0
    counters.samples_confirmed(40, 100.0)  # seq 0, 16 and 32 are confirmed
    assert counters.latencies() == [100.0, 84.0, 68.0]
    assert counters.sample_seq == 48 and counters.time_to_first_confirm == 100.0
    counters.samples_confirmed(1000, 300.0)
    assert len(counters.latencies()) == ACK_PENDING  # the ones beyond were not timed
    assert counters.sample_seq > 10**9


def test_the_ring_keeps_the_latest_samples_in_order() -> None:
    counters = StreamCounters(0.0)
    for seq in range(ACK_SAMPLES + 10):
        counters.sample(seq, 0.0)
        counters.samples_confirmed(seq + 1, float(seq))
    latest = counters.latencies()
    assert len(latest) == ACK_SAMPLES and latest[0] == 10.0 and latest[-1] == ACK_SAMPLES + 9


# -- the watched machine ------------------------------------------------------------------


def test_the_watched_machine_reports_a_drop_then_a_resume() -> None:
    hub = WatchHub(TelemetryChoice(False, "http://h"))
    watch = hub.watch("s-1", 0.0)
    machine = StreamMachine("s-1", ServerOptions(api_key="k"), observer=watch)
    watch.attach(machine, _NoLock())
    generation = opened(machine)
    send(machine, 5)
    machine.ack(generation, 2)
    again = dropped(machine, generation)
    machine.connection_lost(again, 1.5)  # a failed attempt while resuming: not a new drop
    third = connect_action(machine).generation
    machine.handshake_ok(third, 2.0)
    machine.info(third, StreamInfo.parse(info(2)), 2.0)
    assert machine.state is State.OPEN
    assert (watch.counters.drops, watch.counters.reconnects) == (1, 1)
    assert hub.snapshot().live_writers == 1


def test_the_watched_machine_reports_data_loss_and_the_outcome() -> None:
    hub = WatchHub(TelemetryChoice(False, "http://h"))
    watch = hub.watch("s-1", 0.0)
    options = ServerOptions(api_key="k", max_in_flight_chunks=2)
    machine = StreamMachine("s-1", options, observer=watch)
    watch.attach(machine, _NoLock())
    generation = opened(machine)
    send(machine, 2)
    machine.ack(generation, 1)
    send(machine, 2)  # seq 0 and 1 are forgotten to make room
    again = dropped(machine, generation)
    machine.info(again, StreamInfo.parse(info(None)), 1.0)  # the server lost everything
    assert isinstance(watch.error, DataLossError)
    watch.finish(2.0)
    stats = hub.snapshot()
    assert stats.failed == 1 and dict(stats.failures) == {"DataLossError": 1}
    assert watch.stats().outcome == "failed" and stats.live_writers == 0


def test_an_unattached_watch_has_empty_figures() -> None:
    stats = StreamWatch("s", 0.0).stats()
    assert stats.state == "not started" and stats.chunks_sent == 0


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None
