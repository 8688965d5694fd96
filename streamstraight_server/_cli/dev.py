"""``streamstraight dev``: run the local Streamstraight-compatible server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

from .arg_types import non_negative_int, port, positive_seconds, seconds
from .common import ENV_API_KEY, ENV_BASE_URL, EXIT_OK, CliError, UsageError, out

HELP = "run the local Streamstraight-compatible server"
DESCRIPTION = (
    "Run the local Streamstraight-compatible server until Ctrl-C or SIGTERM (then exit 0). "
    "It prints its URL, the live viewer's URL and the export lines for the SDK."
)


def add_arguments(dev: argparse.ArgumentParser) -> None:
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    dev.add_argument("--port", type=port, default=8787, help="port, 0 for any (default: 8787)")
    dev.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the key producers must present (default: ${ENV_API_KEY}, else a random one)",
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


def run(args: argparse.Namespace) -> int:
    from ..devserver import DevServerConfig, Faults

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
        out(f"  viewer:  {url}/")
        out(f"  export {ENV_BASE_URL}={url}")
        out(f"  export {ENV_API_KEY}={server.api_key}")
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
