"""fingerprint.py: a page's fingerprint counts an article by its card, so what a list shows of
it changes the page and nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime

from sitegen.fingerprint import Fingerprinter
from sitegen.records import Article


def _article(title: str, card: str = "") -> Article:
    return Article(source=f"{title}.md", digest="d", title=title, slug=title.lower(),
                   url=f"/{title.lower()}/", date=datetime(2025, 3, 4, tzinfo=UTC),
                   summary="S.", card=card)


def test_an_article_counts_by_its_card():
    fingerprint = Fingerprinter()
    one, same_card, other = _article("One", "c1"), _article("Renamed", "c1"), _article("O", "c2")
    assert fingerprint("t", {"a": one}) == fingerprint("t", {"a": same_card})
    assert fingerprint("t", {"a": one}) != fingerprint("t", {"a": other})
    assert fingerprint("t", {"a": _article("One")}) != fingerprint("t", {"a": _article("Two")})

