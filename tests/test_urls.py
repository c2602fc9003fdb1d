from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sitegen.config import load_config
from sitegen.urls import Urls, is_safe_slug, safe_relative_path, slugify


def urls_for(tmp_path, base="https://example.org/", **cfg) -> Urls:
    return Urls(load_config(tmp_path, base_url=base, **cfg))


def test_slugify_uses_python_slugify_defaults():
    assert slugify("Marco Rubio") == "marco-rubio"
    assert slugify("U.S.-Mexico Talks") == "u-s-mexico-talks"
    assert slugify("Iran–U.S. Nuclear Talks") == "iran-u-s-nuclear-talks"


def test_article_urls_follow_the_permalink(tmp_path):
    when = datetime(2019, 2, 4, 9, 0, tzinfo=UTC)
    assert urls_for(tmp_path).article("slug", when) == "/2019/02/04/slug/"
    custom = urls_for(tmp_path, permalink="/news/{year}/{slug}/")
    assert custom.article("slug", when) == "/news/2019/slug/"


def test_every_url_carries_the_base_path(tmp_path):
    u = urls_for(tmp_path, "https://user.github.io/repo/")
    assert u.home() == "/repo/"
    assert u.archive() == "/repo/archive/"
    assert u.paged(u.archive(), 2) == "/repo/archive/page/2/"
    assert u.paged(u.archive(), 1) == "/repo/archive/"
    assert u.day(2025, 3, 4) == "/repo/2025/03/04/"
    assert u.term("tags", "mexico") == "/repo/tags/mexico/"
    assert u.feed(u.term("tags", "mexico"), atom=True) == "/repo/tags/mexico/atom.xml"
    assert u.absolute("/repo/a/") == "https://user.github.io/repo/a/"


def test_output_paths(tmp_path):
    u = urls_for(tmp_path, "https://user.github.io/repo/")
    assert u.output_path("/repo/") == "index.html"
    assert u.output_path("/repo/a/b/") == "a/b/index.html"
    assert u.output_path("/repo/feed.xml") == "feed.xml"
    with pytest.raises(ValueError):
        u.output_path("/elsewhere/")
    with pytest.raises(ValueError):
        u.output_path("/repo/../../etc/passwd")


@pytest.mark.parametrize("slug", ["../../x", "/etc/x", "a/../../b", "..", ".hidden", "a/b", ""])
def test_unsafe_slugs(slug):
    assert not is_safe_slug(slug)


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "a\\..\\b", "", "a/", "a//b",
                                  "./a", "a/.", "a/./b", "a/..", "a\0b"])
def test_unsafe_relative_paths(path):
    with pytest.raises(ValueError):
        safe_relative_path(path)


@pytest.mark.parametrize("path", ["index.html", "a/b/index.html", "a..b/c.d", ".well-known/x",
                                  "2024/01/02/x/index.html"])
def test_safe_relative_paths_pass_unchanged(path):
    assert safe_relative_path(path) == path


@pytest.mark.parametrize("permalink", ["/{year}/{month}/{day}/{slug}/", "/news/{slug}/"])
def test_served_by_inverts_output_path(tmp_path, permalink):
    u = urls_for(tmp_path, "https://x.org/repo/", permalink=permalink)
    urls = ["/repo/", "/repo/a/b/", "/repo/feed.xml",
            u.article("s", datetime(2024, 1, 2, tzinfo=UTC))]
    served = u.served_by(u.output_path(url) for url in urls)
    assert set(urls) <= served
    assert not served & {"/repo/a/", "/repo/a/b/index.html/", "/a/b/"}


def test_slugify_cuts_long_names_at_a_word_boundary():
    slug = slugify("The " + "very " * 40 + "long headline")
    assert len(slug) <= 100 and slug.endswith("very") and "-very-" in slug
    assert slugify("x" * 300) == "x" * 100  # one word longer than the limit: cut in it


@pytest.mark.parametrize("slug", ["index.html", "feed.xml", "atom.xml", "Page.HTM", "a.json",
                                  "x" * 101, "é" * 51])
def test_file_like_and_long_slugs_are_unsafe(slug):
    assert not is_safe_slug(slug)


@pytest.mark.parametrize("slug", ["v1.2-release", "node.js-tips", "a_b~c", "x" * 100, "é" * 50])
def test_plain_slugs_are_safe(slug):
    assert is_safe_slug(slug)


@pytest.mark.parametrize("url, taken", [
    ("/repo/search/", "the site's own search folder"),
    ("/repo/Pagefind/", "the site's own pagefind folder"),
    ("/repo/page/", "the site's own page folder"),
    ("/repo/sitemap-2.xml/", "the site's own sitemap-2.xml file"),
    ("/repo/cname/", "the site's own cname file"),
    ("/repo/2019/", "the site's own date archive page /2019/"),
    ("/repo/2019/02/14/", "the site's own date archive page /2019/02/14/"),
    ("/repo/2019/02/14/search/", None),
    ("/repo/news/tags/", None),
    ("/repo/searching/", None),
])
def test_urls_the_site_takes_for_itself(tmp_path, url, taken):
    assert urls_for(tmp_path, "https://x.org/repo/").taken_by_site(url) == taken
