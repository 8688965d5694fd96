"""What the server says, made fit for an error or a log: scrubbed of the key, cut short, and
hints checked before they are passed on (see ``redact``)."""

from __future__ import annotations

import logging

from .backoff import MAX_RETRY_WAIT
from .errors import EndRejectedError, StreamError
from .protocol import PRODUCER_END_REASONS, EndAnswer, ServerError
from .redact import cut, scrub, shown, whole

logger = logging.getLogger("streamstraight_server")

#: longest ``endRedisId`` passed on; a longer one is not an id
MAX_END_ID = 256
#: longest error code or end reason of the server's shown in a message
MAX_CODE = 64
_OTHER_END_REASONS = ("producer-disconnected", "inactivity-timeout", "not-found", "ignore-ended")


def stream_error(error: ServerError, key: str, stream_id: str) -> StreamError:
    """The error a ``stream:error`` fails the stream with."""
    return StreamError(
        f"the server reported: {shown(error.message, key)}",
        code=None if error.code is None else shown(error.code, key, limit=MAX_CODE),
        retry_in_ms=retry_hint(error.retry_in_ms, stream_id),
        server_message=scrub(error.message, key),
    )


def retry_hint(retry: object, stream_id: str) -> int | None:
    """``retryInMs`` when it is a whole number of ms within the longest retry wait."""
    if retry is None:
        return None
    if type(retry) is int and 0 <= retry <= MAX_RETRY_WAIT * 1000:
        return retry
    logger.warning(
        "stream %r: ignoring the server's retryInMs %s: not a whole number of milliseconds "
        "from 0 to %d",
        stream_id,
        cut(whole(retry), limit=40),
        int(MAX_RETRY_WAIT * 1000),
    )
    return None


def end_refusal(answer: EndAnswer, key: str) -> EndRejectedError:
    """The error an answer to END other than success fails the stream with."""
    if answer.success is False:
        reason = whole(answer.error or "no reason given", key)
        return EndRejectedError(f"the server refused END: {cut(reason)}", server_message=reason)
    said = whole(answer.raw, key, quoted=True)
    return EndRejectedError(f"the server answered END with {cut(said)}", server_message=said)


def end_id(value: object, key: str, stream_id: str) -> str:
    """The server's id for END, if it looks like one."""
    if isinstance(value, str) and len(value) <= MAX_END_ID:
        return scrub(value, key)
    if value is not None:
        logger.warning(
            "stream %r: the server's endRedisId is not an id (%s); it is not passed on",
            stream_id,
            cut(whole(value, key), limit=60),
        )
    return ""


def end_reason(reason: str, key: str) -> str:
    """An end reason of the server's as a message shows it."""
    if reason in PRODUCER_END_REASONS or reason in _OTHER_END_REASONS:
        return reason
    return shown(reason, key, limit=MAX_CODE)
