"""Server text made safe: scrubbed of the key (whole, or any 8 characters of it), then cut."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from streamstraight_server._core.redact import (
    FRAGMENT,
    MASK,
    SHOWN,
    TOO_DEEP,
    ScrubbingFilter,
    cut,
    scrub,
    scrub_data,
    scrub_exception,
    shown,
    whole,
)
from tests.hostile.fragments import key_fragments

KEY = "sk_live_Zq8pW3nR5tY7uI9oK2lM4xC6vB1"


def test_every_run_of_eight_characters_of_the_key_is_masked() -> None:
    for start in range(len(KEY) - FRAGMENT + 1):
        for end in range(start + FRAGMENT, len(KEY) + 1):
            text = f"before {KEY[start:end]} after"
            assert scrub(text, KEY) == f"before {MASK} after", (start, end)
    assert scrub(f"7 of it: {KEY[3:10]}", KEY) == f"7 of it: {KEY[3:10]}"


def test_fragments_that_touch_or_overlap_become_one_mask() -> None:
    text = f"{KEY[:-1]}{KEY[5:]}|{KEY}{KEY}|{KEY[2:12]}"
    assert scrub(text, KEY) == f"{MASK}|{MASK}{MASK}|{MASK}"


@pytest.mark.parametrize("limit", [10, 100, SHOWN])
def test_shown_scrubs_before_it_cuts_wherever_the_key_falls(limit: int) -> None:
    for offset in range(limit + 2):
        text = "x" * offset + KEY + "y" * 400
        result = shown(text, KEY, limit=limit)
        assert not key_fragments(result, KEY), (offset, result)
        assert len(result) <= limit + 40


def test_shown_says_how_long_the_text_was_and_escapes_control_characters() -> None:
    result = shown("a\nfake: log line\r\x00\u2028" + "z" * 1000, limit=30)
    assert "\n" not in result and "\r" not in result and "\u2028" not in result
    assert result.startswith("a\\nfake: log line\\r\\x00\\u2028")
    assert result.endswith("... (1,019 characters in all)")
    assert cut("short") == "short"


def test_scrub_data_scrubs_every_string_at_any_depth_and_caps_the_depth() -> None:
    value = {
        "message": f"Bearer {KEY}",
        KEY: [1, None, True, {"deep": (KEY[:-2],)}],
        "raw": f"got {KEY}".encode(),
    }
    assert scrub_data(value, KEY) == {
        "message": f"Bearer {MASK}",
        MASK: [1, None, True, {"deep": (MASK,)}],
        "raw": f"got {MASK}".encode(),
    }
    deep: object = KEY
    for _ in range(100_000):
        deep = [deep]
    capped = scrub_data(deep, KEY)
    depth = 0
    while isinstance(capped, list):
        capped, depth = capped[0], depth + 1
    assert capped == TOO_DEEP and depth == 20
    assert KEY not in repr(scrub_data(deep, KEY))


def test_whole_writes_any_value_out_scrubbed() -> None:
    assert whole(f"a {KEY}", KEY) == f"a {MASK}"
    assert whole(f"a {KEY}", KEY, quoted=True) == f"'a {MASK}'"
    assert whole({"k": [KEY[1:]]}, KEY) == "{'k': ['***']}"
    assert whole(None) == "None"


def test_scrub_exception_cleans_the_whole_chain_in_place() -> None:
    class WithHeaders(Exception):
        def __init__(self, message: str, headers: object) -> None:
            super().__init__(message)
            self.headers = headers
            self.body = f"body {KEY}".encode()

    class Headers:
        def __init__(self, items: dict[str, str]) -> None:
            self._items = items

        def items(self) -> object:
            return self._items.items()

    @dataclass(frozen=True)
    class RequestInfo:
        url: str
        headers: tuple[tuple[str, str], ...]

    root = WithHeaders(f"answered 500: {KEY}", Headers({"X-Echo": f"Bearer {KEY}"}))
    root.request_info = RequestInfo("ws://h/", (("Authorization", f"Bearer {KEY}"),))  # type: ignore[attr-defined]
    try:
        try:
            raise root
        except WithHeaders as inner:
            raise ConnectionError(f"handshake failed ({KEY[:-1]})") from inner
    except ConnectionError as exc:
        top = exc
    scrub_exception(top, KEY)
    assert top.args == (f"handshake failed ({MASK})",)
    assert root.args == (f"answered 500: {MASK}",)
    assert root.headers == {"X-Echo": f"Bearer {MASK}"}
    assert root.body == f"body {MASK}".encode()
    assert root.request_info.endswith(  # type: ignore[attr-defined]
        "RequestInfo(url='ws://h/', headers=(('Authorization', 'Bearer ***'),))"
    )


def test_the_filter_scrubs_fragments_too() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "key %s", (KEY[:-1],), None)
    ScrubbingFilter(KEY).filter(record)
    assert record.getMessage() == f"key {MASK}"
