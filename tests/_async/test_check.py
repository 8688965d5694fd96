"""``acheck()`` at an app's start: the server answers and takes the key, or a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from streamstraight_server import AsyncStreamstraight, AuthenticationError, ConnectError
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import closed_port
from tests.support.token_responder import TokenResponder

STALE_KEY = "sk_dev_stale_key_from_an_earlier_run"


async def test_check_passes_with_the_servers_key(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**options)
    await client.acheck()  # raises on any problem
    assert server.stream_ids() == []  # checking writes no stream


async def test_check_raises_authentication_error_for_a_wrong_key(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    client = AsyncStreamstraight(**{**options, "api_key": STALE_KEY})
    with pytest.raises(AuthenticationError) as caught:
        await client.acheck()
    message = str(caught.value)
    assert f"the server at {server.base_url} rejected the API key" in message
    assert "makes a new API key each time it starts" in message  # the dev server's reason
    assert message.endswith("Check STREAMSTRAIGHT_API_KEY or the api_key option")
    assert STALE_KEY not in message


async def test_check_says_when_nothing_listens_on_this_machine() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = AsyncStreamstraight(api_key="sk_x", base_url=url)
    with pytest.raises(ConnectError) as caught:
        await client.acheck()
    message = str(caught.value)
    assert message.startswith(f"cannot reach the server at {url} (")
    # the operating system's reason (each HTTP library words it its own way), not a repr
    assert "Connection refused" in message or "Connect call failed" in message
    assert len(message) < 200
    assert message.endswith("is `streamstraight dev` running?")


async def test_check_refuses_a_server_that_is_not_streamstraight() -> None:
    with TokenResponder("500") as responder:
        client = AsyncStreamstraight(api_key="sk_x", base_url=responder.url)
        with pytest.raises(ConnectError, match="does not answer as a Streamstraight server"):
            await client.acheck()
