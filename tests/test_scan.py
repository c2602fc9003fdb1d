"""The load stage's no-change decision: from one streamed walk of the content folder with a
stat of each article, no SourceFile made and no page state loaded, while every change of a
source, a bundle file, a layout or an output file is still seen."""

from __future__ import annotations

import os
import time

import pytest
from conftest import article, build_site, read_tree, site_config

import sitegen.scan as scan_module
from sitegen.errors import ContentError
from sitegen.pagestates import StoredPageStates
from sitegen.state import BuildState

FILES = {
    "content/2025/03/alpha.md": article("Alpha", "2025-03-04", "Alpha body.", tags=["One"]),
    "content/2025/03/beta.md": article("Beta", "2025-03-05", "Beta body.", tags=["One"]),
    "content/bundled/index.md": article("Bundled", "2025-02-01", "![map](map.svg)"),
    "content/bundled/map.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
}


SOURCES = {"2025/03/alpha.md", "2025/03/beta.md", "bundled/index.md"}


def stages(report) -> list[str]:
    return [name for name, _ in report.stage_seconds]


def later(path) -> None:
    """The same bytes with a new stat signature."""
    stamp = time.time_ns() + 10**9
    os.utime(path, ns=(stamp, stamp))


def test_a_no_change_build_lists_no_source_and_loads_no_page_state(make_site, monkeypatch):
    site = make_site(FILES)
    first = build_site(site)

    def refuse(*args, **kwargs):
        raise AssertionError("listed every source or page state")

    monkeypatch.setattr(scan_module, "scan_sources", refuse)
    monkeypatch.setattr(StoredPageStates, "__iter__", refuse)
    monkeypatch.setattr(StoredPageStates, "items", refuse)
    again = build_site(site)
    assert stages(again) == ["load"] and (again.pages_rendered, again.files_written) == (0, 0)
    assert again.files_unchanged >= first.pages_planned  # the recorded states, counted


def test_the_previous_states_of_a_build_are_not_a_dict(make_site, monkeypatch):
    import sitegen.build as build_module

    seen = []
    real = build_module.Run

    def spy(config, cache, previous, progress=None):
        seen.append(previous)
        return real(config, cache, previous, progress)

    monkeypatch.setattr(build_module, "Run", spy)
    site = make_site(FILES)
    build_site(site)
    build_site(site)
    assert all(isinstance(states, StoredPageStates) for states in seen) and len(seen) == 2


@pytest.mark.parametrize("change", ["edit", "add", "delete", "bundle file", "layout"])
def test_a_change_is_seen_and_builds_what_a_clean_build_does(make_site, change):
    site = make_site(FILES)
    build_site(site)
    time.sleep(0.01)
    if change == "edit":
        (site / "content/2025/03/beta.md").write_text(article("Beta", "2025-03-05", "New."))
    elif change == "add":
        (site / "content/2025/03/gamma.md").write_text(article("Gamma", "2025-03-06"))
    elif change == "delete":
        (site / "content/2025/03/alpha.md").unlink()
    elif change == "bundle file":
        (site / "content/bundled/map.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'>"
                                                      "<g/></svg>")
    else:
        (site / "layouts").mkdir()
        (site / "layouts/404.html").write_text("{% extends 'base.html' %}")
    report = build_site(site)
    assert stages(report) != ["load"] and report.files_written > 0
    clean = site.parent / "clean"
    build_site(site, output_dir=clean, cache_dir=site.parent / "clean-cache")
    assert read_tree(site / "output") == read_tree(clean)
    assert stages(build_site(site)) == ["load"]


def test_a_touched_source_is_read_once_and_the_next_build_is_quick_again(make_site,
                                                                        monkeypatch):
    site = make_site(FILES)
    build_site(site)
    later(site / "content/2025/03/alpha.md")
    listed = []
    real = scan_module.scan_sources
    monkeypatch.setattr(scan_module, "scan_sources",
                        lambda *args: listed.append(1) or real(*args))
    touched = build_site(site)  # the same digest: nothing changed after all
    assert listed and stages(touched) == ["load"] and touched.files_written == 0
    listed.clear()
    assert stages(build_site(site)) == ["load"] and not listed


def test_a_build_that_finds_a_change_walks_the_content_folder_once(make_site, monkeypatch):
    import sitegen.sources as sources_module

    site = make_site(FILES)
    build_site(site)
    (site / "content/2025/03/beta.md").write_text(article("Beta", "2025-03-05", "New."))
    walks, stats = [], []
    real_walk, real_stat = sources_module.walk, sources_module.stat_signature
    for module in (sources_module, scan_module):  # wherever the load stage calls them
        monkeypatch.setattr(module, "walk", lambda folder: walks.append(folder) or
                            real_walk(folder), raising=False)
        monkeypatch.setattr(module, "stat_signature", lambda path: stats.append(path) or
                            real_stat(path))
    report = build_site(site)
    assert report.pages_rendered > 0 and "New." in \
        (site / "output/2025/03/05/beta/index.html").read_text()
    statted = [str(path) for path in stats]
    assert len(walks) == 1
    for rel in ("2025/03/alpha.md", "2025/03/beta.md"):  # a bundle's folder is statted again
        assert statted.count(str(site / "content" / rel)) == 1


def test_a_file_that_cannot_be_read_is_named(make_site):
    site = make_site(FILES)
    build_site(site)
    broken = site / "content/2025/03/gone.md"
    broken.symlink_to(site / "content/2025/03/nowhere.md")  # a dangling link: its stat fails
    with pytest.raises(ContentError) as caught:
        build_site(site)
    assert "gone.md" in str(caught.value) and "cannot read" in str(caught.value)


def test_a_disturbed_output_file_is_written_again(make_site):
    site = make_site(FILES)
    build_site(site)
    page = site / "output/2025/03/04/alpha/index.html"
    before = page.read_bytes()
    page.write_bytes(b"changed by hand")
    report = build_site(site)
    assert report.files_written == 1 and page.read_bytes() == before


def test_a_config_change_is_seen(make_site):
    site = make_site(FILES)
    build_site(site)
    config = site / "sitegen.toml"
    config.write_text(config.read_text().replace("Test Gazette", "Other Gazette"))
    assert stages(build_site(site)) != ["load"]


def test_the_signatures_kept_follow_the_sources_table(make_site):
    site = make_site(FILES)
    build_site(site)
    with BuildState.open(site_config(site)) as cache:
        seen = cache.get_meta(scan_module.SOURCES_SEEN)
        rows = cache.source_digests()
    signature, digest = seen.split(" ")
    order = ["2025/03/alpha.md", "2025/03/beta.md", "bundled/index.md"]
    bundles = {"bundled/index.md": ("map.svg",)}
    assert signature == scan_module.signatures_digest(
        (rel, rows[rel][0], bundles.get(rel, ())) for rel in order)
    assert len(digest) == 32 and set(rows) == set(order)


@pytest.mark.parametrize("hashed_by", ["the scan", "the parse workers"])
def test_the_stages_after_parse_hold_no_listing_of_the_sources(make_site, monkeypatch,
                                                               hashed_by):
    """The listing is ~300 bytes an article that no stage after parse reads (issue #20)."""
    import gc

    import sitegen.build as build_module
    from sitegen.records import SourceFile

    if hashed_by == "the parse workers":
        monkeypatch.setattr(scan_module, "HASHED_IN_PARENT", 0)
    held: list[int] = []
    tables: list[int] = []
    render_pages = build_module.render_pages

    def counting(*args, **kwargs):
        gc.collect()  # an earlier test's cyclic garbage may hold some: it is not held
        alive = gc.get_objects()
        held.append(sum(isinstance(o, SourceFile) for o in alive))
        # nor a table of the sources (their digests, which the parse workers send back): a
        # dict of strings only is not tracked by the collector, it is found by its holder
        found = {id(o): o for o in gc.get_referents(*alive) if type(o) is dict}
        tables.append(sum(set(o) == SOURCES for o in found.values()))
        return render_pages(*args, **kwargs)

    monkeypatch.setattr(build_module, "render_pages", counting)
    site = make_site(FILES)
    first = build_site(site)
    (site / "content/2025/03/beta.md").write_text(article("Beta", "2025-03-05", "New."))
    edited = build_site(site)
    assert held == [0, 0] and first.articles == edited.articles == 3
    assert tables == [0, 0]
    assert stages(build_site(site)) == ["load"]  # what the next build compares was kept
