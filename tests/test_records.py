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
