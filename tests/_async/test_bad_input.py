"""The bad-input catalogue: every case raises a clear error before anything is sent.

Each case checks the exception's class and that its message names the problem, that nothing
reached the server (no stream, or no chunk of it), and that no thread, descriptor or task was
left behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    ChunkTooLargeError,
    ConfigurationError,
    EncodeError,
    StreamstraightServerError,
    StreamstraightTokenError,
)
from streamstraight_server.devserver import ThreadedDevServer
from tests.support._async.leftovers import nothing_left
from tests.support.leakcheck import take
from tests.support.token_responder import TokenResponder

KEY = "sk_catalogue_" + "Q7wz" * 5


def _cycle() -> list[Any]:
    cycle: list[Any] = []
    cycle.append(cycle)
    return cycle


# -- the constructor -----------------------------------------------------------------------

CONSTRUCTOR: list[tuple[str, dict[str, Any], str]] = [
    ("key-missing", {}, "api_key is required"),
    ("key-empty", {"api_key": ""}, "api_key is required"),
    ("key-blank", {"api_key": "   "}, "api_key is required"),
    ("key-padded", {"api_key": f" {KEY} "}, "api_key has surrounding whitespace"),
    ("key-nul", {"api_key": "sk_a\x00b"}, r"api_key must be printable ASCII.*U\+0000"),
    ("key-non-ascii", {"api_key": "sk_clé"}, r"api_key must be printable ASCII.*U\+00E9"),
    ("key-inner-space", {"api_key": "sk_a b"}, "api_key must be printable ASCII"),
    ("key-not-a-string", {"api_key": 1234}, "api_key is required"),
    ("url-malformed", {"base_url": "http://[::1"}, "base_url .* is malformed"),
    ("url-bad-port", {"base_url": "http://127.0.0.1:99999"}, "base_url .* is malformed"),
    ("url-ws", {"base_url": "ws://127.0.0.1:8787"}, "base_url must be an http:// or https://"),
    ("url-no-scheme", {"base_url": "127.0.0.1:8787"}, "base_url must be an http:// or https://"),
    ("url-query", {"base_url": "http://127.0.0.1:8787/?x=1"}, "base_url must not have a query"),
    ("url-fragment", {"base_url": "http://127.0.0.1:8787/#top"}, "base_url must not have a query"),
    ("url-credentials", {"base_url": "http://u:p@127.0.0.1:8787"}, "must not carry credentials"),
    ("url-not-a-string", {"base_url": 8787}, "base_url must be a string"),
    ("timeout-negative", {"connect_timeout": -1}, "connect_timeout must be a number of seconds"),
    ("timeout-zero", {"ack_timeout": 0}, "ack_timeout must be a number of seconds above 0"),
    ("timeout-nan", {"ack_timeout": math.nan}, "ack_timeout must be a number of seconds"),
    ("timeout-inf", {"end_timeout": math.inf}, "end_timeout must be a number of seconds"),
    ("timeout-huge", {"end_timeout": 1e9}, "end_timeout .* at most 86400"),
    ("timeout-bool", {"http_timeout": True}, "http_timeout must be a number of seconds"),
    ("timeout-string", {"connect_timeout": "5"}, "connect_timeout must be a number of seconds"),
    ("retries-negative", {"num_connect_retries": -1}, "num_connect_retries must be an integer"),
    ("retries-huge", {"num_connect_retries": 10**6}, "num_connect_retries .* from 0 to 100"),
    ("retries-bool", {"resume_attempts": True}, "resume_attempts must be an integer"),
    ("retries-string", {"num_connect_retries": "3"}, "num_connect_retries must be an integer"),
    ("retries-float", {"num_connect_retries": 2.5}, "num_connect_retries must be an integer"),
    ("chunk-limit-huge", {"max_chunk_bytes": 2 * 1024**3}, "max_chunk_bytes must be an integer"),
    ("chunk-limit-zero", {"max_chunk_bytes": 0}, "max_chunk_bytes must be an integer from 1"),
    ("unknown-option", {"conect_timeout": 5}, r"unknown option.*did you mean connect_timeout\?"),
    (
        "unknown-stream-option",
        {"overwrite_existing": True},
        r"unknown option.*did you mean overwrite_existing_stream\?",
    ),
]


@pytest.mark.parametrize(
    ("given", "message"),
    [pytest.param(given, message, id=case) for case, given, message in CONSTRUCTOR],
)
async def test_constructor(given: dict[str, Any], message: str, server: ThreadedDevServer) -> None:
    before = take()
    options = {"api_key": server.api_key, "base_url": server.base_url, **given}
    if "api_key" in given or given == {}:
        options = {k: v for k, v in options.items() if k != "api_key" or "api_key" in given}
    with pytest.raises(ConfigurationError, match=message) as caught:
        AsyncStreamstraight(**options, stream_id="never")
    assert isinstance(caught.value, ValueError)
    for secret in (KEY, server.api_key):
        assert secret not in str(caught.value)
    assert server.stream_ids() == []
    await nothing_left(before)


# -- stream ids ----------------------------------------------------------------------------

STREAM_IDS: list[tuple[str, object, str]] = [
    ("empty", "", "stream_id is required and must be a non-empty string"),
    ("10000-characters", "x" * 10_000, "stream_id is 10000 characters; at most 512"),
    ("int", 42, "stream_id is required and must be a non-empty string"),
    ("bytes", b"answer", "stream_id is required and must be a non-empty string"),
    ("newline-and-nul", "a\nb\x00c", "stream_id must not have .* control characters"),
    ("tab", "a\tb", "stream_id must not have .* control characters"),
    ("zero-width-space", "a\u200bb", "stream_id must not have .* control characters"),
    ("leading-space", " answer", "stream_id must not have surrounding whitespace"),
]


@pytest.mark.parametrize(
    ("stream_id", "message"),
    [pytest.param(stream_id, message, id=case) for case, stream_id, message in STREAM_IDS],
)
async def test_stream_id(
    stream_id: Any, message: str, server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    before = take()
    with pytest.raises(ConfigurationError, match=message):
        await client.stream(["a"], stream_id=stream_id)
    assert server.stream_ids() == []
    await nothing_left(before)


# -- chunks --------------------------------------------------------------------------------

CHUNKS: list[tuple[str, Callable[[], Any], type[StreamstraightServerError], str]] = [
    ("bytes", lambda: b"raw", EncodeError, "chunk of type bytes.*not JSON serializable"),
    ("nan", lambda: math.nan, EncodeError, "chunk of type float.*Out of range float"),
    ("inf", lambda: {"x": -math.inf}, EncodeError, "chunk of type dict.*Out of range float"),
    ("set", lambda: {1, 2}, EncodeError, "chunk of type set.*not JSON serializable"),
    ("cycle", _cycle, EncodeError, "chunk of type list.*Circular reference"),
    ("lone-surrogate", lambda: "a\ud800b", EncodeError, "not valid text.*surrogate"),
    ("3MB-string", lambda: "x" * 3_000_000, ChunkTooLargeError, "above max_chunk_bytes=1048576"),
    (
        "generator",
        lambda: (n for n in range(3)),
        EncodeError,
        "chunk of type generator.*not JSON serializable",
    ),
    ("object", object, EncodeError, "chunk of type object.*not JSON serializable"),
    ("function", lambda: len, EncodeError, "builtin_function_or_method.*not JSON serializable"),
]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [pytest.param(make, error, message, id=case) for case, make, error, message in CHUNKS],
)
async def test_chunk(
    make: Callable[[], Any],
    error: type[StreamstraightServerError],
    message: str,
    server: ThreadedDevServer,
    options: dict[str, Any],
) -> None:
    client = AsyncStreamstraight(**options)
    before = take()
    with pytest.raises(error, match=message) as caught:
        await client.stream([make()], stream_id="bad-chunk")
    assert "nothing was sent" in str(caught.value) or isinstance(caught.value, EncodeError)
    snap = server.snapshot("bad-chunk")
    assert snap is None or snap.chunks == (), "a chunk reached the server"
    await nothing_left(before)


async def test_chunk_above_a_lowered_limit(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options, max_chunk_bytes=10)
    before = take()
    with pytest.raises(ChunkTooLargeError, match="11 bytes, above max_chunk_bytes=10") as caught:
        await client.stream(["123456789"], stream_id="lowered")  # 9 characters + 2 quotes
    assert isinstance(caught.value, ValueError)
    snap = server.snapshot("lowered")
    assert snap is None or snap.chunks == ()
    await nothing_left(before)


async def test_none_is_json_null_not_an_error(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    assert await AsyncStreamstraight(**options).stream([None], stream_id="null") == 1
    snap = server.snapshot("null")
    assert snap is not None and snap.data == ["null"]


# -- encoders ------------------------------------------------------------------------------


def _raises(chunk: Any) -> str:
    raise RuntimeError("boom in the encoder")


ENCODERS: list[tuple[str, Any, type[StreamstraightServerError], str]] = [
    (
        "returns-bytes",
        lambda c: b"x",
        EncodeError,
        "the encoder returned bytes; .* must return str",
    ),
    ("returns-none", lambda c: None, EncodeError, "the encoder returned NoneType"),
    ("returns-int", lambda c: 7, EncodeError, "the encoder returned int"),
    ("returns-surrogate", lambda c: "\udfff", EncodeError, "not valid text.*surrogate"),
    ("raises", _raises, EncodeError, "cannot encode chunk of type str: boom in the encoder"),
    ("not-callable", "json", ConfigurationError, "encoder must be a callable returning str"),
    ("not-callable-int", 3, ConfigurationError, "encoder must be a callable .* not int"),
]


@pytest.mark.parametrize(
    ("encoder", "error", "message"),
    [pytest.param(encoder, error, message, id=case) for case, encoder, error, message in ENCODERS],
)
async def test_encoder(
    encoder: Any,
    error: type[StreamstraightServerError],
    message: str,
    server: ThreadedDevServer,
    options: dict[str, Any],
) -> None:
    client = AsyncStreamstraight(**options)
    before = take()
    with pytest.raises(error, match=message):
        await client.stream(["a"], stream_id="encoded", encoder=encoder)
    snap = server.snapshot("encoded")
    assert snap is None or snap.chunks == ()
    if error is ConfigurationError:
        assert server.stream_ids() == []
    await nothing_left(before)


# -- token responses -----------------------------------------------------------------------

TOKEN_ANSWERS: list[tuple[str, str]] = [
    ("401", r"HTTP 401 \(check the API key\): invalid API key"),
    ("403", r"HTTP 403 \(check the API key\): key lacks scope"),
    ("500", "HTTP 500: database on fire"),
    ("not-json", "HTTP 200 with a body that is not JSON"),
    ("no-token", "answer has no 'token' string"),
    ("token-not-a-string", "answer has no 'token' string"),
    ("not-a-jwt", "'token' is not a JWT"),
    ("slow", r"the token request failed: .*within 0\.3s"),
    ("echo", r"HTTP 401 .*rejected Bearer \*\*\*"),
]


@pytest.mark.parametrize(
    ("answer", "message"),
    [pytest.param(answer, message, id=answer) for answer, message in TOKEN_ANSWERS],
)
async def test_token_response(answer: str, message: str, server: ThreadedDevServer) -> None:
    with TokenResponder(answer) as responder:
        client = AsyncStreamstraight(api_key=KEY, base_url=responder.url, http_timeout=0.3)
        before = take()
        with pytest.raises(StreamstraightTokenError, match=message) as caught:
            await client.fetch_client_token()
        assert responder.requests == 1
        for text in (str(caught.value), repr(caught.value), repr(client)):
            assert KEY not in text
        await nothing_left(before)
    assert server.stream_ids() == []
