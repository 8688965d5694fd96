"""A local Streamstraight-compatible server for development and tests.

Public API: ``DevServer`` (asyncio), ``ThreadedDevServer`` (background thread), ``DevServerConfig``,
``Faults``, ``StreamSnapshot``, ``StoredChunk``; the consumer client lives in ``.consumer``, and
``.narration`` turns what the server does (``add_listener``) into the lines ``streamstraight dev``
prints.
"""

from .config import DevServerConfig, Faults
from .embed import DevServer, ThreadedDevServer
from .store import StoredChunk, StreamSnapshot

__all__ = [
    "DevServer",
    "DevServerConfig",
    "Faults",
    "StoredChunk",
    "StreamSnapshot",
    "ThreadedDevServer",
]
