from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC
from email.utils import parsedate_to_datetime

from conftest import article, build_site

from sitegen import feeds

NS = {"atom": "http://www.w3.org/2005/Atom", "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
      "news": "http://www.google.com/schemas/sitemap-news/0.9"}


def site_with(make_site, n=3, config=""):
    files = {f"content/story-{i}.md": article(f"Story {i}", f"2026-02-{i + 1:02d} 10:00:00 -0500",
                                               section="World", tags=["Iran"], summary=f"Sum {i}.")
             for i in range(n)}
    return make_site(files, config=config or 'title = "T"\nbase_url = "https://x.org/repo/"\n')


def test_rss_essentials(make_site):
    site = site_with(make_site)
    build_site(site)
    root = ET.parse(site / "output/feed.xml").getroot()
    channel = root.find("channel")
    assert channel.findtext("title") == "T" and channel.findtext("link") == "https://x.org/repo/"
    assert channel.findtext("description")
    self_link = channel.find("atom:link", NS)
    assert self_link.get("rel") == "self" and self_link.get("href") == "https://x.org/repo/feed.xml"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["Story 2", "Story 1", "Story 0"]
    guids = [i.findtext("guid") for i in items]
    assert len(set(guids)) == 3 and all(g.startswith("https://x.org/repo/2026/") for g in guids)
    when = parsedate_to_datetime(items[0].findtext("pubDate"))
    assert when.isoformat() == "2026-02-03T10:00:00-05:00"


def test_atom_and_scoped_feeds(make_site):
    site = site_with(make_site)
    build_site(site)
    root = ET.parse(site / "output/tags/iran/atom.xml").getroot()
    assert root.find("atom:link[@rel='self']", NS).get("href") == \
        "https://x.org/repo/tags/iran/atom.xml"
    entries = root.findall("atom:entry", NS)
    assert len(entries) == 3
    assert entries[0].find("atom:link", NS).get("href").startswith("https://x.org/repo/2026/")
    assert (site / "output/sections/world/feed.xml").is_file()


def test_feed_items_limit(make_site):
    site = site_with(make_site, n=5, config='base_url = "https://x.org/"\nfeed_items = 2\n')
    build_site(site)
    assert len(ET.parse(site / "output/feed.xml").getroot().findall("channel/item")) == 2


def test_sitemap_lists_every_page_with_lastmod(make_site):
    site = site_with(make_site)
    build_site(site)
    root = ET.parse(site / "output/sitemap.xml").getroot()
    locs = {u.findtext("sm:loc", namespaces=NS): u.findtext("sm:lastmod", namespaces=NS)
            for u in root.findall("sm:url", NS)}
    assert locs["https://x.org/repo/2026/02/01/story-0/"] == "2026-02-01T10:00:00-05:00"
    assert locs["https://x.org/repo/"] == "2026-02-03T10:00:00-05:00"
    assert "https://x.org/repo/404.html" not in locs
    html_files = [p for p in (site / "output").rglob("*.html") if p.name != "404.html"]
    assert len(locs) == len(html_files)


def test_a_list_page_changes_when_an_older_article_it_lists_is_updated(make_site):
    site = make_site({
        "content/old.md": article("Old", "2026-02-01 10:00:00 -0500", section="World",
                                  updated="2026-03-01 09:00:00 -0500"),
        "content/new.md": article("New", "2026-02-10 10:00:00 -0500", section="World"),
        "content/other.md": article("Other", "2026-02-05 10:00:00 -0500", section="Sport"),
    }, config='title = "T"\nbase_url = "https://x.org/"\n')
    build_site(site)
    root = ET.parse(site / "output/sitemap.xml").getroot()
    locs = {u.findtext("sm:loc", namespaces=NS): u.findtext("sm:lastmod", namespaces=NS)
            for u in root.findall("sm:url", NS)}
    assert locs["https://x.org/sections/world/"] == "2026-03-01T09:00:00-05:00"  # the update
    assert locs["https://x.org/sections/sport/"] == "2026-02-05T10:00:00-05:00"
    assert locs["https://x.org/2026/02/10/new/"] == "2026-02-10T10:00:00-05:00"


def test_sitemap_splits_into_an_index_past_the_limit(make_site, monkeypatch):
    monkeypatch.setattr(feeds, "SITEMAP_LIMIT", 10)
    site = site_with(make_site)
    build_site(site)
    index = ET.parse(site / "output/sitemap.xml").getroot()
    parts = [s.findtext("sm:loc", namespaces=NS) for s in index.findall("sm:sitemap", NS)]
    assert parts[0] == "https://x.org/repo/sitemap-1.xml" and len(parts) >= 2
    total = sum(len(ET.parse(site / f"output/sitemap-{i}.xml").getroot()) for i in
                range(1, len(parts) + 1))
    html_files = [p for p in (site / "output").rglob("*.html") if p.name != "404.html"]
    assert total == len(html_files)


def test_news_sitemap_has_the_last_two_days_only(make_site):
    from datetime import datetime

    site = site_with(make_site, n=5)
    build_site(site, now=datetime(2026, 2, 5, 20, 0, tzinfo=UTC))
    root = ET.parse(site / "output/news-sitemap.xml").getroot()
    titles = [u.findtext("news:news/news:title", namespaces=NS) for u in root]
    assert titles == ["Story 4", "Story 3"]
    assert "Sitemap: https://x.org/repo/sitemap.xml" in (site / "output/robots.txt").read_text()


def test_hostile_text_is_escaped_everywhere(make_site):
    evil = '"><img src=x onerror=alert(1)></script><script>alert(2)</script>'
    site = make_site({"content/a.md": (
        "---\n"
        f"title: {json.dumps(evil)}\n"
        "date: 2026-02-01\n"
        f"tags: [{json.dumps(evil)}]\n"
        f"authors: [{json.dumps('<b>Evil</b>')}]\n"
        f"summary: {json.dumps(evil)}\n"
        "---\nBody\n")})
    build_site(site)
    out = site / "output"
    for path in out.rglob("*.html"):
        text = path.read_text()
        assert "<script>alert" not in text and "<img src=x" not in text, path
        for script in re.findall(r'<script type="application/ld\+json">(.*?)</script>', text,
                                 re.S):
            assert json.loads(script)["headline"] == evil
    for name in ["feed.xml", "atom.xml", "sitemap.xml"]:
        ET.parse(out / name)  # still well-formed XML
        assert "<script>" not in (out / name).read_text()


def test_no_news_sitemap_without_recent_articles(make_site):
    from datetime import datetime

    site = site_with(make_site, n=2)
    build_site(site, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert not (site / "output/news-sitemap.xml").exists()


def test_times_carry_at_most_milliseconds(make_site):
    site = make_site({"content/a.md": article("A", "2020-07-07T10:00:00.616123Z")})
    build_site(site)
    html = (site / "output/2020/07/07/a/index.html").read_text()
    assert 'datetime="2020-07-07T10:00:00.616+00:00"' in html
