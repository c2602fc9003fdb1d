"""The build state (sitegen/state.py): one format version for the whole cache folder, a
read-only mode that writes nothing, and a discard that a killed build cannot leave half done."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import article, build_site, read_tree, site_config

import sitegen.state
from sitegen.check import check_site
from sitegen.state import BuildState
from sitegen.statefiles import StateFiles

FILES = {
    "content/2025/03/storm.md": article("Storm", "2025-03-02 08:00:00", "Rain on Sunday.",
                                        tags=["weather"]),
    "content/2025/03/budget.md": article("Budget", "2025-03-03 09:00:00", "Numbers.",
                                         tags=["council"]),
}


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file's bytes and every entry's mtime under `folder` (and the folder's own)."""
    found = {".": (None, folder.stat().st_mtime_ns)}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            data = path.read_bytes() if path.is_file() else None
            found[str(path.relative_to(folder))] = (data, path.stat().st_mtime_ns)
    return found


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("sitegen")]


def built(make_site) -> Path:
    site = make_site(FILES)
    build_site(site)
    return site


def test_a_state_of_another_format_is_discarded_once_with_a_message(make_site, caplog,
                                                                    monkeypatch):
    site = built(make_site)
    cache_dir = site_config(site).cache_dir
    (cache_dir / "notes.txt").write_text("mine")  # not sitegen's: left alone
    clean = read_tree(site / "output")
    monkeypatch.setattr(sitegen.state, "FORMAT_VERSION", 999)
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        report = build_site(site)
    (said,) = messages(caplog)
    assert "another version of sitegen" in said and "rebuilding everything" in said
    assert report.pages_rendered == report.pages_planned  # nothing of the old state used
    assert read_tree(site / "output") == clean
    assert (cache_dir / "format").read_text() == "sitegen build state 999\n"
    assert (cache_dir / "notes.txt").read_text() == "mine"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        assert build_site(site).pages_rendered == 0  # said once: the new state is kept
    assert messages(caplog) == []


def test_an_older_sitegens_state_without_a_stamp_is_discarded(make_site, caplog):
    site = built(make_site)
    cache_dir = site_config(site).cache_dir
    (cache_dir / "format").unlink()
    (site / "content/2025/03/storm.md").write_text(article("Storm", "2025-03-02 08:00:00",
                                                           "Rain on Monday."))
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        report = build_site(site)
    assert len(messages(caplog)) == 1 and report.pages_rendered == report.pages_planned


def test_a_first_build_says_nothing(make_site, caplog):
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        build_site(make_site(FILES))
    assert messages(caplog) == []


def test_a_discard_cut_short_is_done_again(make_site, caplog, monkeypatch):
    site = built(make_site)
    config = site_config(site)
    monkeypatch.setattr(sitegen.state, "FORMAT_VERSION", 999)
    real = Path.unlink
    removed = []

    def killed(path: Path, missing_ok: bool = False) -> None:
        if removed:
            raise KeyboardInterrupt  # the build killed after the first file
        removed.append(path)
        real(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(KeyboardInterrupt), BuildState.open(config):
        pass
    monkeypatch.setattr(Path, "unlink", real)
    caplog.clear()
    assert StateFiles.of(config).format.read_text() != "sitegen build state 999\n"
    with caplog.at_level(logging.WARNING, logger="sitegen"), BuildState.open(config) as state:
        assert state.page_states() == {} and state.last_build() is None
    assert len(messages(caplog)) == 1


def test_check_and_a_read_only_state_write_nothing(make_site, tmp_path):
    site = make_site(FILES)
    # built as a shell builds it: the build's own connections are closed when it ends
    done = subprocess.run([sys.executable, "-c", "from sitegen.cli import run; run()",
                           "build", str(site), "--no-search"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    config = site_config(site)
    before = snapshot(config.cache_dir)
    assert check_site(config) == []
    with BuildState.open(config, read_only=True) as state:
        assert len(state.page_states()) > 3 and state.last_build() is not None
        assert state.parsed_keys() and state.skeleton() is not None
        assert state.shape_keys("no such shape") is None and state.history_edits() == {}
        with pytest.raises(PermissionError):
            state.set_committing(True)
    assert snapshot(config.cache_dir) == before


def test_a_read_only_state_of_nothing_creates_nothing(tmp_path):
    with BuildState.open(tmp_path / "cache", tmp_path / "out", read_only=True) as state:
        assert state.page_states() == {} and state.parsed_keys() == set()
        assert state.last_build() is None and state.search_state({}) == {}
    assert not (tmp_path / "cache").exists()


def test_a_read_only_state_of_another_format_reads_as_empty(make_site, monkeypatch):
    site = built(make_site)
    config = site_config(site)
    before = snapshot(config.cache_dir)
    monkeypatch.setattr(sitegen.state, "FORMAT_VERSION", 999)
    with BuildState.open(config, read_only=True) as state:
        assert state.page_states() == {} and state.skeleton() is None
        assert state.last_build() is None
    assert snapshot(config.cache_dir) == before


def test_every_file_is_named_for_its_output_folder(tmp_path):
    one, two = StateFiles(tmp_path, tmp_path / "a"), StateFiles(tmp_path, tmp_path / "b")
    names = ("database", "skeleton", "search_state", "search_pieces")
    for name in names:
        assert getattr(one, name) != getattr(two, name)
        assert getattr(one, name).parent == tmp_path
    assert one.images == two.images and one.history_edits == two.history_edits
    with pytest.raises(ValueError, match="output folder"):
        StateFiles(tmp_path).database  # noqa: B018


def test_the_skeleton_is_pickled_straight_into_its_file_replaced_whole(tmp_path, monkeypatch):
    skeleton = {"rels": [f"{n}/index.html" for n in range(1000)]}
    with BuildState.open(tmp_path / "cache", tmp_path / "out") as state:
        state.keep_skeleton(["old"])
        monkeypatch.setattr(sitegen.state.pickle, "dumps", None)  # no bytes object of it
        state.keep_skeleton(skeleton)
        assert state.skeleton() == skeleton
        failing = {"rels": [lambda: None]}  # cannot be pickled: the file stays as it was
        with pytest.raises(Exception):  # noqa: B017, PT011
            state.keep_skeleton(failing)
        assert state.skeleton() == skeleton


def test_shape_keys_are_kept_by_position_for_their_shape_and_replace_the_old_entry(tmp_path):
    from array import array

    with BuildState.open(tmp_path / "cache", tmp_path / "out") as state:
        state.set_meta("shape", "s1\n{\"/a/\": \"card:digest\"}")  # as an earlier sitegen kept them
        state.keep_shape_keys("s1", array("Q", [7, 2**64 - 1, 0]))
        assert list(state.shape_keys("s1") or ()) == [7, 2**64 - 1, 0]
        assert state.shape_keys("s2") is None and state.get_meta("shape") is None
        StateFiles.of(tmp_path / "cache", tmp_path / "out").shape_keys.write_bytes(b"s1\nabc")
        assert state.shape_keys("s1") is None  # not whole keys: planned in full


def test_an_edit_replans_only_the_pages_of_the_article_whose_key_changed(make_site,
                                                                         monkeypatch):
    import sitegen.plan as plan_module

    site = make_site(FILES)
    build_site(site)
    (site / "content/2025/03/storm.md").write_text(
        article("Storm", "2025-03-02 08:00:00", "Rain on Monday.", tags=["weather"]))
    plans = []
    real = plan_module.replan
    monkeypatch.setattr(plan_module, "replan",
                        lambda *args: plans.append(real(*args)) or plans[-1])
    edit = build_site(site)
    wanted = plans[0].wanted
    assert wanted is not None and {"/2025/03/02/storm/", "/tags/weather/"} <= wanted
    assert "/tags/council/" not in wanted  # it does not show the storm
    assert 0 < edit.pages_rendered < edit.pages_planned
    assert "Rain on Monday." in (site / "output/2025/03/02/storm/index.html").read_text()
    assert (site / "output/tags/council/index.html").is_file()
