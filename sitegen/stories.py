"""Story threads: the articles that share a `story:` id, one page each at `/stories/<id>/`.

`data/stories.yaml` (or `.yml`, `.toml`) may name and describe a thread:

    russia-ukraine-war:
      title: The war in Ukraine
      description: Russia's invasion and the talks to end it.

A thread without an entry is titled by its newest article's headline. Read once with the
config (Config.stories), like data/authors.yaml, so an edit of the file changes the output
digest like any setting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .indexes import paginate
from .jsonfeed import feed_links
from .records import Article, PageSpec
from .sitedata import Story
from .sitedata import load_stories as load_stories
from .sitedata import stories_file as stories_file
from .urls import Urls, is_safe_slug, page_meta, slugify


@dataclass(frozen=True, slots=True)
class Thread:
    """A story thread as its pages show it: articles newest first."""

    id: str
    slug: str
    url: str
    title: str
    description: str
    articles: tuple[Article, ...]


def story_slug(story_id: str) -> str:
    """The id as written when it is a safe URL segment, else its slug."""
    return story_id if is_safe_slug(story_id) else slugify(story_id) or "story"


def threads(articles: Sequence[Article], entries: Sequence[Story], base: str
            ) -> dict[str, Thread]:
    """Every thread by slug (in slug order) from the newest-first `articles`; `base`: the
    site's base path. Ids that slug alike are one thread (the newest article's id names it)."""
    members: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        if article.story:
            members[story_slug(article.story)].append(article)
    by_id = {entry.id: entry for entry in entries}
    out = {}
    for slug in sorted(members):
        arts = tuple(members[slug])
        entry = by_id.get(arts[0].story) or next(
            (by_id[a.story] for a in arts if a.story in by_id), None)
        out[slug] = Thread(id=arts[0].story, slug=slug, url=f"{base}stories/{slug}/",
                           title=(entry.title if entry and entry.title else arts[0].title),
                           description=entry.description if entry else "", articles=arts)
    return out


def stories_url(urls: Urls) -> str:
    return urls.page("stories/")


def plan_pages(planner: Any) -> Iterator[PageSpec]:
    """`/stories/` and each thread's paginated timeline (`planner`: pages._Planner)."""
    urls, config = planner.urls, planner.config
    found: dict[str, Thread] = planner.threads
    up = ("Stories", stories_url(urls))
    if found and planner.want(up[1]):
        listed = tuple(sorted(found.values(), key=lambda t: (-_instant(t.articles[0]), t.slug)))
        meta = page_meta(up[1], "Stories", "stories", urls,
                         "Every story followed over several articles.")
        yield planner.spec(up[1], "stories.html", meta,
                           tuple(t.articles[0] for t in listed), heading="Stories",
                           threads=tuple((t.title, t.url, len(t.articles), t.articles[0].date)
                                         for t in listed))
    for thread in found.values():
        pages = paginate(thread.articles, config.per_page)
        feeds = feed_links(thread.title, thread.url, urls)
        for number, chunk in enumerate(pages, start=1):
            url = urls.paged(thread.url, number)
            if not planner.want(url):
                continue
            heading = thread.title if number == 1 else f"{thread.title} (page {number})"
            meta = page_meta(url, heading, "story", urls,
                             thread.description or f"Story: {thread.title}", feeds)
            yield planner.spec(url, "story.html", meta, thread.articles, heading=thread.title,
                               description=thread.description, articles=chunk, up=up,
                               total=len(thread.articles),
                               pagination=planner.pagination(thread.url, number, len(pages)))


def _instant(article: Article) -> float:
    return article.date.timestamp()
