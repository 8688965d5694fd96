"""What every subcommand shares: names, exit codes, the expected-failure exceptions, output."""

from __future__ import annotations

import sys
from typing import TextIO

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


def out(text: str, stream: TextIO | None = None) -> None:
    target = stream if stream is not None else sys.stdout
    target.write(text + "\n")
    target.flush()
