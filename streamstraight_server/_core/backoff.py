"""Delays between connection attempts."""

from __future__ import annotations

import random

#: no single wait between attempts is longer than this (seconds), however many retries
MAX_RETRY_WAIT = 30.0


def retry_delay(first_delay_ms: int, retry: int) -> float:
    """Seconds to wait before retry ``retry`` (0-based): doubled each time, with jitter, and at
    most ``MAX_RETRY_WAIT``."""
    base = min(first_delay_ms / 1000 * 2.0 ** min(retry, 64), MAX_RETRY_WAIT)
    return min(base * (0.5 + random.random()), MAX_RETRY_WAIT)  # jitter spreads many producers
