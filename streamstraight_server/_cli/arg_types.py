"""argparse ``type=`` converters: each raises ``ArgumentTypeError``, which argparse reports."""

from __future__ import annotations

import argparse


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text}")
    return value


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def host_name(text: str) -> str:
    """A name for ``--allowed-host``: ``example.test``, ``.example.test`` (with subdomains)."""
    name = text.strip()
    if not name or any(c.isspace() or c in "/:@?#" for c in name.strip("[]")):
        raise argparse.ArgumentTypeError(
            f"expected a host name such as dev.example.test or .example.test, got {text!r}"
        )
    return name


def origin(text: str) -> str:
    """An origin for ``--cors-origin``: ``scheme://host[:port]`` with no path."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise argparse.ArgumentTypeError(
            f"expected an origin such as https://app.example.test:3000, got {text!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"
