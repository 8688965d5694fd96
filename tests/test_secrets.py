"""A canary key and a canary token never show up in logs, exceptions, reprs or CLI output.

Every library logger the SDK runs on is turned on at DEBUG (python-socketio's, engineio's,
websocket-client's, aiohttp's), and the server is a careless one that echoes what it was sent
(the dev server's ``echo_credentials`` fault): in token errors, handshake refusals and
``stream:error`` messages.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from streamstraight_server import (
    AsyncStreamstraight,
    ServerOptions,
    Streamstraight,
    StreamstraightServerError,
    fetch_client_token,
    fetch_client_token_sync,
)
from streamstraight_server._core.redact import scrub
from streamstraight_server.devserver import ThreadedDevServer
from streamstraight_server.devserver.consumer import ConsumerError, read_stream
from tests.support.helpers import child_env

CANARY_KEY = "sk_canary_" + secrets.token_urlsafe(18)
CLIENT_LOGGERS = ("streamstraight_server", "socketio", "engineio", "websocket", "aiohttp", "")
# records of the server side (which really did receive the key) are not the client's leak
SERVER_LOGGERS = ("socketio.server", "engineio.server", "streamstraight_server.devserver")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(SERVER_LOGGERS):
            return
        self.texts.append(self.format(record) + repr(record.args))


@pytest.fixture
def logs() -> Iterator[Captured]:
    """Every client-side log record at DEBUG, with the libraries' own loggers turned on."""
    handler = Captured()
    names = [*CLIENT_LOGGERS, "socketio.client", "engineio.client"]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def assert_absent(texts: list[str], *canaries: str) -> None:
    for text in texts:
        for canary in canaries:
            assert canary not in text, f"a secret leaked into: {text[:300]!r}"


@pytest.fixture
def echoing() -> Iterator[ThreadedDevServer]:
    """A dev server whose key is the canary and that echoes credentials back."""
    with ThreadedDevServer(api_key=CANARY_KEY, producer_grace=1.0) as server:
        server.faults.echo_credentials = True
        yield server


def run_flavour(flavour: str, blocking: Callable[[], Any], coroutine: Callable[[], Any]) -> Any:
    return blocking() if flavour == "sync" else asyncio.run(coroutine())


FLAVOURS = ["sync", "async"]


# the scrubber itself


def test_scrub_replaces_secrets_as_given_and_stripped_and_jwts() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = f"got Bearer {CANARY_KEY} and  {CANARY_KEY}\t and {token}."
    assert scrub(text, f"  {CANARY_KEY}\t") == "got Bearer *** and  ***\t and ***."
    assert scrub("api.streamstraight.com v1.2.3 a.b.c", CANARY_KEY) == (
        "api.streamstraight.com v1.2.3 a.b.c"
    )
    assert scrub("short key ab", "ab", None, "") == "short key ab"


# the SDK


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_successful_stream_and_token_leak_nothing(
    flavour: str, logs: Captured, echoing: ThreadedDevServer
) -> None:
    options: dict[str, Any] = {
        "api_key": CANARY_KEY,
        "base_url": echoing.base_url,
        "reuse_client_token": True,
    }
    reprs: list[str] = [repr(ServerOptions.build(options))]

    def blocking() -> str:
        client = Streamstraight(**options, stream_id=f"ok-{flavour}")
        with client.stream_writer() as writer:
            writer.send("a")
            reprs.extend([repr(client), repr(writer)])
        token = client.fetch_client_token()
        reprs.append(repr(client))
        return token

    async def coroutine() -> str:
        client = AsyncStreamstraight(**options, stream_id=f"ok-{flavour}")
        async with client.stream_writer() as writer:
            await writer.send("a")
            reprs.extend([repr(client), repr(writer)])
        token = await client.fetch_client_token()
        reprs.append(repr(client))
        return token

    token = run_flavour(flavour, blocking, coroutine)
    assert token.count(".") == 2
    assert logs.texts, "the loggers were not on"
    assert_absent(logs.texts + reprs, CANARY_KEY, token)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_echoed_key_in_a_token_error_is_scrubbed(flavour: str, logs: Captured) -> None:
    with ThreadedDevServer() as other:  # a server whose key is not the canary
        other.faults.echo_credentials = True
        options = {"api_key": CANARY_KEY, "base_url": other.base_url}
        with pytest.raises(StreamstraightServerError) as caught:
            run_flavour(
                flavour,
                lambda: fetch_client_token_sync(options),
                lambda: fetch_client_token(options),
            )
    assert "HTTP 401" in str(caught.value) and "Bearer ***" in str(caught.value)
    assert_absent(exception_texts(caught.value) + logs.texts, CANARY_KEY)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_echoed_key_in_a_handshake_refusal_is_scrubbed(flavour: str, logs: Captured) -> None:
    with ThreadedDevServer() as other:
        other.faults.echo_credentials = True
        options: dict[str, Any] = {
            "api_key": CANARY_KEY,
            "base_url": other.base_url,
            "stream_id": "refused",
            "connect_retry_delay_ms": 10,
        }
        with pytest.raises(StreamstraightServerError) as caught:
            run_flavour(
                flavour,
                lambda: Streamstraight(**options).stream(["a"]),
                lambda: AsyncStreamstraight(**options).stream(["a"]),
            )
        assert other.stream_ids() == []
    assert "key" in str(caught.value)
    assert_absent(exception_texts(caught.value) + logs.texts, CANARY_KEY)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_echoed_key_in_a_stream_error_is_scrubbed(
    flavour: str, logs: Captured, echoing: ThreadedDevServer
) -> None:
    echoing.faults.error_after_chunks = 2
    options: dict[str, Any] = {
        "api_key": CANARY_KEY,
        "base_url": echoing.base_url,
        "stream_id": f"errs-{flavour}",
        "ack_timeout": 5.0,
    }
    with pytest.raises(StreamstraightServerError) as caught:
        run_flavour(
            flavour,
            lambda: Streamstraight(**options).stream(["a", "b", "c", "d"]),
            lambda: AsyncStreamstraight(**options).stream(["a", "b", "c", "d"]),
        )
    assert "injected fault" in str(caught.value)
    assert_absent(exception_texts(caught.value) + logs.texts, CANARY_KEY)


def test_an_echoed_token_in_a_consumer_refusal_is_scrubbed(
    logs: Captured, echoing: ThreadedDevServer
) -> None:
    forged = echoing.mint_token()[:-4] + "AAAA"
    with pytest.raises(ConsumerError) as caught:
        asyncio.run(read_stream(echoing.base_url, forged, "any", timeout=5))
    assert caught.value.code == "unauthorized" and "got token ***" in str(caught.value)
    assert_absent(exception_texts(caught.value) + logs.texts, forged)


# the CLI


def cli(*args: str, env: dict[str, str], stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "streamstraight_server.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [("token",), ("token", "--decode"), ("send", "cli-canary"), ("tail", "cli-canary")],
    ids=" ".join,
)
@pytest.mark.parametrize("right_key", [True, False], ids=["right-key", "wrong-key"])
def test_cli_output_never_shows_the_key(
    args: tuple[str, ...], right_key: bool, echoing: ThreadedDevServer
) -> None:
    key = CANARY_KEY if right_key else CANARY_KEY[::-1]
    env = child_env(
        STREAMSTRAIGHT_API_BASE_URL=echoing.base_url, STREAMSTRAIGHT_API_KEY=f"  {key}  "
    )
    if args[0] == "tail":
        Streamstraight(
            api_key=CANARY_KEY, base_url=echoing.base_url, stream_id="cli-canary"
        ).stream(["x"])
    output = cli(*args, env=env, stdin="1\n2\n")
    assert output
    assert_absent([output], key)
