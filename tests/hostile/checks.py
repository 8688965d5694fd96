"""What every case of the catalogue asserts, shared by both flavours' test modules.

- the verdict is read from what the server stored: a stream reported delivered is held whole,
  in order, once, and ended ``completed``; an error never claims more confirmed chunks than the
  server holds;
- the call ended within its deadline (plus a margin for a loaded machine) with a documented
  error type and a message under 2,000 characters naming the stream;
- no fragment of the API key (any 8 characters of it in a row) appears in the error, its
  ``args``, ``details``, attributes, causes and contexts, its traceback, any log record, or
  what the call returned.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from streamstraight_server import StreamstraightServerError

from .fragments import key_fragments
from .modes import CHUNKS, Mode
from .server import Stored

#: the canary API key of every case: the hostile server echoes it back in many ways
KEY = "sk_" + secrets.token_urlsafe(32)
#: slack over a mode's deadline: the machine is shared and may be loaded
MARGIN = 5.0
#: the longest message or log record allowed
MAX_TEXT = 2000


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts (suppressed ones too), each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def exception_texts(exc: BaseException) -> list[str]:
    """Every text an exception shows or carries, down its whole chain."""
    texts = ["".join(traceback.format_exception(exc))]
    for link in _chain(exc):
        texts += [str(link), repr(link), repr(link.args)]
        texts += [repr(value) for value in vars(link).values()]
    return texts


class Records(logging.Handler):
    """Every log record a user would see with the SDK's logger at DEBUG (the libraries' own
    loggers at their defaults)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        found = []
        for record in self.records:
            text = record.getMessage() + repr(record.args)
            if record.exc_info and record.exc_info[1] is not None:
                text += "".join(exception_texts(record.exc_info[1]))
            found.append(text)
        return found

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == logging.WARNING]


@contextmanager
def captured_logs() -> Iterator[Records]:
    handler = Records()
    root, sdk = logging.getLogger(), logging.getLogger("streamstraight_server")
    level = sdk.level
    sdk.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        sdk.setLevel(level)


@dataclass
class Outcome:
    """How one call ended: its error, or what it returned."""

    error: StreamstraightServerError | None
    returned: Any
    elapsed: float


def expected_data() -> list[str]:
    return [f'"chunk-{i}"' for i in range(CHUNKS)]


def verdict(mode: Mode, outcome: Outcome, stored: Stored, records: Records, stream_id: str) -> None:
    """Every assertion of the catalogue on one case (see the module's doc)."""
    error = outcome.error
    # what the server stored decides whether the verdict was true
    sent = expected_data()
    assert stored.chunks == sent[: len(stored.chunks)], "the server holds other chunks"
    assert stored.conflicts == 0, "a seq was sent again with other data"
    if mode.action == "stream":
        if error is None:
            assert stored.chunks == sent, f"delivered, yet the server holds {len(stored.chunks)}"
            assert stored.ended and stored.end_reason == "completed"
        elif error.confirmed is not None:
            assert error.confirmed <= len(stored.chunks), (
                f"{error.confirmed} confirmed, the server holds {len(stored.chunks)}"
            )
        if mode.stored == "none":
            assert stored.chunks == []
        elif mode.stored == "all":
            assert stored.chunks == sent
    # the documented outcome, in time
    if mode.error:
        assert error is not None, f"{mode.name}: no error; expected {mode.error}"
        assert isinstance(error, mode.error), f"{type(error).__name__}: {str(error)[:500]}"
        message = str(error)
        assert len(message) < MAX_TEXT, f"a message of {len(message)} characters"
        if mode.action == "stream":
            assert repr(stream_id) in message, message[:500]
    else:
        assert error is None, f"{type(error).__name__}: {str(error)[:500]}"
    assert outcome.elapsed <= mode.deadline + MARGIN, (
        f"took {outcome.elapsed:.1f}s; its deadline is {mode.deadline:g}s"
    )
    # nothing leaked, nothing unbounded
    texts = [*records.texts(), repr(outcome.returned)]
    if error is not None:
        texts += exception_texts(error)
    for text in texts:
        assert not key_fragments(text, KEY), f"a key fragment leaked into: {text[:300]!r}"
    for record in records.records:
        size = len(record.getMessage())
        assert size < MAX_TEXT, f"a log record of {size} characters: {record.getMessage()[:200]}"
    if mode.check is not None:
        mode.check(outcome, stored, records)
