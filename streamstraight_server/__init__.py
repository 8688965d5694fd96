"""Streamstraight producer SDK: async (``AsyncStreamstraight``) and blocking (``Streamstraight``).

The official SDK's names keep working: ``streamstraight_server(...)``, ``fetch_client_token``,
``StreamstraightServer``, ``ServerOptionsDict``, ``StreamOptionsDict`` and its errors.

The errors are imported at once; the other names when first used, so that importing the package
(as pytest does to load its plugin, ``streamstraight_server.testing``) costs next to nothing until
the SDK is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._core.cancel import CancelRelayError, StreamCancelledError
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
from ._core.stderr_fallback import install as _install_stderr_fallback

if TYPE_CHECKING:
    from ._async.client import AsyncStreamstraight
    from ._async.tokens import fetch_client_token
    from ._async.writer import AsyncStreamWriter
    from ._core.encoder import default_encoder
    from ._core.keep import StreamResult
    from ._core.options import ServerOptions, ServerOptionsDict, StreamOptions, StreamOptionsDict
    from ._core.stats import ClientStats, WriterStats
    from ._core.tokens import token_claims, token_expiry
    from ._official import streamstraight_server
    from ._sync.client import Streamstraight
    from ._sync.tokens import fetch_client_token as fetch_client_token_sync
    from ._sync.writer import StreamWriter

    #: the official SDK's name for the async client
    StreamstraightServer = AsyncStreamstraight
    __version__: str

#: public name -> (module, name in that module)
_LAZY: dict[str, tuple[str, str]] = {
    "AsyncStreamstraight": ("._async.client", "AsyncStreamstraight"),
    "StreamstraightServer": ("._async.client", "AsyncStreamstraight"),
    "streamstraight_server": ("._official", "streamstraight_server"),
    "fetch_client_token": ("._async.tokens", "fetch_client_token"),
    "AsyncStreamWriter": ("._async.writer", "AsyncStreamWriter"),
    "default_encoder": ("._core.encoder", "default_encoder"),
    "ServerOptions": ("._core.options", "ServerOptions"),
    "ServerOptionsDict": ("._core.options", "ServerOptionsDict"),
    "StreamOptions": ("._core.options", "StreamOptions"),
    "StreamOptionsDict": ("._core.options", "StreamOptionsDict"),
    "token_claims": ("._core.tokens", "token_claims"),
    "token_expiry": ("._core.tokens", "token_expiry"),
    "Streamstraight": ("._sync.client", "Streamstraight"),
    "fetch_client_token_sync": ("._sync.tokens", "fetch_client_token"),
    "StreamWriter": ("._sync.writer", "StreamWriter"),
    "StreamResult": ("._core.keep", "StreamResult"),
    "ClientStats": ("._core.stats", "ClientStats"),
    "WriterStats": ("._core.stats", "WriterStats"),
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._core.version import sdk_version

        value: Any = sdk_version()
    elif name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module, __name__), attribute)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# failures that lose a stream reach stderr until the app configures logging (see the module)
_install_stderr_fallback()

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
