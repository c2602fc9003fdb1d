"""`/corrections/`: every correction of the archive, newest first, and its feeds.

A correction is dated by its own `date`; one without a date stands at its article's update
(or publication) date in the order, and shows no date of its own.

The pages and feeds show every corrected article (`PageSpec.shows`): a change to any of
them may move a correction from one page to another. How many corrections there are is part
of the site's shape (fingerprint.outline_digest), so a new correction plans every page again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .indexes import paginate
from .records import Article, Correction, PageSpec
from .urls import page_meta

if TYPE_CHECKING:
    from .config import Config
    from .urls import Urls

TITLE = "Corrections"
DESCRIPTION = "Every correction published in the archive, newest first."


@dataclass(frozen=True, slots=True)
class Entry:
    """One correction with its article; `number` counts from 1 within the article."""

    article: Article
    correction: Correction
    number: int
    when: datetime  # the correction's date, else its article's update or publication date

    @property
    def anchor(self) -> str:
        return f"correction-{self.number}"


def corrections_url(urls: Urls) -> str:
    return urls.page("corrections/")


def entries(articles: Sequence[Article]) -> tuple[Entry, ...]:
    """Every correction, newest first (ties: the article's order, then the article's own)."""
    found = []
    for rank, article in enumerate(articles):
        for number, correction in enumerate(article.corrections, start=1):
            when = correction.date or article.updated or article.date
            found.append((when.astimezone(UTC).replace(tzinfo=None), -rank, -number,
                          Entry(article, correction, number, when)))
    found.sort(key=lambda item: item[:3], reverse=True)
    return tuple(item[3] for item in found)


def corrected(articles: Sequence[Article]) -> tuple[Article, ...]:
    return tuple(a for a in articles if a.corrections)


def plan_pages(planner: Any, articles: Sequence[Article]) -> Iterator[PageSpec]:
    """The paginated `/corrections/` pages (`planner`: pages._Planner)."""
    urls, config = planner.urls, planner.config
    first = corrections_url(urls)
    shows = corrected(articles)
    every = entries(shows)
    pages = paginate(every, config.per_page)  # type: ignore[arg-type]
    feeds = feed_links(urls)
    for number, chunk in enumerate(pages, start=1):
        url = urls.paged(first, number)
        if not planner.want(url):
            continue
        heading = TITLE if number == 1 else f"{TITLE} (page {number})"
        meta = page_meta(url, heading, "corrections", urls, DESCRIPTION, feeds)
        yield planner.spec(url, "corrections.html", meta, shows, heading=TITLE,
                           entries=chunk, total=len(every),
                           pagination=planner.pagination(first, number, len(pages)))


def feed_links(urls: Urls) -> tuple[tuple[str, str], ...]:
    first = corrections_url(urls)
    return ((f"{TITLE} (RSS)", urls.feed(first)), (f"{TITLE} (Atom)", urls.feed(first, True)),
            (f"{TITLE} (JSON Feed)", first + "feed.json"))


def plan_feeds(articles: Sequence[Article], config: Config, urls: Urls,
               want: Callable[[str], bool]) -> Iterator[PageSpec]:
    """RSS, Atom and JSON Feed of the newest `feed_items` corrections."""
    first = corrections_url(urls)
    shows = corrected(articles)
    links = feed_links(urls)
    if not any(want(url) for _, url in links):
        return
    items = entries(shows)[: config.feed_items]
    updated = max((e.when for e in items), default=None)
    for (_, url), template in zip(links, ("corrections-rss.xml", "corrections-atom.xml",
                                          "corrections-feed.json"), strict=True):
        if want(url):
            feed = {"title": f"{config.title}: {TITLE}", "description": DESCRIPTION,
                    "url": url, "link": first, "updated": updated}
            yield PageSpec(url, template, {"feed": feed, "entries": items}, kind="feed",
                           shows=shows)
