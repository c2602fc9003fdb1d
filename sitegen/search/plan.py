"""Planning the pieces: the article pages cut into runs that Pagefind indexes one at a time.

Pagefind cannot update an index in place (Pagefind/pagefind#71) and indexes ~2.5 ms a page plus
~3 ms an index, so the archive is cut into calendar periods of at most `MAX_PIECE_PAGES`
articles: a UTC year, else its quarters, months, thirds of a month (days 1-10, 11-20, 21 to the
end), days. Calendar boundaries keep the other pieces as they are when an article is added or
removed, so an edit re-indexes the one piece holding the article.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..records import Article

MAX_PIECE_PAGES = 40  # what Pagefind indexes at once: an edit re-indexes this many pages


@dataclass(frozen=True)
class PiecePlan:
    id: str  # "2019", "2019-q1", "2019-03", "2019-03-t1" or "2019-03-14"
    urls: tuple[str, ...]  # article URLs (with the base path), newest first
    # each article's UTC instant (`instant`), when planned from the articles
    instants: Sequence[int] = field(default=(), compare=False)


def plan_pieces(articles: Iterable[Article], max_pages: int = MAX_PIECE_PAGES
                ) -> list[PiecePlan]:
    """The articles cut into pieces, newest first (and newest first within a piece)."""
    days: list[Day] = []  # the periods group whole days
    for when, url in sorted(((_utc(a.date), a.url) for a in articles), reverse=True):
        key = (when.year, when.month, when.day)
        if not (days and days[-1][0] == key):
            days.append((key, []))
        days[-1][1].append((url, (when - EPOCH) // MICROSECOND))
    return [PiecePlan(key, tuple(url for _, day in part for url, _ in day),
                      array("q", [at for _, day in part for _, at in day]))
            for key, part in _periods(days, PERIODS, 0, max_pages)]


def instant(when: datetime) -> int:
    """The UTC instant of an article's date in microseconds: where the plan puts it."""
    return (_utc(when) - EPOCH) // MICROSECOND


EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)
DayKey = tuple[int, int, int]  # a UTC day: year, month, day
Day = tuple[DayKey, list[tuple[str, int]]]  # a day's (article URL, instant), newest first


def _year(day: DayKey) -> str:
    return f"{day[0]:04}"


def _quarter(day: DayKey) -> str:
    return f"{day[0]:04}-q{(day[1] - 1) // 3 + 1}"


def _month(day: DayKey) -> str:
    return f"{day[0]:04}-{day[1]:02}"


def _third(day: DayKey) -> str:
    """Days 1-10, 11-20 and 21 to the end of a month."""
    return f"{day[0]:04}-{day[1]:02}-t{min(3, (day[2] + 9) // 10)}"


def _day(day: DayKey) -> str:
    return f"{day[0]:04}-{day[1]:02}-{day[2]:02}"


PERIODS = (_year, _quarter, _month, _third, _day)  # what a piece covers, coarsest first


def _utc(when: datetime) -> datetime:
    """The UTC instant as a naive datetime: comparing aware ones asks both for their offsets."""
    offset = when.utcoffset()
    return when.replace(tzinfo=None) - offset if offset else when.replace(tzinfo=None)


def _periods(members: list[Day], periods: Sequence[Callable[[DayKey], str]], level: int,
             max_pages: int) -> list[tuple[str, list[Day]]]:
    """(key, days) of the calendar periods, newest first, that split `members` (days, newest
    first) from `periods[level]` down into runs of at most `max_pages` articles (a day is
    never split)."""
    groups: list[tuple[str, list[Day]]] = []
    parts: dict[str, list[Day]] = {}
    sizes: dict[str, int] = {}
    for day in members:
        key = periods[level](day[0])
        parts.setdefault(key, []).append(day)
        sizes[key] = sizes.get(key, 0) + len(day[1])
    for key, part in parts.items():
        if sizes[key] > max_pages and level + 1 < len(periods):
            groups.extend(_periods(part, periods, level + 1, max_pages))
        else:
            groups.append((key, part))
    return groups
