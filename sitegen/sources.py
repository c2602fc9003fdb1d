"""Find the site's input files: articles and their page bundles, and the layout folders.

Kept apart from parsing (content.py) and rendering (render.py) so that a build that finds
nothing changed never imports YAML or Jinja2.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .config import Config
from .records import SourceFile


def discover(content_dir: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every article file under `content_dir`: (relative path, path, bundle files), sorted.

    Paths are strings: pathlib objects for 100,000 files cost more than the walk itself.
    """
    found: list[tuple[str, str, tuple[str, ...]]] = []
    root = str(content_dir)
    skip = len(root) + 1
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_folder = folder[skip:].replace(os.sep, "/")
        prefix = f"{rel_folder}/" if rel_folder else ""
        if "index.md" in files:
            bundle = tuple(sorted(_bundle_files(Path(folder))))
            found.append((prefix + "index.md", os.path.join(folder, "index.md"), bundle))
            dirs[:] = []  # a bundle's subfolders hold its files, not articles
            continue
        for name in sorted(files):
            if name.endswith(".md") and not name.startswith("."):
                found.append((prefix + name, os.path.join(folder, name), ()))
    return found


def _bundle_files(folder: Path) -> list[str]:
    out = []
    for sub, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name != "index.md" and not name.startswith("."):
                out.append(Path(sub, name).relative_to(folder).as_posix())
    return out


def read_source(rel: str, path: Path | str, bundle: tuple[str, ...]) -> SourceFile:
    with open(path, "rb") as file:
        data = file.read()
    return SourceFile(rel, data, hashlib.blake2b(data, digest_size=16).hexdigest(), bundle)


def stat_signature(path: Path | str) -> str:
    """Changes whenever the file's bytes may have: ctime cannot be set back by any tool."""
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


BUILTIN_LAYOUTS = Path(__file__).resolve().parent.parent / "layouts"


def builtin_layouts() -> Path:
    """The built-in theme: the repository's `layouts/`, or the copy installed with the package."""
    if BUILTIN_LAYOUTS.is_dir():
        return BUILTIN_LAYOUTS
    return Path(__file__).resolve().parent / "theme"


def layout_dirs(config: Config) -> list[Path]:
    """The site's own layouts first, so they override the built-in theme file by file."""
    dirs = [config.layouts_dir] if config.layouts_dir.is_dir() else []
    builtin = builtin_layouts()
    if builtin.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(builtin)
    return dirs


