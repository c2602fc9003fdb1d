from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from sitegen.indexes import build_indexes, paginate, related_key, related_ranks
from sitegen.records import Article, Term


def term(kind, name):
    slug = name.lower().replace(" ", "-")
    return Term(name, slug, f"/{kind}/{slug}/")


def make(n, day, tags=(), section="World", story="", hour=12, offset=0):
    when = datetime(2025, 1, day, hour, tzinfo=timezone(timedelta(hours=offset)))
    return Article(source=f"{n}.md", digest=str(n), title=f"A{n}", slug=f"a{n}",
                   url=f"/2025/01/{day:02d}/a{n}/", date=when, summary="",
                   section=term("sections", section) if section else None,
                   tags=tuple(term("tags", t) for t in tags), story=story)


def test_groups_hold_exactly_their_articles_newest_first():
    arts = [make(1, 1), make(2, 2, section="Business"), make(3, 2, hour=18), make(4, 3)]
    ix = build_indexes(arts)
    assert [a.title for a in ix.articles] == ["A4", "A3", "A2", "A1"]
    assert [a.title for a in ix.days[(2025, 1, 2)]] == ["A3", "A2"]
    assert [a.title for a in ix.sections["world"].articles] == ["A4", "A3", "A1"]
    assert ix.day_keys == ((2025, 1, 1), (2025, 1, 2), (2025, 1, 3))
    assert len(ix.years[2025]) == 4 and len(ix.months[(2025, 1)]) == 4


def test_day_is_the_date_as_written_whatever_the_offset():
    late_west = make(1, 1, hour=23, offset=-7)  # 2 January in UTC
    early_east = make(2, 2, hour=0, offset=9)  # 1 January in UTC
    ix = build_indexes([late_west, early_east])
    assert [a.title for a in ix.days[(2025, 1, 1)]] == ["A1"]
    assert [a.title for a in ix.days[(2025, 1, 2)]] == ["A2"]


def test_neighbours_in_time_and_in_section():
    arts = [make(1, 1), make(2, 2, section="Business"), make(3, 3)]
    ix = build_indexes(arts)
    n = ix.neighbours["/2025/01/03/a3/"]
    assert n.prev.title == "A2" and n.next is None
    assert n.section_prev.title == "A1" and n.section_next is None
    assert ix.neighbours["/2025/01/01/a1/"].section_next.title == "A3"


def test_related_prefers_rare_shared_tags_then_newer():
    arts = [make(1, 1, ["common", "rare"]), make(2, 2, ["common"]), make(3, 3, ["common"]),
            make(4, 4, ["rare"]), make(5, 5, ["common", "rare"]), make(6, 6, ["other"])]
    ix = build_indexes(arts, related_count=3)
    related = [a.title for a in ix.related["/2025/01/01/a1/"]]
    assert related == ["A5", "A4", "A3"]  # both tags; rare; then newest of the common ones
    assert ix.related["/2025/01/06/a6/"] == ()


def test_related_key_follows_what_related_lists_depend_on():
    arts = [make(1, 1, ["common", "rare"]), make(2, 2, ["common"]), make(3, 3, ["rare"])]
    key = related_key(arts, 5)
    retitled = [dataclasses.replace(arts[0], title="New title", summary="New"), *arts[1:]]
    assert related_key(retitled, 5) == key
    for changed in (dataclasses.replace(arts[0], tags=arts[1].tags),
                    dataclasses.replace(arts[0], date=arts[0].date + timedelta(hours=1)),
                    dataclasses.replace(arts[0], url="/moved/")):
        assert related_key([changed, *arts[1:]], 5) != key
    assert related_key(arts, 3) != key
    assert related_key(arts[:2], 5) != key


def test_known_related_urls_give_the_same_lists_with_the_new_records():
    arts = [make(1, 1, ["common", "rare"]), make(2, 2, ["common"]), make(3, 3, ["common"]),
            make(4, 4, ["rare"]), make(5, 5, ["common", "rare"])]
    fresh = build_indexes(arts, related_count=3)
    retitled = [dataclasses.replace(a, title=a.title + "!") for a in arts]
    reused = build_indexes(retitled, related_count=3, known_related=related_ranks(fresh))
    assert reused.related == build_indexes(retitled, related_count=3).related
    assert [a.title for a in reused.related["/2025/01/01/a1/"]] == ["A5!", "A4!", "A3!"]


def test_terms_with_the_same_slug_are_one_index():
    a = make(1, 1, ["Marco Rubio"])
    b = make(2, 2, ["marco rubio"])
    ix = build_indexes([a, b])
    assert list(ix.tags) == ["marco-rubio"]
    assert len(ix.tags["marco-rubio"].articles) == 2


def test_stories_are_timelines_oldest_first():
    ix = build_indexes([make(1, 3, story="s"), make(2, 1, story="s"), make(3, 2, story="t")])
    assert [a.title for a in ix.stories["s"]] == ["A2", "A1"]
    assert "t" not in ix.stories  # a story of one article has no timeline


def test_paginate():
    arts = [make(i, 1 + i % 28) for i in range(120)]
    pages = paginate(arts, 50)
    assert [len(p) for p in pages] == [50, 50, 20]
    assert paginate([], 50) == [()]


def test_related_ranks_that_do_not_fit_the_articles_are_refused():
    from array import array

    arts = [make(1, 1, ["common"]), make(2, 2, ["common"])]
    fresh = build_indexes(arts, related_count=3)
    assert [a.title for a in fresh.related["/2025/01/01/a1/"]] == ["A2"]
    with pytest.raises(ValueError):
        build_indexes(arts, related_count=3, known_related=array("i", [1, -1, -1]))


def test_neighbours_at_the_ends_and_outside_any_section():
    arts = [make(1, 1, section=""), make(2, 2), make(3, 3, section="")]
    ix = build_indexes(arts)
    middle = ix.neighbours["/2025/01/02/a2/"]
    assert (middle.prev.title, middle.next.title) == ("A1", "A3")
    assert middle.section_prev is None and middle.section_next is None
    first = ix.neighbours["/2025/01/01/a1/"]
    assert first.prev is None and first.section_prev is None and first.section_next is None
    assert list(ix.neighbours) == [a.url for a in ix.articles] and len(ix.related) == 3


def test_section_neighbours_skip_other_sections_and_articles_without_one():
    arts = [make(1, 1), make(2, 2, section="Business"), make(3, 3, section=""),
            make(4, 4), make(5, 5, section="Business"), make(6, 6)]
    ix = build_indexes(arts)
    world = ix.neighbours["/2025/01/04/a4/"]
    assert (world.section_prev.title, world.section_next.title) == ("A1", "A6")
    business = ix.neighbours["/2025/01/05/a5/"]
    assert business.section_prev.title == "A2" and business.section_next is None
    none = ix.neighbours["/2025/01/03/a3/"]
    assert none.section_prev is None and none.section_next is None
    assert (none.prev.title, none.next.title) == ("A2", "A4")
