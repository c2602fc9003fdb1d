"""Crawl the built output of a generated 2,000-article archive, at `/` and under a sub-path."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import genarchive
import pytest
from conftest import read_tree, site_config
from sitecrawl import all_html_pages, crawl

from sitegen.build import build

pytestmark = pytest.mark.slow
N = 2000
ARTICLE_LINK = re.compile(r'<h3 class="headline-title"><a href="([^"]+)"')


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("archive")
    genarchive.generate(site / "content", N, seed=7)
    (site / "sitegen.toml").write_text('title = "Generated"\nbase_url = "https://example.org/"\n')
    return site


@pytest.fixture(scope="module", params=["https://example.org/", "https://user.github.io/repo/"])
def built(request, archive):
    tag = "root" if request.param.endswith(".org/") else "sub"
    config = site_config(archive, base_url=request.param, output_dir=archive / f"out-{tag}",
                         cache_dir=archive / f"cache-{tag}", jobs=2)
    report = build(config)
    return config, report


def test_every_article_reachable_and_no_broken_links(built):
    config, report = built
    base = config.base_path
    result = crawl(config.output_dir, base, skip_prefixes=("pagefind/",))
    assert result.broken == []
    pages = all_html_pages(config.output_dir, base)
    assert result.reached >= pages - {base + "404.html"}
    articles = {p for p in pages if re.fullmatch(re.escape(base) + r"\d{4}/\d\d/\d\d/[^/]+/", p)}
    assert len(articles) == report.articles > 0.95 * N


def headlines_of(output: Path, first: Path) -> list[str]:
    """Every headline link of a paginated index, following its page/N/ pages."""
    found = []
    pages = [first] + sorted(first.parent.glob("page/*/index.html"),
                             key=lambda p: int(p.parent.name))
    for page in pages:
        found += ARTICLE_LINK.findall(page.read_text(encoding="utf-8"))
    return found


def test_each_index_holds_exactly_its_articles(built):
    config, _ = built
    out, base = config.output_dir, config.base_path
    expected: dict[str, set[str]] = defaultdict(set)
    for page in out.glob("[0-9][0-9][0-9][0-9]/*/*/*/index.html"):
        html = page.read_text(encoding="utf-8")
        url = base + page.parent.relative_to(out).as_posix() + "/"
        y, m, d = page.parent.relative_to(out).parts[:3]
        for key in (f"{y}/", f"{y}/{m}/", f"{y}/{m}/{d}/", "archive/"):
            expected[key].add(url)
        for kind in ("sections", "tags", "authors"):
            for slug in re.findall(rf'href="{re.escape(base)}{kind}/([^/"]+)/"', html.split(
                    'class="related"')[0].split('<main')[1]):
                expected[f"{kind}/{slug}/"].add(url)
    assert len(expected["archive/"]) > 1000
    for key, urls in expected.items():
        listed = headlines_of(out, out / key / "index.html")
        internal = [u for u in listed if u.startswith(base)]
        assert len(listed) == len(set(listed)), key
        assert set(internal) <= urls, key
        assert len(listed) == len(urls), key  # external links stand for their briefs


def test_indexes_are_newest_first_fifty_a_page(built):
    config, _ = built
    first = (config.output_dir / "archive/index.html").read_text(encoding="utf-8")
    dates = re.findall(r'<time datetime="([^"]+)">', first.split('class="headlines"')[1])
    assert len(dates) == 50
    assert (config.output_dir / "archive/page/2/index.html").is_file()


def test_two_builds_are_byte_identical(archive, tmp_path):
    one = site_config(archive, output_dir=tmp_path / "one", cache_dir=tmp_path / "c1", jobs=2)
    two = site_config(archive, output_dir=tmp_path / "two", cache_dir=tmp_path / "c2", jobs=1)
    build(one)
    build(two)
    assert read_tree(tmp_path / "one") == read_tree(tmp_path / "two")
