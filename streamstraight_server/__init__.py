"""Streamstraight producer SDK: async (``AsyncStreamstraight``) and blocking (``Streamstraight``).

The official SDK's names keep working: ``streamstraight_server(...)``, ``fetch_client_token``,
``StreamstraightServer``, ``ServerOptionsDict``, ``StreamOptionsDict`` and its errors.
"""

from __future__ import annotations

import logging

from ._async.client import AsyncStreamstraight
from ._async.compat import streamstraight_server
from ._async.tokens import fetch_client_token
from ._async.writer import AsyncStreamWriter
from ._core.cancel import CancelRelayError, StreamCancelledError
from ._core.encoder import default_encoder
from ._core.errors import (
    AckTimeoutError,
    AuthenticationError,
    ChunkTooLargeError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DataLossError,
    EncodeError,
    EndRejectedError,
    EndTimeoutError,
    HandshakeRejectedError,
    ReaderDetachedError,
    StreamBusyError,
    StreamError,
    StreamstraightServerAbortError,
    StreamstraightServerError,
    StreamstraightTimeoutError,
    StreamstraightTokenError,
    TokenAuthenticationError,
    WriterClosedError,
)
from ._core.keep import StreamResult
from ._core.options import ServerOptions, ServerOptionsDict, StreamOptions, StreamOptionsDict
from ._core.stats import ClientStats, WriterStats
from ._core.tokens import token_claims, token_expiry
from ._core.version import sdk_version
from ._sync.client import Streamstraight
from ._sync.tokens import fetch_client_token as fetch_client_token_sync
from ._sync.writer import StreamWriter

#: the official SDK's name for the async client
StreamstraightServer = AsyncStreamstraight

__version__ = sdk_version()

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AckTimeoutError",
    "AsyncStreamWriter",
    "AsyncStreamstraight",
    "AuthenticationError",
    "CancelRelayError",
    "ChunkTooLargeError",
    "ClientStats",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "DataLossError",
    "EncodeError",
    "EndRejectedError",
    "EndTimeoutError",
    "HandshakeRejectedError",
    "ReaderDetachedError",
    "ServerOptions",
    "ServerOptionsDict",
    "StreamBusyError",
    "StreamCancelledError",
    "StreamError",
    "StreamOptions",
    "StreamOptionsDict",
    "StreamResult",
    "StreamWriter",
    "Streamstraight",
    "StreamstraightServer",
    "StreamstraightServerAbortError",
    "StreamstraightServerError",
    "StreamstraightTimeoutError",
    "StreamstraightTokenError",
    "TokenAuthenticationError",
    "WriterClosedError",
    "WriterStats",
    "__version__",
    "default_encoder",
    "fetch_client_token",
    "fetch_client_token_sync",
    "streamstraight_server",
    "token_claims",
    "token_expiry",
]
