"""The official SDK's entry points, unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._async.client import AsyncStreamstraight
from ._core.options import ServerOptions, StreamOptions


async def streamstraight_server(
    server_options: Mapping[str, Any] | ServerOptions,
    stream_options: Mapping[str, Any] | StreamOptions,
) -> AsyncStreamstraight:
    """Create a client and connect it to a stream (the official SDK's factory)."""
    client = AsyncStreamstraight(server_options)
    await client.connect(stream_options)
    return client
