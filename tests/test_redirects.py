"""URLs that stay put: the slug order, aliases' redirect pages, `_redirects`, collisions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import article, build_site, read_tree, site_config

from sitegen.authoring import new_article
from sitegen.errors import ContentError
from sitegen.records import BuildReport

SUB = 'title = "Gazette"\nbase_url = "https://example.org/gazette/"\n'


def _output(site: Path) -> dict[str, bytes]:
    return read_tree(site / "output")


def _article_pages(site: Path) -> set[str]:
    return {rel for rel, data in _output(site).items()
            if rel.endswith(".html") and b"data-pagefind-body" in data}


# ---------------------------------------------------------------- where a URL comes from

@pytest.mark.parametrize(("path", "fields", "url"), [
    ("content/a.md", {"slug": "chosen", "url": "/ignored/"}, "2025/03/04/chosen/"),
    ("content/a.md", {"url": "/about/harbour/"}, "about/harbour/"),
    ("content/a.md", {"permalink": "/old/harbour.html"}, "old/harbour.html"),
    ("content/2019-02-14-Harbour-Opens.md", {}, "2025/03/04/harbour-opens/"),
    ("content/2016-4-1-spring.md", {}, "2025/03/04/spring/"),
    ("content/2025/the-bundle/index.md", {}, "2025/03/04/the-bundle/"),
    ("content/index.md", {}, "2025/03/04/the-headline-itself/"),
])
def test_the_url_comes_from_slug_then_url_then_file_name_then_title(
        make_site, path: str, fields: dict, url: str) -> None:
    site = make_site({path: article("The headline itself", "2025-03-04", **fields)})
    build_site(site)
    assert _article_pages(site) == {url if url.endswith(".html") else url + "index.html"}


def test_a_headline_edit_keeps_the_url(make_site) -> None:
    site = make_site({"content/harbour.md": article("Harbour reopens", "2025-03-04")})
    build_site(site)
    path = site / "content/harbour.md"
    path.write_text(article("Harbour reopens after the storm, officials say", "2025-03-04"))
    report = build_site(site)
    assert _article_pages(site) == {"2025/03/04/harbour/index.html"}
    assert report.files_removed == 0


def test_a_fixed_url_keeps_bundle_images_next_to_the_page(make_site) -> None:
    site = make_site({
        "content/story/index.md": article("Story", "2025-03-04", "![map](map.svg)",
                                          url="/special/story/", image="map.svg"),
        "content/story/map.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    })
    build_site(site)
    out = _output(site)
    assert "special/story/map.svg" in out
    assert b'content="https://example.org/special/story/map.svg"' in \
        out["special/story/index.html"]


def test_a_jekyll_permalink_with_placeholders_is_ignored_with_a_warning(make_site) -> None:
    site = make_site({"content/a.md": article("Alpha", "2025-03-04", permalink="/:year/:title/")})
    report = build_site(site)
    assert _article_pages(site) == {"2025/03/04/a/index.html"}
    assert any("placeholders" in w for w in report.warnings)


def test_sitegen_new_writes_the_slug_it_chose(make_site) -> None:
    site = make_site({})
    path = new_article(site_config(site), "Harbour Reopens")
    assert "\nslug: harbour-reopens\n" in path.read_text()


# ---------------------------------------------------------------- redirect pages

def _moved_site(make_site, config: str = "", **aliases: str):
    fields = aliases or {"aliases": "[/old/harbour/, /old/page.html, legacy/path]"}
    return make_site({"content/harbour.md": article("Harbour reopens", "2025-03-04",
                                                    **fields),
                      "content/other.md": article("Other", "2025-03-05")}, config=config)


@pytest.mark.parametrize(("config", "base"), [("", "/"), (SUB, "/gazette/")])
def test_each_alias_gets_a_redirect_page_under_the_base_path(make_site, config, base) -> None:
    site = _moved_site(make_site, config)
    report = build_site(site)
    out = _output(site)
    target = f"{base}2025/03/04/harbour/"
    for rel in ("old/harbour/index.html", "old/page.html", "legacy/path/index.html"):
        page = out[rel].decode()
        assert f'<meta http-equiv="refresh" content="0; url={target}">' in page
        assert f'<link rel="canonical" href="https://example.org{target}">' in page
        assert f'<a href="{target}">Harbour reopens</a>' in page
        assert '<meta name="robots" content="noindex">' in page
        assert "data-pagefind" not in page
    assert report.redirects == 3 and "3 redirect pages" in report.summary_line()


def test_redirect_from_is_read_as_aliases(make_site) -> None:
    site = _moved_site(make_site, redirect_from="/2019/02/14/harbour-old/")
    build_site(site)
    assert "2019/02/14/harbour-old/index.html" in _output(site)


def test_redirect_pages_are_left_out_of_sitemaps_and_search(make_site) -> None:
    site = _moved_site(make_site)
    build_site(site)
    sitemap = _output(site)["sitemap.xml"].decode()
    assert "/2025/03/04/harbour/" in sitemap
    assert "old" not in sitemap and "legacy" not in sitemap
    assert _article_pages(site) == {"2025/03/04/harbour/index.html",
                                    "2025/03/05/other/index.html"}


def test_a_retitled_article_updates_its_redirect_pages(make_site) -> None:
    site = _moved_site(make_site)
    build_site(site)
    (site / "content/harbour.md").write_text(article(
        "Harbour opens again", "2025-03-04",
        aliases="[/old/harbour/, /old/page.html, legacy/path]"))
    build_site(site)
    assert b">Harbour opens again</a>" in _output(site)["old/page.html"]


def test_the_redirects_file_for_netlify_and_cloudflare(make_site) -> None:
    site = _moved_site(make_site, SUB + "redirects_file = true\n")
    build_site(site)
    assert _output(site)["_redirects"].decode().splitlines() == [
        "/gazette/old/harbour/ /gazette/2025/03/04/harbour/ 301",
        "/gazette/old/page.html /gazette/2025/03/04/harbour/ 301",
        "/gazette/legacy/path/ /gazette/2025/03/04/harbour/ 301",
    ]


def test_no_redirects_file_unless_asked(make_site) -> None:
    site = _moved_site(make_site)
    build_site(site)
    assert "_redirects" not in _output(site)


def test_an_alias_equal_to_the_articles_own_url_is_no_redirect(make_site) -> None:
    site = _moved_site(make_site, aliases="[/2025/03/04/harbour/]")
    assert build_site(site).redirects == 0


@pytest.mark.parametrize(("aliases", "both"), [
    ("[/2025/03/05/other/]", "content/other.md"),  # another article's page
    ("[/tags/]", "tags"),  # the site's own folder
    ("[/]", "home page"),
])
def test_a_redirect_on_a_page_is_an_error_naming_both(make_site, aliases, both) -> None:
    site = _moved_site(make_site, aliases=aliases)
    with pytest.raises(ContentError) as caught:
        build_site(site)
    message = str(caught.value)
    assert "content/harbour.md" in message and both in message


def test_two_articles_with_one_alias_is_an_error_naming_both_files(make_site) -> None:
    site = make_site({"content/a.md": article("Alpha", "2025-03-04", aliases="[/old/]"),
                      "content/b.md": article("Beta", "2025-03-05", aliases="[old]")})
    with pytest.raises(ContentError) as caught:
        build_site(site)
    assert re.search(r"content/[ab]\.md.*also an alias of content/[ab]\.md", str(caught.value))


@pytest.mark.parametrize("alias", ["https://example.org/old/", "/?p=123", "/a/../b/", "/a//b/"])
def test_an_alias_no_file_can_serve_is_an_error_with_its_line(make_site, alias) -> None:
    site = make_site({"content/a.md": article("Alpha", "2025-03-04", aliases=f'["{alias}"]')})
    with pytest.raises(ContentError) as caught:
        build_site(site)
    assert "content/a.md:4" in str(caught.value) and "aliases" in str(caught.value)


def test_incremental_build_after_adding_an_alias_equals_a_clean_build(make_site) -> None:
    site = make_site({"content/harbour.md": article("Harbour reopens", "2025-03-04"),
                      "content/other.md": article("Other", "2025-03-05")})
    build_site(site)
    path = site / "content/harbour.md"
    path.write_text(article("Harbour reopens", "2025-03-04", aliases="[/old/harbour/]"))
    build_site(site)
    assert "old/harbour/index.html" in _output(site)
    path.write_text(article("Harbour reopens", "2025-03-04", aliases="[/older/]"))
    report = build_site(site)
    incremental = _output(site)
    assert "old/harbour/index.html" not in incremental and report.files_removed >= 1
    build_site(site, clean=True)
    assert _output(site) == incremental


def test_the_summary_line_counts_redirect_pages() -> None:
    assert BuildReport(3, 9, 9, 9, 0, 0, 0.5, redirects=1).summary_line().endswith(
        " in 0.50 s; 1 redirect page")
    assert "redirect" not in BuildReport(3, 9, 9, 9, 0, 0, 0.5).summary_line()
