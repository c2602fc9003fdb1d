"""Shared fixtures: small sites declared inline, built into tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sitegen.build import build
from sitegen.config import Config, load_config
from sitegen.outputtree import MARKER

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

FIXED_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

SiteFactory = Callable[..., Path]


def run_git(repo: Path, *args: str, date: str | None = "2025-01-02T10:00:00+00:00") -> None:
    """git in `repo` with a fixed identity, no user or system config, and (unless None) a
    fixed author and committer date."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@e", *args], cwd=repo,
                   env=env, check=True, capture_output=True)


@pytest.fixture
def make_site(tmp_path: Path) -> SiteFactory:
    """make_site({"content/a.md": "...", ...}, config="...") -> the site folder."""

    def factory(files: dict[str, str | bytes], config: str = "", name: str = "site") -> Path:
        site = tmp_path / name
        (site / "content").mkdir(parents=True, exist_ok=True)
        (site / "sitegen.toml").write_text(
            config or 'title = "Test Gazette"\nbase_url = "https://example.org/"\n')
        for rel, text in files.items():
            path = site / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return site

    return factory


def site_config(site: Path, **overrides) -> Config:
    overrides.setdefault("search", False)
    overrides.setdefault("now", FIXED_NOW)
    overrides.setdefault("jobs", 1)
    return load_config(site, **overrides)


def build_site(site: Path, **overrides):
    return build(site_config(site, **overrides))


def article(title: str, date: str, body: str = "Body text.", **fields) -> str:
    lines = ["---", f"title: {title!r}" if ":" in title else f"title: {title}", f"date: {date}"]
    for key, value in fields.items():
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(value)}]")
        else:
            lines.append(f"{key}: {value}")
    lines += ["---", "", body, ""]
    return "\n".join(lines)


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` but sitegen's own: the marker (it names the build that wrote
    it) and, in an output folder that is a mount point, its work folder `.sitegen/`."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != MARKER
            and p.relative_to(root).parts[0] != ".sitegen"}
