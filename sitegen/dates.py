"""Dates as front matter writes them: ISO 8601, RFC 2822, written out ("February 14,
2019"), Unix seconds, or a file name's `2019-02-14-` prefix; read in the offset as written,
or in the site's time zone when none is."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from .frontyaml import shown

DATE_RE = re.compile(
    r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
FILENAME_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-")
DATE_FORMATS = ("2019-02-14, 2019-02-14 09:24, 2019-02-14 09:24:00 -0500, ISO 8601 "
                "(2019-02-14T09:24:00-05:00), 2019/02/14 [09:24], February 14, 2019 "
                "[9:24 am], Feb 14, 2019, 14 February 2019, RFC 2822 "
                "(Thu, 14 Feb 2019 09:24:00 -0500) or Unix seconds (1550154240)")
MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for name in names}
ZONES = {"z": 0, "ut": 0, "utc": 0, "gmt": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
         "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}  # RFC 2822's names
_MONTH = r"([a-z]{3,9})\.?"
_CLOCK = (r"(?:(?:,\s*|\s+)(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?"
          r"(?:\s*([+-]\d{2}:?\d{2}|[a-z]{1,3}))?)?")
# "February 14, 2019", "Thursday, Feb 14 2019 9:24 am", "14 February 2019" and RFC 2822's
# "Thu, 14 Feb 2019 09:24:00 -0500" (the weekday, when written, is not checked).
WRITTEN_DATE_RE = re.compile(
    r"^(?:[a-z]{3,9}\.?,?\s+)??"
    rf"(?:{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})"
    rf"|(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}}))"
    rf"{_CLOCK}$", re.IGNORECASE)
# Unix seconds: from 1973-03-03 (fewer digits are more likely a year or 20190214) to 2100.
UNIX_SECONDS = range(100_000_000, 4_102_444_800)
# The instants a build can compute with: converting to UTC (and a day either side) may not
# leave datetime's years 1 to 9999.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def read_date(value: Any, tz: tzinfo) -> tuple[datetime | None, str]:
    """(the date, "") or (None, why not, quoting the value and the formats that work)."""
    when = _read_date(value, tz)
    written = value.isoformat(sep=" ") if isinstance(value, datetime) else \
        value.isoformat() if isinstance(value, date) else shown(value)
    if when is None:
        return None, f"is not a date I can read: {written} (use {DATE_FORMATS})"
    if not _in_range(when):
        return None, (f"{written} is out of range: a date must lie between the years 1 "
                      "and 9999 in UTC too")
    return when, ""


def parse_date(value: Any, tz: tzinfo) -> datetime | None:
    """A timezone-aware datetime in the offset as written; naive values are read in `tz`.
    None when unreadable or out of range."""
    return read_date(value, tz)[0]


def _read_date(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else _localize(value, tz)
    if isinstance(value, date):
        return _localize(datetime.combine(value, time()), tz)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_unix(value, tz) if value in UNIX_SECONDS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 64:
        return None
    match = DATE_RE.match(text)
    if match:
        y, _sep, mo, d, h, mi, s, frac, off = match.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return _assemble(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                         micro, _offset(off) if off else None, tz)
    match = WRITTEN_DATE_RE.match(text)
    return _written_date(match, tz) if match else None


def _written_date(match: re.Match[str], tz: tzinfo) -> datetime | None:
    month1, day1, year1, day2, month2, year2, h, mi, s, half, zone = match.groups()
    month = MONTHS.get((month1 or month2).lower())
    if month is None:
        return None
    hour = int(h or 0)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    offset = None
    if zone:
        named = ZONES.get(zone.lower())
        offset = timezone(timedelta(hours=named)) if named is not None else _offset(zone)
        if offset is None:
            return None
    return _assemble(int(year1 or year2), month, int(day1 or day2), hour, int(mi or 0),
                     int(s or 0), 0, offset, tz, zoned=bool(zone))


def _assemble(y: int, mo: int, d: int, h: int, mi: int, s: int, micro: int,
              offset: tzinfo | None, tz: tzinfo, zoned: bool | None = None) -> datetime | None:
    """The datetime of these parts, None when they are no date (Feb 30, 25:00, +25:00)."""
    try:
        naive = datetime(y, mo, d, h, mi, s, micro)
    except ValueError:
        return None
    if zoned is None:
        zoned = offset is not None
    if not zoned:
        return _localize(naive, tz)
    return None if offset is None else naive.replace(tzinfo=offset)


def _from_unix(seconds: int, tz: tzinfo) -> datetime:
    """An instant shown in the site's timezone, frozen to its offset then."""
    local = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
    return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))


def _in_range(when: datetime) -> bool:
    try:
        return EARLIEST <= when.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


def _offset(text: str) -> timezone | None:
    if text.upper() == "Z":
        return UTC
    if text[0] not in "+-":
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
    if int(hours) > 14 or int(minutes) > 59:
        return None
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach `tz`, then freeze it to a fixed offset so the date as written never moves."""
    aware = naive.replace(tzinfo=tz)
    return naive.replace(tzinfo=timezone(aware.utcoffset() or timedelta(0)))


def date_from_filename(rel_path: str, tz: tzinfo) -> datetime | None:
    parts = rel_path.split("/")
    name = parts[-2] if parts[-1] == "index.md" and len(parts) > 1 else parts[-1]
    match = FILENAME_DATE_RE.match(name)
    if not match:
        return None
    try:
        when = _localize(datetime(*map(int, match.groups())), tz)
    except ValueError:
        return None
    return when if _in_range(when) else None
