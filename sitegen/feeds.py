"""Plan RSS, Atom, sitemaps, the news sitemap and robots.txt (the templates write the XML).

Each spec lists the articles it shows (`PageSpec.shows`, see pages.py) where everything else
in it follows from the site's shape: a feed's `updated` from its items' dates, a sitemap's
entries from the pages and their articles' dates. The news sitemap depends on the time of the
build, so it lists none (it is looked at by every build)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Set
from datetime import datetime, timedelta
from pathlib import Path

from .config import Config
from .corrections import plan_feeds as correction_feeds
from .dataexport import plan_data
from .i18n import PageLanguage, site_text
from .indexes import Indexes
from .jsonfeed import json_feed_url
from .records import Article, PageSpec
from .redirects import plan_redirects, redirects_file_spec
from .stories import threads
from .urls import Urls, url_filter

SITEMAP_LIMIT = 50_000


def plan_feeds(indexes: Indexes, config: Config, urls: Urls,
               html_pages: Callable[[], Sequence[tuple[str, datetime | None]]],
               wanted: Set[str] | None = None, language: PageLanguage | None = None,
               root_files: bool = True, data_memo: Path | None = None) -> Iterator[PageSpec]:
    """`html_pages()`: (site URL, lastmod) of every HTML page, for the sitemaps. With `wanted`,
    only the specs of those URLs. `language`: the feeds of one language of several, whose
    sitemap carries hreflang alternates; `root_files`: robots.txt and _redirects too;
    `data_memo`: the build state's memo of the /data/ files (dataexport.py), for a build."""
    want = url_filter(wanted)
    t = language.t if language else str
    title, description = site_text(config, language.code if language else "")
    yield from _feed_pair(urls.home(), title, description,
                          indexes.articles, config, urls, want)
    for kind in ("sections", "tags", "authors"):
        for ix in getattr(indexes, kind).values():
            latest = "Latest by {name}" if kind == "authors" else "Latest in {name}"
            yield from _feed_pair(ix.term.url, f"{title}: {ix.term.name}",
                                  t(latest).format(name=ix.term.name), ix.articles, config,
                                  urls, want)
    for thread in threads(indexes.articles, config.stories, urls.home()).values():
        yield from _feed_pair(thread.url, f"{title}: {thread.title}",
                              thread.description or
                              t("Latest in the story {title}").format(title=thread.title),
                              thread.articles, config, urls, want, thread.articles[:1])
    yield from correction_feeds(indexes.articles, config, urls, want)
    yield from plan_data(indexes, urls, want, data_memo)
    if wanted is None or any(_is_sitemap(url, urls) for url in wanted):
        redirects = plan_redirects(indexes.articles, config, urls).redirects
        moved = {r.url for r in redirects}  # not pages of their own
        pages = [entry for entry in html_pages() if entry[0] not in moved]
        alternates = language.alternates if language else None
        yield from (spec for spec in _sitemaps(pages, urls, alternates) if want(spec.url))
    if want(urls.file("news-sitemap.xml")):
        news = _news_sitemap(indexes, config, urls, language.code if language else "")
        if news.context["items"]:  # the sitemap schema does not allow an empty <urlset>
            yield news
    if not root_files:
        return
    if config.redirects_file and want(urls.file("_redirects")):
        yield redirects_file_spec(plan_redirects(indexes.articles, config, urls), urls)
    if want(urls.file("robots.txt")):
        yield PageSpec(urls.file("robots.txt"), "robots.txt",
                       {"sitemap": urls.absolute(urls.file("sitemap.xml"))}, kind="robots",
                       shows=())


def _is_sitemap(url: str, urls: Urls) -> bool:
    """sitemap.xml, or one of the sitemap-N.xml it indexes past SITEMAP_LIMIT pages."""
    return url == urls.file("sitemap.xml") or (
        url.startswith(urls.file("sitemap-")) and url.endswith(".xml"))


def _feed_pair(scope_url: str, title: str, description: str, articles: Sequence[Article],
               config: Config, urls: Urls, want: Callable[[str], bool],
               titled_by: Sequence[Article] = ()) -> Iterator[PageSpec]:
    """A scope's RSS, Atom and JSON Feed (`titled_by`: articles its title comes from)."""
    kinds = ((urls.feed(scope_url), "rss.xml"), (urls.feed(scope_url, atom=True), "atom.xml"),
             (json_feed_url(scope_url), "feed.json"))
    if not any(want(url) for url, _ in kinds):
        return
    items = tuple(articles[: config.feed_items])
    updated = max((a.updated or a.date for a in items), default=None)
    for url, template in kinds:
        if not want(url):
            continue
        context = {"feed": {"title": title, "description": description or title,
                            "url": url, "link": scope_url, "updated": updated},
                   "items": items}
        yield PageSpec(url, template, context, kind="feed", shows=(*items, *titled_by))


def _sitemaps(entries: Sequence[tuple[str, datetime | None]], urls: Urls,
              alternates: dict[str, tuple[tuple[str, str], ...]] | None = None
              ) -> Iterator[PageSpec]:
    """`entries`: (site URL, lastmod); `alternates`: page URL -> (language, URL) of its
    versions, as `xhtml:link`s. Each part's absolute URLs are made when it is planned: the
    render stage holds a few parts at a time, not the whole site's (rendering.py)."""
    extra = {}
    if alternates is not None:
        extra["alternates"] = {urls.absolute(url): tuple((code, urls.absolute(href))
                                                         for code, href in versions)
                               for url, versions in alternates.items()}
    if len(entries) <= SITEMAP_LIMIT:
        yield PageSpec(urls.file("sitemap.xml"), "sitemap.xml",
                       {"entries": _absolute(entries, urls), **extra}, kind="sitemap", shows=())
        return
    parts = []
    for number, start in enumerate(range(0, len(entries), SITEMAP_LIMIT), start=1):
        url = urls.file(f"sitemap-{number}.xml")
        chunk = entries[start: start + SITEMAP_LIMIT]
        parts.append((url, max((d for _, d in chunk if d), default=None)))
        yield PageSpec(url, "sitemap.xml", {"entries": _absolute(chunk, urls), **extra},
                       kind="sitemap", shows=())
    yield PageSpec(urls.file("sitemap.xml"), "sitemap-index.xml", {"sitemaps": tuple(parts)},
                   kind="sitemap", shows=())


def _absolute(pages: Sequence[tuple[str, datetime | None]], urls: Urls
              ) -> tuple[tuple[str, datetime | None], ...]:
    return tuple((urls.absolute(url), lastmod) for url, lastmod in pages)


def _news_sitemap(indexes: Indexes, config: Config, urls: Urls, lang: str = ""
                  ) -> PageSpec:
    """Google News wants only articles of the last two days (config: news_sitemap_days)."""
    since = config.now - timedelta(days=config.news_sitemap_days)
    recent = tuple(a for a in indexes.articles[:1000] if since <= a.date <= config.now)
    return PageSpec(urls.file("news-sitemap.xml"), "news-sitemap.xml",
                    {"items": recent, "publication": site_text(config, lang)[0],
                     "language": lang or config.language}, kind="sitemap")
