"""Failures a person must see reach stderr when the app has set up no logging for them.

A library logger usually carries only a ``NullHandler``, and then a record goes nowhere until the
app configures logging; uvicorn configures its own ``uvicorn.*`` loggers only, so a web app that
never called ``logging.basicConfig`` would drop every stream quietly. Records logged with
``extra=FOR_A_PERSON`` (a stream that was lost, a misuse that stalls an app) are therefore written
to stderr, one line each, by :class:`StderrFallback`, but only while no other handler would see
them: once the app has a handler on the ``streamstraight_server`` logger or any of its ancestors
(``basicConfig``, Django's ``LOGGING`` with a root handler, pytest's log capture), records go
through the app's logging alone. Records without the mark (connection attempts, resumes) stay
where they are today: nowhere, unless logging is configured.

The handler sits on the ``streamstraight_server`` logger, so Python's ``logging.lastResort``
never fires for it: there is one line, never two.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

LOGGER_NAME: Final = "streamstraight_server"

_MARK: Final = "streamstraight_for_a_person"
#: ``logger.error(..., extra=FOR_A_PERSON)``: this record reaches stderr if nothing else handles it
FOR_A_PERSON: Final = {_MARK: True}

#: records that a person must see but that code outside this change logs without the mark:
#: (module, function). The blocking client's "called on an event loop's thread" warning is
#: logged by the hand-written transport shim.
_UNMARKED_FOR_A_PERSON: Final = frozenset({("_sync", "check_blocking_allowed")})


def for_a_person(record: logging.LogRecord) -> bool:
    """Whether ``record`` is one a person must see (a lost stream, a misuse)."""
    if getattr(record, _MARK, False):
        return True
    return (record.module, record.funcName) in _UNMARKED_FOR_A_PERSON


class StderrFallback(logging.Handler):
    """Writes records meant for a person to stderr while no other handler would see them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if not for_a_person(record) or self._handled_elsewhere(record):
            return
        stream = sys.stderr  # looked up now: a test or a daemon may have replaced it
        if stream is None:
            return
        try:
            text = " ".join(record.getMessage().splitlines())
            stream.write(f"{LOGGER_NAME} {record.levelname}: {text}\n")
            stream.flush()
        except Exception:
            self.handleError(record)

    def _handled_elsewhere(self, record: logging.LogRecord) -> bool:
        """Whether a handler other than this one sits where the record propagates."""
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


def install() -> None:
    """Put the fallback on the package's logger, once (a reload must not add a second)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(type(handler).__name__ == StderrFallback.__name__ for handler in logger.handlers):
        logger.addHandler(StderrFallback())
