"""The output folder as a whole: the marker, the refusal of foreign folders, the lock, the
spare tree and the switch (sitegen/outputtree.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, article, build_site, read_tree, site_config

from sitegen import outputtree
from sitegen.build import build
from sitegen.errors import ConfigError, ContentError
from sitegen.outputtree import (
    MARKER,
    OutputError,
    locked,
    prepare_spare,
    read_generation,
    refuse_foreign,
    switch,
    work_dir_for,
)

FILES = {
    "content/2025/03/alpha-story.md": article("Alpha story", "2025-03-04", "Alpha body."),
    "content/2025/03/beta-story.md": article("Beta story", "2025-03-05", "Beta body."),
}


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# ---------------------------------------------------------------- whose folder

def test_a_foreign_folder_with_files_is_refused_and_left_alone(make_site, tmp_path):
    site = make_site(FILES)
    documents = tmp_path / "Documents"
    _tree(documents, {"thesis.txt": "years of work", "photos/cat.jpg": "jpeg"})
    with pytest.raises(OutputError, match="did not write.*--force"):
        build_site(site, output_dir=documents)
    assert read_tree(documents) == {"photos/cat.jpg": b"jpeg", "thesis.txt": b"years of work"}


def test_force_takes_a_foreign_folder(make_site, tmp_path):
    site = make_site(FILES)
    target = tmp_path / "site-out"
    _tree(target, {"old.txt": "x"})
    build_site(site, output_dir=target, force=True)
    assert (target / "index.html").is_file() and read_generation(target)
    assert not (target / "old.txt").exists()


def test_an_empty_folder_or_one_with_the_marker_is_taken(make_site, tmp_path):
    site = make_site(FILES)
    empty = tmp_path / "empty"
    empty.mkdir()
    build_site(site, output_dir=empty)
    assert (empty / "index.html").is_file()
    marked = tmp_path / "marked"
    _tree(marked, {MARKER: "generation: x\n", "stale.html": "old"})
    build_site(site, output_dir=marked)
    assert (marked / "index.html").is_file()


def test_a_folder_the_cache_records_is_taken_without_a_marker(make_site):
    """Output folders written before the marker existed: the build records say whose."""
    site = make_site(FILES)
    build_site(site)
    (site / "output" / MARKER).unlink()
    build_site(site)
    assert read_generation(site / "output")


def test_an_output_file_is_refused(tmp_path):
    path = tmp_path / "out"
    path.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        refuse_foreign(path, has_records=False, force=False)


@pytest.mark.parametrize("output", ["content", "content/news", "layouts", "layouts/x",
                                    "static", "static/sub", ".sitegen-cache",
                                    ".sitegen-cache/x", ".", ".."])
def test_output_overlapping_a_source_folder_is_refused(make_site, output):
    site = make_site({**FILES, "layouts/base.html": "x", "static/robots.txt": "x"})
    before = read_tree(site)
    with pytest.raises(ConfigError, match="output folder"):
        site_config(site, output_dir=site / output)
    assert read_tree(site) == before


def test_cli_refuses_output_inside_content_with_exit_2(make_site):
    site = make_site(FILES)
    run = subprocess.run([sys.executable, "-m", "sitegen.cli", "build", str(site),
                          "--output", str(site / "content" / "news"), "--no-search"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2, run.stderr
    assert "overlaps the content folder" in run.stderr and "Traceback" not in run.stderr
    assert (site / "content/2025/03/alpha-story.md").is_file()


# ---------------------------------------------------------------- one build at a time

def test_a_second_build_waits_for_the_first(tmp_path):
    output = tmp_path / "out"
    order: list[str] = []
    with locked(output):
        def second() -> None:
            with locked(output, wait=10):
                order.append("second")

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first done")
    thread.join(10)
    assert order == ["first done", "second"]


def test_a_second_build_gives_up_naming_the_holder(tmp_path):
    output = tmp_path / "out"
    with locked(output), pytest.raises(OutputError, match=f"pid {os.getpid()}"), \
            locked(output, wait=0.2):
        pass


def test_two_processes_building_at_once_both_succeed(make_site):
    site = make_site(FILES)
    command = [sys.executable, "-m", "sitegen.cli", "build", str(site), "--no-search"]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert "Traceback" not in err
    assert (site / "output/index.html").is_file()


def test_leftover_staging_is_cleaned_when_the_lock_is_taken(tmp_path):
    output = tmp_path / "out"
    staging = work_dir_for(output) / "staging" / "a.html"
    staging.parent.mkdir(parents=True)
    staging.write_text("half")
    with locked(output):
        assert not staging.parent.exists()
        set_aside = list((work_dir_for(output) / outputtree.DISCARDED).glob("*/a.html"))
        assert [path.read_text() for path in set_aside] == ["half"]  # deleted by the build


def test_an_output_folder_moved_aside_is_put_back(tmp_path):
    """Where two renames stand in for an exchange, a kill between them leaves output/
    missing: the next lock puts the old site back."""
    output = tmp_path / "out"
    aside = work_dir_for(output) / "previous"
    _tree(aside, {"index.html": "old"})
    with locked(output):
        pass
    assert (output / "index.html").read_text() == "old"


# ---------------------------------------------------------------- spare and switch

def _snapshot(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in read_tree(root).items() if k != MARKER}


def test_the_switch_exchanges_whole_trees_and_the_next_spare_is_relinked(tmp_path):
    output, work = tmp_path / "out", tmp_path / ".out.sitegen"
    _tree(output, {"a.html": "A1", "b.html": "B1", MARKER: "generation: g1\n"})
    work.mkdir()
    spare = prepare_spare(output, work)
    assert _snapshot(spare) == _snapshot(output)
    assert os.stat(spare / "a.html").st_ino == os.stat(output / "a.html").st_ino
    (spare / "b.html").unlink()
    (spare / "b.html").write_text("B2")
    (spare / "c.html").write_text("C2")
    switch(spare, output, work, "g2", ["b.html", "c.html"], [])
    assert _snapshot(output) == {"a.html": b"A1", "b.html": b"B2", "c.html": b"C2"}
    assert read_generation(output) == "g2"
    assert read_generation(work / "spare") == "g1"
    spare = prepare_spare(output, work)  # brought to g2 by relinking b and c only
    assert _snapshot(spare) == _snapshot(output)
    assert os.stat(spare / "c.html").st_ino == os.stat(output / "c.html").st_ino


def test_a_spare_changed_by_a_killed_build_is_cloned_again(tmp_path):
    output, work = tmp_path / "out", tmp_path / ".out.sitegen"
    _tree(output, {"a.html": "A1", MARKER: "generation: g1\n"})
    work.mkdir()
    spare = prepare_spare(output, work)
    (spare / "a.html").unlink()
    (spare / "junk.html").write_text("half a build")  # then killed: no switch
    spare = prepare_spare(output, work)
    assert _snapshot(spare) == {"a.html": b"A1"}


def test_a_stale_spare_is_set_aside_before_the_parse_stage_and_gone_when_the_build_ends(
        make_site, monkeypatch):
    """A killed build's half-changed spare/ (a million-article site's took five minutes to
    delete, before anything else) is moved aside at once and deleted while the build runs."""
    import sitegen.build as build_module

    site = make_site(FILES)
    build_site(site)
    work = work_dir_for(site / "output")
    spare = prepare_spare(site / "output", work)  # then a build killed while changing it
    (spare / "junk.html").write_text("half a build")
    seen = []
    real = build_module.parse_articles

    def parse(*args, **kwargs):
        seen.append((work / "spare").exists())
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "parse_articles", parse)
    (site / "content/2025/03/beta-story.md").write_text(article("Beta story", "2025-03-05", "New."))
    report = build_site(site)
    assert seen == [False] and report.files_written > 0
    assert not (work / outputtree.DISCARDED).exists()
    assert not (site / "output/junk.html").exists()
    assert "New." in (site / "output/2025/03/05/beta-story/index.html").read_text()
    clean = site.parent / "clean"
    build_site(site, output_dir=clean, cache_dir=site.parent / "clean-cache")
    assert read_tree(site / "output") == read_tree(clean)


def test_what_a_build_killed_while_deleting_left_is_deleted_by_the_next(make_site):
    site = make_site(FILES)
    build_site(site)
    work = work_dir_for(site / "output")
    _tree(work / outputtree.DISCARDED / "left", {"a/b.html": "half deleted"})
    report = build_site(site)  # nothing changed: the no-change build deletes it too
    assert report.pages_rendered == 0 and not (work / outputtree.DISCARDED).exists()


def test_a_build_with_nothing_to_delete_starts_no_deleting(make_site, monkeypatch):
    import sitegen.build as build_module

    site = make_site(FILES)
    build_site(site)
    started = []
    real = build_module.Background
    monkeypatch.setattr(build_module, "Background",
                        lambda func, *args: started.append(func) or real(func, *args))
    build_site(site)
    assert started and outputtree.delete_discarded not in started


def test_a_spare_that_pairs_with_the_output_is_not_stale(tmp_path):
    output, work = tmp_path / "out", tmp_path / ".out.sitegen"
    _tree(output, {"a.html": "A1", MARKER: "generation: g1\n"})
    work.mkdir()
    spare = prepare_spare(output, work)
    assert outputtree.stale_spare(output, work)  # being changed: its marker is gone
    (spare / "a.html").unlink()
    (spare / "a.html").write_text("A2")
    switch(spare, output, work, "g2", ["a.html"], [])
    assert not outputtree.stale_spare(output, work)  # the journal pairs g1 with g2
    assert outputtree.stale_spare(output, work, start_empty=True)


def test_an_exchange_the_kernel_refuses_falls_back_to_two_renames(tmp_path, monkeypatch):
    output, work = tmp_path / "out", tmp_path / ".out.sitegen"
    _tree(output, {"a.html": "old", MARKER: "generation: g1\n"})
    work.mkdir()
    spare = prepare_spare(output, work)
    (spare / "a.html").unlink()
    (spare / "a.html").write_text("new")

    def refuse(_a: Path, _b: Path) -> None:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(outputtree, "_exchange", refuse)
    switch(spare, output, work, "g2", ["a.html"], [])
    assert (output / "a.html").read_text() == "new"
    assert (work / "spare" / "a.html").read_text() == "old"


def test_unchanged_files_keep_their_inode_and_mtime_across_builds(make_site):
    site = make_site(FILES)
    build_site(site)
    page = site / "output/2025/03/04/alpha-story/index.html"
    before = os.stat(page)
    (site / "content/2025/03/beta-story.md").write_text(article("Beta story", "2025-03-05", "New."))
    build_site(site)
    after = os.stat(page)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_mount_point_is_written_in_place(make_site, monkeypatch):
    """output/ that is a mount point cannot be renamed: files move into it one by one, and
    the folder itself is never removed."""
    site = make_site(FILES)
    output = site / "output"
    output.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == output or real_ismount(p))
    build_site(site)
    inode = os.stat(output).st_ino
    (site / "content/2025/03/beta-story.md").unlink()
    build_site(site)
    assert os.stat(output).st_ino == inode
    assert (output / "index.html").is_file()
    assert not (output / "2025/03/05/beta-story").exists()
    assert not (site / ".output.sitegen").exists()  # sitegen's folder lives inside it


def test_a_full_disk_is_one_clear_error_and_the_old_site_stays(make_site, monkeypatch):
    site = make_site(FILES)
    build_site(site)
    before = _snapshot(site / "output")
    (site / "content/2025/03/beta-story.md").write_text(article("Beta story", "2025-03-05", "New."))
    real_replace = os.replace

    def full(src, dst, *args, **kwargs):
        if "spare" in str(dst):
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match="No space left on device.*left as it was"):
        build(site_config(site))
    monkeypatch.undo()
    assert _snapshot(site / "output") == before
    assert not (site / ".output.sitegen" / "staging").exists()
    build_site(site)
    assert b"New." in (site / "output/2025/03/05/beta-story/index.html").read_bytes()


# ---------------------------------------------------------------- files sitegen did not write

def _edit(site: Path, text: str) -> None:
    (site / "content/2025/03/beta-story.md").write_text(article("Beta story", "2025-03-05", text))


def test_files_sitegen_did_not_write_survive_builds_and_so_does_their_removal(make_site):
    site = make_site(FILES)
    build_site(site)
    verify = site / "output/google1234.html"
    verify.write_text("google-site-verification")
    for text in ("One.", "Two.", "Three."):  # each build switches trees: it stays
        _edit(site, text)
        build_site(site)
        assert verify.read_text() == "google-site-verification"
    verify.unlink()
    for text in ("Four.", "Five."):  # and once removed it does not come back
        _edit(site, text)
        build_site(site)
        assert not verify.exists()


@pytest.mark.parametrize(("rel", "says"), [
    ("static/index.html", "a page sitegen generates"),
    ("static/pagefind/pagefind.js", "the search index's folder"),
    ("content/2025/03/c/index.html", "a page sitegen generates"),
    ("static/2025/03/04/alpha-story/photo.jpg", "content/2025/03/alpha-story/photo.jpg"),
])
def test_a_copied_file_that_collides_with_a_generated_one_is_an_error(make_site, rel, says):
    files = {**FILES, "content/2025/03/c/index.md": article("Gamma", "2025-03-06", "G."),
             "content/2025/03/alpha-story/index.md": article("Alpha story", "2025-03-04", "A."),
             "content/2025/03/alpha-story/photo.jpg": "jpeg"}
    del files["content/2025/03/alpha-story.md"]
    files[rel] = "x"
    site = make_site(files)
    with pytest.raises(ContentError) as info:
        build_site(site)
    assert rel.split("/", 1)[1] in str(info.value) or rel in str(info.value)
    assert says in str(info.value)
    assert not (site / "output").exists()


def test_a_copied_file_added_over_a_page_an_edit_keeps_is_an_error(make_site):
    """The pages an edit does not plan again are asked one by one (not listed: a million
    rows at a million articles); a new static file over one of them is refused all the same,
    and output/ stays as it was."""
    site = make_site(FILES)
    build_site(site)
    before = read_tree(site / "output")
    page = next(p for p in sorted((site / "output").glob("20*/*/*/*/index.html")))
    rel = page.relative_to(site / "output").as_posix()
    (site / "static" / rel).parent.mkdir(parents=True)
    (site / "static" / rel).write_text("x")
    with pytest.raises(ContentError) as info:
        build_site(site)
    assert f"would be copied to {rel}, a page sitegen generates" in str(info.value)
    assert read_tree(site / "output") == before


def test_a_copied_file_over_an_extra_file_is_an_error(make_site):
    site = make_site({**FILES, "static/CNAME": "news.example.org"})
    with pytest.raises(ContentError) as info:
        build_site(site, cname="news.example.org")
    assert "would be copied to CNAME, a page sitegen generates" in str(info.value)


def test_a_read_only_output_is_one_line_and_exit_1(make_site, monkeypatch):
    from click.testing import CliRunner

    from sitegen import writer
    from sitegen.cli import main

    site = make_site(FILES)
    build_site(site)
    before = read_tree(site / "output")
    _edit(site, "Changed.")

    def read_only(self, rel_path, data):
        raise OSError(30, "Read-only file system", str(self.staging / rel_path))

    monkeypatch.setattr(writer.Stager, "stage", read_only)
    result = CliRunner().invoke(main, ["build", str(site), "--no-search"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Read-only file system" in lines[0], result.output
    assert "left as it was" in lines[0] and "Traceback" not in result.output
    assert read_tree(site / "output") == before
    assert not (site / ".output.sitegen" / "staging").exists()
