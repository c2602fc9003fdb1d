"""The digests the build cache keys on: an article's card and outline."""

from __future__ import annotations

import dataclasses
import shutil
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import build_site, read_tree

from sitegen.cache import card_digest, outline_digest, parse_key, with_revisions
from sitegen.records import Article, Revision, Term

WHEN = datetime(2025, 1, 2, 3, 30, tzinfo=UTC)
ARTICLE = Article(source="a.md", digest="d1", title="Alpha", slug="alpha",
                  url="/2025/01/02/alpha/", date=WHEN, summary="S",
                  section=Term("World", "world", "/sections/world/"),
                  tags=(Term("Mexico", "mexico", "/tags/mexico/"),),
                  authors=(Term("Ann Lee", "ann-lee", "/authors/ann-lee/"),), story="s1")
OTHER = Term("Trade", "trade", "/tags/trade/")


@pytest.mark.parametrize("change", [
    {"url": "/2025/01/02/moved/"}, {"date": WHEN + timedelta(minutes=1)},
    {"date": WHEN.astimezone(timezone(timedelta(hours=-5)))},  # same instant, other day
    {"updated": WHEN + timedelta(hours=1)}, {"story": "s2"}, {"section": OTHER},
    {"section": None}, {"tags": (OTHER,)}, {"tags": ()}, {"authors": (OTHER,)},
])
def test_the_outline_follows_the_articles_place_in_the_site(change):
    assert outline_digest(dataclasses.replace(ARTICLE, **change)) != outline_digest(ARTICLE)


def test_tags_and_authors_are_told_apart_in_the_outline():
    tagged = dataclasses.replace(ARTICLE, tags=(OTHER,), authors=())
    authored = dataclasses.replace(ARTICLE, tags=(), authors=(OTHER,))
    assert outline_digest(tagged) != outline_digest(authored)


def test_what_only_the_article_shows_leaves_the_outline_alone():
    reworded = dataclasses.replace(ARTICLE, title="New", summary="New", digest="d2",
                                   body_html="<p>x</p>", words=9, image="i.png")
    assert outline_digest(reworded) == outline_digest(ARTICLE)
    assert card_digest(reworded) != card_digest(ARTICLE)


def test_git_history_brings_the_outline_and_card_along():
    parsed = dataclasses.replace(ARTICLE, card=card_digest(ARTICLE),
                                 outline=outline_digest(ARTICLE))
    later = WHEN + timedelta(days=2)
    dated = with_revisions(parsed, (Revision(later, "fix"),), later)
    assert dated.outline == outline_digest(dataclasses.replace(ARTICLE, updated=later))
    assert dated.outline != parsed.outline and dated.card != parsed.card
    unparsed = with_revisions(ARTICLE, (Revision(later, "fix"),), later)
    assert unparsed.outline == "" and unparsed.card == ""  # computed where they are needed


# ---------------------------------------------------------------- page bundles

SMALL = Path(__file__).resolve().parent / "sites" / "small"
BUNDLE = "content/2025/03/bundle-story"
BUNDLE_OUT = "2025/03/04/harbour-reopens-after-storm"


def small_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(SMALL, site)
    return site


def assert_same_as_clean_build(site: Path, **overrides: Any) -> None:
    """The site's output equals a build of the same site into a fresh output and cache."""
    clean = site.parent / f"clean-{time.monotonic_ns()}"
    build_site(site, output_dir=clean, cache_dir=clean.with_suffix(".cache"), **overrides)
    assert read_tree(site / "output") == read_tree(clean)


def test_a_file_removed_from_a_built_bundle_is_removed_from_the_site(tmp_path):
    site = small_site(tmp_path)
    (site / BUNDLE / "notes.txt").write_text("field notes")
    build_site(site)
    assert (site / "output" / BUNDLE_OUT / "notes.txt").is_file()
    (site / BUNDLE / "notes.txt").unlink()
    build_site(site)
    assert not (site / "output" / BUNDLE_OUT / "notes.txt").exists()
    assert_same_as_clean_build(site)


def test_a_file_added_to_a_built_bundle_is_published(tmp_path):
    site = small_site(tmp_path)
    build_site(site)
    (site / BUNDLE / "extra").mkdir()
    (site / BUNDLE / "extra/chart.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    build_site(site)
    assert (site / "output" / BUNDLE_OUT / "extra/chart.svg").read_text().startswith("<svg")
    assert_same_as_clean_build(site)


def test_the_parse_key_follows_the_bundle_listing():
    key = parse_key("a/index.md", "d1", "c1", ("photo.svg",))
    assert key != parse_key("a/index.md", "d1", "c1", ())
    assert key != parse_key("a/index.md", "d1", "c1", ("photo.svg", "notes.txt"))
    assert key == parse_key("a/index.md", "d1", "c1", ("photo.svg",))
