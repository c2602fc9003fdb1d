"""What a WordPress post becomes: its place in content/, its URL and its front matter.

Pure functions of the export's records: nothing here reads or writes files.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import yaml

from ..urls import is_safe_slug, slugify
from .wxr import Item

PUBLISHED = {"publish": False, "future": False}  # status -> draft
DRAFTS = {"draft": True, "pending": True, "private": True}
_TAG = re.compile(r"<[^>]*>")
_ZERO_DATE = "0000-00-00 00:00:00"


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a post goes: its bundle (relative to the content folder) and its new site path."""

    post_id: int
    bundle: str  # 'YYYY/MM/slug'
    slug: str
    date: datetime
    naive: bool  # no GMT date in the export: the date is read in the site's timezone
    path: str  # the new URL's site path ('/2019/02/14/slug/')
    old_paths: tuple[str, ...]  # the post's old addresses that a redirect page can serve
    unredirectable: tuple[str, ...]  # old addresses a static host cannot serve ('/?p=12')
    draft: bool


def skip_reason(item: Item) -> str | None:
    """Why a post is not imported, or None."""
    if item.status in PUBLISHED or item.status in DRAFTS:
        return None
    return f"status '{item.status or 'none'}' (only published, future, draft, pending and " \
           "private posts are imported)"


def plain_text(value: str) -> str:
    """WordPress's HTML text (titles, excerpts) as plain text on one line."""
    return " ".join(html.unescape(_TAG.sub(" ", value)).split())


def post_date(item: Item) -> tuple[datetime, bool]:
    """The publication date: the GMT date at the offset of the local one (so the day in the
    URL is the day WordPress showed), or the local date alone when the GMT date is missing."""
    local = _parse(item.post_date)
    gmt = _parse(item.post_date_gmt) if item.post_date_gmt != _ZERO_DATE else None
    if local is None and gmt is None:
        return datetime(1970, 1, 1, tzinfo=UTC), True
    if gmt is None or local is None:
        return (local or gmt), gmt is None  # type: ignore[return-value]
    offset = round((local - gmt).total_seconds() / 60) * 60
    if abs(offset) > 14 * 3600:
        return local, True
    zone = UTC if offset == 0 else _zone(offset)
    return gmt.replace(tzinfo=UTC).astimezone(zone), False


def _zone(seconds: int):
    from datetime import timezone

    return timezone(timedelta(seconds=seconds))


def _parse(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def post_slug(item: Item) -> str:
    slug = unquote(item.post_name).strip().lower()
    if slug and is_safe_slug(slug):
        return slug
    return slugify(unquote(item.post_name)) or slugify(plain_text(item.title)) or \
        f"post-{item.post_id}"


def old_addresses(item: Item, blog_path: str) -> tuple[list[str], list[str]]:
    """The post's old site paths (relative to the blog's own path), and those only a query
    string names (`/?p=123`), which a static host cannot serve."""
    paths: list[str] = []
    unservable: list[str] = []
    if not item.link:
        return paths, unservable
    parts = urlsplit(item.link)
    path = unquote(parts.path) or "/"
    if blog_path != "/" and path.startswith(blog_path):
        path = "/" + path[len(blog_path):]
    if parts.query:
        unservable.append(path + "?" + parts.query)
    elif path != "/":
        paths.append(path)
    return paths, unservable


def format_date(value: datetime, naive: bool) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if naive:
        return text
    return f"{text} {value.strftime('%z')}"


def front_matter(fields: dict[str, object]) -> str:
    """YAML front matter with the keys in the order given, one line each."""
    lines = ["---"]
    for key, value in fields.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, str) and key in ("date", "updated"):
            lines.append(f"{key}: {value}")
        elif isinstance(value, dict):
            dumped = yaml.safe_dump({key: value}, default_flow_style=False, allow_unicode=True,
                                    width=1 << 30, sort_keys=False)
            lines.append(dumped.rstrip("\n"))
        else:
            dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True,
                                    width=1 << 30, sort_keys=False).strip()
            lines.append(f"{key}: {dumped.removesuffix(chr(10) + '...')}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def section_and_tags(item: Item, categories: dict[str, str]) -> tuple[str, list[str]]:
    """The primary category (Yoast's, else the first) and the tags: the post's tags, then
    its other categories (distinct, compared case-folded)."""
    names = [t.name for t in item.terms if t.domain == "category" and t.name]
    primary = categories.get(item.meta_value("_yoast_wpseo_primary_category"), "")
    section = html.unescape(primary or (names[0] if names else ""))
    tags: list[str] = []
    seen = {section.casefold()}
    for term in [t for t in item.terms if t.domain == "post_tag"] + \
            [t for t in item.terms if t.domain == "category"]:
        name = html.unescape(term.name).strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            tags.append(name)
    return section, tags
