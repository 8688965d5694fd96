"""Saying why a server could not be reached: nothing listens there, or something else."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

from .._core.local_server import NOT_RUNNING_HINT, is_loopback_url
from .common import ENV_BASE_URL


def unreachable(base_url: str, detail: str) -> str:
    """One line for a request to ``base_url`` that failed before any answer, naming the URL
    and, when nothing listens there, whether that is a ``streamstraight dev`` not running."""
    return nothing_listens(base_url) or f"cannot reach {base_url}: {_reason(detail)}"


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


def _reason(detail: str) -> str:
    """The operating system's reason out of an HTTP library's nested repr, when it has one."""
    errno = re.search(r"\[Errno [^\]]+\][^'\")]*", detail)
    if errno:
        return errno.group(0).strip()
    return detail if len(detail) <= 160 else detail[:157] + "..."


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
