"""Usage mistakes answered in one line: the command's own usage, and a guess at what was meant.

argparse reports an unknown option of a subcommand with the top-level usage, after taking the
next words as the subcommand's arguments (``tail --from-sq 3 numbers`` reads stream ``3``).
Here every parser reports its own mistakes, and unknown options are found and named first.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import NoReturn

from .common import EXIT_USAGE


class CommandParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line naming its own usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE,
            f"{self.prog}: error: {message} (usage: {self.short_usage()}; "
            f"{self.prog} --help lists the options)\n",
        )

    def short_usage(self) -> str:
        words = [self.prog]
        if any(a.option_strings and a.dest != "help" for a in self._actions):
            words.append("[options]")
        for action in self._actions:
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                words.append(action.metavar if isinstance(action.metavar, str) else action.dest)
            elif isinstance(action, argparse._SubParsersAction):
                words.append("COMMAND ...")
        return " ".join(words)

    def option_names(self) -> list[str]:
        return [name for action in self._actions for name in action.option_strings]


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word``, if one is close enough to be what was meant."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``; did you mean X?``, or nothing when no choice is close."""
    guess = closest(word, choices)
    return f"; did you mean {guess}?" if guess else ""


def check_leftovers(parser: CommandParser, leftovers: Sequence[str]) -> None:
    """Refuse what ``parse_known_args`` left over: unknown options first, by name."""
    unknown = [word for word in leftovers if word.startswith("-") and not _is_number(word)]
    if unknown:
        name = unknown[0].split("=", 1)[0]
        parser.error(f"unknown option {name}{did_you_mean(name, parser.option_names())}")
    if leftovers:
        parser.error(f"unexpected argument {leftovers[0]!r}")


def check_command(parser: CommandParser, argv: Sequence[str], commands: Sequence[str]) -> None:
    """A missing or mistyped command is named with the choices, or a guess."""
    if not argv:
        parser.error(f"name a command: {', '.join(commands)}")
    words = [word for word in argv if not word.startswith("-")]
    if words and words[0] not in commands and not any(w in ("-h", "--help") for w in argv):
        named = words[0]
        guess = did_you_mean(named, commands) or f"; the commands are {', '.join(commands)}"
        parser.error(f"unknown command {named!r}{guess}")


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
