"""Golden output of the small fixture site (tests/sites/small): every page byte for byte.

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/test_golden.py`,
then review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import FIXED_NOW, read_tree

from sitegen.build import build
from sitegen.config import load_config

SITE = Path(__file__).parent / "sites" / "small"
GOLDEN = Path(__file__).parent / "golden" / "small"


def built_tree(tmp_path: Path) -> dict[str, bytes]:
    config = load_config(SITE, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                         search=False, git_history=False, now=FIXED_NOW, jobs=1)
    build(config)
    tree = read_tree(tmp_path / "out")
    return {k: v for k, v in tree.items() if not k.startswith("assets/")}  # theme CSS churns


def test_small_site_matches_golden_output(tmp_path):
    tree = built_tree(tmp_path)
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in tree.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    golden = read_tree(GOLDEN)
    assert sorted(tree) == sorted(golden)
    for rel in tree:
        assert tree[rel] == golden[rel], f"{rel} differs from tests/golden/small/{rel}"
