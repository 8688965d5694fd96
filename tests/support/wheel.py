"""A wheel built from a scratch copy of the sources, installed in a fresh virtual environment.

The wheel is built without build isolation when the running environment has the build backend
(setuptools >= 77 for the PEP 639 ``license`` string, and wheel), otherwise with isolation (that
needs the package index). The fresh environment gets the wheel only (``--no-deps``); its
dependencies come from this environment's site-packages through a ``.pth`` file, which puts
them *after* the fresh site-packages on ``sys.path``, so the package under test is the
installed one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from .helpers import REPO

PACKAGE = REPO / "streamstraight_server"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def run_clean(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``command`` in a clean shell: none of this interpreter's or Streamstraight's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STREAMSTRAIGHT_"))}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of a scratch copy of the sources: a stale ``build/`` folder or an
    ``*.egg-info`` in the work tree can neither leak into it nor be left behind."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE.txt", "setup.cfg"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=IGNORED)
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)]
    fast = run_clean([*build, "--no-isolation"])
    if fast.returncode != 0:
        isolated = run_clean(build)
        assert isolated.returncode == 0, (
            f"--no-isolation:\n{fast.stdout}{fast.stderr}\n"
            f"isolated:\n{isolated.stdout}{isolated.stderr}"
        )
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def fresh_venv(tmp_path: Path, wheel: Path) -> tuple[Path, Path]:
    """A virtual environment with the wheel installed; returns (venv dir, its python)."""
    venv = tmp_path / "venv"
    created = run_clean([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert created.returncode == 0, created.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = run_clean(
        [
            *(sys.executable, "-m", "pip", "--python", str(python)),
            *("install", "--quiet", "--no-deps", "--no-index", str(wheel)),
        ]
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    probe = run_clean(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    )
    assert probe.returncode == 0, probe.stderr
    site_packages = Path(probe.stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "_project_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(ours)), encoding="utf-8"
    )
    return venv, python
