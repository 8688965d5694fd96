from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache  # reading the installed metadata costs about as much as a local handshake
def sdk_version() -> str:
    try:
        return version("streamstraight-server")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"
