"""The leak check of the catalogue: any 8 characters of the API key in a row count as the key."""

from __future__ import annotations

#: the shortest run of the key's characters that counts as a leak
FRAGMENT = 8


def key_fragments(text: str, key: str, size: int = FRAGMENT) -> list[str]:
    """Every run of ``size`` characters of ``key`` that occurs in ``text``."""
    return [key[i : i + size] for i in range(len(key) - size + 1) if key[i : i + size] in text]
