"""What the examples' fake model writes, as the stream stores it."""

from __future__ import annotations

WORDS = 40


def answer_chunks(prompt: str = "word") -> list[str]:
    """The stream's chunks: each word as JSON text."""
    return [f'"{prompt}-{i} "' for i in range(WORDS)]


def answer_text(prompt: str = "word") -> str:
    """The HTTP response's body."""
    return "".join(f"{prompt}-{i} " for i in range(WORDS))
