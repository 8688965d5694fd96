"""The lowest-versions run (``make test-lowest``) pins exactly pyproject's lower bounds."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parent.parent
PINS_FILE = REPO / "constraints" / "lowest.txt"


def _pins() -> dict[NormalizedName, Version]:
    pins: dict[NormalizedName, Version] = {}
    for line in PINS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, equals, version = line.partition("==")
            assert equals, f"{PINS_FILE.name}: {line!r} is not an exact pin (name==version)"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _lower_bounds() -> dict[NormalizedName, Version]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds: dict[NormalizedName, Version] = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        lows = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert len(lows) == 1, f"pyproject: {text!r} needs exactly one >= lower bound"
        bounds[canonicalize_name(requirement.name)] = lows[0]
    return bounds


def test_every_runtime_dependency_is_pinned_to_its_lower_bound() -> None:
    pins, bounds = _pins(), _lower_bounds()
    assert {"python-socketio", "python-engineio", "aiohttp"} <= bounds.keys()
    for name, low in bounds.items():
        assert name in pins, f"{PINS_FILE.name} lacks {name}=={low}"
        assert pins[name] == low, f"{PINS_FILE.name} pins {name}=={pins[name]}, pyproject >={low}"


def _lowest_required(name: NormalizedName, by: list[str]) -> Version | None:
    """The highest lower bound that the installed distributions ``by`` set for ``name``."""
    lows: list[Version] = []
    for dist in by:
        for text in metadata.requires(dist) or []:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == name:
                lows += [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return max(lows, default=None)


@pytest.mark.skipif(
    "STREAMSTRAIGHT_LOWEST_PINS" not in os.environ, reason="only in the lowest-versions run"
)
def test_the_lowest_run_installs_the_pins() -> None:
    """What is installed is what the file pins; pins beyond pyproject's are the lowest that
    the pinned packages themselves require."""
    pins, bounds = _pins(), _lower_bounds()
    for name, version in pins.items():
        assert Version(metadata.version(name)) == version, f"{name} is not {version}"
    for name in pins.keys() - bounds.keys():
        required = _lowest_required(name, list(bounds))
        assert required is not None, f"{name} is pinned but no runtime dependency requires it"
        assert pins[name] == required, f"{name}=={pins[name]}, the pins require >={required}"
