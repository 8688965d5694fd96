"""The ``streamstraight`` command: a local dev server, and a producer and consumer for the shell.

Subcommands (each has ``--help``)::

    streamstraight dev [--port 8787] [fault flags]    run the local Streamstraight-compatible server
    streamstraight send STREAM_ID [--json]            send stdin, one chunk per line, then end
    streamstraight tail STREAM_ID [--raw]             print a stream's chunks until it ends
    streamstraight token [--decode]                   print a client token (or its claims)
    streamstraight ls [--json]                        list the streams of a dev server

``send``, ``tail``, ``token`` and ``ls`` read ``STREAMSTRAIGHT_API_KEY`` and
``STREAMSTRAIGHT_API_BASE_URL`` (``--api-key`` and ``--base-url`` override them).

Exit codes: 0 success; 1 runtime failure (server error, refused stream, stream that did not
complete); 2 usage error; 130 interrupted (Ctrl-C). Expected failures print one line on stderr,
never a traceback, and never the API key.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from ._cli.common import ENV_API_KEY, EXIT_INTERRUPTED, EXIT_OK, PROG, CliError, out
from ._cli.parser import build_parser, command_names
from ._cli.usage import check_command, check_leftovers
from ._core.redact import scrub

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 itself on bad usage)."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    check_command(parser, words, command_names(parser))
    args, leftovers = parser.parse_known_args(words)
    check_leftovers(args.command_parser, leftovers)
    secrets = [s for s in (getattr(args, "api_key", None), os.environ.get(ENV_API_KEY)) if s]
    run: Callable[[argparse.Namespace], int] = args.run
    # the command reports failures itself, in one line: the SDK's stderr fallback stays quiet
    own_reports = logging.NullHandler()
    sdk_logger = logging.getLogger("streamstraight_server")
    sdk_logger.addHandler(own_reports)
    try:
        return run(args)
    except KeyboardInterrupt:
        out("interrupted", sys.stderr)
        return EXIT_INTERRUPTED
    except CliError as exc:
        return _fail(exc.message, exc.code, secrets)
    except BrokenPipeError:
        # the reader went away (``streamstraight tail ... | head``): not an error of ours
        _silence_stdout()
        return EXIT_OK
    finally:
        sdk_logger.removeHandler(own_reports)


def _fail(message: str, code: int, secrets: Sequence[str]) -> int:
    text = " ".join(scrub(message, *secrets).split())
    out(f"{PROG}: error: {text}", sys.stderr)
    return code


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
