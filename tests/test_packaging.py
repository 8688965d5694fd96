"""The wheel ships what the source tree has, and imports from a fresh virtual environment
(how both are made: ``tests/support/wheel.py``)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.support.helpers import REPO
from tests.support.wheel import PACKAGE, build_wheel, fresh_venv, run_clean

MODULES = ("streamstraight_server", "streamstraight_server._sync", "streamstraight_server._async")


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


def test_wheel_contents_and_fresh_install(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
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

    venv, python = fresh_venv(tmp_path, wheel)
    script = (
        "import importlib, json\n"
        f"print(json.dumps({{m: importlib.import_module(m).__file__ for m in {MODULES!r}}}))\n"
    )
    # -I: no PYTHON* variables, no user site, and not the current folder on sys.path.
    imported = run_clean([str(python), "-I", "-c", script], cwd=tmp_path)
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
