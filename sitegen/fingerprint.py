"""What keys the build state: an article's card (what a list or a neighbour link can show of
it) and outline (its place in the site's shape), and a page's fingerprint (what it was
rendered from). Computed where an article is parsed and kept with it (cache.py)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import operator
import pickle
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .records import Article

# What a list or a neighbour link can show of an article: its record without the fields that
# come from its body alone (or from the card itself).
CARD_FIELDS = tuple(f.name for f in dataclasses.fields(Article)
                    if f.name not in ("digest", "internal_links", "words", "card"))


def card_digest(article: Article) -> str:
    """A digest of the article as a list or a neighbour link can show it. Computed once where
    the article is parsed and cached with it."""
    shown = tuple(getattr(article, name) for name in CARD_FIELDS)
    return hashlib.blake2b(pickle.dumps(shown, protocol=5), digest_size=16).hexdigest()


def outline_digest(article: Article, updated: datetime | None = None) -> str:
    """A digest of the article's place in the site's shape (shape.site_shape): its URL, dates,
    story, terms and aliases (its redirect pages). Computed once where the article is
    parsed, like `card`. `updated`: in place of the article's own (with_revisions)."""
    terms = "\1".join(f"{t.name}\2{t.slug}\2{t.url}" if t else "" for t in
                      (article.section, *article.tags, None, *article.authors))
    when = updated or article.updated
    updated = when.isoformat() if when else ""
    # how many corrections: the pages of /corrections/ follow from their number (corrections.py)
    line = f"{article.url}\0{article.date.isoformat()}\0{updated}\0{article.story}\0" \
        f"{len(article.corrections)}\0{terms}" \
        f"\0{chr(1).join(article.aliases)}"
    if article.translation_key or article.translation_of:  # which pages link which versions
        line += f"\0{article.lang}\0{article.translation_key}\0{article.translation_of}"
    return hashlib.blake2b(line.encode(), digest_size=16).hexdigest()


def with_revisions(article: Article, revisions: tuple, updated: Any) -> Article:
    """The article with its git history; its card and outline digests follow (the card without
    re-hashing it all)."""
    extra = pickle.dumps((revisions, updated), protocol=5)
    card = hashlib.blake2b(article.card.encode() + extra, digest_size=16).hexdigest() \
        if article.card else ""
    outline = outline_digest(article, updated) if article.outline else ""
    return dataclasses.replace(article, revisions=revisions, updated=updated, card=card,
                               outline=outline)


class Fingerprinter:
    """Digests of what a page shows. An article inside a page counts by what a list or a
    neighbour link can show of it (its record without body-derived fields), so editing an
    article's body re-renders its own page only; its page carries the body digest itself.
    Articles from the parse stage carry that digest (`card`); one made elsewhere is hashed.
    """

    def article_id(self, article: Article) -> str:
        return article.card or card_digest(article)

    def __call__(self, *parts: Any) -> str:
        buffer = io.BytesIO()
        _ArticleIdPickler(buffer, self).dump(parts)
        return hashlib.blake2b(buffer.getbuffer(), digest_size=16).hexdigest()


class _ArticleIdPickler(pickle.Pickler):
    """Pickles an Article as its id, another record as a plain tuple of its type name and
    fields, a datetime as its ISO text: pickle's own path for a dataclass (copyreg, the class
    by reference, a state dict) cost more than the rest of a page's fingerprint.
    reducer_override is skipped for str, int, tuple, dict...: far fewer Python calls than
    persistent_id, which runs for every object."""

    def __init__(self, buffer: io.BytesIO, fingerprinter: Fingerprinter):
        super().__init__(buffer, protocol=5)
        self.fingerprinter = fingerprinter

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is Article:
            return (str, (self.fingerprinter.article_id(obj),))
        if kind is datetime:
            return (str, (obj.isoformat(),))
        fields = _record_fields(kind)
        if fields is not None:
            return (tuple, ((kind.__qualname__, *fields(obj)),))
        return NotImplemented


@functools.cache
def _record_fields(kind: type) -> Callable[[Any], tuple] | None:
    """A function giving a dataclass instance's field values in order (slots or not), or
    None for a type that is not a dataclass."""
    if not hasattr(kind, "__dataclass_fields__"):
        return None
    names = [f.name for f in dataclasses.fields(kind)]
    if len(names) == 1:
        return lambda obj: (getattr(obj, names[0]),)
    return operator.attrgetter(*names) if names else lambda obj: ()
