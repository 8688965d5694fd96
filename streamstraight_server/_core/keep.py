"""Keeping the finished answer: what ``on_complete`` receives once a stream is over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError
from .stats import WriterStats


@dataclass(frozen=True)
class StreamResult:
    """A stream written by ``stream()`` or ``tee()``, once its source ended or was stopped.

    ``chunks`` are the source's chunks as it yielded them (a stopped stream's final chunk is
    not among them). ``delivered`` is True when Streamstraight confirmed the stream's END;
    otherwise ``error`` says why (the source's own exception is ``source_error``).
    """

    stream_id: str
    chunks: list[Any]
    stopped: bool
    delivered: bool
    error: BaseException | None = None
    source_error: BaseException | None = None
    stats: WriterStats | None = field(default=None, repr=False)

    @property
    def text(self) -> str | None:
        """The chunks joined, when every chunk is a string (``""`` for none); else None."""
        chunks = self.chunks
        if all(isinstance(chunk, str) for chunk in chunks):
            return "".join(chunks)
        return None


#: ``on_complete``: a function of the result; the asyncio client also awaits a coroutine function
OnComplete = Callable[[StreamResult], Any]


def check_on_complete(on_complete: object) -> None:
    if on_complete is not None and not callable(on_complete):
        raise ConfigurationError(
            f"on_complete must be a function taking the stream's result, not "
            f"{type(on_complete).__name__}"
        )
