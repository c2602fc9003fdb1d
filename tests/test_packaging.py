"""What a non-editable install (pip, pre-commit, GitHub Actions) carries: every package of
sitegen, every file of the built-in theme."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_of_the_package_is_declared():
    """Python packages and data folders alike (setuptools warns about, and a non-editable
    install would leave out, a folder that is neither)."""
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "sitegen").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    assert found <= set(SETUP["packages"]), found - set(SETUP["packages"])


def test_every_data_file_of_the_package_is_package_data():
    data = SETUP["package-data"]
    missing = [str(p.relative_to(ROOT)) for p in (ROOT / "sitegen").rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc")
               and not any(fnmatch.fnmatch(p.name, glob) for glob in
                           data.get(".".join(p.parent.relative_to(ROOT).parts), []))]
    assert not missing, missing


def test_every_theme_file_is_package_data():
    layouts = ROOT / SETUP["package-dir"]["sitegen.theme"]
    data = SETUP["package-data"]
    missing = []
    for path in layouts.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(layouts)
        package = ".".join(("sitegen.theme", *rel.parent.parts))
        assert package in SETUP["packages"], f"{package} (for {rel}) is not a package"
        if not any(fnmatch.fnmatch(rel.name, glob) for glob in data.get(package, [])):
            missing.append(str(rel))
    assert not missing, missing
