"""The ``streamstraight`` argument parser: one subparser a command module."""

from __future__ import annotations

import argparse
from typing import Protocol

from . import client_token, dev, send, tail
from .common import ENV_API_KEY, ENV_BASE_URL, PROG
from .credentials import add_connection_options


class _Command(Protocol):
    """What a command module defines."""

    HELP: str
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def build_parser() -> argparse.ArgumentParser:
    from .._core.version import sdk_version

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
    add_connection_options(client)
    stream = argparse.ArgumentParser(add_help=False)
    stream.add_argument("stream_id", metavar="STREAM_ID")
    commands: list[tuple[str, _Command, list[argparse.ArgumentParser]]] = [
        ("dev", dev, []),
        ("send", send, [client, stream]),
        ("tail", tail, [client, stream]),
        ("token", client_token, [client]),
    ]
    for name, command, parents in commands:
        subparser = sub.add_parser(
            name, parents=parents, help=command.HELP, description=command.DESCRIPTION
        )
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser
