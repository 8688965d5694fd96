"""The ``streamstraight`` argument parser: one subparser a command module."""

from __future__ import annotations

import argparse
from typing import Protocol

from . import client_token, dev, list_streams, send, tail
from .common import ENV_API_KEY, ENV_BASE_URL, PROG
from .credentials import add_connection_options
from .usage import CommandParser


class _Command(Protocol):
    """What a command module defines."""

    HELP: str
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def build_parser() -> CommandParser:
    from .._core.version import sdk_version

    parser = CommandParser(
        prog=PROG,
        description="Streamstraight from the shell: a local dev server, a producer and a consumer.",
        epilog=(
            f"send, tail, token and ls read {ENV_API_KEY} and {ENV_BASE_URL}. Exit codes: 0 ok, "
            "1 runtime failure, 2 usage error, 130 interrupted."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {sdk_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    client = CommandParser(add_help=False)
    add_connection_options(client)
    stream = CommandParser(add_help=False)
    stream.add_argument("stream_id", metavar="STREAM_ID")
    commands: list[tuple[str, _Command, list[CommandParser]]] = [
        ("dev", dev, []),
        ("send", send, [client, stream]),
        ("tail", tail, [client, stream]),
        ("token", client_token, [client]),
        ("ls", list_streams, [client]),
    ]
    for name, command, parents in commands:
        subparser = sub.add_parser(
            name, parents=parents, help=command.HELP, description=command.DESCRIPTION
        )
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run, command_parser=subparser)
    return parser


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands of the ``streamstraight`` parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []
