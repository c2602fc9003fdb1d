"""The records: immutable, compact (slots), and a Term shared by value when unpickled."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

from sitegen.records import Article, Term


def article(n: int) -> Article:
    section = Term("World", "world", "/sections/world/")
    return Article(source=f"a{n}.md", digest="d", title=f"T{n}", slug=f"t{n}", url=f"/t{n}/",
                   date=datetime(2026, 1, n + 1, tzinfo=UTC), summary="", section=section,
                   tags=(Term("Budget", "budget", "/tags/budget/"),))


def test_unpickled_articles_share_their_terms():
    first, second = (pickle.loads(pickle.dumps(article(n), protocol=5)) for n in (1, 2))
    assert first == article(1) and second == article(2)
    assert first.section is second.section and first.tags[0] is second.tags[0]
    assert first.section is not article(1).section  # only unpickled terms are shared


def test_records_have_no_per_instance_dict():
    for record in (article(1), article(1).section):
        assert not hasattr(record, "__dict__")
        assert dataclasses.replace(record) == record


def test_an_unpickled_article_is_an_equal_immutable_article():
    made = dataclasses.replace(article(3), words=12, aliases=("/old/",), featured=True)
    back = pickle.loads(pickle.dumps(made, protocol=5))
    assert type(back) is Article and back == made and hash(back) == hash(made)
    assert [getattr(back, f.name) for f in dataclasses.fields(Article)] == \
        [getattr(made, f.name) for f in dataclasses.fields(Article)]
    try:
        back.title = "changed"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("an unpickled Article took a new title")
    assert back.title == made.title and not hasattr(back, "__dict__")


class _OldPickle:
    """An Article as sitegen pickled it before `_restore_article`: Article(*fields)."""

    def __init__(self, made: Article):
        self.made = made

    def __reduce__(self):
        return Article, tuple(getattr(self.made, f.name) for f in dataclasses.fields(Article))


def test_articles_pickled_the_older_way_still_unpickle():
    assert pickle.loads(pickle.dumps(_OldPickle(article(4)), protocol=5)) == article(4)
