"""Each page's lastmod for the sitemap, for a site of one language and for each language of
several (languages.py) alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from datetime import datetime

from .config import Config
from .i18n import PageLanguage
from .indexes import Indexes, utc_instant
from .pages import plan_pages
from .records import PageSpec
from .urls import Urls


def sitemap_lastmods(indexes: Indexes, config: Config, urls: Urls, html: Sequence[PageSpec],
                     wanted: Set[str] | None, language: PageLanguage | None = None
                     ) -> Callable[[], list[tuple[str, datetime | None]]]:
    """What the sitemap lists, computed only if it is planned: the absolute URL and lastmod
    of every HTML page but the 404 page. `html` is the pages planned, every page when no
    `wanted` URLs were given; else every page is planned again for its lastmod."""

    def lastmods() -> list[tuple[str, datetime | None]]:
        changed = {id(a): utc_instant(a.updated or a.date) for a in indexes.articles}
        every = html if wanted is None else plan_pages(indexes, config, urls, None, language)
        return [(urls.absolute(s.url), lastmod(s, changed)) for s in every if s.kind != "404"]

    return lastmods


def lastmod(spec: PageSpec, changed: dict[int, tuple[datetime, datetime]]) -> datetime | None:
    """When a page last changed: its article's, or the latest of the articles it lists
    (`changed`: each article's update or publication time, by id, see indexes.utc_instant)."""
    article = spec.context.get("article")
    if article is not None:
        return article.updated or article.date
    listed = spec.context.get("articles") or spec.context.get("latest") or ()
    latest = max(map(changed.__getitem__, map(id, listed)), default=None)
    return latest[1] if latest else None
