"""Client tokens for browsers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    AuthenticationError,
    StreamstraightTokenError,
    token_claims,
    token_expiry,
)
from streamstraight_server._async.tokens import fetch_client_token
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import closed_port
from tests.support.refusing_server import refusing_server


async def test_fetches_a_token_the_server_accepts(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    token = await AsyncStreamstraight(**options).fetch_client_token()
    claims = token_claims(token)
    expiry = token_expiry(token)
    assert expiry is not None and time.time() < expiry <= time.time() + 301
    assert server.api_key not in str(claims)


async def test_official_function_takes_the_options_dict(server: ThreadedDevServer) -> None:
    token = await fetch_client_token({"api_key": server.api_key, "base_url": server.base_url})
    assert token_expiry(token) is not None


async def test_tokens_are_fresh_unless_reuse_is_asked(options: dict[str, Any]) -> None:
    fresh = AsyncStreamstraight(**options)
    assert await fresh.fetch_client_token() != await fresh.fetch_client_token()
    reusing = AsyncStreamstraight(**options, reuse_client_token=True)
    assert await reusing.fetch_client_token() == await reusing.fetch_client_token()


async def test_rejected_key_is_a_token_error_with_status(server: ThreadedDevServer) -> None:
    client = AsyncStreamstraight(api_key="sk-not-this-one", base_url=server.base_url)
    with pytest.raises(StreamstraightTokenError, match="HTTP 401") as caught:
        await client.fetch_client_token()
    assert caught.value.status == 401
    assert "sk-not-this-one" not in str(caught.value)


async def test_rejected_key_is_an_authentication_error_on_both_paths(
    server: ThreadedDevServer,
) -> None:
    client = AsyncStreamstraight(api_key="sk-not-this-one", base_url=server.base_url)
    with pytest.raises(AuthenticationError) as on_tokens:
        await client.fetch_client_token()
    assert isinstance(on_tokens.value, StreamstraightTokenError)
    with pytest.raises(AuthenticationError) as on_streams:
        async with client.stream_writer(stream_id="rejected") as writer:
            await writer.send("never")
    assert not isinstance(on_streams.value, StreamstraightTokenError)
    assert server.snapshot("rejected") is None


async def test_unreachable_token_endpoint_is_a_token_error() -> None:
    client = AsyncStreamstraight(
        api_key="k", base_url=f"http://127.0.0.1:{closed_port()}", http_timeout=2.0
    )
    with pytest.raises(StreamstraightTokenError, match="token request failed") as caught:
        await client.fetch_client_token()
    assert not isinstance(caught.value, AuthenticationError)


async def test_missing_key_is_a_value_error_as_in_the_official_sdk() -> None:
    with pytest.raises(ValueError, match="api_key is required"):
        await fetch_client_token({"api_key": ""})


@pytest.mark.parametrize("status", [301, 307, 308])
async def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_else(status: int) -> None:
    with refusing_server(status, headers={"Location": "/elsewhere/v1/token"}) as (url, seen):
        client = AsyncStreamstraight(api_key="sk_test_redirected", base_url=url)
        with pytest.raises(StreamstraightTokenError, match=f"HTTP {status}") as caught:
            await client.fetch_client_token()
    assert caught.value.status == status
    assert seen == ["/v1/token"]
