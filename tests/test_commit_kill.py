"""A build killed at any moment leaves the old site or the new one in `output/`, whole,
search bundle included; the next build equals a clean build (issue #13).

Each case runs a build in a child process (its own session, so a kill takes its workers
and Pagefind services too) and kills it at a chosen moment: the n-th call of a function
the build uses in one of its stages. Random moments are tried as well.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import FIXED_NOW, ROOT, read_tree, site_config
from genarchive import main as genarchive

from sitegen.build import build

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime
    from sitegen import build, outputtree, search, writer
    from sitegen.config import load_config

    site, owner_name, attribute = sys.argv[1:4]
    count = int(sys.argv[4])
    owners = {"os": os, "build": build, "outputtree": outputtree, "search": search,
              "writer": writer, "Stager": writer.Stager,
              "PagefindProcess": search.PagefindProcess}
    owner = owners[owner_name]
    original = getattr(owner, attribute)
    calls = [0]

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] >= count:
            os.killpg(0, signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(owner, attribute, wrapped)
    config = load_config(site, now=datetime.fromisoformat(sys.argv[5]), jobs=1, search=True)
    build.build(config)
    print("finished")
""")

# (owner, function, call number): moments in every stage of an incremental build
MOMENTS = [
    ("Stager", "stage", 3),  # render
    ("os", "replace", 2),  # moving pages into the spare tree
    ("os", "replace", 12),
    ("PagefindProcess", "index_many", 1),  # search: indexing
    ("search", "_join_bundle", 1),  # search: joining the site-wide bundle
    ("writer", "switch", 1),  # before the switch
    ("outputtree", "write_new", 2),  # the switch: its journal written, not the marker
    ("outputtree", "_exchange", 1),  # the switch: journal and marker written
    ("build", "remember_pages", 1),  # after the switch, before the records
]


def _site(root: Path) -> Path:
    site = root / "site"
    genarchive([str(site / "content"), "-n", "60", "-q"])
    (site / "sitegen.toml").write_text('title = "Kill"\nbase_url = "https://example.org/"\n')
    return site


def _edit(site: Path) -> None:
    """Change one article, remove one and add one: writes, removals, search changes."""
    files = sorted((site / "content").rglob("*.md"))
    text = files[0].read_text()
    files[0].write_text(text + "\nA freshly added paragraph mentions zeppelins.\n")
    files[1].unlink()
    new = site / "content" / "2026" / "02" / "kill-test.md"
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_text("---\ntitle: Added in the edit\ndate: 2026-02-01\n---\n\nNew words.\n")


def _snapshot(output: Path) -> dict[str, bytes]:
    return read_tree(output)


def _build(site: Path) -> None:
    build(site_config(site, search=True))


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """(the built old site, the old output, the new output of a clean build)."""
    root = tmp_path_factory.mktemp("kill")
    old = _site(root)
    _build(old)
    clean = root / "clean"
    shutil.copytree(old, clean, ignore=shutil.ignore_patterns("output", ".*"))
    _edit(clean)
    _build(clean)
    return old, _snapshot(old / "output"), _snapshot(clean / "output")


def _copy_of(old: Path, into: Path) -> Path:
    """The old site with its output, cache and spare tree (as copies: the inodes differ,
    the bytes and the generations do not), then edited."""
    site = into / "site"
    shutil.copytree(old, site, symlinks=True)
    _edit(site)
    return site


def _run_child(site: Path, owner: str, attribute: str, count: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(site), owner, attribute, str(count),
         FIXED_NOW.isoformat()],
        cwd=ROOT, capture_output=True, text=True, start_new_session=True, timeout=300)


def _assert_whole_then_healed(site: Path, old: dict, new: dict) -> None:
    after_kill = _snapshot(site / "output")
    assert after_kill in (old, new), _difference(after_kill, old, new)
    _build(site)
    assert _snapshot(site / "output") == new


def _difference(tree: dict, old: dict, new: dict) -> str:
    as_old = sum(1 for k, v in tree.items() if old.get(k) == v)
    as_new = sum(1 for k, v in tree.items() if new.get(k) == v)
    return f"a torn site: {len(tree)} files, {as_old} as in the old site, {as_new} as in the new"


@pytest.mark.parametrize(("owner", "attribute", "count"), MOMENTS,
                         ids=[f"{o}.{a}#{n}" for o, a, n in MOMENTS])
def test_a_build_killed_at_a_moment_leaves_a_whole_site(sites, tmp_path, owner, attribute,
                                                          count):
    old_site, old, new = sites
    site = _copy_of(old_site, tmp_path)
    run = _run_child(site, owner, attribute, count)
    assert run.returncode == -signal.SIGKILL, (run.stdout, run.stderr)  # it was killed
    _assert_whole_then_healed(site, old, new)


def test_builds_killed_at_random_moments_leave_whole_sites(sites, tmp_path):
    old_site, old, new = sites
    started = time.monotonic()
    _build(_copy_of(old_site, tmp_path / "timing"))
    duration = time.monotonic() - started
    chance = random.Random(13)
    for attempt in range(5):
        site = _copy_of(old_site, tmp_path / str(attempt))
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(site), "os", "getpid", "1000000000",
             FIXED_NOW.isoformat()], cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(chance.uniform(0.05, duration * 1.5))
        with contextlib.suppress(ProcessLookupError):  # it may have finished first
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(60)
        _assert_whole_then_healed(site, old, new)
