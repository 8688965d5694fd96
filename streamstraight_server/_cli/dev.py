"""``streamstraight dev``: run the local Streamstraight-compatible server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

from .arg_types import (
    host_name,
    non_negative_int,
    origin,
    port,
    positive_int,
    positive_seconds,
    seconds,
)
from .common import ENV_API_KEY, ENV_BASE_URL, EXIT_OK, CliError, UsageError, out

HELP = "run the local Streamstraight-compatible server"
DESCRIPTION = (
    "Run the local Streamstraight-compatible server until Ctrl-C or SIGTERM (then exit 0). "
    "It prints its URL, the live viewer's URL (with the token that opens it) and the export "
    "lines for the SDK. It answers only requests addressed to a loopback name or address "
    "(add others with --allowed-host), and Socket.IO CORS only from loopback origins "
    "(add others with --cors-origin)."
)


def add_arguments(dev: argparse.ArgumentParser) -> None:
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    dev.add_argument("--port", type=port, default=8787, help="port, 0 for any (default: 8787)")
    dev.add_argument(
        "--api-key",
        metavar="KEY",
        help=(
            "the key producers must present (default: a new random key, printed at start; "
            f"${ENV_API_KEY} is never used, so a production key in your shell stays out of it)"
        ),
    )
    dev.add_argument(
        "--max-chunk-bytes",
        type=positive_int,
        metavar="N",
        help="largest chunk accepted, in bytes of UTF-8 (default: 1048576)",
    )
    dev.add_argument(
        "--allowed-host",
        type=host_name,
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "also answer requests whose Host is NAME (.NAME: and its subdomains); "
            "repeatable. Loopback names and addresses are always allowed"
        ),
    )
    dev.add_argument(
        "--cors-origin",
        type=origin,
        action="append",
        default=[],
        metavar="ORIGIN",
        help=(
            "also allow Socket.IO requests from this browser origin (https://app.example:3000); "
            "repeatable. Loopback origins are always allowed"
        ),
    )
    dev.add_argument("--token-ttl", type=positive_seconds, metavar="S", help="client token life")
    dev.add_argument("--retention", type=positive_seconds, metavar="S", help="ended stream life")
    dev.add_argument(
        "--producer-grace",
        type=seconds,
        metavar="S",
        help="how long a dropped producer may resume before the stream ends",
    )
    dev.add_argument(
        "--consumer-wait",
        type=seconds,
        metavar="S",
        help="how long a consumer waits for a stream that does not exist yet",
    )
    dev.add_argument(
        "--inactivity-timeout",
        type=positive_seconds,
        metavar="S",
        help="end a stream whose producer sends nothing for this long",
    )
    faults = dev.add_argument_group("fault injection")
    faults.add_argument(
        "--refuse-connections",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="refuse the next N producer handshakes",
    )
    faults.add_argument(
        "--drop-after-chunks",
        type=non_negative_int,
        metavar="N",
        help="drop a producer's connection after N chunks (once)",
    )
    faults.add_argument(
        "--ack-delay", type=seconds, default=0.0, metavar="S", help="delay every chunk ack"
    )
    faults.add_argument("--withhold-acks", action="store_true", help="never ack chunks")
    faults.add_argument("--withhold-end-ack", action="store_true", help="never answer END")
    faults.add_argument(
        "--error-after-chunks",
        type=non_negative_int,
        metavar="N",
        help="after N chunks send stream:error and end the stream (once)",
    )
    faults.add_argument(
        "--error-code",
        default="internal",
        metavar="CODE",
        help="code of that stream:error (default: internal)",
    )
    faults.add_argument(
        "--echo-credentials",
        action="store_true",
        help="quote the Authorization header or token it got in refusals and errors",
    )


def run(args: argparse.Namespace) -> int:
    from ..devserver import DevServerConfig, Faults

    settings: dict[str, Any] = {}
    for name in (
        "token_ttl",
        "retention",
        "producer_grace",
        "consumer_wait",
        "inactivity_timeout",
        "max_chunk_bytes",
    ):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    api_key = args.api_key
    if api_key is not None and (
        not api_key.strip() or any(c.isspace() or not c.isprintable() for c in api_key)
    ):
        raise UsageError(
            "--api-key must be non-empty and contain no whitespace or control characters"
        )
    if api_key is not None and not api_key.isascii():
        raise UsageError("--api-key must be ASCII (it travels in an HTTP header)")
    faults = Faults(
        refuse_connections=args.refuse_connections,
        drop_after_chunks=args.drop_after_chunks,
        ack_delay=args.ack_delay,
        withhold_acks=args.withhold_acks,
        withhold_end_ack=args.withhold_end_ack,
        error_after_chunks=args.error_after_chunks,
        error_code=args.error_code,
        echo_credentials=args.echo_credentials,
    )
    config = DevServerConfig(
        host=args.host,
        port=args.port,
        api_key=api_key,
        allowed_hosts=tuple(args.allowed_host),
        cors_origins=tuple(args.cors_origin),
        faults=faults,
        **settings,
    )
    return asyncio.run(_serve(config))


def _active_faults(faults: Any) -> list[str]:
    from dataclasses import fields

    from ..devserver import Faults

    default = Faults()
    return [
        f"{f.name}={getattr(faults, f.name)!r}"
        for f in fields(faults)
        if getattr(faults, f.name) != getattr(default, f.name)
    ]


async def _serve(config: Any) -> int:
    from ..devserver import DevServer

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
        out(f"Streamstraight dev server listening on {url}")
        out(f"  viewer:  {server.viewer_url}")
        out(f"  export {ENV_BASE_URL}={url}")
        if config.api_key is None:
            out(f"  export {ENV_API_KEY}={server.api_key}")
        else:
            # a key we did not make may be a real one: say where it came from, never print it
            out("  API key: the one given with --api-key (not printed)")
        if config.api_key is None and os.environ.get(ENV_API_KEY):
            out(f"  note: {ENV_API_KEY} in this shell is not used; export the line above")
        if config.allowed_hosts:
            out("  allowed hosts: loopback, " + ", ".join(config.allowed_hosts))
        if config.cors_origins:
            out("  CORS origins: loopback, " + ", ".join(config.cors_origins))
        active = _active_faults(config.faults)
        if active:
            out("  faults:  " + ", ".join(active))
        if config.host not in ("127.0.0.1", "localhost", "::1"):
            out(f"warning: listening on {config.host} without TLS; use it on trusted networks")
        out("Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()
    out("dev server stopped", sys.stderr)
    return EXIT_OK
