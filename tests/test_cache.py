"""The digests the build cache keys on: an article's card and outline."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sitegen.cache import card_digest, outline_digest, with_revisions
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
