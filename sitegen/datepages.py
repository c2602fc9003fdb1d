"""Finding one's way by date: the data of month calendars, archive bar charts, links to the
previous and next period with articles, and on-this-day groups. Templates draw them
(partials/calendar.html, partials/chart.html); nothing here knows HTML."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")
# Sunday first, as the a.m./p.m. style of the dates
WEEK = calendar.Calendar(firstweekday=calendar.SUNDAY)
WEEKDAYS = tuple((calendar.day_name[d], calendar.day_abbr[d]) for d in WEEK.iterweekdays())
CHART_HEIGHT = 120  # the tallest bar, in SVG user units
CHART_SLOT = 44  # the width given to one bar and its gap
CHART_BAR = 30
CHART_LABELS = 20  # room for the labels under the bars
CHART_TOP = 16  # room for the count above the tallest bar


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: int  # 0: a cell outside the month
    count: int = 0
    url: str = ""  # the day page, when the day has articles


@dataclass(frozen=True, slots=True)
class MonthCalendar:
    caption: str
    weekdays: tuple[tuple[str, str], ...]  # (name, abbreviation), in column order
    weeks: tuple[tuple[CalendarDay, ...], ...]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the bar: "2024", "Mar"
    name: str  # in the table: "2024", "March"
    url: str  # "" for a period without articles
    count: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class BarChart:
    caption: str
    period: str  # the table's first column heading: "Year", "Month"
    bars: tuple[Bar, ...]
    width: int
    height: int  # of the drawing, labels included
    baseline: int  # y of the bars' foot


def neighbours(keys: Sequence[K], key: K) -> tuple[K | None, K | None]:
    """The keys before and after `key` in the sorted `keys` (only periods with articles)."""
    from bisect import bisect_left

    i = bisect_left(keys, key)  # type: ignore[type-var]
    before = keys[i - 1] if i > 0 else None
    after_at = i + 1 if i < len(keys) and keys[i] == key else i
    return before, keys[after_at] if after_at < len(keys) else None


def month_calendar(year: int, month: int, caption: str, counts: Mapping[int, int],
                   day_url: Callable[[int], str]) -> MonthCalendar:
    """The month's weeks, each day with its count of articles and, if any, its page."""
    weeks = tuple(
        tuple(CalendarDay(day, counts.get(day, 0), day_url(day) if counts.get(day) else "")
              if day else CalendarDay(0)
              for day in week)
        for week in WEEK.monthdayscalendar(year, month))
    return MonthCalendar(caption, WEEKDAYS, weeks)


def bar_chart(caption: str, period: str, entries: Sequence[tuple[str, str, str, int]]
              ) -> BarChart:
    """Bars for (label, name, URL or "", count) in order, scaled to the largest count."""
    top = max((entry[3] for entry in entries), default=0) or 1
    baseline = CHART_TOP + CHART_HEIGHT
    bars = []
    for i, (label, name, url, count) in enumerate(entries):
        height = round(CHART_HEIGHT * count / top) if count else 0
        if count and height < 2:
            height = 2  # one article still shows
        bars.append(Bar(label, name, url, count, i * CHART_SLOT + (CHART_SLOT - CHART_BAR) // 2,
                        baseline - height, CHART_BAR, height))
    return BarChart(caption, period, tuple(bars), max(1, len(bars)) * CHART_SLOT,
                    baseline + CHART_LABELS, baseline)


def on_this_day_keys(day_keys: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Every (month, day) that has articles in some year, in calendar order."""
    return sorted({(m, d) for _, m, d in day_keys})
