"""The wheel ships what the source tree has, and imports from a fresh virtual environment.

The wheel is built from a scratch copy of the sources (so a stale ``build/`` folder or an
``*.egg-info`` in the work tree can neither leak into it nor be left behind), without build
isolation when the running environment has the build backend (setuptools >= 77 for the PEP 639
``license`` string, and wheel), otherwise with isolation (that needs the package index).

The fresh environment gets the wheel only (``--no-deps``); its dependencies come from this
environment's site-packages through a ``.pth`` file, which puts them *after* the fresh
site-packages on ``sys.path``, so the package under test is the installed one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "streamstraight_server"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
MODULES = ("streamstraight_server", "streamstraight_server._sync", "streamstraight_server._async")


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``command`` in a clean shell: none of this interpreter's or Streamstraight's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STREAMSTRAIGHT_"))}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _package_files(subdir: str) -> list[str]:
    """Files of the source package under ``subdir``, as wheel member names."""
    root = PACKAGE / subdir
    if not root.is_dir():
        return []
    return sorted(
        path.relative_to(REPO).as_posix()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE.txt", "setup.cfg"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=IGNORED)
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)]
    fast = _run([*build, "--no-isolation"])
    if fast.returncode != 0:
        isolated = _run(build)
        assert isolated.returncode == 0, (
            f"--no-isolation:\n{fast.stdout}{fast.stderr}\n"
            f"isolated:\n{isolated.stdout}{isolated.stderr}"
        )
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _fresh_venv(tmp_path: Path, wheel: Path) -> tuple[Path, Path]:
    """A virtual environment with the wheel installed; returns (venv dir, its python)."""
    venv = tmp_path / "venv"
    created = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert created.returncode == 0, created.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = _run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python)),
            *("install", "--quiet", "--no-deps", "--no-index", str(wheel)),
        ]
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    probe = _run(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    )
    assert probe.returncode == 0, probe.stderr
    site_packages = Path(probe.stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "_project_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(ours)), encoding="utf-8"
    )
    return venv, python


def test_wheel_contents_and_fresh_install(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())

    assert "streamstraight_server/py.typed" in names
    assert "streamstraight_server/__init__.py" in names
    # Every module (a folder without __init__.py would silently be left out), every file of
    # the generated twin, and the dev server's static files.
    expected = [
        *(name for name in _package_files(".") if name.endswith(".py")),
        *_package_files("_sync"),
        *_package_files("devserver/static"),
    ]
    missing = [name for name in expected if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("tests/", "scripts/"))]

    venv, python = _fresh_venv(tmp_path, wheel)
    script = (
        "import importlib, json\n"
        f"print(json.dumps({{m: importlib.import_module(m).__file__ for m in {MODULES!r}}}))\n"
    )
    # -I: no PYTHON* variables, no user site, and not the current folder on sys.path.
    imported = _run([str(python), "-I", "-c", script], cwd=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    files: dict[str, str] = json.loads(imported.stdout)
    for module, file in files.items():
        path = Path(file).resolve()
        assert path.is_relative_to(venv.resolve()), f"{module} imported from {path}"
        assert not path.is_relative_to(REPO), f"{module} imported from the source tree"
    installed_pkg = Path(files["streamstraight_server"]).parent
    assert (installed_pkg / "py.typed").is_file()
    bin_dir = python.parent
    assert any(bin_dir.glob("streamstraight*")), "console script `streamstraight` not installed"
