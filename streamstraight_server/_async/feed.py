"""``stream()``: a source's chunks through one writer, stoppable by ``cancel()``, kept for
``on_complete``.

A stop ends the stream from the writer's own stop task (final chunk, END), so readers see the
end at once. The source is then closed where it is read: in the asynchronous client the task
reading it is cancelled if it is waiting on the source, which cancels the model's call; a
blocking source is closed once it yields its next chunk, which is dropped.

With ``on_complete``, a Streamstraight failure does not stop the source: it is read to its
end, so that the app can keep the whole answer, and the failure is raised afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from .._core.cancel import StreamCancelledError
from .._core.errors import StreamstraightServerError
from .._core.keep import OnComplete, StreamResult
from .._shims._async import AsyncInterrupt, Cancelled, run_callback
from .writer import AsyncStreamWriter

logger = logging.getLogger("streamstraight_server")


class AsyncFeed:
    """One ``stream()`` call."""

    def __init__(
        self,
        writer: AsyncStreamWriter,
        chunks: AsyncIterator[Any],
        on_complete: OnComplete | None,
    ) -> None:
        self._writer = writer
        self._chunks = chunks
        self._on_complete = on_complete
        self._kept: list[Any] | None = [] if on_complete is not None else None
        self._sent = 0
        self._exhausted = False
        self._source_error: BaseException | None = None
        self._failure: BaseException | None = None

    async def run(self) -> int:
        """Send every chunk, end the stream, and return how many chunks were sent."""
        interrupt = AsyncInterrupt()
        self._writer._on_stop(interrupt.request)
        try:
            try:
                async with self._writer as writer:
                    await self._feed(writer, interrupt)
            except StreamstraightServerError as exc:
                if exc is self._source_error:
                    raise
                self._failure = exc
                if self._kept is None:
                    raise
                await self._read_rest(interrupt)  # keep the whole answer for on_complete
                raise
        except BaseException as exc:
            if self._failure is None and self._source_error is None:
                self._failure = exc
            raise
        finally:
            interrupt.settle()
            if not self._exhausted:
                await close_source(self._chunks)
            if self._on_complete is not None:
                await self._complete()
        return self._sent

    async def _feed(self, writer: AsyncStreamWriter, interrupt: AsyncInterrupt) -> None:
        chunks = self._chunks
        kept = self._kept
        while not writer.cancelled:
            interrupt.armed = True  # a stop cancels this task while it waits on the source
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                self._exhausted = True
                return
            except Cancelled:
                if interrupt.absorb():
                    return  # stopped while the source was producing
                raise
            except Exception as exc:
                self._source_error = exc  # leaving the writer's block ends with producer-error
                raise
            finally:
                interrupt.armed = False
            if writer.cancelled:
                return  # yielded after the stop: not part of the stream
            try:
                seq = await writer.send(chunk)
            except StreamCancelledError:
                return  # the stop ended the stream while this chunk waited
            except BaseException:
                if kept is not None:
                    kept.append(chunk)  # the source yielded it: part of the answer
                raise
            if kept is not None:
                kept.append(chunk)
            if seq is not None:
                self._sent += 1

    async def _read_rest(self, interrupt: AsyncInterrupt) -> None:
        """After a Streamstraight failure: the rest of the source, for ``on_complete``."""
        chunks, kept = self._chunks, self._kept
        assert kept is not None
        while not self._writer.cancelled:
            interrupt.armed = True
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                self._exhausted = True
                return
            except Cancelled:
                if interrupt.absorb():
                    return
                raise
            except Exception as exc:
                self._source_error = exc
                return
            finally:
                interrupt.armed = False
            kept.append(chunk)

    async def _complete(self) -> None:
        writer = self._writer
        session = writer._session
        delivered = session is not None and session.machine.delivered
        error = self._failure if not delivered else None
        if error is None and not delivered and session is not None:
            error = session.machine.error
        result = StreamResult(
            stream_id=writer.stream_id or "",
            chunks=self._kept or [],
            stopped=writer.cancelled,
            delivered=delivered,
            error=error,
            source_error=self._source_error,
            stats=writer.stats,
        )
        await deliver(self._on_complete, result)


async def close_source(chunks: AsyncIterator[Any]) -> None:
    """Close a source left before its end (a generator's ``finally`` runs: the model's call
    is cancelled). Its error, if any, is logged: the stream's outcome stands."""
    close = getattr(chunks, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except Exception:
        logger.exception("closing the stream's source raised")


async def deliver(on_complete: OnComplete | None, result: StreamResult) -> None:
    """Call ``on_complete``; what it raises is logged with its traceback, never raised."""
    if on_complete is None:
        return
    try:
        await run_callback(on_complete, result)
    except Exception:
        logger.exception(
            "stream %r: on_complete raised; the stream is not affected", result.stream_id
        )
