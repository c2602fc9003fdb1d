"""The parse stage's outline of the articles: what a build holds of each in the parent."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import site_config

from sitegen.cache import BuildCache
from sitegen.parse import BodyKeys, compact, parse_articles
from sitegen.records import Article, shared_term
from sitegen.scan import load_sources


def story(title: str, day: int, dateline: str = "PARIS") -> str:
    return f"""
        ---
        title: "{title}"
        date: 2025-01-{day:02d} 10:00:00
        tags: ["Harbor", "Rail"]
        authors: ["Ana Ruiz"]
        dateline: "{dateline}"
        source_name: "Wire"
        ---
        See [the other story](/2025/01/01/first/) and more words.
        """


def loaded_site(make_site, outline: bool):
    site = make_site({"content/first.md": story("First", 1),
                      "content/second.md": story("Second", 2)})
    config = site_config(site)
    cache = BuildCache(config.cache_dir, config.output_dir)
    try:
        # twice: the second time from the parse cache, as a rebuild loads them
        parse_articles(load_sources(config), config, cache)
        return parse_articles(load_sources(config), config, cache, outline=outline)
    finally:
        cache.close()


def test_the_outline_shares_repeated_values_and_drops_internal_links(make_site):
    first, second = sorted(loaded_site(make_site, outline=True).articles, key=lambda a: a.title)
    assert first.internal_links == () == second.internal_links
    for name in ("dateline", "source_name", "tags", "authors"):
        assert getattr(first, name) == getattr(second, name)
        assert getattr(first, name) is getattr(second, name), name


def test_the_full_records_keep_internal_links_for_check(make_site):
    loaded = loaded_site(make_site, outline=False)
    assert all(a.internal_links for a in loaded.articles)
    assert loaded.articles[0].internal_links[0][0] == "/2025/01/01/first/"


def test_digests_are_passed_back_only_for_sources_the_scan_had_not_hashed(make_site):
    assert loaded_site(make_site, outline=True).digests == {}
    site = make_site({"content/a.md": story("A", 1)}, name="unhashed")
    config = site_config(site)
    sources = [s.__class__(s.path, s.data, "") for s in load_sources(config)]
    cache = BuildCache(config.cache_dir, config.output_dir)
    try:
        loaded = parse_articles(sources, config, cache, outline=True)
    finally:
        cache.close()
    assert loaded.digests == {"a.md": load_sources(config)[0].digest}


def article(n: int, dateline: str, extra: tuple = ()) -> Article:
    return Article(source=f"{n}.md", digest=str(n), title=f"A{n}", slug=f"a{n}",
                   url=f"/a{n}/", date=datetime(2025, 1, n, tzinfo=UTC), summary="",
                   dateline=dateline, extra=extra,
                   tags=(shared_term("X", "x", "/tags/x/"),), internal_links=(("/a1/", 3),))


def test_compact_keeps_every_value_and_leaves_unhashable_extras_alone():
    made = "".join(["NAIRO", "BI"])  # equal, not the same object
    one, two = article(1, "NAIROBI", (("list", [1, 2]),)), article(2, made, (("list", [1]),))
    assert one.dateline is not two.dateline
    compact([one, two])
    assert one.dateline is two.dateline and two.dateline == "NAIROBI"
    assert one.tags is two.tags and one.internal_links == () == two.internal_links
    assert one.extra == (("list", [1, 2]),) and two.extra == (("list", [1]),)


def test_body_keys_give_back_the_parse_keys_they_were_given():
    keys = BodyKeys([("/a/", "0f" * 16), ("/b/", "a1" * 16)])
    assert keys["/a/"] == "0f" * 16 and keys.get("/b/") == "a1" * 16
    assert "/a/" in keys and "/c/" not in keys and keys.get("/c/", "") == ""
    assert list(keys) == ["/a/", "/b/"] and list(keys.values()) == ["0f" * 16, "a1" * 16]
