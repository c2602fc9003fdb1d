"""Every index of the site, built once from one pass over the articles (no per-page scans)."""

from __future__ import annotations

import hashlib
import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from .fingerprint import outline_digest
from .records import Article, Term

RELATED_CANDIDATES_PER_TAG = 30  # nearest in time within each shared tag
V = TypeVar("V")


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


class _ByArticle(Mapping[str, V]):
    """A value for each article, by URL, in newest-first order; made when asked for."""

    def __init__(self, ordered: Sequence[Article], position: dict[str, int]):
        self._ordered = ordered
        self._position = position  # URL -> index in `ordered`

    def __iter__(self) -> Iterator[str]:
        return (article.url for article in self._ordered)

    def __len__(self) -> int:
        return len(self._ordered)


class NeighbourMap(_ByArticle[Neighbours]):
    """Each article's neighbours by URL, made when asked for: an edit plans a few article
    pages, and making all 10,000 up front cost 30 ms a build."""

    def __init__(self, ordered: Sequence[Article], position: dict[str, int],
                 sections: dict[str, TermIndex]):
        super().__init__(ordered, position)
        self._sections = sections
        # each article's place in its section's list (4 bytes an article, where a dict by
        # URL of (list, place) took 150)
        self._in_section = array("i", bytes(4 * len(ordered)))
        seen: dict[str, int] = defaultdict(int)
        for i, article in enumerate(ordered):
            if article.section:
                self._in_section[i] = seen[article.section.slug]
                seen[article.section.slug] += 1

    def __getitem__(self, url: str) -> Neighbours:
        i = self._position[url]
        ordered = self._ordered
        section = ordered[i].section
        arts = self._sections[section.slug].articles if section else ()
        j = self._in_section[i] if section else -1
        return Neighbours(
            prev=ordered[i + 1] if i + 1 < len(ordered) else None,
            next=ordered[i - 1] if i > 0 else None,
            section_prev=arts[j + 1] if 0 <= j < len(arts) - 1 else None,
            section_next=arts[j - 1] if j > 0 else None,
        )


class RelatedMap(_ByArticle[tuple[Article, ...]]):
    """Each article's related list by URL, kept as ranks in the newest-first order (`count`
    a list, -1 where a list is shorter): cached between builds as they are, and made into
    articles only for the pages planned."""

    def __init__(self, ordered: Sequence[Article], position: dict[str, int], ranks: array,
                 count: int):
        if len(ranks) != len(ordered) * count:
            raise ValueError("related ranks do not match the articles")
        super().__init__(ordered, position)
        self.ranks = ranks
        self.count = count

    def __getitem__(self, url: str) -> tuple[Article, ...]:
        start = self._position[url] * self.count
        ordered = self._ordered
        return tuple(ordered[r] for r in self.ranks[start:start + self.count] if r >= 0)


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
    neighbours: NeighbourMap
    related: RelatedMap


def newest_first(articles: Iterable[Article]) -> list[Article]:
    """By Article.sort_key, newest first. The instant is compared as naive UTC: comparing
    aware datetimes asks both for their UTC offset at every comparison."""
    return sorted(articles, key=_sort_key, reverse=True)


def _sort_key(article: Article) -> tuple[datetime, str]:
    return article.date.astimezone(UTC).replace(tzinfo=None), article.url


def build_indexes(articles: Sequence[Article], related_count: int = 5,
                  known_related: array | None = None) -> Indexes:
    """`known_related`: the related ranks (`RelatedMap.ranks`) of an earlier build with the
    same `related_key`."""
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
    position = {article.url: i for i, article in enumerate(ordered)}
    ranks = known_related if known_related is not None else \
        _related(ordered, tags, related_count)
    return Indexes(
        articles=ordered,
        years={k: tuple(v) for k, v in years.items()},
        months={k: tuple(v) for k, v in months.items()},
        days={k: tuple(v) for k, v in days.items()},
        day_keys=tuple(sorted(days)),
        sections=sections, tags=tags, authors=authors,
        stories={k: tuple(reversed(v)) for k, v in stories.items() if len(v) > 1},
        neighbours=NeighbourMap(ordered, position, sections),
        related=RelatedMap(ordered, position, ranks, related_count),
    )


def related_key(articles: Sequence[Article], related_count: int) -> str:
    """A digest of everything related lists depend on (each article's URL, instant and tags),
    and a little more: each article's outline (fingerprint.outline_digest), made once a parse."""
    digest = hashlib.blake2b(f"{related_count}|{RELATED_CANDIDATES_PER_TAG}".encode(),
                             digest_size=16)
    digest.update("".join(a.outline or outline_digest(a) for a in articles).encode())
    return digest.hexdigest()


def related_ranks(indexes: Indexes) -> array:
    """The related lists as `build_indexes` takes them back (`known_related`)."""
    assert isinstance(indexes.related, RelatedMap)
    return indexes.related.ranks


def _padded(ranks: list[int], count: int) -> list[int]:
    return ranks + [-1] * (count - len(ranks))


def _term_index(ordered: Sequence[Article], terms_of) -> dict[str, TermIndex]:
    """Group on slug; a slug's display name is the one its newest article uses."""
    names: dict[str, Term] = {}
    members: dict[str, list[Article]] = defaultdict(list)
    for article in ordered:
        for term in terms_of(article):
            names.setdefault(term.slug, term)
            members[term.slug].append(article)
    return {slug: TermIndex(names[slug], tuple(members[slug])) for slug in sorted(names)}


def _related(ordered: Sequence[Article], tags: dict[str, TermIndex], count: int) -> array:
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
    lists = array("i")
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
        lists.extend(_padded([key % total for key in best], count))
    return lists


def paginate(items: Sequence[Article], per_page: int) -> list[tuple[Article, ...]]:
    """Pages of at most `per_page`; an empty index still has one (empty) page."""
    if not items:
        return [()]
    return [tuple(items[i: i + per_page]) for i in range(0, len(items), per_page)]


def utc_instant(when: datetime) -> tuple[datetime, datetime]:
    """(naive UTC, the time as written): compared on the first, which is cheap, while
    comparing aware datetimes asks both for their offset every time."""
    return when.astimezone(UTC).replace(tzinfo=None), when
