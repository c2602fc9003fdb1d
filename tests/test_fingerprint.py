"""fingerprint.py: a page's fingerprint counts an article by its card and a Digested value by
its digest, so what a page shows changes it and nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime

from sitegen.fingerprint import Fingerprinter
from sitegen.records import Article, Digested


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


def test_a_digested_value_counts_by_its_digest_alone():
    fingerprint = Fingerprinter()
    big = tuple(_article(f"A{i}", f"c{i}") for i in range(3))
    assert fingerprint("t", {"y": Digested("k1", big)}) == \
        fingerprint("t", {"y": Digested("k1", ())})  # its records are not walked
    other = Digested("k2", big)
    assert fingerprint("t", {"y": Digested("k1", big)}) != fingerprint("t", {"y": other})
    assert fingerprint("t", {"y": Digested("k1", ())}) != fingerprint("t", {"y": "k1"})
