"""What to say about a server that cannot be reached: the operating system's reason, and
whether it is the likely ``streamstraight dev`` on this machine that is not running."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

#: said when nothing answers at a loopback URL
NOT_RUNNING_HINT = "is `streamstraight dev` running?"

# requests: "... [Errno 111] Connection refused'))";
# aiohttp: "Cannot connect to host h:1 ssl:default [Connect call failed ('h', 1)]"
_REASONS = (
    re.compile(r"\[Errno [^\]]+\][^'\")]*"),
    re.compile(r"Cannot connect to host [^\[]*\[([^\]]+\)?)\]"),
)


def is_loopback_url(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def os_reason(detail: str) -> str:
    """The operating system's reason (``[Errno 111] Connection refused``) out of an HTTP
    library's nested description of a failure, when it has one; else the text, cut short."""
    for pattern in _REASONS:
        found = pattern.search(detail)
        if found:
            return found.group(found.lastindex or 0).strip()
    return detail if len(detail) <= 160 else detail[:157] + "..."


def unreachable_advice(url: str) -> str:
    """One sentence for a server that cannot be reached at ``url``."""
    if is_loopback_url(url):
        return f"Nothing answers on this machine: {NOT_RUNNING_HINT}"
    return "Check STREAMSTRAIGHT_API_BASE_URL or the base_url option, and the network"
