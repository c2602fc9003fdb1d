"""Each page's lastmod for the sitemap, for a site of one language and for each language of
several (languages.py) alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from datetime import datetime

from .config import Config
from .i18n import PageLanguage
from .indexes import Indexes, utc_instant
from .pages import plan_pages
from .records import Article, PageSpec
from .urls import Urls


class SitemapPages:
    """What the sitemap lists: the site URL and lastmod of every HTML page but the 404 page,
    computed only if the sitemap is planned.

    With every page planned (`wanted` None) they are noted as the HTML pages stream past on
    their way to the render stage (`following`): two references a page, where the plan once
    held every page's spec until the sitemap was planned. Else every HTML page is planned
    again, one at a time, for its lastmod."""

    def __init__(self, indexes: Indexes, config: Config, urls: Urls, wanted: Set[str] | None,
                 language: PageLanguage | None = None):
        self._indexes, self._config, self._urls = indexes, config, urls
        self._wanted, self._language = wanted, language
        self._pages: list[str] = []
        self._lastmods: list[datetime | None] = []
        self._changed: dict[int, datetime] | None = None

    def following(self, html: Iterable[PageSpec]) -> Iterator[PageSpec]:
        """`html`, as it is, noting each page's URL and lastmod when every page is planned."""
        if self._wanted is not None:
            yield from html
            return
        for spec in html:
            self._note(spec)
            yield spec

    def __call__(self) -> list[tuple[str, datetime | None]]:
        """(site URL, lastmod) of every HTML page but the 404 page, in plan order."""
        if self._wanted is not None:
            for spec in plan_pages(self._indexes, self._config, self._urls, None,
                                   self._language):
                self._note(spec)
        return list(zip(self._pages, self._lastmods, strict=True))

    def _note(self, spec: PageSpec) -> None:
        if spec.kind == "404":
            return
        if self._changed is None:
            self._changed = {id(a): utc_instant(a.updated or a.date)[0]
                             for a in self._indexes.articles}
        self._pages.append(spec.url)
        self._lastmods.append(lastmod(spec, self._changed))


def lastmod(spec: PageSpec, changed: dict[int, datetime]) -> datetime | None:
    """When a page last changed: its article's, or the latest of the articles it lists
    (`changed`: each article's update or publication time in UTC, by id, see
    indexes.utc_instant; the first of equal instants is the one shown)."""
    article = spec.context.get("article")
    if article is not None:
        return article.updated or article.date
    listed: Iterable[Article] = spec.context.get("articles") or spec.context.get("latest") or ()
    latest = max(listed, key=lambda a: changed[id(a)], default=None)
    return (latest.updated or latest.date) if latest is not None else None
