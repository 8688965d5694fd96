"""The in-flight window, without any I/O."""

from __future__ import annotations

import pytest

from streamstraight_server._core.acks import InFlightWindow, ResumeImpossible


def filled(count: int, *, max_chunks: int = 100, max_bytes: int = 10_000) -> InFlightWindow:
    window = InFlightWindow(max_chunks, max_bytes)
    for i in range(count):
        assert window.add(f"chunk-{i}") == i
    return window


def test_acks_confirm_everything_below_them() -> None:
    window = filled(5)
    window.note_ack(2)
    window.prune()
    assert window.confirmed == 3 and window.unconfirmed == 2
    assert window.bytes == len("chunk-3") + len("chunk-4")


def test_acks_for_unsent_or_old_seqs_are_ignored() -> None:
    window = filled(3)
    window.note_ack(3)  # an old server's END ack: lastSeq + 1
    window.note_ack(-1)
    window.note_ack("2")
    window.note_ack(True)
    assert window.acked_through == 0 and not window.acks_seen
    window.note_ack(1)
    window.note_ack(0)  # late duplicate
    assert window.acked_through == 2


def test_room_is_bounded_by_chunks_and_bytes() -> None:
    window = filled(3, max_chunks=3)
    assert not window.has_room(1)
    window.note_ack(0)
    assert window.has_room(1)
    by_bytes = InFlightWindow(100, 20)
    by_bytes.add("x" * 15)
    assert not by_bytes.has_room(6) and by_bytes.has_room(5)


def test_a_chunk_larger_than_the_byte_bound_still_fits_an_empty_window() -> None:
    window = InFlightWindow(10, 4)
    assert window.has_room(1000)


def test_resume_resends_what_the_server_lacks() -> None:
    window = filled(6)
    window.note_ack(1)
    resend = window.resume_from(3)
    assert [chunk.seq for chunk in resend] == [4, 5]
    assert window.confirmed == 4


def test_resume_without_server_info_resends_everything_unconfirmed() -> None:
    window = filled(4)
    window.note_ack(0)
    assert [chunk.seq for chunk in window.resume_from(None)] == [1, 2, 3]


def test_resume_refuses_a_server_that_holds_more_than_was_sent() -> None:
    with pytest.raises(ResumeImpossible, match="only 2 chunks were sent"):
        filled(2).resume_from(5)


def test_resume_refuses_when_evicted_chunks_are_missing() -> None:
    window = filled(5)
    window.end_only = True
    window.evict_oldest()
    window.evict_oldest()
    with pytest.raises(ResumeImpossible, match=r"lacks seq 0\.\.1"):
        window.resume_from(None)
    assert [chunk.seq for chunk in window.resume_from(1)] == [2, 3, 4]


def test_start_at_continues_numbering() -> None:
    window = InFlightWindow(10, 100)
    window.start_at(7)
    assert window.add("x") == 7 and window.sent == 8 and window.unconfirmed == 1


def test_confirm_all_empties_the_window() -> None:
    window = filled(4)
    window.confirm_all()
    assert window.unconfirmed == 0 and window.bytes == 0 and window.confirmed == 4
