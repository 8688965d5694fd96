"""The in-flight window: what the producer still holds, and which of it the server confirmed."""

from __future__ import annotations

import pytest

from streamstraight_server._core.acks import InFlightWindow, PendingChunk


def filled(
    count: int, *, max_chunks: int = 4, max_bytes: int = 100, size: int = 10
) -> InFlightWindow:
    window = InFlightWindow(max_chunks, max_bytes)
    for i in range(count):
        assert window.add(f"c{i}", size) == i
    return window


def held_seqs(window: InFlightWindow) -> list[int]:
    return [chunk.seq for chunk in window.chunks_from(window.oldest_held)]


def test_an_empty_window_has_room_even_for_a_chunk_above_the_byte_limit() -> None:
    window = InFlightWindow(2, 10)
    assert window.has_room(50)
    window.add("big", 50)
    assert window.held_bytes == 50 and not window.has_room(1)


def test_room_is_counted_in_chunks() -> None:
    window = filled(3, max_chunks=4, max_bytes=1000)
    assert window.has_room(10)
    window.add("c3", 10)
    assert not window.has_room(1)
    assert window.unconfirmed == 4 and held_seqs(window) == [0, 1, 2, 3]


def test_room_is_counted_in_bytes() -> None:
    window = filled(2, max_chunks=100, max_bytes=30, size=10)
    assert window.has_room(10)  # exactly at the limit fits
    assert not window.has_room(11)
    assert window.held_bytes == 20


def test_confirmed_chunks_stay_while_there_is_room() -> None:
    window = filled(3, max_chunks=4)
    assert window.note_ack(1)
    assert window.has_room(10)
    assert held_seqs(window) == [0, 1, 2] and window.oldest_held == 0


def test_confirmed_chunks_are_evicted_first_and_only_as_needed() -> None:
    window = filled(4, max_chunks=4)
    window.note_ack(1)  # seq 0 and 1 confirmed
    assert window.has_room(10)
    assert held_seqs(window) == [1, 2, 3]  # one evicted: enough for one chunk
    window.add("c4", 10)
    assert window.has_room(10)
    assert held_seqs(window) == [2, 3, 4]
    assert window.held_bytes == 30


def test_confirmed_chunks_are_evicted_for_bytes_too() -> None:
    window = filled(3, max_chunks=100, max_bytes=30, size=10)
    window.note_ack(2)  # everything confirmed
    assert window.has_room(20)
    assert held_seqs(window) == [2]  # two evicted to make 20 bytes fit next to 10
    assert window.held_bytes == 10


def test_has_room_never_evicts_unconfirmed_chunks() -> None:
    window = filled(4, max_chunks=4)
    window.note_ack(0)
    assert window.has_room(10)
    window.add("c4", 10)
    assert not window.has_room(10)
    assert held_seqs(window) == [1, 2, 3, 4]  # all unconfirmed: all kept
    assert window.oldest_held == 1 and window.acked_through == 1


def test_evict_for_forgets_unconfirmed_chunks_and_counts_them() -> None:
    window = filled(4, max_chunks=4)
    window.note_ack(0)
    assert window.evict_for(10) == 0  # the confirmed seq 0 was enough
    assert held_seqs(window) == [1, 2, 3]
    window.add("c4", 10)
    assert window.evict_for(10) == 1  # seq 1 is unconfirmed and had to go
    assert held_seqs(window) == [2, 3, 4]
    assert window.acked_through == 1  # forgetting does not confirm


def test_evict_for_bytes_may_empty_the_window() -> None:
    window = filled(3, max_chunks=100, max_bytes=30, size=10)
    assert window.evict_for(30) == 3
    assert held_seqs(window) == [] and window.held_bytes == 0
    assert window.oldest_held == window.sent == 3


def test_evict_for_does_nothing_when_there_is_room() -> None:
    window = filled(2)
    assert window.evict_for(10) == 0
    assert held_seqs(window) == [0, 1]


def test_note_ack_is_cumulative() -> None:
    window = filled(5)
    assert window.note_ack(3)
    assert window.acked_through == 4 and window.unconfirmed == 1 and window.acks_seen


@pytest.mark.parametrize("seq", [5, 6, -1, "2", 2.0, None, True, False, [1]])
def test_note_ack_ignores_unsent_negative_and_non_int_seqs(seq: object) -> None:
    window = filled(5)
    assert not window.note_ack(seq)
    assert window.acked_through == 0 and not window.acks_seen


def test_note_ack_ignores_old_seqs() -> None:
    window = filled(5)
    window.note_ack(3)
    assert not window.note_ack(1)
    assert not window.note_ack(0)
    assert window.acked_through == 4
    assert window.note_ack(4) and window.acked_through == 5


def test_an_ack_of_the_last_confirmed_seq_again_is_not_news() -> None:
    window = filled(3)
    window.note_ack(1)
    assert not window.note_ack(1)
    assert window.acked_through == 2


def test_confirm_all() -> None:
    window = filled(3)
    window.confirm_all()
    assert window.acked_through == 3 and window.unconfirmed == 0


def test_start_at_continues_a_stream_an_earlier_producer_wrote() -> None:
    window = InFlightWindow(4, 100)
    window.start_at(7)
    assert window.base == window.sent == window.acked_through == window.oldest_held == 7
    assert window.add("x", 1) == 7
    assert window.unconfirmed == 1
    assert not window.note_ack(6)
    assert window.note_ack(7)


def test_start_at_after_a_confirmation_is_a_bug() -> None:
    window = filled(1)
    assert window.note_ack(0)
    with pytest.raises(RuntimeError):
        window.start_at(3)


def test_start_at_numbers_on_the_chunks_taken_before_the_connection() -> None:
    window = filled(2)  # taken while the first connection was being made
    window.start_at(3)  # the server already holds seq 0..2 from an earlier producer
    assert (window.base, window.sent, window.acked_through) == (3, 5, 3)
    assert [chunk.seq for chunk in window.chunks_from(3)] == [3, 4]


def test_server_holds_may_lower_what_is_confirmed() -> None:
    window = filled(5)
    window.note_ack(3)
    window.server_holds(2)
    assert window.acked_through == 2 and window.unconfirmed == 3
    # seq 2 and 3 can be confirmed again
    assert window.note_ack(2) and window.acked_through == 3


def test_chunks_from_returns_the_held_chunks_from_a_seq() -> None:
    window = filled(4, max_chunks=4)
    window.note_ack(1)
    window.has_room(10)  # evicts seq 0
    assert window.oldest_held == 1
    assert window.chunks_from(2) == [PendingChunk(2, "c2", 10), PendingChunk(3, "c3", 10)]
    assert window.chunks_from(1)[0] == PendingChunk(1, "c1", 10)
    assert window.chunks_from(4) == []


def test_chunks_from_after_start_at() -> None:
    window = InFlightWindow(4, 100)
    window.start_at(10)
    window.add("a", 1)
    window.add("b", 1)
    assert [c.seq for c in window.chunks_from(11)] == [11]
    assert [c.data for c in window.chunks_from(10)] == ["a", "b"]
