"""The ``streamstraight`` command: a local dev server, and a producer and consumer for the shell.

Subcommands (each has ``--help``)::

    streamstraight dev [--port 8787] [fault flags]    run the local Streamstraight-compatible server
    streamstraight send STREAM_ID [--json]            send stdin, one chunk per line, then end
    streamstraight tail STREAM_ID [--raw]             print a stream's chunks until it ends
    streamstraight token [--decode]                   print a client token (or its claims)

``send``, ``tail`` and ``token`` read ``STREAMSTRAIGHT_API_KEY`` and ``STREAMSTRAIGHT_API_BASE_URL``
(``--api-key`` and ``--base-url`` override them).

Exit codes: 0 success; 1 runtime failure (server error, refused stream, stream that did not
complete); 2 usage error; 130 interrupted (Ctrl-C). Expected failures print one line on stderr,
never a traceback, and never the API key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

PROG = "streamstraight"
ENV_API_KEY = "STREAMSTRAIGHT_API_KEY"
ENV_BASE_URL = "STREAMSTRAIGHT_API_BASE_URL"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageError(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


# argument types


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


# parser


def build_parser() -> argparse.ArgumentParser:
    from ._core.version import sdk_version

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Streamstraight from the shell: a local dev server, a producer and a consumer.",
        epilog=(
            f"send, tail and token read {ENV_API_KEY} and {ENV_BASE_URL}. Exit codes: 0 ok, "
            "1 runtime failure, 2 usage error, 130 interrupted."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {sdk_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    client = argparse.ArgumentParser(add_help=False)
    group = client.add_argument_group("connection")
    group.add_argument(
        "--api-key", metavar="KEY", help=f"API key (default: ${ENV_API_KEY}; prefer the variable)"
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help=f"server URL (default: ${ENV_BASE_URL}, else the hosted service)",
    )

    dev = sub.add_parser(
        "dev",
        help="run the local Streamstraight-compatible server",
        description=(
            "Run the local Streamstraight-compatible server until Ctrl-C or SIGTERM (then exit 0). "
            "It prints its URL, the live viewer's URL and the export lines for the SDK."
        ),
    )
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    dev.add_argument("--port", type=_port, default=8787, help="port, 0 for any (default: 8787)")
    dev.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the key producers must present (default: ${ENV_API_KEY}, else a random one)",
    )
    dev.add_argument("--token-ttl", type=_positive_seconds, metavar="S", help="client token life")
    dev.add_argument("--retention", type=_positive_seconds, metavar="S", help="ended stream life")
    dev.add_argument(
        "--producer-grace",
        type=_seconds,
        metavar="S",
        help="how long a dropped producer may resume before the stream ends",
    )
    dev.add_argument(
        "--consumer-wait",
        type=_seconds,
        metavar="S",
        help="how long a consumer waits for a stream that does not exist yet",
    )
    dev.add_argument(
        "--inactivity-timeout",
        type=_positive_seconds,
        metavar="S",
        help="end a stream whose producer sends nothing for this long",
    )
    faults = dev.add_argument_group("fault injection")
    faults.add_argument(
        "--refuse-connections",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="refuse the next N producer handshakes",
    )
    faults.add_argument(
        "--drop-after-chunks",
        type=_non_negative_int,
        metavar="N",
        help="drop a producer's connection after N chunks (once)",
    )
    faults.add_argument(
        "--ack-delay", type=_seconds, default=0.0, metavar="S", help="delay every chunk ack"
    )
    faults.add_argument("--withhold-acks", action="store_true", help="never ack chunks")
    faults.add_argument("--withhold-end-ack", action="store_true", help="never answer END")
    faults.add_argument(
        "--error-after-chunks",
        type=_non_negative_int,
        metavar="N",
        help="after N chunks send stream:error and end the stream (once)",
    )
    faults.add_argument(
        "--error-code",
        default="internal",
        metavar="CODE",
        help="code of that stream:error (default: internal)",
    )
    dev.set_defaults(run=_cmd_dev)

    send = sub.add_parser(
        "send",
        parents=[client],
        help="send stdin as a stream, one chunk per line",
        description=(
            "Send each line of stdin as a chunk (a JSON string, or with --json the line's JSON "
            "value), end the stream at EOF and wait for the server to confirm every chunk. "
            "Ctrl-C ends the stream with producer-error."
        ),
    )
    send.add_argument("stream_id", metavar="STREAM_ID")
    send.add_argument(
        "--overwrite", action="store_true", help="replace the stream if it exists and has ended"
    )
    send.add_argument(
        "--json",
        action="store_true",
        help="parse each line as JSON and send its value (blank lines are skipped)",
    )
    send.set_defaults(run=_cmd_send)

    tail = sub.add_parser(
        "tail",
        parents=[client],
        help="print a stream's chunks, from the first, until it ends",
        description=(
            "Read a stream as a browser does (with a client token fetched with the API key) and "
            "print each chunk on its own line: a chunk holding a JSON string prints as plain text, "
            "any other chunk as its JSON. Exits 0 when the stream completed, 1 otherwise."
        ),
    )
    tail.add_argument("stream_id", metavar="STREAM_ID")
    tail.add_argument(
        "--from-seq", type=_non_negative_int, metavar="N", help="start at chunk N (default: 0)"
    )
    tail.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="S",
        help="give up when nothing arrives for S seconds (default: 60)",
    )
    tail.add_argument("--raw", action="store_true", help="print each chunk's data verbatim")
    tail.set_defaults(run=_cmd_tail)

    token = sub.add_parser(
        "token",
        parents=[client],
        help="print a client token for a browser",
        description="Fetch a short-lived client token with the API key and print it.",
    )
    token.add_argument(
        "--decode",
        action="store_true",
        help="print the token's claims as JSON instead (decoded WITHOUT verifying the signature)",
    )
    token.set_defaults(run=_cmd_token)
    return parser


# shared helpers


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    from ._core.protocol import DEFAULT_BASE_URL

    api_key = args.api_key if args.api_key is not None else os.environ.get(ENV_API_KEY, "")
    if not api_key.strip():
        raise UsageError(f"no API key: set {ENV_API_KEY} or pass --api-key")
    base_url = args.base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    return api_key.strip(), base_url


def _fetch_token(api_key: str, base_url: str) -> str:
    from . import ConfigurationError, StreamstraightServerError, fetch_client_token_sync

    try:
        return fetch_client_token_sync(api_key=api_key, base_url=base_url)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    except StreamstraightServerError as exc:
        raise CliError(f"could not get a client token from {base_url}: {exc}") from None


def _out(text: str, stream: TextIO | None = None) -> None:
    target = stream if stream is not None else sys.stdout
    target.write(text + "\n")
    target.flush()


# dev


def _cmd_dev(args: argparse.Namespace) -> int:
    from .devserver import DevServerConfig, Faults

    settings: dict[str, Any] = {}
    for name in (
        "token_ttl",
        "retention",
        "producer_grace",
        "consumer_wait",
        "inactivity_timeout",
    ):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    api_key = args.api_key if args.api_key is not None else os.environ.get(ENV_API_KEY)
    if api_key is not None and (not api_key.strip() or any(c.isspace() for c in api_key)):
        raise UsageError("the API key must be non-empty and contain no whitespace")
    faults = Faults(
        refuse_connections=args.refuse_connections,
        drop_after_chunks=args.drop_after_chunks,
        ack_delay=args.ack_delay,
        withhold_acks=args.withhold_acks,
        withhold_end_ack=args.withhold_end_ack,
        error_after_chunks=args.error_after_chunks,
        error_code=args.error_code,
    )
    config = DevServerConfig(
        host=args.host, port=args.port, api_key=api_key or None, faults=faults, **settings
    )
    return asyncio.run(_serve(config))


def _active_faults(faults: Any) -> list[str]:
    from dataclasses import fields

    from .devserver import Faults

    default = Faults()
    return [
        f"{f.name}={getattr(faults, f.name)!r}"
        for f in fields(faults)
        if getattr(faults, f.name) != getattr(default, f.name)
    ]


async def _serve(config: Any) -> int:
    from .devserver import DevServer

    server = DevServer(config)
    try:
        await server.start()
    except OSError as exc:
        raise CliError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on POSIX
            pass
    try:
        url = server.base_url
        _out(f"Streamstraight dev server listening on {url}")
        _out(f"  viewer:  {url}/")
        _out(f"  export {ENV_BASE_URL}={url}")
        _out(f"  export {ENV_API_KEY}={server.api_key}")
        active = _active_faults(config.faults)
        if active:
            _out("  faults:  " + ", ".join(active))
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            _out(f"warning: listening on {config.host} without TLS; use it on trusted networks")
        _out("Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()
    _out("dev server stopped", sys.stderr)
    return EXIT_OK


# send


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines of ``stream`` as they arrive (no read-ahead), without their line ending."""
    for line in iter(stream.readline, ""):
        if line.endswith("\n"):
            line = line[:-1]
            if line.endswith("\r"):
                line = line[:-1]
        yield line


def _chunks(stream: TextIO, as_json: bool) -> Iterator[Any]:
    for number, line in enumerate(_lines(stream), start=1):
        if not as_json:
            yield line
            continue
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise UsageError(f"stdin line {number} is not valid JSON: {exc}") from None


def _cmd_send(args: argparse.Namespace) -> int:
    from . import (
        ConfigurationError,
        HandshakeRejectedError,
        Streamstraight,
        StreamstraightServerError,
    )

    api_key, base_url = _credentials(args)
    writer: Any = None
    try:
        client = Streamstraight(
            api_key=api_key,
            base_url=base_url,
            stream_id=args.stream_id,
            overwrite_existing_stream=args.overwrite,
        )
        with client, client.stream_writer() as writer:
            if sys.stdin.isatty():
                _out("reading chunks from stdin, one per line; Ctrl-D ends the stream", sys.stderr)
            for chunk in _chunks(sys.stdin, args.json):
                writer.send(chunk)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    except HandshakeRejectedError as exc:
        hint = " (send --overwrite replaces it)" if exc.code == "stream-ended" else ""
        raise CliError(str(exc) + hint) from None
    except StreamstraightServerError as exc:
        raise CliError(str(exc)) from None
    except UsageError as exc:
        sent = writer.sent if writer is not None else 0
        raise UsageError(
            f"{exc.message} (the stream ended with producer-error after {sent} chunks)"
        ) from None
    except KeyboardInterrupt:
        sent = writer.sent if writer is not None else 0
        _out(f"interrupted: the stream ended with producer-error after {sent} chunks", sys.stderr)
        return EXIT_INTERRUPTED
    count = writer.sent
    noun = "chunk" if count == 1 else "chunks"
    summary = "all confirmed" if count else "stream ended"
    _out(f"sent {count} {noun}, {summary}", sys.stderr)
    return EXIT_OK


# tail


def _printable(data: str, raw: bool) -> str:
    if raw:
        return data
    try:
        value = json.loads(data)
    except ValueError:
        return data
    return value if isinstance(value, str) else data


def _cmd_tail(args: argparse.Namespace) -> int:
    api_key, base_url = _credentials(args)
    token = _fetch_token(api_key, base_url)
    reason = asyncio.run(_tail(base_url, token, args))
    if reason == "completed":
        return EXIT_OK
    _out(f"{PROG}: stream {args.stream_id!r} ended: {reason}", sys.stderr)
    return EXIT_FAILURE


async def _tail(base_url: str, token: str, args: argparse.Namespace) -> str:
    from .devserver.consumer import ConsumerError, iter_stream

    ended: list[str] = []
    stream = iter_stream(
        base_url,
        token,
        args.stream_id,
        from_seq=args.from_seq,
        timeout=args.timeout,
        on_end=lambda reason, last_seq: ended.append(reason),
    )
    try:
        async for _seq, data in stream:
            _out(_printable(data, args.raw))
    except ConsumerError as exc:
        detail = f"[{exc.code}] {exc.message}" if exc.code else exc.message
        raise CliError(f"reading stream {args.stream_id!r} failed: {detail}") from None
    except TimeoutError:
        raise CliError(
            f"nothing arrived on stream {args.stream_id!r} for {args.timeout:g}s; giving up"
        ) from None
    finally:
        await stream.aclose()
    return ended[0] if ended else "unknown"


# token


def _cmd_token(args: argparse.Namespace) -> int:
    from . import StreamstraightTokenError, token_claims

    api_key, base_url = _credentials(args)
    token = _fetch_token(api_key, base_url)
    if not args.decode:
        _out(token)
        return EXIT_OK
    try:
        claims = token_claims(token)
    except StreamstraightTokenError as exc:
        raise CliError(str(exc)) from None
    _out(json.dumps(claims, indent=2, sort_keys=True))
    return EXIT_OK


# entry point


def _redact(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    return message


def _fail(message: str, code: int, secrets: Sequence[str]) -> int:
    text = " ".join(_redact(message, secrets).split())
    _out(f"{PROG}: error: {text}", sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 itself on bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    secrets = [s for s in (getattr(args, "api_key", None), os.environ.get(ENV_API_KEY)) if s]
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        _out("interrupted", sys.stderr)
        return EXIT_INTERRUPTED
    except CliError as exc:
        return _fail(exc.message, exc.code, secrets)
    except BrokenPipeError:
        # the reader went away (``streamstraight tail ... | head``): not an error of ours
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
