"""Every index of the site, built once from one pass over the articles (no per-page scans)."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .records import Article, Term

RELATED_CANDIDATES_PER_TAG = 30  # nearest in time within each shared tag


@dataclass(frozen=True, slots=True)
class TermIndex:
    """A section, tag or author with its articles, newest first."""

    term: Term
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class Neighbours:
    prev: Article | None = None  # older
    next: Article | None = None  # newer
    section_prev: Article | None = None
    section_next: Article | None = None


@dataclass(frozen=True)
class Indexes:
    articles: tuple[Article, ...]  # newest first
    years: dict[int, tuple[Article, ...]]
    months: dict[tuple[int, int], tuple[Article, ...]]
    days: dict[tuple[int, int, int], tuple[Article, ...]]
    day_keys: tuple[tuple[int, int, int], ...]  # oldest first
    sections: dict[str, TermIndex]
    tags: dict[str, TermIndex]
    authors: dict[str, TermIndex]
    stories: dict[str, tuple[Article, ...]]  # oldest first: a timeline
    neighbours: dict[str, Neighbours] = field(default_factory=dict)
    related: dict[str, tuple[Article, ...]] = field(default_factory=dict)


def newest_first(articles: Iterable[Article]) -> list[Article]:
    """By Article.sort_key, newest first. The instant is compared as naive UTC: comparing
    aware datetimes asks both for their UTC offset at every comparison."""
    return sorted(articles, key=_sort_key, reverse=True)


def _sort_key(article: Article) -> tuple[datetime, str]:
    return article.date.astimezone(UTC).replace(tzinfo=None), article.url


def build_indexes(articles: Sequence[Article], related_count: int = 5,
                  known_related: dict[str, tuple[str, ...]] | None = None) -> Indexes:
    """`known_related`: the related URLs of an earlier build with the same `related_key`."""
    ordered = tuple(newest_first(articles))
    years: dict[int, list[Article]] = defaultdict(list)
    months: dict[tuple[int, int], list[Article]] = defaultdict(list)
    days: dict[tuple[int, int, int], list[Article]] = defaultdict(list)
    stories: dict[str, list[Article]] = defaultdict(list)
    for article in ordered:
        y, m, d = article.day_key
        years[y].append(article)
        months[(y, m)].append(article)
        days[(y, m, d)].append(article)
        if article.story:
            stories[article.story].append(article)
    sections = _term_index(ordered, lambda a: (a.section,) if a.section else ())
    tags = _term_index(ordered, lambda a: a.tags)
    authors = _term_index(ordered, lambda a: a.authors)
    return Indexes(
        articles=ordered,
        years={k: tuple(v) for k, v in years.items()},
        months={k: tuple(v) for k, v in months.items()},
        days={k: tuple(v) for k, v in days.items()},
        day_keys=tuple(sorted(days)),
        sections=sections, tags=tags, authors=authors,
        stories={k: tuple(reversed(v)) for k, v in stories.items() if len(v) > 1},
        neighbours=_neighbours(ordered, sections),
        related=_related_from_urls(ordered, known_related) if known_related is not None
        else _related(ordered, tags, related_count),
    )


def related_key(articles: Sequence[Article], related_count: int) -> str:
    """A digest of everything related lists depend on: each article's URL, instant and tags."""
    digest = hashlib.blake2b(f"{related_count}|{RELATED_CANDIDATES_PER_TAG}".encode(),
                             digest_size=16)
    for a in articles:
        digest.update(f"{a.url}\0{a.date.timestamp()}\0{'|'.join(t.slug for t in a.tags)}\n"
                      .encode())
    return digest.hexdigest()


def related_urls(indexes: Indexes) -> dict[str, tuple[str, ...]]:
    return {url: tuple(a.url for a in related) for url, related in indexes.related.items()}


def _related_from_urls(ordered: Sequence[Article], known: dict[str, tuple[str, ...]]
                       ) -> dict[str, tuple[Article, ...]]:
    by_url = {a.url: a for a in ordered}
    return {a.url: tuple(by_url[u] for u in known.get(a.url, ())) for a in ordered}


def _term_index(ordered: Sequence[Article], terms_of) -> dict[str, TermIndex]:
    """Group on slug; a slug's display name is the one its newest article uses."""
    names: dict[str, Term] = {}
    members: dict[str, list[Article]] = defaultdict(list)
    for article in ordered:
        for term in terms_of(article):
            names.setdefault(term.slug, term)
            members[term.slug].append(article)
    return {slug: TermIndex(names[slug], tuple(members[slug])) for slug in sorted(names)}


def _neighbours(ordered: Sequence[Article], sections: dict[str, TermIndex]
                ) -> dict[str, Neighbours]:
    in_section: dict[str, tuple[Article | None, Article | None]] = {}
    for index in sections.values():
        arts = index.articles
        for i, article in enumerate(arts):
            in_section[article.url] = (arts[i + 1] if i + 1 < len(arts) else None,
                                       arts[i - 1] if i > 0 else None)
    out = {}
    for i, article in enumerate(ordered):
        sec_prev, sec_next = in_section.get(article.url, (None, None))
        out[article.url] = Neighbours(
            prev=ordered[i + 1] if i + 1 < len(ordered) else None,
            next=ordered[i - 1] if i > 0 else None,
            section_prev=sec_prev, section_next=sec_next,
        )
    return out


def _related(ordered: Sequence[Article], tags: dict[str, TermIndex], count: int
             ) -> dict[str, tuple[Article, ...]]:
    """Articles sharing tags; a shared rare tag weighs more (idf), newer first on ties.

    Candidates for one tag are its articles nearest in time, so a tag on thousands of
    articles costs a bounded amount per article instead of O(n) (no O(n^2) trap).
    Weights are integers so that equal scores are exactly equal, whatever the sum's order.
    """
    rank = {a.url: i for i, a in enumerate(ordered)}  # 0 is the newest
    members = {slug: [rank[a.url] for a in ix.articles] for slug, ix in tags.items()}
    weight = {slug: int(1_000_000 * math.log(1 + len(ordered) / len(m)))
              for slug, m in members.items()}
    position = {(slug, r): i for slug, m in members.items() for i, r in enumerate(m)}
    half = RELATED_CANDIDATES_PER_TAG // 2
    total = len(ordered)
    related = {}
    for me, article in enumerate(ordered):
        scores: dict[int, int] = {}
        for tag in article.tags:
            ranks, w = members[tag.slug], weight[tag.slug]
            i = position[(tag.slug, me)]
            window = ranks[max(0, i - half): i + half + 1]
            if not scores:
                scores = dict.fromkeys(window, w)
                continue
            get = scores.get
            for other in window:
                scores[other] = get(other, 0) + w
        scores.pop(me, None)
        # one integer per candidate orders by score, then by rank (newer first) on ties
        best = sorted([rank - score * total for rank, score in scores.items()])[:count]
        related[article.url] = tuple(ordered[key % total] for key in best)
    return related


def paginate(items: Sequence[Article], per_page: int) -> list[tuple[Article, ...]]:
    """Pages of at most `per_page`; an empty index still has one (empty) page."""
    if not items:
        return [()]
    return [tuple(items[i: i + per_page]) for i in range(0, len(items), per_page)]
