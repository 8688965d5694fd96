"""Encoder, options, errors and token helpers, without any I/O."""

from __future__ import annotations

import dataclasses
import time

import jwt
import pytest

from streamstraight_server import (
    AckTimeoutError,
    ConfigurationError,
    EncodeError,
    ServerOptions,
    StreamError,
    StreamOptions,
    StreamstraightServerError,
    StreamstraightTokenError,
)
from streamstraight_server._core.encoder import default_encoder, encode_chunk
from streamstraight_server._core.errors import progress_text
from streamstraight_server._core.protocol import last_seq_for, producer_auth
from streamstraight_server._core.refusals import classify_refusal
from streamstraight_server._core.tokens import TokenCache, parse_token_response, token_claims


def test_default_encoder_is_compact_json() -> None:
    assert default_encoder({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'
    assert default_encoder("hello") == '"hello"'


def test_dataclass_classes_are_not_mistaken_for_instances() -> None:
    @dataclasses.dataclass
    class Row:
        x: int

    assert default_encoder(Row(1)) == '{"x":1}'
    with pytest.raises(EncodeError):
        encode_chunk(None, Row)


def test_encoder_exceptions_become_encode_errors() -> None:
    def broken(chunk: object) -> str:
        raise KeyError("missing")

    with pytest.raises(EncodeError, match=r"KeyError|missing"):
        encode_chunk(broken, 1)


def test_options_repr_hides_the_key() -> None:
    options = ServerOptions(api_key="sk-secret-value")
    assert "sk-secret-value" not in repr(options) and "***" in repr(options)


def test_keywords_override_the_dict() -> None:
    options = ServerOptions.build({"api_key": "a", "ack_timeout": 5}, ack_timeout=7)
    assert options.ack_timeout == 7 and options.base_url == "https://api.streamstraight.com"


def test_heartbeat_can_be_turned_off() -> None:
    assert ServerOptions.build(api_key="a", heartbeat_interval=None).heartbeat_interval is None


def test_stream_options_refuse_overlong_ids() -> None:
    with pytest.raises(ConfigurationError, match="at most 512"):
        StreamOptions(stream_id="x" * 513)


def test_progress_text_names_the_unconfirmed_range() -> None:
    assert progress_text(0, 0) == "no chunks were sent"
    assert progress_text(3, 5) == (
        "the server confirmed 3 of 5 chunks (seq 0..2); seq 3..4 are not confirmed"
    )
    assert "confirmed all 4" in progress_text(4, 4)
    error = AckTimeoutError("stalled").with_progress("s", 1, 2)
    assert str(error) == "stalled; stream 's'; " + progress_text(1, 2)
    assert isinstance(error, TimeoutError) and isinstance(error, StreamstraightServerError)


def test_stream_error_shows_its_code() -> None:
    error = StreamError("the server reported: nope", code="seq-gap", retry_in_ms=100)
    assert str(error).startswith("[seq-gap] ")


def test_handshake_auth_matches_the_protocol() -> None:
    assert producer_auth("s", "1.0", False) == {
        "role": "producer",
        "streamId": "s",
        "version": "stream-v1",
        "sdkVersion": "1.0",
    }
    assert producer_auth("s", "1.0", True)["overwriteExistingStream"] is True
    assert [last_seq_for(n) for n in (0, 1, 2)] == [0, 0, 1]


@pytest.mark.parametrize(
    ("message", "data", "status", "resuming", "expected"),
    [
        ("invalid key", {"code": "unauthorized"}, None, False, "AuthenticationError"),
        ("Unexpected status code 401", {}, 401, False, "AuthenticationError"),
        ("busy", {"code": "stream-busy"}, None, False, "HandshakeRejectedError"),
        ("busy", {"code": "stream-busy"}, None, True, None),
        ("ended", {"code": "stream-ended"}, None, True, "HandshakeRejectedError"),
        ("overloaded", {"code": "internal"}, None, False, None),
        ("Unexpected status code 503", {}, 503, False, None),
        ("Unexpected status code 404", {}, 404, False, "HandshakeRejectedError"),
    ],
)
def test_refusal_classification(
    message: str, data: dict[str, str], status: int | None, resuming: bool, expected: str | None
) -> None:
    error = classify_refusal(message, data, status, resuming=resuming)
    assert (type(error).__name__ if error else None) == expected


def test_token_responses() -> None:
    assert parse_token_response(200, '{"token": "a.b.c"}') == "a.b.c"
    with pytest.raises(StreamstraightTokenError, match="HTTP 401 \\(check the API key\\): no"):
        parse_token_response(401, '{"error": "no"}')
    with pytest.raises(StreamstraightTokenError, match="not JSON"):
        parse_token_response(200, "<html>")
    with pytest.raises(StreamstraightTokenError, match="no 'token' string"):
        parse_token_response(200, '{"jwt": "abc"}')


def test_token_cache_refreshes_before_expiry() -> None:
    now = time.time()
    token = jwt.encode({"exp": int(now) + 120}, "k" * 32, algorithm="HS256")
    cache = TokenCache()
    cache.put(token)
    assert cache.get(now) == token
    assert cache.get(now + 100) is None  # inside the refresh margin
    assert "ey" not in repr(cache)
    with pytest.raises(StreamstraightTokenError, match="not a readable JWT"):
        token_claims("not-a-jwt")
