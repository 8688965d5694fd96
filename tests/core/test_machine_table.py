"""The stream machine's table of moves is the one its docstring draws, and the only one."""

from __future__ import annotations

import re

import pytest

from streamstraight_server._core import machine as machine_module
from streamstraight_server._core.machine import MOVES, State, StreamMachine
from streamstraight_server._core.options import ServerOptions


def drawn_moves() -> dict[State, set[State]]:
    """The moves the module's docstring lists, one ``FROM -> TO, TO`` line a state."""
    text = machine_module.__doc__ or ""
    drawn: dict[State, set[State]] = {}
    for name, targets in re.findall(r"^\s+([A-Z]+)\s+-> ([A-Z, ]+)$", text, re.MULTILINE):
        drawn[State[name]] = {State[target.strip()] for target in targets.split(",")}
    for names in re.findall(r"^\s+([A-Z, ]+): final$", text, re.MULTILINE):
        for name in names.split(","):
            drawn[State[name.strip()]] = set()
    return drawn


def test_the_docstring_draws_the_table() -> None:
    assert drawn_moves() == {state: set(targets) for state, targets in MOVES.items()}


def test_a_move_outside_the_table_is_refused() -> None:
    machine = StreamMachine("s", ServerOptions(api_key="k"))
    with pytest.raises(AssertionError, match=r"no move from State\.CONNECTING to State\.RESUMING"):
        machine._goto(State.RESUMING)
    assert machine.state is State.CONNECTING


def test_every_final_state_is_final() -> None:
    for state in (State.ENDED, State.FAILED, State.CLOSED):
        assert MOVES[state] == frozenset()
