"""``streamstraight dev``: run the local Streamstraight-compatible server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import enum
import os
import signal
import sys
from pathlib import Path
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
from .kept_key import kept_key_path, load_or_create

HELP = "run the local Streamstraight-compatible server"
DESCRIPTION = (
    "Run the local Streamstraight-compatible server until Ctrl-C or SIGTERM (then exit 0). "
    "It prints its URL, the live viewer's URL (with the token that opens it) and the export "
    "lines for the SDK. It answers only requests addressed to a loopback name or address "
    "(add others with --allowed-host), and Socket.IO CORS only from loopback origins "
    "(add others with --cors-origin)."
)


def add_arguments(dev: argparse.ArgumentParser) -> None:
    from ..devserver import DevServerConfig, Faults

    settings, faults = DevServerConfig(), Faults()
    dev.add_argument("--host", default=settings.host, help="address to bind (default: %(default)s)")
    dev.add_argument(
        "--port", type=port, default=8787, help="port, 0 for any free one (default: %(default)s)"
    )
    keys = dev.add_mutually_exclusive_group()
    keys.add_argument(
        "--api-key",
        metavar="KEY",
        help=(
            "the key producers must present (default: a new random key at each start, printed; "
            f"${ENV_API_KEY} is never used, so a production key in your shell stays out of it)"
        ),
    )
    keys.add_argument(
        "--keep-key",
        action="store_true",
        help=(
            "keep one API key (and the secrets of client tokens and the viewer) across restarts, "
            "in a file of your own (~/.config/streamstraight/dev-server.json), so a restart does "
            "not lock out a running app (default: off, a new key at each start)"
        ),
    )
    dev.add_argument(
        "--quiet",
        action="store_true",
        help="print only the banner, not a line per connection, refusal and stream end "
        "(default: off)",
    )
    dev.add_argument(
        "--max-chunk-bytes",
        type=positive_int,
        default=settings.max_chunk_bytes,
        metavar="N",
        help="largest chunk accepted, in bytes of UTF-8 (default: %(default)s)",
    )
    dev.add_argument(
        "--allowed-host",
        type=host_name,
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "also answer requests whose Host is NAME (.NAME: and its subdomains); "
            "repeatable (default: loopback names and addresses only)"
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
            "repeatable (default: loopback origins only)"
        ),
    )
    dev.add_argument(
        "--token-ttl",
        type=positive_seconds,
        default=settings.token_ttl,
        metavar="S",
        help="lifetime of a client token, in seconds (default: %(default)g)",
    )
    dev.add_argument(
        "--retention",
        type=positive_seconds,
        default=settings.retention,
        metavar="S",
        help="how long an ended stream is kept, in seconds (default: %(default)g)",
    )
    dev.add_argument(
        "--producer-grace",
        type=seconds,
        default=settings.producer_grace,
        metavar="S",
        help="how long a dropped producer may resume before the stream ends "
        "producer-disconnected (default: %(default)g)",
    )
    dev.add_argument(
        "--consumer-wait",
        type=seconds,
        default=settings.consumer_wait,
        metavar="S",
        help="how long a consumer waits for a stream that does not exist yet before it gets "
        "not-found (default: %(default)g)",
    )
    dev.add_argument(
        "--inactivity-timeout",
        type=positive_seconds,
        default=settings.inactivity_timeout,
        metavar="S",
        help="end a stream whose producer sends nothing for this long (default: %(default)g)",
    )
    group = dev.add_argument_group("fault injection")
    group.add_argument(
        "--refuse-connections",
        type=non_negative_int,
        default=faults.refuse_connections,
        metavar="N",
        help="refuse the next N producer handshakes (default: %(default)s)",
    )
    group.add_argument(
        "--drop-after-chunks",
        type=non_negative_int,
        metavar="N",
        help="drop a producer's connection after N chunks, once (default: never)",
    )
    group.add_argument(
        "--ack-delay",
        type=seconds,
        default=faults.ack_delay,
        metavar="S",
        help="delay every chunk ack by S seconds (default: %(default)g)",
    )
    group.add_argument(
        "--withhold-acks", action="store_true", help="never ack chunks (default: off)"
    )
    group.add_argument(
        "--withhold-end-ack", action="store_true", help="never answer END (default: off)"
    )
    group.add_argument(
        "--error-after-chunks",
        type=non_negative_int,
        metavar="N",
        help="after N chunks send stream:error and end the stream, once (default: never)",
    )
    group.add_argument(
        "--error-code",
        default=faults.error_code,
        metavar="CODE",
        help="code of that stream:error (default: %(default)s)",
    )
    group.add_argument(
        "--echo-credentials",
        action="store_true",
        help="quote the Authorization header or token it got in refusals and errors (default: off)",
    )


def run(args: argparse.Namespace) -> int:
    from ..devserver import DevServerConfig, Faults

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
        token_ttl=args.token_ttl,
        retention=args.retention,
        producer_grace=args.producer_grace,
        consumer_wait=args.consumer_wait,
        inactivity_timeout=args.inactivity_timeout,
        max_chunk_bytes=args.max_chunk_bytes,
    )
    key_source = KeySource.GIVEN if api_key is not None else KeySource.NEW
    kept_at: Path | None = None
    if args.keep_key:
        kept_at = kept_key_path()
        kept, _ = load_or_create(kept_at)
        config.api_key, config.jwt_secret = kept.api_key, kept.jwt_secret
        config.viewer_token = kept.viewer_token
        key_source = KeySource.KEPT
    return asyncio.run(_serve(config, key_source, kept_at, quiet=args.quiet))


class KeySource(enum.Enum):
    NEW = "made at this start"
    KEPT = "kept in a file"
    GIVEN = "given with --api-key"


def key_advice(source: KeySource, kept_at: Path | None) -> str:
    """What to tell a person whose app brought a key this server does not know."""
    if source is KeySource.KEPT:
        return f"The app must use the key kept in {kept_at} (the export line above)."
    if source is KeySource.GIVEN:
        return "The app must use the key given with --api-key."
    return (
        "streamstraight dev makes a new key at each start: export the STREAMSTRAIGHT_API_KEY "
        "line printed above where the app runs and restart it, or run `streamstraight dev "
        "--keep-key` to keep one key across restarts."
    )


def _active_faults(faults: Any) -> list[str]:
    from dataclasses import fields

    from ..devserver import Faults

    default = Faults()
    return [
        f"{f.name}={getattr(faults, f.name)!r}"
        for f in fields(faults)
        if getattr(faults, f.name) != getattr(default, f.name)
    ]


async def _serve(config: Any, key_source: KeySource, kept_at: Path | None, *, quiet: bool) -> int:
    from ..devserver import DevServer
    from ..devserver.narration import Narrator

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
        _banner(server, config, key_source, kept_at, quiet=quiet)
        if not quiet:
            server.add_listener(Narrator(out, key_advice=key_advice(key_source, kept_at)))
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()
    out("dev server stopped", sys.stderr)
    return EXIT_OK


def _banner(
    server: Any, config: Any, key_source: KeySource, kept_at: Path | None, *, quiet: bool
) -> None:
    url = server.base_url
    out(f"Streamstraight dev server listening on {url}")
    out(f"  viewer:  {server.viewer_url}")
    out(f"  export {ENV_BASE_URL}={url}")
    if key_source is KeySource.GIVEN:
        # a key we did not make may be a real one: say where it came from, never print it
        out("  API key: the one given with --api-key (not printed)")
    else:
        out(f"  export {ENV_API_KEY}={server.api_key}")
    if key_source is KeySource.KEPT:
        out(f"  the key is kept in {kept_at}: the same at every start with --keep-key")
    elif key_source is KeySource.NEW:
        out("  the key is new at each start; --keep-key keeps one across restarts")
    shell_key = os.environ.get(ENV_API_KEY, "").strip()
    if key_source is not KeySource.GIVEN and shell_key and shell_key != server.api_key:
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
    if quiet:
        out("Press Ctrl-C to stop.")
    else:
        out("Press Ctrl-C to stop. Connections, refusals and stream ends follow (--quiet: off).")
