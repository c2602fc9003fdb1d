"""Corrections page and feeds, story pages, author feeds, JSON Feed, the /data/ export, and the
honest revision history on the page, in dateModified and in the sitemap."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import article, build_site, read_tree, run_git
from test_build import rebuild_and_compare

CORRECTED = ('corrections:\n  - {date: 2025-03-06 10:00:00 +0000, text: "Fixed a name."}\n'
             '  - "Undated fix."')
FILES = {
    "content/alpha.md": article("Alpha", "2025-03-04 09:00:00 +0000", "Alpha body.",
                            story="harbour", authors=["Jane Doe"], section="World"),
    "content/beta.md": article("Beta", "2025-03-05 09:00:00 +0000", "Beta body.",
                            story="harbour", authors=["Jane Doe"], section="World"),
    "content/gamma.md": article("Gamma", "2024-12-01 09:00:00 +0000", "Gamma body.",
                            story="budget", section="Business") + "",
    "content/delta.md": article("Delta", "2025-01-02 09:00:00 +0000", "Delta body one two.",
                            section="Business"),
}


def with_corrections(text: str, block: str) -> str:
    return text.replace("\n---\n\n", f"\n{block}\n---\n\n", 1)


@pytest.fixture()
def site(make_site):
    files = dict(FILES)
    files["content/gamma.md"] = with_corrections(files["content/gamma.md"], CORRECTED)
    files["content/delta.md"] = with_corrections(
        files["content/delta.md"], 'corrections:\n  - {date: 2025-01-03, text: "Delta fix."}')
    return make_site(files)


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            self.links.append(attrs)


def head_links(html: str) -> list[dict[str, str | None]]:
    parser = _Links()
    parser.feed(html)
    return parser.links


# ---------------------------------------------------------------- corrections

def test_the_corrections_page_holds_exactly_every_correction(site):
    build_site(site)
    html = text_of(site / "output/corrections/index.html")
    texts = re.findall(r'<p class="correction-text">(.*?)</p>', html)
    # newest first: Mar 6 (dated), then the undated one at its article's date (Dec 1, 2024)
    # comes after Delta's (Jan 3, 2025)
    assert texts == ["Fixed a name.", "Delta fix.", "Undated fix."]
    assert html.count('href="/2024/12/01/gamma/#corrections-heading"') == 2
    assert "3 corrections" in html
    for page in ("index.html", "2025/03/04/alpha/index.html"):
        assert 'href="/corrections/">Corrections</a>' in text_of(site / "output" / page)
    gamma = text_of(site / "output/2024/12/01/gamma/index.html")
    assert '<a href="/corrections/">All corrections</a>' in gamma


def test_corrections_are_paginated_like_the_other_lists(site):
    build_site(site, output_dir=site / "paged")
    (site / "sitegen.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n'
                                       "per_page = 2\n")
    build_site(site)
    first = text_of(site / "output/corrections/index.html")
    second = text_of(site / "output/corrections/page/2/index.html")
    assert re.findall(r'correction-text">(.*?)<', first) == ["Fixed a name.", "Delta fix."]
    assert re.findall(r'correction-text">(.*?)<', second) == ["Undated fix."]
    assert 'href="/corrections/page/2/"' in first


def test_the_corrections_feeds(site):
    build_site(site)
    out = site / "output/corrections"
    rss = text_of(out / "feed.xml")
    assert rss.count("<item>") == 3 and "<description>Fixed a name.</description>" in rss
    assert text_of(out / "atom.xml").count("<entry>") == 3
    feed = json.loads(text_of(out / "feed.json"))
    validate_json_feed(feed)
    assert [item["content_text"] for item in feed["items"]] == [
        "Fixed a name.", "Delta fix.", "Undated fix."]
    assert len({item["id"] for item in feed["items"]}) == 3


def test_json_ld_of_a_corrected_article_carries_its_corrections(site):
    build_site(site)
    html = text_of(site / "output/2024/12/01/gamma/index.html")
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html,
                                re.S).group(1))
    assert data["correction"] == [
        {"@type": "CorrectionComment", "text": "Fixed a name.",
         "datePublished": "2025-03-06T10:00:00+00:00"},
        {"@type": "CorrectionComment", "text": "Undated fix."}]
    alpha = text_of(site / "output/2025/03/04/alpha/index.html")
    assert '"correction"' not in alpha


# ---------------------------------------------------------------- stories

def test_a_story_page_holds_exactly_its_articles(site):
    build_site(site)
    html = text_of(site / "output/stories/harbour/index.html")
    titles = re.findall(r'<h3 class="headline-title"><a href="[^"]+">(.*?)</a>', html)
    assert titles == ["Beta", "Alpha"]  # newest first
    assert "<h1>Beta</h1>" in html  # no stories.yaml: the newest article's headline
    listing = text_of(site / "output/stories/index.html")
    assert re.findall(r'<li><a href="(/stories/[^"]+)">(.*?)</a> <span class="count">\((\d+)',
                      listing) == [("/stories/harbour/", "Beta", "2"),
                                   ("/stories/budget/", "Gamma", "1")]
    alpha = text_of(site / "output/2025/03/04/alpha/index.html")
    assert '<a href="/stories/harbour/">The whole story: Beta</a>' in alpha
    gamma = text_of(site / "output/2024/12/01/gamma/index.html")
    assert '<a href="/stories/budget/">' in gamma
    assert "/stories/" not in text_of(site / "output/2025/01/02/delta/index.html").split(
        "<footer")[0]


def test_stories_yaml_titles_and_describes_a_thread(site):
    (site / "data").mkdir()
    (site / "data/stories.yaml").write_text(
        "harbour:\n  title: The harbour storm\n  description: A storm and its aftermath.\n")
    build_site(site)
    html = text_of(site / "output/stories/harbour/index.html")
    assert "<h1>The harbour storm</h1>" in html
    assert '<p class="story-description">A storm and its aftermath.</p>' in html
    feed = json.loads(text_of(site / "output/stories/harbour/feed.json"))
    validate_json_feed(feed)
    assert feed["title"].endswith("The harbour storm")
    assert [i["title"] for i in feed["items"]] == ["Beta", "Alpha"]
    assert text_of(site / "output/stories/harbour/feed.xml").count("<item>") == 2


def test_a_bad_stories_file_is_a_clear_error(site):
    from sitegen.errors import ConfigError

    (site / "data").mkdir()
    (site / "data/stories.yaml").write_text("harbour:\n  title: [1]\n  colour: red\n")
    with pytest.raises(ConfigError) as info:
        build_site(site)
    message = str(info.value)
    assert "stories.yaml" in message and "'title' must be text" in message
    assert "colour" in message


def test_story_pages_are_paginated(site):
    (site / "sitegen.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n'
                                       "per_page = 1\n")
    build_site(site)
    second = text_of(site / "output/stories/harbour/page/2/index.html")
    assert re.findall(r'headline-title"><a href="[^"]+">(.*?)<', second) == ["Alpha"]


# ---------------------------------------------------------------- feeds

def test_author_pages_get_rss_atom_and_json_feeds(site):
    build_site(site)
    out = site / "output/authors/jane-doe"
    assert text_of(out / "feed.xml").count("<item>") == 2
    assert text_of(out / "atom.xml").count("<entry>") == 2
    validate_json_feed(json.loads(text_of(out / "feed.json")))
    links = head_links(text_of(out / "index.html"))
    types = {link["type"]: link["href"] for link in links if link.get("rel") == "alternate"
             and link["href"].startswith("/authors/")}
    assert types == {"application/rss+xml": "/authors/jane-doe/feed.xml",
                     "application/atom+xml": "/authors/jane-doe/atom.xml",
                     "application/feed+json": "/authors/jane-doe/feed.json"}


def test_a_json_feed_beside_every_rss_feed(site):
    build_site(site)
    out = site / "output"
    rss_feeds = sorted(p.parent for p in out.rglob("feed.xml"))
    assert rss_feeds == sorted(p.parent for p in out.rglob("feed.json"))
    assert {p.relative_to(out).as_posix() for p in rss_feeds} >= {
        ".", "sections/world", "tags", "authors/jane-doe", "stories/harbour",
        "corrections"} - {"tags"}
    for folder in rss_feeds:
        feed = json.loads(text_of(folder / "feed.json"))
        validate_json_feed(feed)
        assert feed["feed_url"] == "https://example.org/" + (
            folder.relative_to(out).as_posix() + "/").lstrip("./") + "feed.json"
    home = head_links(text_of(out / "index.html"))
    assert {"rel": "alternate", "type": "application/feed+json",
            "title": "Test Gazette (JSON Feed)", "href": "/feed.json"} in home
    site_feed = json.loads(text_of(out / "feed.json"))
    assert [i["title"] for i in site_feed["items"]] == ["Beta", "Alpha", "Delta", "Gamma"]


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


def validate_json_feed(feed: dict) -> None:
    """The rules of JSON Feed 1.1 (https://jsonfeed.org/version/1.1) a reader relies on."""
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for key in ("home_page_url", "feed_url"):
        if key in feed:
            assert _absolute(feed[key]), (key, feed[key])
    for author in feed.get("authors", []):
        assert isinstance(author, dict) and ("name" in author or "url" in author)
        if "url" in author:
            assert _absolute(author["url"])
    ids = set()
    for item in feed["items"]:
        assert isinstance(item.get("id"), str) and item["id"], item
        assert item["id"] not in ids, "ids must be unique within a feed"
        ids.add(item["id"])
        assert isinstance(item.get("content_html") or item.get("content_text"), str), item
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item:
                assert _absolute(item[key]), (key, item[key])
        for key in ("date_published", "date_modified"):
            if key in item:
                assert RFC3339.match(item[key]), (key, item[key])
                datetime.fromisoformat(item[key].replace("Z", "+00:00"))
        if "tags" in item:
            assert all(isinstance(tag, str) for tag in item["tags"])
        for author in item.get("authors", []):
            assert "name" in author or "url" in author
            if "url" in author:
                assert _absolute(author["url"])
        assert "author" not in item  # 1.0's field, deprecated in 1.1


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def test_the_validator_refuses_what_json_feed_does_not_allow():
    good = {"version": "https://jsonfeed.org/version/1.1", "title": "T",
            "items": [{"id": "1", "content_text": "x", "url": "https://e.org/a/",
                       "date_published": "2025-01-01T00:00:00+00:00"}]}
    validate_json_feed(good)
    for bad in ({"items": []} | {"version": "https://jsonfeed.org/version/1.1"},
                {**good, "items": [{"content_text": "x"}]},
                {**good, "items": [{"id": "1", "content_text": "x", "url": "/a/"}]},
                {**good, "items": [{"id": "1", "content_text": "x",
                                    "date_published": "2025-01-01 00:00"}]},
                {**good, "items": [{"id": "1"}]}):
        with pytest.raises((AssertionError, KeyError)):
            validate_json_feed(bad)


# ---------------------------------------------------------------- data export

def test_one_ndjson_line_per_published_article_and_an_index_of_the_files(site):
    (site / "content/draft.md").write_text(article("Draft", "2025-02-01", draft="true"))
    report = build_site(site)
    out = site / "output/data"
    lines = [json.loads(line) for path in sorted(out.glob("articles-*.ndjson"))
             for line in text_of(path).splitlines()]
    assert len(lines) == report.articles == 4
    assert sorted(p.name for p in out.iterdir()) == [
        "articles-2024.ndjson", "articles-2025.ndjson", "index.json"]
    gamma = next(line for line in lines if line["headline"] == "Gamma")
    assert gamma == {
        "url": "https://example.org/2024/12/01/gamma/", "headline": "Gamma",
        "date_published": "2024-12-01T09:00:00+00:00", "date_modified": None,
        "authors": [], "section": "Business", "tags": [], "story": "budget",
        "summary": gamma["summary"], "word_count": 2,
        "corrections": [{"date": "2025-03-06T10:00:00+00:00", "text": "Fixed a name."},
                        {"date": None, "text": "Undated fix."}],
        "revisions": []}
    year_2025 = [line["headline"] for line in map(json.loads,
                                                   text_of(out / "articles-2025.ndjson")
                                                   .splitlines())]
    assert year_2025 == ["Delta", "Alpha", "Beta"]  # oldest first
    index = json.loads(text_of(out / "index.json"))
    assert index["format"] == 1
    for entry in index["files"]:
        data = (out / f"articles-{entry['year']}.ndjson").read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["url"] == f"https://example.org/data/articles-{entry['year']}.ndjson"
        assert entry["articles"] == data.count(b"\n")


def test_only_a_changed_years_file_is_written_again(site):
    build_site(site)
    out = site / "output/data"
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    (site / "content/alpha.md").write_text(article("Alpha", "2025-03-04 09:00:00 +0000",
                                               "Alpha body, now longer.", story="harbour",
                                               authors=["Jane Doe"], section="World"))
    rebuild_and_compare(site)
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert after["articles-2024.ndjson"] == before["articles-2024.ndjson"]
    assert after["articles-2025.ndjson"] != before["articles-2025.ndjson"]
    assert after["index.json"] != before["index.json"]
    alpha = next(json.loads(line) for line in text_of(out / "articles-2025.ndjson")
                 .splitlines() if '"Alpha"' in line)
    assert alpha["word_count"] == 4  # a body edit that leaves the card as it was


def _edit_alpha(site: Path, body: str) -> None:
    (site / "content/alpha.md").write_text(article("Alpha", "2025-03-04 09:00:00 +0000", body,
                                               story="harbour", authors=["Jane Doe"],
                                               section="World"))


def test_an_edit_lists_again_only_its_years_articles(site, monkeypatch):
    """The index finds the other years' sizes and checksums in the build state's memo: at a
    million articles, listing every year again took ~40 s of an edit."""
    import sitegen.dataexport as dataexport

    build_site(site)
    listed: list[list[int]] = []
    real = dataexport.ndjson

    def listing(articles, words, urls):
        listed.append(sorted({a.date.year for a in articles}))
        return real(articles, words, urls)

    monkeypatch.setattr(dataexport, "ndjson", listing)
    _edit_alpha(site, "Alpha body, now longer.")
    build_site(site)
    assert listed == [[2025], [2025]]  # its year's file, and its year for the index
    monkeypatch.undo()
    rebuild_and_compare(site)


@pytest.mark.parametrize("memo", ["damaged", "gone"])
def test_the_index_is_right_whatever_its_memo(site, memo):
    from conftest import site_config

    from sitegen.statefiles import StateFiles

    build_site(site)
    path = StateFiles.of(site_config(site)).data_years
    assert set(json.loads(path.read_text())) and len(json.loads(path.read_text())) == 2
    if memo == "damaged":
        path.write_text('{"not": "sizes"')
    else:
        path.unlink()
    _edit_alpha(site, "Alpha body, edited once more.")
    rebuild_and_compare(site)
    assert len(json.loads(path.read_text())) == 2  # made again


def test_the_index_follows_the_sites_address(site):
    build_site(site)
    (site / "sitegen.toml").write_text('title = "Test Gazette"\n'
                                       'base_url = "https://news.example.net/"\n')
    rebuild_and_compare(site)
    index = json.loads(text_of(site / "output/data/index.json"))
    assert {entry["url"].split("/data/")[0] for entry in index["files"]} == {
        "https://news.example.net"}  # each year's size with the new host's length


# ---------------------------------------------------------------- incremental

def test_edits_touching_these_pages_equal_a_clean_build(site):
    build_site(site)
    # a first correction: the corrections pages grow
    beta = text_of(site / "content/beta.md")
    (site / "content/beta.md").write_text(with_corrections(
        beta, 'corrections:\n  - {date: 2025-03-07, text: "Beta fix."}'))
    rebuild_and_compare(site)
    assert "Beta fix." in text_of(site / "output/corrections/index.html")
    # a retitle: the thread's title follows its newest article
    (site / "content/beta.md").write_text(text_of(site / "content/beta.md").replace(
        "title: Beta", "title: Beta renamed"))
    rebuild_and_compare(site)
    assert "<h1>Beta renamed</h1>" in text_of(site / "output/stories/harbour/index.html")
    # a story moved: both threads change
    (site / "content/alpha.md").write_text(text_of(site / "content/alpha.md").replace(
        "story: harbour", "story: budget"))
    rebuild_and_compare(site)
    assert not (site / "output/stories/harbour/page/2").exists()
    # a correction's text: corrections page, feeds, the article, the data file
    (site / "content/delta.md").write_text(text_of(site / "content/delta.md").replace(
        "Delta fix.", "Delta fixed again."))
    rebuild_and_compare(site)
    assert "Delta fixed again." in text_of(site / "output/corrections/feed.json")
    # the stories file
    (site / "data").mkdir()
    (site / "data/stories.yaml").write_text("budget: The budget\n")
    rebuild_and_compare(site)
    assert "<h1>The budget</h1>" in text_of(site / "output/stories/budget/index.html")
    # a correction removed
    (site / "content/beta.md").write_text(beta)
    rebuild_and_compare(site)
    assert "Beta fix." not in text_of(site / "output/corrections/index.html")


# ---------------------------------------------------------------- revisions on the page

@pytest.fixture()
def history_site(make_site):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    site = make_site({"content/alpha.md": article("Alpha", "2025-01-01 09:00:00 +0000",
                                              tags=["x"])})
    git = functools.partial(run_git, site)
    git("init", "-q")
    git("add", "content")
    git("commit", "-qm", "Publish alpha", date="2025-01-01T09:00:00+00:00")
    return site


def page_of(site: Path) -> str:
    return text_of(site / "output/2025/01/01/alpha/index.html")


def json_ld(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html,
                                re.S).group(1))


def test_publication_alone_is_no_update_anywhere(history_site):
    build_site(history_site)
    html = page_of(history_site)
    assert "Updated" not in html and "Revision history" not in html
    assert "Publish alpha" not in html
    assert json_ld(html)["dateModified"] == "2025-01-01T09:00:00+00:00"
    sitemap = text_of(history_site / "output/sitemap.xml")
    assert ("<loc>https://example.org/2025/01/01/alpha/</loc>"
            "<lastmod>2025-01-01T09:00:00+00:00</lastmod>") in sitemap


def test_updates_show_their_dates_and_notes_only(history_site):
    git = functools.partial(run_git, history_site)
    path = history_site / "content/alpha.md"
    path.write_text(article("Alpha", "2025-01-01 09:00:00 +0000", tags=["x", "y"]))
    git("commit", "-qam", "Retag alpha", date="2025-01-02T09:00:00+00:00")
    build_site(history_site)
    assert "Revision history" not in page_of(history_site)  # front matter only
    path.write_text(article("Alpha", "2025-01-01 09:00:00 +0000", "Fixed body.",
                            tags=["x", "y"]))
    git("commit", "-qam", "Fix the desk's typo\n\nRevision-Note: Corrected a quotation.",
        date="2025-01-03T11:30:00+00:00")
    rebuild_and_compare(history_site)
    html = page_of(history_site)
    assert "Revision history (1 update)" in html
    assert ('<li>Updated <time datetime="2025-01-03T11:30:00+00:00">January 3, 2025, '
            "11:30 a.m.</time>: Corrected a quotation.</li>") in html
    assert "Fix the desk" not in html and "Retag alpha" not in html
    assert json_ld(html)["dateModified"] == "2025-01-03T11:30:00+00:00"
    assert "<lastmod>2025-01-03T11:30:00+00:00</lastmod>" in text_of(
        history_site / "output/sitemap.xml")
    line = json.loads(text_of(history_site / "output/data/articles-2025.ndjson"))
    assert line["revisions"] == ["2025-01-03T11:30:00+00:00"]
    assert line["date_modified"] == "2025-01-03T11:30:00+00:00"


def test_an_ignored_revision_leaves_the_page_as_published(history_site):
    git = functools.partial(run_git, history_site)
    (history_site / "content/alpha.md").write_text(article("Alpha", "2025-01-01 09:00:00 +0000",
                                                       "Reformatted.", tags=["x"]))
    git("commit", "-qam", "Reformat everything", date="2025-01-04T09:00:00+00:00")
    build_site(history_site)
    assert "Revision history (1 update)" in page_of(history_site)
    sha = subprocess.run(["git", "-C", str(history_site), "rev-parse", "HEAD"],
                         capture_output=True, text=True, check=True).stdout.strip()
    (history_site / ".git-blame-ignore-revs").write_text(f"# formatting\n{sha}\n")
    rebuild_and_compare(history_site)
    assert "Revision history" not in page_of(history_site)
    assert "Updated" not in page_of(history_site)


def test_updated_in_front_matter_still_wins(history_site):
    git = functools.partial(run_git, history_site)
    (history_site / "content/alpha.md").write_text(article(
        "Alpha", "2025-01-01 09:00:00 +0000", "New body.", tags=["x"],
        updated="2025-02-01 08:00:00 +0000"))
    git("commit", "-qam", "Edit", date="2025-01-05T09:00:00+00:00")
    build_site(history_site)
    assert json_ld(page_of(history_site))["dateModified"] == "2025-02-01T08:00:00+00:00"


def test_clean_and_incremental_trees_match_for_every_new_file(site):
    """Every new output file is written by both a clean build and a rebuild."""
    build_site(site)
    tree = read_tree(site / "output")
    for rel in ("corrections/index.html", "corrections/feed.json", "stories/index.html",
                "stories/harbour/feed.json", "data/index.json", "authors/jane-doe/feed.json"):
        assert rel in tree, rel
