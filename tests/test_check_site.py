"""tools/check_site.py: its feed, sitemap and date checkers (fast; none of the npm or Java tools).

`make check-site` runs the real validators over real builds; these tests prove that the Python
checkers it relies on catch what they must, and pass what the theme writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import article, build_site

check_site = pytest.importorskip("check_site")  # tools/ is on sys.path (tests/conftest.py)
pytest.importorskip("feedparser")
pytest.importorskip("lxml")

BASE = "https://example.org/news/"
FEED_URL = BASE + "feed.xml"

GOOD_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>Gazette</title>
<link>https://example.org/news/</link>
<description>All the news</description>
<atom:link href="https://example.org/news/feed.xml" rel="self" type="application/rss+xml"/>
<lastBuildDate>Fri, 04 Jul 2025 16:51:00 +0000</lastBuildDate>
<item>
<title>First</title>
<link>https://example.org/news/2025/07/04/first/</link>
<guid isPermaLink="true">https://example.org/news/2025/07/04/first/</guid>
<pubDate>Fri, 04 Jul 2025 16:51:00 +0000</pubDate>
</item>
<item>
<title>Second</title>
<link>https://example.org/news/2025/07/03/second/</link>
<guid isPermaLink="true">https://example.org/news/2025/07/03/second/</guid>
<pubDate>Thu, 03 Jul 2025 09:00:00 -0400</pubDate>
</item>
</channel>
</rss>
"""

GOOD_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Gazette</title>
<id>https://example.org/news/atom.xml</id>
<link rel="self" type="application/atom+xml" href="https://example.org/news/atom.xml"/>
<updated>2025-07-04T16:51:00+00:00</updated>
<author><name>Gazette</name></author>
<entry>
<title>First</title>
<link rel="alternate" type="text/html" href="https://example.org/news/2025/07/04/first/"/>
<id>https://example.org/news/2025/07/04/first/</id>
<updated>2025-07-04T16:51:00.616+00:00</updated>
</entry>
</feed>
"""

GOOD_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://example.org/news/</loc><lastmod>2025-07-04T16:51:00+00:00</lastmod></url>
<url><loc>https://example.org/news/2025/07/04/first/</loc><lastmod>2025-07-04</lastmod></url>
</urlset>
"""

GOOD_NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url>
<loc>https://example.org/news/2025/07/04/first/</loc>
<news:news>
<news:publication><news:name>Gazette</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2025-07-04T16:51:00+00:00</news:publication_date>
<news:title>First</news:title>
</news:news>
</url>
</urlset>
"""


def _rss(old: str, new: str) -> bytes:
    assert old in GOOD_RSS
    return GOOD_RSS.replace(old, new, 1).encode()


def _has(problems: list[str], *words: str) -> bool:
    return any(all(w in p for w in words) for p in problems)


@pytest.fixture
def site(tmp_path: Path):
    """A Site whose output holds the pages the samples above link to."""
    root = tmp_path / "out"
    for rel in ("index.html", "2025/07/04/first/index.html", "2025/07/03/second/index.html",
                "sitemap.xml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("<!doctype html><title>x</title>")
    return check_site.Site("test", root, BASE)


def test_good_feeds_pass(site):
    assert check_site.check_feed(GOOD_RSS.encode(), FEED_URL, site) == []
    assert check_site.check_feed(GOOD_ATOM.encode(), BASE + "atom.xml", site) == []


@pytest.mark.parametrize(("broken", "words"), [
    (_rss('<atom:link href="https://example.org/news/feed.xml" rel="self" '
          'type="application/rss+xml"/>', ""), ('rel="self"',)),
    (_rss('href="https://example.org/news/feed.xml"', 'href="https://example.org/feed.xml"'),
     ('rel="self"', "not the feed's URL")),
    (_rss("Fri, 04 Jul 2025 16:51:00 +0000</pubDate>", "2025-07-04T16:51:00Z</pubDate>"),
     ("<pubDate>", "RFC 822")),
    (_rss("Thu, 03 Jul 2025", "Fri, 03 Jul 2025"), ("<pubDate>", "day of the week")),
    (_rss("Fri, 04 Jul 2025 16:51:00 +0000</lastBuildDate>", "July 4, 2025</lastBuildDate>"),
     ("<lastBuildDate>", "RFC 822")),
    (_rss("<link>https://example.org/news/2025/07/04/first/</link>",
          "<link>/news/2025/07/04/first/</link>"), ("item 1", "not an absolute URL")),
    (_rss("<guid isPermaLink=\"true\">https://example.org/news/2025/07/03/second/</guid>",
          "<guid isPermaLink=\"true\">https://example.org/news/2025/07/04/first/</guid>"),
     ("appears 2 times",)),
    (_rss("<guid isPermaLink=\"true\">https://example.org/news/2025/07/04/first/</guid>", ""),
     ("item 1", "no <guid>")),
    (_rss("<description>All the news</description>", ""), ("<description>",)),
    (_rss("<link>https://example.org/news/2025/07/03/second/</link>",
          "<link>https://example.org/news/2025/07/03/gone/</link>"), ("names no page",)),
    (_rss("<title>First</title>", "<title>First & last</title>"), ("not well-formed",)),
])
def test_broken_rss_is_caught(site, broken, words):
    problems = check_site.check_feed(broken, FEED_URL, site)
    assert _has(problems, *words), problems


@pytest.mark.parametrize(("old", "new", "words"), [
    ('<link rel="self" type="application/atom+xml" href="https://example.org/news/atom.xml"/>',
     "", ('rel="self"',)),
    ("<updated>2025-07-04T16:51:00+00:00</updated>", "<updated>2025-07-04</updated>",
     ("<updated>", "RFC 3339")),
    ('href="https://example.org/news/2025/07/04/first/"', 'href="2025/07/04/first/"',
     ("not an absolute URL",)),
    ("<author><name>Gazette</name></author>", "", ("no <author>",)),
])
def test_broken_atom_is_caught(site, old, new, words):
    problems = check_site.check_feed(GOOD_ATOM.replace(old, new).encode(),
                                     BASE + "atom.xml", site)
    assert _has(problems, *words), problems


@pytest.mark.parametrize("schema", ["python", "xsd"])
def test_sitemaps(site, schema):
    xsd = None
    if schema == "xsd":
        xsd = check_site.sitemap_schema()
        if xsd is None:
            pytest.skip("npm sitemap's schema/sitemap.xsd is not installed (npm ci --prefix tools)")
    url = BASE + "sitemap.xml"
    assert check_site.check_sitemap(GOOD_SITEMAP.encode(), url, site, xsd) == []
    assert check_site.check_sitemap(GOOD_NEWS.encode(), BASE + "news-sitemap.xml", site, xsd,
                                    news=True) == []
    for bad in ("2025-07-04 16:51", "2025-13-01", "yesterday", "2025-07-04T16:51:00"):
        broken = GOOD_SITEMAP.replace("<lastmod>2025-07-04</lastmod>", f"<lastmod>{bad}</lastmod>")
        problems = check_site.check_sitemap(broken.encode(), url, site, xsd)
        assert _has(problems, "lastmod"), (bad, problems)
    empty = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n</urlset>'
    assert check_site.check_sitemap(empty.encode(), url, site, xsd)
    outside = GOOD_SITEMAP.replace("https://example.org/news/</loc>", "https://example.org/</loc>")
    assert _has(check_site.check_sitemap(outside.encode(), url, site, xsd), "outside")
    missing = GOOD_SITEMAP.replace("first/</loc>", "gone/</loc>")
    assert _has(check_site.check_sitemap(missing.encode(), url, site, xsd), "names no page")


@pytest.mark.parametrize(("old", "new", "words"), [
    ("<news:title>First</news:title>", "", ("<news:title>",)),
    ("<news:language>en</news:language>", "<news:language>English</news:language>",
     ("<news:language>",)),
    ("2025-07-04T16:51:00+00:00</news:publication_date>", "04/07/2025</news:publication_date>",
     ("publication_date",)),
])
def test_broken_news_sitemap_is_caught(site, old, new, words):
    broken = GOOD_NEWS.replace(old, new).encode()
    problems = check_site.check_sitemap(broken, BASE + "news-sitemap.xml", site, news=True)
    assert _has(problems, *words), problems


def test_dates():
    assert check_site.check_rfc822("Fri, 04 Jul 2025 16:51:00 +0000") is None
    assert check_site.check_rfc822("4 Jul 25 16:51 GMT") is None
    assert check_site.check_rfc822("Fri, 4 Jul 2025 16:51:00 UTC")  # UTC is not RFC 822
    assert check_site.check_rfc3339("2025-07-04T16:51:00Z") is None
    assert check_site.check_rfc3339("2025-07-04T16:51:00")  # no offset
    assert check_site.check_w3c_datetime("2025") is None
    assert check_site.check_w3c_datetime("2025-07-04T16:51+02:00") is None
    assert check_site.check_w3c_datetime("2025-02-30")


def test_site_urls(site):
    page = site.root / "2025/07/04/first/index.html"
    assert site.url_of(page) == BASE + "2025/07/04/first/"
    assert site.url_of(site.root / "index.html") == BASE
    assert site.file_for(BASE + "2025/07/04/first/#top") == page
    assert site.file_for(BASE + "2025/07/04/none/") is None
    assert site.file_for("https://example.org/other/") is None
    assert check_site.check_robots(f"User-agent: *\nSitemap: {BASE}sitemap.xml\n", site) == []
    assert check_site.check_robots("User-agent: *\nSitemap: /sitemap.xml\n", site)


def test_the_theme_writes_feeds_and_sitemaps_that_pass(make_site):
    """A small site built with the default theme: every feed and sitemap passes the checkers
    (with the XSD when it is installed)."""
    site_dir = make_site({
        "content/a.md": article("Council Votes", "2026-02-28 09:24:00 -0500", section="City",
                                tags=["Budget"], authors=["Ann Lee"], summary="A vote."),
        "content/b.md": article("Brief Item", "2026-02-27T10:00:00.616Z", body="",
                                link="https://example.com/original", tags=["Budget"]),
    }, config='title = "Test Gazette"\nbase_url = "https://example.org/news/"\n')
    build_site(site_dir)
    site = check_site.Site("test", site_dir / "output", BASE)
    xsd = check_site.sitemap_schema()
    feeds = [p for p in site.root.rglob("*.xml") if p.name in ("feed.xml", "atom.xml")]
    assert len(feeds) >= 6  # site, section and tag, RSS and Atom each
    for path in feeds:
        assert check_site.check_feed(path.read_bytes(), site.url_of(path), site) == [], path
    for name in ("sitemap.xml", "news-sitemap.xml"):
        path = site.root / name
        problems = check_site.check_sitemap(path.read_bytes(), site.url_of(path), site, xsd,
                                            news=name.startswith("news"))
        assert problems == [], (name, problems)
    robots = (site.root / "robots.txt").read_text()
    assert check_site.check_robots(robots, site) == []


def test_search_bundle(site):
    bundle = site.root / "pagefind" / "2025"
    bundle.mkdir(parents=True)
    (bundle / "pagefind-entry.json").write_text('{"languages": {"en": {"hash": "en_1"}}}')
    (bundle / "pagefind.en_1.pf_meta").write_bytes(b"\x1f\x8b")
    assert check_site.check_search_bundle(site) == []
    (bundle / "pagefind.en_1.pf_meta").unlink()
    assert _has(check_site.check_search_bundle(site), "pf_meta is missing")
    (bundle / "pagefind-entry.json").write_text("")
    assert _has(check_site.check_search_bundle(site), "pagefind-entry.json is empty")


def test_known_issues_are_reported_apart(monkeypatch):
    monkeypatch.setattr(check_site, "KNOWN_ISSUES", [
        ("html", r"A fraction of a second must be one, two, or three digits", "the fix")])
    result = check_site.Result("html", errors=[
        "a.html:3: Bad value for attribute “datetime” on element “time”: A fraction of a second "
        "must be one, two, or three digits.", "b.html:1: Duplicate ID “x”."])
    check_site.apply_known_issues(result)
    assert result.errors == ["b.html:1: Duplicate ID “x”."]
    assert sum(result.waived.values()) == 1
