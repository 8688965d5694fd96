"""Whether a URL points at this machine, where ``streamstraight dev`` is the likely server."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: said when nothing answers at a loopback URL
NOT_RUNNING_HINT = "is `streamstraight dev` running?"


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


def unreachable_advice(url: str) -> str:
    """One sentence for a server that cannot be reached at ``url``."""
    if is_loopback_url(url):
        return f"Nothing answers on this machine: {NOT_RUNNING_HINT}"
    return "Check STREAMSTRAIGHT_API_BASE_URL or the base_url option, and the network."
