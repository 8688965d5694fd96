"""Delays between connection attempts."""

from __future__ import annotations

import random


def retry_delay(first_delay_ms: int, retry: int) -> float:
    """Seconds to wait before retry ``retry`` (0-based): doubled each time, with jitter."""
    base = first_delay_ms / 1000 * 2.0**retry
    return base * (0.5 + random.random())  # jitter spreads the retries of many producers
