"""The search stage: one site-wide Pagefind bundle joined from pieces, re-indexed only where
pages changed."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import article, build_site, read_tree, site_config

from sitegen import search
from sitegen.errors import SitegenError
from sitegen.records import Article
from sitegen.search import PagefindProcess, element_end, plan_pieces, trim_page

FILES = {
    "content/a.md": article("Harbor budget approved", "2025-02-03 09:00:00",
                            "The council approved the harbor budget.", section="World",
                            tags=["Harbor"], authors=["Ana Ruiz"]),
    "content/b.md": article("Observatory funded", "2024-11-30 23:30:00 -0500",
                            "A new observatory with a zenithscope.", section="Science",
                            tags=["Space"], authors=["Cy Dorn", "Ben Cole"]),
    "content/c.md": article("Library hours", "2023-12-31 20:00:00 -0800",
                            "Longer library hours start in the new year.", section="Business"),
    "content/d.md": article("Ferry fares", "2023-04-04", "Ferry fares rise in spring.",
                            section="Business", tags=["Transit"]),
}


class Calls(list):
    """The SearchReport of every build in a test; `again()` runs the search stage once more
    with the last build's articles and no changed pages (a build whose inputs did not change
    skips every stage, the search stage included)."""

    def __init__(self, original):
        super().__init__()
        self.original = original
        self.last_args: tuple = ()

    def again(self) -> search.SearchReport:
        config, articles, _changed, page_hashes = self.last_args
        report = self.original(config, articles, set(), page_hashes)
        self.append(report)
        return report


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls(search.update_search_index)

    def spy(*args, **kwargs):
        report = calls.original(*args, **kwargs)
        # the build's page hashes read its database, closed when the build ends: a copy
        config, articles, changed, hashes = args
        calls.last_args = (config, articles, changed, None if hashes is None else dict(hashes))
        calls.append(report)
        return report

    monkeypatch.setattr(search, "update_search_index", spy)
    return calls


def fragments(bundle: Path) -> dict[str, dict]:
    """URL -> the Pagefind fragment (text, meta, filters) of each page in a bundle."""
    out = {}
    for path in (bundle / "fragment").iterdir():
        data = gzip.decompress(path.read_bytes())
        assert data[:12] == b"pagefind_dcd"
        fragment = json.loads(data[12:])
        out[fragment["url"]] = fragment
    return out


def entry(output: Path) -> dict:
    return json.loads((output / "pagefind" / "pagefind-entry.json").read_text())


# ---------------------------------------------------------------- a whole build

def test_build_writes_one_site_wide_bundle(make_site, reports):
    site = make_site(FILES, config='title = "T"\nbase_url = "https://example.org/repo/"\n')
    build_site(site, search=True)
    bundle = site / "output" / "pagefind"
    names = {p.name for p in bundle.iterdir()}
    assert {"pagefind.js", "pagefind-worker.js", "wasm.en.pagefind", "pagefind-entry.json",
            "index", "filter", "fragment"} <= names
    assert not any(name.startswith("pagefind-ui") or "highlight" in name for name in names)
    assert entry(site / "output")["languages"]["en"]["page_count"] == 4
    assert len(fragments(bundle)) == 4
    report = reports[-1]
    # c.md, 2023-12-31 20:00 -08:00, is 2024 in UTC: pieces follow UTC years
    assert report.pieces == ("2025", "2024", "2023") and report.pages_indexed == 4
    assert report.joined and report.changed_folders == ("pagefind",)
    assert not list(site.glob("output/.pagefind.*"))


def test_only_article_bodies_are_indexed_with_meta_filters_and_urls(make_site):
    site = make_site(FILES, config='title = "T"\nbase_url = "https://example.org/repo/"\n')
    build_site(site, search=True)
    pages = {page["meta"]["title"]: page for page in
             fragments(site / "output" / "pagefind").values()}
    assert sorted(pages) == ["Ferry fares", "Harbor budget approved", "Library hours",
                             "Observatory funded"]
    page = pages["Observatory funded"]
    assert page["url"].startswith("/2024/11/30/")  # without the base path: the browser adds
    assert page["meta"] == {                         # it (Pagefind's baseUrl)
        "title": "Observatory funded", "date": "November 30, 2024",
        "datetime": "2024-11-30T23:30:00-05:00", "section": "Science"}
    assert page["filters"] == {"section": ["Science"], "tag": ["Space"],
                               "author": ["Cy Dorn", "Ben Cole"], "year": ["2024"]}
    text = page["content"]
    assert "zenithscope" in text and "Observatory funded" in text
    for chrome in ("Search the archive", "Skip to content", "All headlines", "Related",
                   "2024-11-30T", "20241201"):  # masthead, footer, hidden filter/sort values
        assert chrome not in text


def test_unchanged_build_reindexes_nothing(make_site, reports):
    site = make_site(FILES)
    build_site(site, search=True)
    path = site / "output" / "pagefind" / "pagefind-entry.json"
    before = path.stat().st_mtime_ns
    report = reports.again()
    assert report.pieces == () and report.pages_indexed == 0 and not report.joined
    assert report.changed_folders == () and report.pages == 4
    assert path.stat().st_mtime_ns == before


def test_editing_one_article_reindexes_only_its_piece(make_site, reports):
    site = make_site(FILES)
    build_site(site, search=True)
    bundle = site / "output" / "pagefind"
    before = {p.name: p.stat().st_ino for p in (bundle / "fragment").iterdir()}
    (site / "content" / "b.md").write_text(article(
        "Observatory funded", "2024-11-30 23:30:00 -0500", "Now with a quasarscope.",
        section="Science"), encoding="utf-8")
    build_site(site, search=True)
    assert reports[-1].pieces == ("2024",) and reports[-1].pages_indexed == 2
    assert reports[-1].spliced and reports[-1].changed_folders == ()  # the files, named:
    assert [rel for rel in reports[-1].changed_files if rel.startswith("pagefind/fragment/")]
    assert "quasarscope" in json.dumps(fragments(bundle))
    after = {p.name: p.stat().st_ino for p in (bundle / "fragment").iterdir()}
    assert len(set(after) - set(before)) == 1  # the edited page's fragment alone is new


def test_pages_changed_by_a_build_without_search_are_caught_up(make_site, reports,
                                                              monkeypatch):
    """From the hashes the build recorded for the files it left, without a `stat` of every
    article page."""
    site = make_site(FILES)
    build_site(site, search=True)
    (site / "content" / "a.md").write_text(article(
        "Harbor budget approved", "2025-02-03 09:00:00", "Amended: the xylograph clause.",
        section="World"), encoding="utf-8")
    build_site(site, search=False)
    monkeypatch.setattr(search, "_stat", lambda path, url: pytest.fail(f"stat of {url}"))
    build_site(site, search=True)  # this build rewrites no page, but 2025 is stale
    assert reports[-1].pieces == ("2025",)
    assert "xylograph" in json.dumps(fragments(site / "output" / "pagefind"))


def test_each_output_folder_keeps_its_own_index_state(make_site, reports):
    site = make_site(FILES)
    first, second = site / "out-1", site / "out-2"
    build_site(site, search=True, output_dir=first)
    build_site(site, search=True, output_dir=second)
    (site / "content" / "b.md").write_text(article(
        "Observatory funded", "2024-11-30 23:30:00 -0500", "Now with a quasarscope.",
        section="Science"), encoding="utf-8")
    build_site(site, search=True, output_dir=first)
    build_site(site, search=True, output_dir=second)  # one cache folder, two outputs
    assert reports[-1].pieces == ("2024",)
    assert "quasarscope" in json.dumps(fragments(second / "pagefind"))


def test_leftovers_in_the_bundle_folder_are_removed(make_site, reports):
    site = make_site(FILES)
    build_site(site, search=True)
    output = site / "output"
    expected = read_tree(output / "pagefind")
    (output / "pagefind" / "pagefind-ui.js").write_text("// from the CLI")
    (output / "pagefind" / "2024").mkdir()  # a year shard of the former layout
    (output / ".pagefind.new").mkdir()  # a build killed while it switched the bundle
    report = reports.again()
    assert report.changed_folders == ("pagefind",) and report.pieces == ()
    assert read_tree(output / "pagefind") == expected
    assert not (output / ".pagefind.new").exists()


def test_a_missing_bundle_is_rebuilt(make_site, reports):
    site = make_site(FILES)
    build_site(site, search=True)
    bundle = site / "output" / "pagefind"
    expected = read_tree(bundle)
    for path in sorted(bundle.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    bundle.rmdir()
    assert search.index_problem(site_config(site)) is not None
    assert reports.again().joined
    assert read_tree(bundle) == expected


@pytest.mark.parametrize("damage", ["entry", "wasm", "meta"])
def test_a_damaged_bundle_is_rebuilt(make_site, reports, damage):
    site = make_site(FILES)
    build_site(site, search=True)
    bundle = site / "output" / "pagefind"
    expected = read_tree(bundle)
    if damage == "entry":
        (bundle / "pagefind-entry.json").write_bytes(b"")  # as a killed write leaves it
    elif damage == "wasm":
        (bundle / "wasm.en.pagefind").unlink()
    else:
        next(bundle.glob("*.pf_meta")).write_bytes(b"")
    assert search.index_problem(site_config(site)) is not None
    report = reports.again()
    assert report.joined and report.pieces == ()
    assert search.index_problem(site_config(site)) is None
    assert read_tree(bundle) == expected


YEAR = {f"content/m{month}-{day}.md": article(
    f"Story {month}-{day}", f"2024-{month:02}-{day:02} 10:00:00",
    f"Body of story {month} {day} about the harbor and topic{month}x{day}.",
    section=("World", "Science")[day % 2], tags=[f"Tag{month % 3}"])
    for month in (1, 2, 3, 5) for day in (3, 9, 17)}


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of at most 3 articles: a year of this test's size is cut into months."""
    monkeypatch.setattr(search.plan_pieces, "__defaults__", (3,))


def test_the_archive_is_indexed_in_pieces_and_an_edit_reindexes_one(make_site, reports,
                                                                     small_pieces):
    site = make_site(YEAR)
    build_site(site, search=True)
    assert reports[-1].pieces == ("2024-q2", "2024-03", "2024-02", "2024-01")  # Q2: May only
    assert len(fragments(site / "output" / "pagefind")) == 12
    (site / "content" / "m2-9.md").write_text(article(
        "Story 2-9", "2024-02-09 10:00:00", "Rewritten around a quasarscope.",
        section="World", tags=["Tag2"]), encoding="utf-8")
    build_site(site, search=True)
    assert reports[-1].pieces == ("2024-02",) and reports[-1].pages_indexed == 3
    text = json.dumps(fragments(site / "output" / "pagefind"))
    assert "quasarscope" in text and "topic2x9" not in text


def test_a_bundle_joined_from_cached_pieces_equals_a_clean_build(make_site, reports,
                                                                small_pieces):
    site = make_site({**YEAR, "content/old.md": article("Old", "2019-06-01", "Quasarscope.")})
    build_site(site, search=True)
    edits = {"m5-17.md": ("2024-05-17 10:00:00", "Harbor quasarscope résumé."),  # newest
             "m1-3.md": ("2024-01-03 10:00:00", "Café zenithscope")}  # oldest 2024 piece
    for name, (date, body) in edits.items():
        (site / "content" / name).write_text(article(name, date, body), encoding="utf-8")
        build_site(site, search=True)
    (site / "content" / "m3-9.md").unlink()  # a piece loses a page
    (site / "content" / "m4-1.md").write_text(article("April", "2024-04-01", "A new month."),
                                              encoding="utf-8")  # a new piece
    build_site(site, search=True)  # Q2 (April, May) is now cut into months
    assert reports[-1].pieces == ("2024-05", "2024-04", "2024-03")
    clean = make_site({**{k: v for k, v in YEAR.items() if not k.endswith("m3-9.md")},
                       **{f"content/{k}": article(k, d, b) for k, (d, b) in edits.items()},
                       "content/m4-1.md": article("April", "2024-04-01", "A new month."),
                       "content/old.md": article("Old", "2019-06-01", "Quasarscope.")},
                      name="clean")
    build_site(clean, search=True)
    assert read_tree(clean / "output" / "pagefind") == read_tree(site / "output" / "pagefind")


def test_an_edit_is_spliced_into_the_bundle_and_equals_a_clean_build(make_site, reports,
                                                                     small_pieces):
    site = make_site(YEAR)
    build_site(site, search=True)
    edits = {"m2-9.md": ("2024-02-09 10:00:00", "Rewritten: quasarscope café, harbor."),
             "m5-3.md": ("2024-05-03 10:00:00", "Café zenithscope résumé")}
    for name, (date, body) in edits.items():  # same pages a piece: nothing is renumbered
        (site / "content" / name).write_text(article(name, date, body), encoding="utf-8")
        build_site(site, search=True)
        assert reports[-1].spliced and reports[-1].pages_indexed == 3
    (site / "content" / "m3-9.md").unlink()  # a piece loses a page: later pages move up
    build_site(site, search=True)
    assert reports[-1].spliced and reports[-1].pieces == ("2024-03",)
    clean = make_site({**{k: v for k, v in YEAR.items() if not k.endswith("m3-9.md")},
                       **{f"content/{k}": article(k, d, b) for k, (d, b) in edits.items()}},
                      name="clean")
    build_site(clean, search=True)
    assert not reports[-1].spliced
    assert read_tree(clean / "output" / "pagefind") == read_tree(site / "output" / "pagefind")
    (site / "content" / "m4-1.md").write_text(article("New", "2024-04-01", "A new page."),
                                              encoding="utf-8")
    build_site(site, search=True)  # Q2 now holds 4 articles: cut into months, new pieces
    assert reports[-1].joined and not reports[-1].spliced


def test_a_spliced_bundle_is_journaled_by_its_files_and_the_next_spare_matches(
        make_site, reports, small_pieces):
    """The journal names the bundle files a splice changed, not the bundle folder: the next
    build links those again in its spare tree, not every fragment of the archive."""
    from sitegen.outputtree import MARKER, load_journal, prepare_spare

    site = make_site(YEAR)
    build_site(site, search=True)
    work, output = site / ".output.sitegen", site / "output"
    for body in ("First edit: quasarscope.", "Second edit: zenithscope.", "Third: harbor."):
        (site / "content" / "m2-9.md").write_text(article("m2-9.md", "2024-02-09 10:00:00",
                                                          body), encoding="utf-8")
        build_site(site, search=True)
        assert reports[-1].spliced
        journal = load_journal(work)
        assert journal is not None and "pagefind" not in journal.folders
        bundle = [rel for rel in journal.files if rel.startswith("pagefind/")]
        everything = [p for p in (output / "pagefind").rglob("*") if p.is_file()]
        assert any(rel.startswith("pagefind/index/") for rel in bundle)
        assert 0 < len(bundle) < len(everything)
    spare = prepare_spare(output, work)  # as the next build starts: equal to output/
    assert {k: v for k, v in read_tree(spare).items() if k != MARKER} == \
        {k: v for k, v in read_tree(output).items() if k != MARKER}
    clean = make_site({**YEAR, "content/m2-9.md": article("m2-9.md", "2024-02-09 10:00:00",
                                                          "Third: harbor.")}, name="clean")
    build_site(clean, search=True)
    assert read_tree(clean / "output" / "pagefind") == read_tree(output / "pagefind")


def test_a_piece_lost_from_the_cache_is_indexed_again(make_site, reports, small_pieces):
    site = make_site(YEAR)
    build_site(site, search=True)
    pieces = next((site / ".sitegen-cache").glob("search-index-*.pieces"))
    expected = read_tree(site / "output" / "pagefind")
    (pieces / "2024-03.pickle").write_bytes(b"not a pickle")
    (pieces / "joined.state").unlink()  # the bundle must be joined in full: from every piece
    (site / "content" / "m2-9.md").write_text(article(
        "Story 2-9", "2024-02-09 10:00:00", "Rewritten.", section="World", tags=["Tag2"]),
        encoding="utf-8")
    build_site(site, search=True)  # 2024-02 is indexed, 2024-03 cannot be read: all again
    assert reports[-1].pieces == ("2024-q2", "2024-03", "2024-02", "2024-01")
    (site / "content" / "m2-9.md").write_text(YEAR["content/m2-9.md"], encoding="utf-8")
    build_site(site, search=True)
    assert read_tree(site / "output" / "pagefind") == expected


def test_a_failed_build_leaves_no_stale_piece(make_site, reports, small_pieces, monkeypatch):
    site = make_site(YEAR)
    build_site(site, search=True)
    expected = read_tree(site / "output" / "pagefind")
    original = YEAR["content/m2-9.md"]
    (site / "content" / "m2-9.md").write_text(original.replace("Body of", "Changed"),
                                              encoding="utf-8")
    monkeypatch.setattr(search, "_join_bundle", lambda *args: (_ for _ in ()).throw(
        SitegenError("disk full")))
    with pytest.raises(SitegenError, match="disk full"):
        build_site(site, search=True)
    monkeypatch.undo()
    monkeypatch.setattr(search.plan_pieces, "__defaults__", (3,))
    (site / "content" / "m2-9.md").write_text(original, encoding="utf-8")
    build_site(site, search=True)  # the page is back as it was: its piece must not be stale
    assert read_tree(site / "output" / "pagefind") == expected


def test_no_search_writes_no_bundle(make_site):
    site = make_site(FILES)
    build_site(site, search=False)
    assert not (site / "output" / "pagefind").exists()


def test_an_empty_archive_has_no_bundle_and_needs_none(make_site):
    site = make_site({"content/draft.md": article("Draft", "2025-01-01", draft="true")})
    build_site(site, search=True)
    assert not (site / "output" / "pagefind").exists()
    assert search.index_problem(site_config(site)) is None


# ---------------------------------------------------------------- the Pagefind version

@pytest.fixture
def fake_pagefind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """fake_pagefind("1.4.0"): the build finds a Pagefind binary of that version."""
    def install(version: str) -> Path:
        fake = tmp_path / f"pagefind-{version}"
        fake.write_text(f"#!/bin/sh\necho 'pagefind {version}'\n")
        os.chmod(fake, 0o755)
        monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
        search.pagefind_executable.cache_clear()
        return fake

    yield install
    search.pagefind_executable.cache_clear()


@pytest.mark.parametrize("version", ["1.4.0", "1.5.0", "1.6.0", "2.0.1", "unknown"])
def test_an_unsupported_pagefind_stops_the_build_before_anything_is_written(
        make_site, fake_pagefind, version):
    site = make_site(FILES)
    fake_pagefind(version)
    with pytest.raises(SitegenError) as caught:
        build_site(site, search=True)
    message = str(caught.value)
    assert f"Pagefind {version}" in message and ">=1.5.2,<1.6" in message
    assert not (site / "output").exists() and not (site / ".sitegen-cache").exists()


def test_an_unsupported_pagefind_leaves_the_last_site_as_it_was(make_site, fake_pagefind):
    site = make_site(FILES)
    build_site(site, search=True)
    before = read_tree(site / "output")
    (site / "content" / "a.md").write_text(article("Changed", "2025-02-03", "New words."))
    fake_pagefind("1.4.0")
    with pytest.raises(SitegenError, match="Pagefind 1.4.0"):
        build_site(site, search=True)
    assert read_tree(site / "output") == before


def test_supported_versions_are_the_pinned_range():
    from sitegen.search.service import version_supported

    assert [v for v in ("1.4.9", "1.5.0", "1.5.1", "1.5.2", "1.5.10", "1.6.0", "x") if
            version_supported(v)] == ["1.5.2", "1.5.10"]
    assert search.check_pagefind()[1].startswith("1.5.")  # the installed one


# ---------------------------------------------------------------- pieces

def _article(url: str, when: datetime) -> Article:
    return Article(source="x.md", digest="d", title="t", slug="s", url=url, date=when,
                   summary="")


def test_pieces_are_utc_years_newest_first():
    minus8 = timezone(timedelta(hours=-8))
    articles = [_article("/a/", datetime(2023, 12, 31, 20, 0, tzinfo=minus8)),
                _article("/b/", datetime(2023, 6, 1, tzinfo=UTC)),
                _article("/c/", datetime(2025, 1, 1, tzinfo=UTC))]
    assert [(p.id, p.urls) for p in plan_pieces(articles)] == [
        ("2025", ("/c/",)), ("2024", ("/a/",)), ("2023", ("/b/",))]


def test_a_big_year_is_cut_into_quarters_months_thirds_and_days():
    articles = [_article(f"/d{d}-{i}/", datetime(2021, 3, d, 12, i, tzinfo=UTC))
                for d in (2, 9, 10, 11, 25, 31) for i in range(2)]
    articles.append(_article("/april/", datetime(2021, 4, 1, tzinfo=UTC)))
    pieces = plan_pieces(articles, max_pages=6)
    assert [(p.id, len(p.urls)) for p in pieces] == [
        ("2021-q2", 1), ("2021-03-t3", 4), ("2021-03-t2", 2), ("2021-03-t1", 6)]
    assert [url for p in pieces for url in p.urls] == [
        a.url for a in sorted(articles, key=lambda a: a.date, reverse=True)]
    assert [p.id for p in plan_pieces(articles, max_pages=3)] == [  # a third too big: days
        "2021-q2", "2021-03-31", "2021-03-25", "2021-03-t2", "2021-03-10", "2021-03-09",
        "2021-03-02"]
    assert [p.id for p in plan_pieces(articles, max_pages=100)] == ["2021"]
    many = [_article(f"/m{m}-{d}/", datetime(2020, m, d, tzinfo=UTC))
            for m in range(1, 13) for d in (1, 2)]
    assert [p.id for p in plan_pieces(many, max_pages=6)] == [
        "2020-q4", "2020-q3", "2020-q2", "2020-q1"]
    assert [p.id for p in plan_pieces([*many, _article("/x/", datetime(2020, 11, 5, tzinfo=UTC))],
                                      max_pages=6)] == [
        "2020-12", "2020-11", "2020-10", "2020-q3", "2020-q2", "2020-q1"]


def test_a_day_is_never_split():
    articles = [_article(f"/x{i}/", datetime(2022, 2, 2, i, tzinfo=UTC)) for i in range(5)]
    assert [(p.id, len(p.urls)) for p in plan_pieces(articles, max_pages=2)] == [
        ("2022-02-02", 5)]


# ---------------------------------------------------------------- trimming pages

PAGE = (b'<!DOCTYPE html><html lang="fr"><head><title>T</title></head><body>'
        b'<nav>menu</nav><main><article class="story" data-pagefind-body><h1>T</h1>'
        b'<article>inner</article><!-- </article> --><p>end</p></article>'
        b'<aside>related</aside></main><footer>f</footer></body></html>')


def test_trim_keeps_the_language_and_the_body_element():
    assert trim_page(PAGE) == (
        b'<html lang="fr"><body><article class="story" data-pagefind-body><h1>T</h1>'
        b'<article>inner</article><!-- </article> --><p>end</p></article></body></html>')


def test_trim_keeps_the_page_when_pagefind_reads_something_outside_the_body():
    for page in (PAGE.replace(b"<nav>", b'<nav data-pagefind-filter="x">'),
                 PAGE.replace(b"<footer>", b'<footer data-pagefind-meta="y">'),
                 PAGE.replace(b"<p>end</p></article>", b"<p>end</p>"),  # never closed
                 PAGE.replace(b" data-pagefind-body", b"")):
        assert trim_page(page) == page


def test_element_end_counts_nested_elements():
    html = b"<div a><div>x</div><DIV>y</DIV></div><div>z</div>"
    assert element_end(html, b"div", 0) == html.index(b"<div>z")


# ---------------------------------------------------------------- the service client

def test_the_service_client_does_not_wait_between_pages(tmp_path: Path):
    pages = [(f"/p{i}/", f'<html lang="en"><body><main data-pagefind-body><h1>Page {i}</h1>'
                         f'<p>word{i} common text</p></main></body></html>') for i in range(300)]
    started = time.perf_counter()
    with PagefindProcess(search.pagefind_executable()) as service:
        count, files = service.index(iter(pages))
    # Pagefind's own Python API waits 100 ms per reply: 30 s for these pages.
    assert time.perf_counter() - started < 10
    assert count == 300
    assert sum(1 for path in files if path.startswith("fragment/")) == 300
    assert json.loads(files["pagefind-entry.json"])["languages"]["en"]["page_count"] == 300


def test_one_service_indexes_batch_after_batch(tmp_path: Path):
    """A Dask worker's service indexes every chunk of its build: message ids stay unique and
    within the u32 the service reads, however many calls."""
    with PagefindProcess(search.pagefind_executable()) as service:
        for batch in range(8):
            done = list(service.index_many(
                (f"p{batch}-{n}", iter([(f"/b{batch}/{n}/", f'<html lang="en"><body><main '
                                        f'data-pagefind-body><p>word{batch}x{n}</p></main>'
                                        '</body></html>')]))
                for n in range(2)))
            assert [(name, count) for name, count, _ in done] == \
                [(f"p{batch}-0", 1), (f"p{batch}-1", 1)]
            assert all(sum(p.startswith("fragment/") for p in files) == 1
                       for _, _, files in done)


def test_the_client_sends_a_service_no_more_than_a_window_of_indexes_ahead(monkeypatch):
    """The service reads every request into memory as it comes: a sender running a whole
    lane ahead of the indexing filled each service with ~1 GB of pages at a million."""
    import sitegen.search.service as service_module

    events: list[tuple[str, int]] = []
    encode = service_module._encode

    def recording(message_id, payload):
        if payload["type"] == "NewIndex":
            events.append(("sent", sum(kind == "sent" for kind, _ in events)))
        return encode(message_id, payload)

    monkeypatch.setattr(service_module, "_encode", recording)
    count = 7
    with PagefindProcess(search.pagefind_executable()) as service:
        for name, _, _ in service.index_many(
                (f"i{n}", iter([(f"/p{n}/", f'<html lang="en"><body><main data-pagefind-body>'
                                 f'<p>word{n}</p></main></body></html>')]))
                for n in range(count)):
            events.append(("back", int(name[1:])))
    sent = {n: events.index(("sent", n)) for n in range(count)}
    back = {n: events.index(("back", n)) for n in range(count)}
    ahead = service_module.INDEXES_AHEAD
    assert all(back[n - ahead] < sent[n] for n in range(ahead, count))
    assert sorted(back) == list(range(count))


def test_a_client_stopped_early_leaves_no_sender_waiting():
    with PagefindProcess(search.pagefind_executable()) as service:
        replies = service.index_many(
            (f"i{n}", iter([(f"/p{n}/", '<html lang="en"><body><main data-pagefind-body>'
                             '<p>w</p></main></body></html>')])) for n in range(6))
        next(replies)
        # the sender waits for the window: closing must let it go (it joins the sender)
        closing = threading.Thread(target=replies.close, daemon=True)
        closing.start()
        closing.join(timeout=20)
        assert not closing.is_alive()


@pytest.mark.parametrize("script, reason", [
    ("echo 'broken binary' >&2\nexit 3", "broken binary"),
    # stdout ends before the reason reaches stderr: it must still be read and shown
    ("exec 1>&-\nsleep 0.3\necho 'late complaint' >&2\nexit 3", "late complaint"),
], ids=["fails", "closes-output-first"])
def test_a_failing_service_is_reported_with_its_reason(tmp_path: Path, script: str,
                                                       reason: str):
    fake = tmp_path / "pagefind"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    os.chmod(fake, 0o755)
    with pytest.raises(SitegenError, match=reason), PagefindProcess(fake) as service:
        service.index(iter([("/a/", "<html></html>")]))


# ---------------------------------------------------------------- the benchmark tool

def test_bench_search_runs_on_a_tiny_archive(tmp_path: Path):
    import bench_search

    results = [bench_search.bench_size(30, 1, 1, tmp_path, lambda message: None)]
    run = results[0].runs[0]
    assert set(run) == set(bench_search.VARIANTS)
    assert run["cli"].pages == run["single"].pages == run["pieces"].pages > 20
    assert run["single"].pieces == 1 and run["pieces"].pieces > 1
    assert run["edit"].pieces == 1 and run["no-op"].pieces == 0
    assert "| pieces |" in bench_search.report(results, 1)
    if results[0].page:  # Chromium is here: the search page's costs, a row a query
        assert [cost.query for cost in results[0].page] == list(bench_search.QUERIES)
        assert all(cost.requests > 3 and cost.kilobytes > 10 for cost in results[0].page)
        assert "time to a first result" in bench_search.report(results, 1)
    alone = bench_search.bench_size(30, 1, 1, tmp_path, lambda message: None, ("pieces",),
                                    keep=True)  # sitegen's stage only, on the same archive
    assert set(alone.runs[0]) == {"pieces", "edit", "no-op"}
    assert alone.runs[0]["pieces"].pages == run["pieces"].pages
    assert "Target" not in bench_search.report([alone], 1)


def test_the_pagefind_binary_is_found_as_pagefinds_own_package_finds_it(monkeypatch, tmp_path):
    from pagefind.service import get_executable

    search.pagefind_executable.cache_clear()
    try:
        assert search.pagefind_executable() == get_executable()
        fake = tmp_path / "pagefind-custom"
        monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
        search.pagefind_executable.cache_clear()
        assert search.pagefind_executable() == get_executable() == fake
        monkeypatch.delenv("PAGEFIND_BINARY_PATH")
        monkeypatch.setattr(search.service.importlib, "import_module", _no_module)
        monkeypatch.setenv("PATH", str(tmp_path))
        search.pagefind_executable.cache_clear()
        with pytest.raises(SitegenError, match="no Pagefind binary"):
            search.pagefind_executable()
    finally:
        search.pagefind_executable.cache_clear()


def _no_module(name: str):
    raise ImportError(name)


def test_the_runtime_is_cached_once_whatever_the_threads_offering_it(tmp_path, monkeypatch):
    import threading

    from sitegen import writer

    replace = os.replace

    def slow_replace(source, target):  # widens the window between writing and renaming
        time.sleep(0.02)
        replace(source, target)

    monkeypatch.setattr(writer.os, "replace", slow_replace)
    cache = search.PieceCache(tmp_path / "pieces")
    errors: list[BaseException] = []

    def offer() -> None:
        try:
            cache.save_runtime({"pagefind.js": b"x" * 100_000})
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=offer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.load_runtime() == {"pagefind.js": b"x" * 100_000}
