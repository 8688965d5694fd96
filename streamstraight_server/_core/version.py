from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def sdk_version() -> str:
    try:
        return version("streamstraight-server")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"
