"""Saying why a server could not be reached: nothing listens there, or something else."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from .._core.unreachable import NOT_RUNNING_HINT, is_loopback_url, os_reason
from .common import ENV_BASE_URL


def unreachable(base_url: str, detail: str) -> str:
    """One line for a request to ``base_url`` that failed before any answer, naming the URL
    and, when nothing listens there, whether that is a ``streamstraight dev`` not running."""
    return nothing_listens(base_url) or f"cannot reach {base_url}: {os_reason(detail)}"


def nothing_listens(base_url: str) -> str | None:
    """The line to print when connections to ``base_url`` are refused; None when they are not."""
    if not _refuses_connections(base_url):
        return None
    if is_loopback_url(base_url):
        return (
            f"nothing listens at {base_url} (connection refused): {NOT_RUNNING_HINT} "
            f"Start it, or point {ENV_BASE_URL} at the server"
        )
    return f"nothing listens at {base_url} (connection refused); check {ENV_BASE_URL}"


def _refuses_connections(base_url: str) -> bool:
    try:
        parts = urlsplit(base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    try:
        with socket.create_connection((parts.hostname, port), timeout=2.0):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
