from __future__ import annotations

import functools
import os
import re
import shutil
import time
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from conftest import FIXED_NOW, article, build_site, read_tree, run_git, site_config
from sitecrawl import all_html_pages, crawl

from sitegen.build import build
from sitegen.errors import ContentError, TemplateError
from sitegen.outputtree import MARKER

# The file names give the URLs (a retitle keeps them): alpha-story.md -> /2025/03/04/alpha-story/
FILES = {
    "content/2025/03/alpha-story.md": article("Alpha story", "2025-03-04 09:24:00 -0500",
                                              "Alpha body [beta](/2025/03/05/beta-story/).",
                                              section="World", tags=["Mexico", "Cartels"],
                                              authors=["Jane Doe"], story="s1"),
    "content/2025/03/beta-story.md": article("Beta story", "2025-03-05", "", section="World",
                                             tags=["Mexico"], story="s1"),
    "content/2025/04/gamma-story.md": article("Gamma story", "2025-04-01 23:30:00 -0700",
                                              "Gamma body.", section="Business", tags=["Trade"],
                                              authors=["Ann Lee"], summary="Gamma summary."),
    "content/2024/12/delta-story.md": article("Delta story", "2024-12-31", "Delta body.",
                                              section="Business", tags=["Trade", "Mexico"]),
    "content/bundled-story/index.md": article("Bundled story", "2025-02-01", "![map](map.svg)",
                                              section="World", image="map.svg", image_alt="A map"),
    "content/bundled-story/map.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
}


def test_sample_site_has_every_kind_of_page(make_site):
    site = make_site(FILES)
    report = build_site(site)
    out = site / "output"
    assert report.articles == 5
    for rel in ["index.html", "archive/index.html", "2025/index.html", "2025/03/index.html",
                "2025/03/04/index.html", "2025/03/04/alpha-story/index.html",
                "sections/index.html", "sections/world/index.html", "tags/index.html",
                "tags/mexico/index.html", "authors/index.html", "authors/jane-doe/index.html",
                "search/index.html", "feed.xml", "atom.xml", "sections/world/feed.xml",
                "tags/mexico/atom.xml", "sitemap.xml", "404.html",
                "robots.txt", ".nojekyll", "bundle-story-placeholder"][:-1]:
        assert (out / rel).is_file(), rel
    assert (out / "2025/02/01/bundled-story/map.svg").is_file()
    assert not (out / "CNAME").exists()


def test_article_page_links_everything(make_site):
    site = make_site(FILES)
    build_site(site)
    html = (site / "output/2025/03/04/alpha-story/index.html").read_text()
    for href in ['href="/2025/03/04/"', 'href="/sections/world/"', 'href="/tags/mexico/"',
                 'href="/authors/jane-doe/"', 'rel="next" href="/2025/03/05/beta-story/"',
                 'rel="prev" href="/2025/02/01/bundled-story/"']:
        assert href in html, href
    assert "More on this story" in html and "Related coverage" in html
    brief = (site / "output/2025/03/05/beta-story/index.html").read_text()
    assert 'class="story brief"' in brief


def test_links_carry_the_base_path_of_a_project_site(make_site):
    site = make_site(FILES)
    build_site(site, base_url="https://user.github.io/repo/")
    out = site / "output"
    result = crawl(out, "/repo/", skip_prefixes=("pagefind/",))
    assert result.broken == []
    assert result.reached >= all_html_pages(out, "/repo/") - {"/repo/404.html"}
    html = (out / "2025/03/04/alpha-story/index.html").read_text()
    assert 'href="/repo/2025/03/05/beta-story/"' in html  # a body link got the base path
    assert re.search(r'href="/(?!repo/)[^"]', html) is None
    assert "https://user.github.io/repo/feed.xml" in (out / "feed.xml").read_text()


def test_zero_broken_links_at_root(make_site):
    site = make_site(FILES)
    build_site(site)
    result = crawl(site / "output", "/", skip_prefixes=("pagefind/",))
    assert result.broken == []


def test_mixed_offsets_group_on_the_date_as_written(make_site):
    site = make_site({
        "content/a.md": article("Late west", "2025-04-01 23:30:00 -0700"),  # UTC: April 2
        "content/b.md": article("Early east", "2025-04-01 00:10:00 +0900"),  # UTC: March 31
        "content/c.md": article("Next day", "2025-04-02 00:30:00 -0400"),
    })
    build_site(site)
    day = (site / "output/2025/04/01/index.html").read_text()
    assert "Late west" in day and "Early east" in day and "Next day" not in day
    assert "Next day" in (site / "output/2025/04/02/index.html").read_text()


def test_two_clean_builds_are_byte_identical(make_site):
    """Search bundle included: Pagefind's own output varies from run to run until
    sitegen.pagefind_format puts it in a canonical order."""
    site = make_site(FILES)
    build_site(site, output_dir=site / "one", cache_dir=site / "c1", search=True)
    build_site(site, output_dir=site / "two", cache_dir=site / "c2", jobs=2, search=True)
    one, two = read_tree(site / "one"), read_tree(site / "two")
    assert any(path.startswith("pagefind/") and path.endswith(".pf_filter") for path in one)
    assert one == two


def test_cname_when_configured(make_site):
    site = make_site(FILES, config='base_url = "https://news.example.com/"\n'
                                   'cname = "news.example.com"\n')
    build_site(site)
    assert (site / "output/CNAME").read_text() == "news.example.com\n"


def test_drafts_and_future_left_out_unless_asked(make_site):
    site = make_site({
        "content/a.md": article("Public", "2025-01-01"),
        "content/b.md": article("Draft", "2025-01-02", draft="true"),
        "content/c.md": article("Embargoed", "2030-01-01"),
    })
    assert build_site(site).articles == 1
    assert build_site(site, drafts=True, future=True).articles == 3


# ---------------------------------------------------------------- failures keep output


def snapshot(root):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("bad, words", [
    ("---\ntitle: T\ndate: 2020-01-01\ntags:\n\t- a\n---\n", "invalid YAML"),
    ("---\ndate: 2020-01-01\n---\n", "missing 'title'"),
    (b"---\ntitle: \xff\ndate: 2020-01-01\n---\n", "UTF-8"),
])
def test_a_failed_build_leaves_output_untouched(make_site, bad, words):
    site = make_site(FILES)
    build_site(site)
    before = snapshot(site / "output")
    path = site / "content/zz-bad.md"
    path.write_bytes(bad if isinstance(bad, bytes) else bad.encode())
    with pytest.raises(ContentError) as info:
        build_site(site)
    assert words in str(info.value) and "zz-bad.md" in str(info.value)
    assert snapshot(site / "output") == before
    assert not (site / ".output.sitegen" / "staging").exists()


def test_duplicate_urls_name_both_files(make_site):
    site = make_site({"content/a.md": article("Same", "2025-01-01"),
                      "content/b/a.md": article("Same", "2025-01-01")})
    with pytest.raises(ContentError) as info:
        build_site(site)
    message = str(info.value)
    assert "content/a.md" in message and "content/b/a.md" in message


def test_keep_going_skips_bad_files(make_site):
    site = make_site({"content/a.md": article("Good", "2025-01-01"),
                      "content/b.md": "---\ntitle: Bad\ndate: never\n---\n"})
    report = build_site(site, keep_going=True)
    assert report.articles == 1 and "content/b.md:3" in report.skipped[0]


def test_template_errors_name_the_layout_and_line(make_site):
    site = make_site(FILES)
    build_site(site)
    before = snapshot(site / "output")
    (site / "layouts").mkdir()
    (site / "layouts/terms.html").write_text("{% extends 'base.html' %}\n{% block main %}\n"
                                             "{{ no_such_variable }}\n{% endblock %}\n")
    with pytest.raises(TemplateError) as info:
        build_site(site)
    assert "terms.html:3" in str(info.value) and "no_such_variable" in str(info.value)
    (site / "layouts/terms.html").write_text("{% block main %}\n{% if %}\n")
    with pytest.raises(TemplateError) as info:
        build_site(site)
    assert "terms.html:2" in str(info.value)
    assert snapshot(site / "output") == before


def test_missing_layout_is_named(make_site, monkeypatch):
    from sitegen import sources

    site = make_site(FILES)
    empty = site / "no-theme"
    empty.mkdir()
    monkeypatch.setattr(sources, "builtin_layouts", lambda: empty)
    with pytest.raises(TemplateError) as info:
        build_site(site)
    assert "not found" in str(info.value)


# ---------------------------------------------------------------- incremental


def rebuild_and_compare(site, **overrides):
    """Incremental result must equal a clean build into a fresh folder."""
    report = build_site(site, **overrides)
    clean = site.parent / f"clean-{time.monotonic_ns()}"
    build_site(site, output_dir=clean, cache_dir=clean.with_suffix(".cache"), **overrides)
    assert read_tree(site / "output") == read_tree(clean)
    return report


def mtimes(root):
    """Each page's mtime (not the marker's: it names each build anew)."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns
            for p in root.rglob("*") if p.is_file() and p.name != MARKER}


def test_no_change_rebuild_renders_and_writes_nothing(make_site):
    site = make_site(FILES)
    build_site(site)
    before = mtimes(site / "output")
    report = build_site(site)
    assert (report.pages_rendered, report.files_written) == (0, 0)
    assert mtimes(site / "output") == before


def test_clean_forgets_the_cache_and_renders_everything_again(make_site):
    site = make_site(FILES)
    first = build_site(site, search=False)
    before = read_tree(site / "output")
    report = build_site(site, search=False, clean=True)
    assert report.pages_rendered == report.pages_planned == first.pages_planned
    assert report.files_written >= report.pages_planned  # nothing known: all written again
    assert read_tree(site / "output") == before
    assert build_site(site, search=False).pages_rendered == 0  # the cache is built again


def test_many_new_files_are_hashed_by_the_parse_workers(make_site, monkeypatch):
    import sitegen.content as content_module
    import sitegen.scan as scan_module

    site = make_site(FILES)
    reference = site.parent / "reference"
    build_site(site, search=False, output_dir=reference, cache_dir=site.parent / "ref-cache")
    monkeypatch.setattr(scan_module, "HASHED_IN_PARENT", 0)  # every new file is "many"
    build_site(site, search=False)
    assert read_tree(site / "output") == read_tree(reference)

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(content_module, "parse_source", no_parsing)
    again = build_site(site, search=False)  # the workers' digests were kept
    assert [name for name, _ in again.stage_seconds] == ["load"]
    later = time.time_ns() + 10**9
    for path in (site / "content").rglob("*.md"):  # same bytes, new signatures
        os.utime(path, ns=(later, later))
    touched = build_site(site, search=False)
    assert (touched.pages_rendered, touched.files_written) == (0, 0)
    assert "parse" in [name for name, _ in touched.stage_seconds]
    assert [name for name, _ in build_site(site, search=False).stage_seconds] == ["load"]


def written_after(root, stamp):
    return {k for k, v in mtimes(root).items() if v > stamp}


def test_editing_one_article_rewrites_exactly_the_pages_that_show_it(make_site):
    site = make_site(FILES)
    build_site(site)
    stamp = time.time_ns()
    time.sleep(0.01)
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace("Gamma body.", "Gamma body, corrected."))
    report = rebuild_and_compare(site)
    # the article's page, and its year's line of the data export with the index listing it
    assert report.pages_rendered == 3
    assert written_after(site / "output", stamp) == {
        "2025/04/01/gamma-story/index.html", "data/articles-2025.ndjson", "data/index.json"}


def test_an_incremental_build_with_search_equals_a_clean_one(make_site):
    """The search bundle too: a re-indexed piece spliced in comes out as a clean build
    writes the bundle."""
    site = make_site(FILES)
    build_site(site, search=True)
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace("Gamma body.", "Gamma body, with a new word."))
    rebuild_and_compare(site, search=True)
    assert "pagefind/pagefind-entry.json" in read_tree(site / "output")


def test_retitling_an_article_updates_its_indexes_and_neighbours(make_site):
    site = make_site(FILES)
    build_site(site)
    stamp = time.time_ns()
    time.sleep(0.01)
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace("title: Gamma story", "title: Gamma story\n"
                                             "slug: gamma-story").replace(
        "title: Gamma story", "title: Gamma retold", 1))
    rebuild_and_compare(site)
    written = written_after(site / "output", stamp)
    assert {"2025/04/01/gamma-story/index.html", "index.html", "archive/index.html",
            "2025/index.html", "2025/04/index.html", "2025/04/01/index.html",
            "sections/business/index.html", "tags/trade/index.html", "authors/ann-lee/index.html",
            "feed.xml", "atom.xml", "sections/business/feed.xml",
            "2025/03/05/beta-story/index.html",  # its "next" link names the new title
            "2024/12/31/delta-story/index.html",  # related and section-next
            } <= written
    assert "tags/cartels/index.html" not in written
    assert "2025/03/04/alpha-story/index.html" not in written


def test_retagging_an_article_updates_related_lists(make_site):
    site = make_site(FILES)
    build_site(site)
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace("tags: [Trade]", "tags: [Mexico, Cartels]"))
    rebuild_and_compare(site)
    alpha = (site / "output/2025/03/04/alpha-story/index.html").read_text()
    assert "Gamma story" in alpha.split('class="related"')[1]


def test_adding_and_deleting_an_article(make_site):
    site = make_site(FILES)
    build_site(site)
    new = site / "content/2025/05/epsilon-story.md"
    new.parent.mkdir(parents=True)
    new.write_text(article("Epsilon story", "2025-05-02", tags=["Unique"], section="Sport"))
    rebuild_and_compare(site)
    assert (site / "output/tags/unique/index.html").is_file()
    new.unlink()
    report = rebuild_and_compare(site)
    assert report.files_removed >= 6
    for gone in ["2025/05/02/epsilon-story/index.html", "tags/unique/index.html",
                 "tags/unique/feed.xml", "sections/sport/index.html", "2025/05/index.html"]:
        assert not (site / "output" / gone).exists(), gone
    assert not (site / "output/2025/05").exists()


def test_changing_a_layout_rerenders_the_pages_using_it(make_site):
    site = make_site(FILES)
    build_site(site)
    (site / "layouts").mkdir()
    (site / "layouts/terms.html").write_text(
        "{% extends 'base.html' %}{% block main %}<h1>Terms: {{ heading }}</h1>{% endblock %}")
    report = rebuild_and_compare(site)
    assert report.pages_rendered == 3  # the sections, tags and authors lists
    assert "Terms: Tags" in (site / "output/tags/index.html").read_text()


def test_changing_configuration_rerenders_everything(make_site):
    site = make_site(FILES)
    first = build_site(site)
    (site / "sitegen.toml").write_text('title = "Renamed"\nbase_url = "https://example.org/"\n')
    report = rebuild_and_compare(site)
    assert report.pages_rendered == first.pages_rendered
    assert "Renamed" in (site / "output/index.html").read_text()


def test_static_files_are_copied_and_removed(make_site):
    site = make_site({**FILES, "static/img/logo.txt": "logo"})
    build_site(site)
    assert (site / "output/img/logo.txt").read_text() == "logo"
    os.unlink(site / "static/img/logo.txt")
    build_site(site)
    assert not (site / "output/img").exists()


def test_build_recovers_from_a_half_written_output(make_site):
    site = make_site(FILES)
    build_site(site)
    page = site / "output/2025/03/04/alpha-story/index.html"
    page.write_text("<html>trunc")
    (site / "output/sections/world/index.html").unlink()
    (site / "output/stray.html").write_text("old")
    build_site(site)
    assert (site / "output/stray.html").exists()  # not ours: left alone while the cache knows
    shutil.rmtree(site / ".sitegen-cache")  # a lost cache: output/ is swept
    rebuild_and_compare(site)
    assert not (site / "output/stray.html").exists()


def test_unknown_config_keys_are_rejected(make_site):
    from sitegen.errors import ConfigError

    site = make_site(FILES, config='titel = "x"\nper_page = "many"\n')
    with pytest.raises(ConfigError) as info:
        site_config(site)
    assert "titel" in str(info.value) and "per_page" in str(info.value)


def test_build_uses_pyproject_table(make_site):
    site = make_site(FILES)
    (site / "sitegen.toml").unlink()
    (site / "pyproject.toml").write_text('[tool.sitegen]\ntitle = "From Pyproject"\n')
    build(site_config(site))
    assert "From Pyproject" in (site / "output/index.html").read_text()


def test_git_history_gives_updated_and_a_revision_log(make_site):
    site = make_site({"content/alpha.md": article("Alpha", "2025-01-01 09:00:00 +0000")})

    git = functools.partial(run_git, site)

    git("init", "-q")
    git("add", "content")
    git("commit", "-qm", "Publish alpha")
    (site / "content/alpha.md").write_text(article("Alpha", "2025-01-01 09:00:00 +0000", "Fixed."))
    git("commit", "-qam", "Fix a typo\n\nRevision-Note: A typo fixed.",
        date="2025-01-03T11:30:00+00:00")
    build_site(site)
    html = (site / "output/2025/01/01/alpha/index.html").read_text()
    assert "Revision history (1 update)" in html and ": A typo fixed.</li>" in html
    assert "Publish alpha" not in html and "Fix a typo" not in html  # dates and notes only
    assert 'Updated <time datetime="2025-01-03T11:30:00+00:00"' in html
    build_site(site, git_history=False, output_dir=site / "plain")
    assert "Revision history" not in (site / "plain/2025/01/01/alpha/index.html").read_text()


def test_a_history_only_change_rerenders_the_article(make_site):
    """Rewording a commit changes no file, only the revision log and `updated`: the cached
    parse is reused, so the article's digest must follow its history."""
    site = make_site({"content/alpha.md": article("Alpha", "2025-01-01 09:00:00 +0000"),
                      "content/b.md": article("Beta", "2025-01-01 10:00:00 +0000")})

    git = functools.partial(run_git, site)

    git("init", "-q")
    git("add", "content")
    git("commit", "-qm", "Publish both")
    (site / "content/alpha.md").write_text(article("Alpha", "2025-01-01 09:00:00 +0000", "New."))
    git("commit", "-qam", "Edit alpha\n\nRevision-Note: First note.")
    build_site(site)
    git("commit", "-q", "--amend", "-m", "Edit alpha\n\nRevision-Note: Reworded note.",
        date="2025-01-05T08:00:00+00:00")
    report = rebuild_and_compare(site)
    page = (site / "output/2025/01/01/alpha/index.html").read_text()
    assert "Reworded note." in page and "First note." not in page
    assert report.pages_rendered >= 2


def test_no_change_shortcut_is_off_after_a_cache_format_change(make_site, monkeypatch):
    site = make_site(FILES)
    build_site(site)
    assert build_site(site).stage_seconds[-1][0] == "load"  # the shortcut: load only
    monkeypatch.setattr("sitegen.state.FORMAT_VERSION", 999)
    assert [name for name, _ in build_site(site).stage_seconds][-1] != "load"


def test_no_change_shortcut_still_sees_time_and_missing_files(make_site):
    from datetime import datetime

    site = make_site({"content/a.md": article("Now", "2026-02-28"),
                      "content/embargoed.md": article("Embargoed", "2026-03-02 09:00:00 +0000")})
    assert build_site(site).articles == 1
    assert build_site(site).pages_rendered == 0
    later = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    report = build_site(site, now=later)  # the embargo lifted: the article appears
    assert report.articles == 2
    assert (site / "output/2026/03/02/embargoed/index.html").is_file()
    (site / "output/2026/03/02/embargoed/index.html").unlink()
    build_site(site, now=later)
    assert (site / "output/2026/03/02/embargoed/index.html").is_file()


def test_a_static_file_change_is_seen(make_site):
    site = make_site({**FILES, "static/robots-extra.txt": "one"})
    build_site(site)
    time.sleep(0.01)
    (site / "static/robots-extra.txt").write_text("two")
    build_site(site)
    assert (site / "output/robots-extra.txt").read_text() == "two"


def test_an_interrupted_commit_into_a_mount_point_is_swept_by_the_next_build(make_site,
                                                                           monkeypatch):
    """An output/ that is a mount point is written file by file: a commit stopped part way
    leaves new files unrecorded, which the journal names for the next build to sweep."""
    from sitegen import writer

    site = make_site(FILES)
    output = site / "output"
    output.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == output or real_ismount(p))
    build_site(site)
    (site / "content/2025/03/beta-story.md").unlink()
    (site / "content/2025/03/newer-story.md").write_text(
        article("Newer story", "2025-03-06", "New."))
    real_replace = os.replace
    calls = []

    def stop_part_way(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill would stop it
        return real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", stop_part_way)
    with pytest.raises(KeyboardInterrupt):
        build_site(site)
    monkeypatch.setattr(writer.os, "replace", real_replace)
    (site / "content/2025/03/newer-story.md").unlink()  # the next build no longer plans its page
    rebuild_and_compare(site)
    assert not (output / "2025/03/06/newer-story").exists()


def test_a_bundle_symlink_out_of_content_is_refused(make_site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    site = make_site(FILES)
    (site / "content/bundled-story/leak.txt").symlink_to(secret)
    with pytest.raises(ContentError) as info:
        build_site(site)
    assert "leak.txt" in str(info.value) and "outside" in str(info.value)
    assert not (site / "output").exists()


def test_an_unchanged_build_repairs_a_broken_search_bundle(make_site):
    site = make_site(FILES)
    build_site(site, search=True)
    entry = site / "output/pagefind/pagefind-entry.json"
    assert entry.is_file()
    shutil.rmtree(site / "output/pagefind")
    build_site(site, search=True)
    assert entry.is_file()


def test_the_code_digest_is_read_before_any_worker_is_forked(make_site, monkeypatch):
    """Workers forked later would read sitegen's files then: a file changed during a long
    build (an upgrade, a developer's edit) gave the parent and its workers different parse
    keys, and the next build parsed everything again."""
    from sitegen import build as build_module
    from sitegen.codeid import code_digest

    site = make_site(FILES)
    monkeypatch.setattr("sitegen.scan.HASHED_IN_PARENT", 0)  # the workers hash: no key yet
    code_digest.cache_clear()
    real = build_module.parse_articles
    seen = []

    def parse(*args, **kwargs):
        seen.append(code_digest.cache_info().currsize)
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "parse_articles", parse)
    build_site(site, jobs=2)
    assert seen == [1]


def test_a_build_leaves_the_garbage_collector_as_it_found_it(make_site):
    """build() pauses the cyclic collector and freezes its records while workers run; a
    long-lived process (sitegen serve) must get both back, also after a failed build."""
    import gc

    site = make_site({**FILES, "content/bad.md": "---\ntitle: [unclosed\n---\n"})
    assert gc.isenabled()
    with pytest.raises(ContentError):
        build_site(site, jobs=2)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    (site / "content/bad.md").unlink()
    build_site(site, jobs=2)
    assert gc.isenabled() and gc.get_freeze_count() == 0


# ---------------------------------------------------------------- pages an edit leaves alone

@pytest.fixture
def fingerprinted(monkeypatch):
    """The URLs of the pages each build sends to the render workers to fingerprint."""
    from sitegen import processes, workers

    seen: list[set[str]] = []
    original = processes.run_parallel

    def spy(work, *args, **kwargs):
        if work.func is workers.render_many:
            seen.append({item.spec.url for item in work.items})
        return original(work, *args, **kwargs)

    monkeypatch.setattr(processes, "run_parallel", spy)
    return seen


def _correct_gamma(site):
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace("Gamma body.", "Gamma body, corrected."))


def _retitle(site, old, new):
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace(f"title: {old}", f"title: {new}\nslug: gamma-story"
                                             if "slug:" not in path.read_text()
                                             else f"title: {new}", 1))


def test_an_edit_fingerprints_only_the_pages_showing_the_article(make_site, fingerprinted):
    site = make_site(FILES)
    build_site(site)
    everything = fingerprinted[-1]
    _correct_gamma(site)
    rebuild_and_compare(site)
    looked_at = fingerprinted[-2]  # the last one is the clean build of the comparison
    assert "/2025/04/01/gamma-story/" in looked_at
    assert {"/tags/trade/", "/2024/12/31/delta-story/", "/"} <= looked_at  # lists, related
    assert "/2025/03/04/alpha-story/" not in looked_at  # shows neither it nor its neighbours
    assert {"/tags/cartels/", "/search/", "/sections/", "/2025/03/04/"}.isdisjoint(looked_at)
    assert {"/feed.xml", "/tags/trade/atom.xml"} <= looked_at  # feeds listing it
    assert {"/tags/cartels/feed.xml", "/sitemap.xml", "/robots.txt"}.isdisjoint(looked_at)
    pages = {url for url in everything if url.endswith("/")}
    assert len(looked_at & pages) < len(pages) / 2


def test_a_retitled_article_fingerprints_its_lists_and_neighbours(make_site, fingerprinted):
    site = make_site(FILES)
    build_site(site)
    _retitle(site, "Gamma story", "Gamma retold")
    report = rebuild_and_compare(site)
    looked_at = fingerprinted[-2]
    assert "/2025/03/05/beta-story/" in looked_at  # its "next" link names the article
    assert "/tags/cartels/" not in looked_at
    assert report.pages_rendered >= 8


@pytest.mark.parametrize("change", [
    ("tags: [Trade]", "tags: [Trade, Ports]"),  # a new tag: new pages, new related lists
    ("section: Business", "section: World"),
    ("date: 2025-04-01 23:30:00 -0700", "date: 2025-04-02 08:00:00 -0700"),
    ("title: Gamma story", "title: Gamma story\nstory: s1"),
    ("authors: [Ann Lee]", "authors: [Ann Lee, Bo Li]"),
    ("title: Gamma story", "title: Gamma story\nupdated: 2025-04-05"),  # feeds, sitemaps
])
def test_a_change_of_the_sites_shape_fingerprints_every_page(make_site, fingerprinted, change):
    site = make_site(FILES)
    build_site(site)
    everything = fingerprinted[-1]
    path = site / "content/2025/04/gamma-story.md"
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1))
    rebuild_and_compare(site)
    assert fingerprinted[-2] == fingerprinted[-1]  # as many as the clean build: all of them
    assert len(fingerprinted[-1]) >= len(everything) - 2


def test_the_news_sitemap_is_looked_at_by_every_build(make_site, fingerprinted):
    """It lists the articles of the last two days before the build's time: the time alone
    changes it."""
    site = make_site({**FILES, "content/fresh.md": article(
        "Fresh story", (FIXED_NOW - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"))})
    build_site(site)
    assert (site / "output/news-sitemap.xml").is_file()
    _correct_gamma(site)
    rebuild_and_compare(site)
    assert "/news-sitemap.xml" in fingerprinted[-2]
    assert "/sitemap.xml" not in fingerprinted[-2]


@pytest.mark.parametrize(("gone", "url", "left_alone"), [
    ("tags/cartels/index.html", "/tags/cartels/", None),
    ("sitemap.xml", "/sitemap.xml", "/tags/cartels/"),  # planned with every page's lastmod
])
def test_a_settled_page_whose_file_is_gone_is_written_again(make_site, fingerprinted, gone,
                                                            url, left_alone):
    site = make_site(FILES)
    build_site(site)
    (site / "output" / gone).unlink()
    _correct_gamma(site)
    rebuild_and_compare(site)
    assert url in fingerprinted[-2]
    if left_alone:
        assert left_alone not in fingerprinted[-2]


def test_an_edit_plans_only_the_pages_it_looks_at(make_site, fingerprinted):
    site = make_site(FILES)
    first = build_site(site)
    _correct_gamma(site)
    report = rebuild_and_compare(site)
    assert report.pages_planned == first.pages_planned  # the others keep their state
    assert len(fingerprinted[-2]) < len(fingerprinted[-1]) / 2


def test_a_lost_skeleton_means_planning_everything(make_site, fingerprinted):
    site = make_site(FILES)
    build_site(site)
    [skeleton] = (site / ".sitegen-cache").glob("skeleton-*.pickle")
    skeleton.write_bytes(b"damaged")
    _correct_gamma(site)
    rebuild_and_compare(site)
    assert fingerprinted[-2] == fingerprinted[-1]
    path = site / "content/2025/04/gamma-story.md"
    path.write_text(path.read_text().replace("corrected.", "corrected twice."))
    rebuild_and_compare(site)  # the skeleton was written again
    assert len(fingerprinted[-2]) < len(fingerprinted[-1]) / 2




def test_template_digests_are_kept_until_a_layout_changes(make_site, monkeypatch):
    from sitegen import render

    calls = []
    original = render.template_digests
    monkeypatch.setattr(render, "template_digests",
                        lambda config: calls.append(1) or original(config))
    site = make_site(FILES)
    build_site(site)
    _correct_gamma(site)
    build_site(site)
    assert len(calls) == 1
    (site / "layouts").mkdir(exist_ok=True)
    (site / "layouts/404.html").write_text("{% extends 'base.html' %}")
    rebuild_and_compare(site)
    assert len(calls) == 3  # the edited layouts, and the clean build of the comparison


def test_the_sources_table_follows_the_content_folder(make_site):
    from sitegen.cache import BuildCache

    site = make_site(FILES)
    build_site(site)
    (site / "content/2024/12/delta-story.md").unlink()
    _correct_gamma(site)
    build_site(site)
    config = site_config(site)
    cache = BuildCache(config.cache_dir, config.output_dir)
    try:
        rows = cache.source_digests()
    finally:
        cache.close()
    assert set(rows) == {"2025/03/alpha-story.md", "2025/03/beta-story.md",
                         "2025/04/gamma-story.md", "bundled-story/index.md"}
    from sitegen.sources import stat_signature
    assert rows["2025/04/gamma-story.md"][0] == stat_signature(
        site / "content/2025/04/gamma-story.md")


def _parsed_groups(site) -> dict[int, bytes]:
    from sitegen.cache import BuildCache

    config = site_config(site)
    cache = BuildCache(config.cache_dir, config.output_dir)
    try:
        return dict(cache.db.execute("SELECT grp, records FROM parsed_groups"))
    finally:
        cache.close()


def _parsed_keys(site) -> set[str]:
    from sitegen.cache import BuildCache

    config = site_config(site)
    cache = BuildCache(config.cache_dir, config.output_dir)
    try:
        return cache.parsed_keys()
    finally:
        cache.close()


def test_an_edit_reads_only_its_folders_records_and_drops_the_group_of_its_new_key(
        make_site, monkeypatch):
    import pickle

    from sitegen.cache import BuildCache
    from sitegen.parsedrecords import parsed_group

    site = make_site(FILES)
    build_site(site, search=False)
    before = _parsed_groups(site)
    keys = {key for blob in before.values() for key in pickle.loads(blob)}
    assert len(keys) == 5
    rows_read: list[list[str]] = []
    real_rows = BuildCache.get_parsed_blobs
    monkeypatch.setattr(BuildCache, "get_parsed_blobs",
                        lambda self, wanted: rows_read.append(list(wanted)) or
                        real_rows(self, wanted))
    _correct_gamma(site)
    build_site(site, search=False)
    monkeypatch.undo()
    after = _parsed_groups(site)
    (old_key,) = {k for k in keys if pickle.loads(before[parsed_group(k)])[k][0].title ==
                  "Gamma story"}
    # gamma is alone in content/2025/04/: no other record read; its new one was parsed
    assert [key for keys in rows_read for key in keys] == []
    (new_key,) = {k for k in _parsed_keys(site) if k not in keys}
    assert parsed_group(new_key) not in after  # parsed anew: a group would be older
    assert {g: after[g] for g in after} == {g: before[g] for g in after}  # the rest as they were
    # a build that must see every record (here: --strict) reads the dropped group's rows
    # and writes the groups again
    build_site(site, search=False, strict=True)
    again = _parsed_groups(site)
    assert len({key for blob in again.values() for key in pickle.loads(blob)}) == 5
    assert old_key not in {key for blob in again.values() for key in pickle.loads(blob)}
    rebuild_and_compare(site)


def test_a_damaged_parsed_group_is_read_row_by_row_and_written_again(make_site):
    import pickle

    from sitegen.cache import BuildCache

    site = make_site(FILES)
    build_site(site, search=False)
    config = site_config(site)
    cache = BuildCache(config.cache_dir, config.output_dir)
    groups = _parsed_groups(site)
    assert len(groups) > 2  # more than an edit rewrites anyway
    cache.db.execute("UPDATE parsed_groups SET records = ?", (b"\x80junk",))
    cache.db.commit()
    cache.close()
    _correct_gamma(site)
    rebuild_and_compare(site, strict=True)  # another basis: every folder's records are read
    keys = [key for blob in _parsed_groups(site).values() for key in pickle.loads(blob)]
    assert len(keys) == 5


def test_thenext_date_change_is_the_first_embargo_expiry_or_news_window_end(tmp_path):
    import dataclasses as dc
    from datetime import datetime

    from sitegen.parsedfolders import next_date_change
    from sitegen.records import Article

    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    config = site_config(tmp_path, now=now, news_sitemap_days=1)

    def art(day, hour=12, **kw):
        return Article(source="a.md", digest="d", title="t", slug="s", url=f"/{day}-{hour}/",
                       date=datetime(2026, 3, day, hour, tzinfo=UTC), summary="", **kw)

    old, recent, embargoed = art(1, 0), art(1, 13), art(5)
    assert next_date_change([old], [old], config) is None  # out of the window since 00:00
    assert next_date_change([recent], [recent], config) == datetime(2026, 3, 2, 13, tzinfo=UTC)
    assert next_date_change([recent, embargoed], [recent], config) == recent.date + \
        timedelta(days=1)
    expiring = art(1, 0, expires=datetime(2026, 3, 2, 18, tzinfo=UTC))
    assert next_date_change([expiring, embargoed], [expiring], config) == expiring.expires
    assert next_date_change([embargoed], [], config) == embargoed.date
    assert next_date_change([embargoed], [], dc.replace(config, future=True)) is None
    edge = art(2, 12)  # published this very instant: in the window until it is a day old
    assert next_date_change([edge], [edge], config) == edge.date + timedelta(days=1)
    pacific = timezone(-timedelta(hours=8))
    west = dc.replace(art(1), date=datetime(2026, 3, 1, 5, tzinfo=pacific))  # 13:00 UTC
    assert next_date_change([west], [west], config) == west.date + timedelta(days=1)


def test_a_group_record_whose_row_another_sitegen_pruned_is_parsed_again(make_site):
    """An older sitegen sharing the cache prunes `parsed` rows and knows nothing of the
    groups: a record whose row (and body) is gone is not taken from its group."""
    from sitegen.cache import BuildCache

    site = make_site(FILES)
    build_site(site, search=False)
    config = site_config(site)
    cache = BuildCache(config.cache_dir, config.output_dir)
    cache.db.execute("DELETE FROM parsed")
    cache.db.commit()
    cache.close()
    _correct_gamma(site)
    (site / "output/2025/03/04/alpha-story/index.html").unlink()  # rendered again: its body
    report = rebuild_and_compare(site)
    assert report.pages_rendered > 0
    html = (site / "output/2025/03/04/alpha-story/index.html").read_text()
    assert "Alpha body" in html


def test_a_body_the_cache_lost_fails_the_page_instead_of_rendering_it_empty(make_site,
                                                                           monkeypatch):
    from sitegen.cache import BuildCache

    site = make_site(FILES)
    build_site(site, search=False)
    monkeypatch.setattr(BuildCache, "bodies", lambda self, keys: {})
    _correct_gamma(site)
    with pytest.raises(TemplateError, match="lost the body"):
        build_site(site, search=False)
    assert "Gamma body." in (site / "output/2025/04/01/gamma-story/index.html").read_text()


def test_an_edit_is_parsed_in_a_forked_process_while_the_cache_loads(make_site, monkeypatch,
                                                                     tmp_path):
    import sitegen.workers as workers

    site = make_site(FILES)
    build_site(site, search=False)
    log = tmp_path / "parsed-by"
    real = workers.parse_many

    def logged(worker, job, sources):
        with log.open("a") as out:
            out.write(f"{os.getpid()} {' '.join(s.path for s in sources)}\n")
        return real(worker, job, sources)

    monkeypatch.setattr(workers, "parse_many", logged)
    _correct_gamma(site)
    build_site(site, search=False)
    [(pid, paths)] = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert int(pid) != os.getpid() and paths == "2025/04/gamma-story.md"
    assert "Gamma body, corrected." in \
        (site / "output/2025/04/01/gamma-story/index.html").read_text()


def test_without_fork_an_edit_is_parsed_here(make_site, monkeypatch):
    site = make_site(FILES)
    build_site(site, search=False)

    def no_fork() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", no_fork)
    _correct_gamma(site)
    rebuild_and_compare(site, search=False)
    assert "Gamma body, corrected." in \
        (site / "output/2025/04/01/gamma-story/index.html").read_text()


def test_a_record_lost_between_listing_and_loading_is_parsed_again(make_site, monkeypatch):
    from sitegen.cache import BuildCache

    site = make_site(FILES)
    build_site(site, search=False)
    real = BuildCache.get_parsed
    monkeypatch.setattr(BuildCache, "get_parsed",  # as if another build pruned a row meanwhile
                        lambda self, keys: dict(list(real(self, keys).items())[1:]))
    _correct_gamma(site)
    report = build_site(site, search=False)
    monkeypatch.undo()
    assert report.articles == 5
    rebuild_and_compare(site, search=False)


def test_files_content_does_not_use_are_counted_and_listed_with_verbose(make_site):
    from click.testing import CliRunner

    from sitegen.cli import main

    site = make_site({**FILES, "content/notes.txt": "x", "content/2025/draft.docx": "x"})
    report = build_site(site)
    assert report.unused == ("2025/draft.docx", "notes.txt")
    assert "2 other files in content/ not used" in report.summary_line()
    again = build_site(site)  # a build that finds nothing changed says it too
    assert again.pages_rendered == 0 and again.unused == report.unused
    result = CliRunner().invoke(main, ["build", str(site), "--no-search", "--verbose"])
    assert "not used: content/notes.txt" in result.output


def test_an_edited_section_intro_is_picked_up_by_an_incremental_build(make_site):
    site = make_site({**FILES, "content/world/_index.md": "---\ntitle: The World\n---\nAbroad.\n"})
    build_site(site)
    page = site / "output/sections/world/index.html"
    assert "The World" in page.read_text()
    (site / "content/world/_index.md").write_text("---\ntitle: Our Planet\n---\nAbroad.\n")
    rebuild_and_compare(site)
    assert "Our Planet" in page.read_text()


def test_urls_differing_only_in_case_stop_the_build_naming_both(make_site):
    site = make_site({"content/a.md": article("Budget", "2025-01-01", slug="Budget"),
                      "content/b.md": article("budget", "2025-01-01", slug="budget")})
    with pytest.raises(ContentError) as info:
        build_site(site)
    assert "a.md" in str(info.value) and "b.md" in str(info.value)
    assert "only in case" in str(info.value)


def test_the_reported_time_covers_remembering_the_plan_and_letting_go(make_site, monkeypatch):
    """The summary's seconds and the commit stage include the work after the site is in
    place (at a million articles: 3.6 s keeping the plan, ~2 s letting go of the records)."""
    import sitegen.build as build_module

    real = build_module.remember_plan

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "remember_plan", slow)
    report = build_site(make_site(FILES))
    stages = dict(report.stage_seconds)
    assert stages["commit"] >= 0.3
    assert report.seconds >= sum(stages.values()) >= 0.3
