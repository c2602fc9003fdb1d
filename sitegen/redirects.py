"""Redirect pages: each old path an article lists (Hugo's `aliases`, Jekyll's `redirect_from`)
gets a small page that sends readers and search engines on to the article's URL.

An alias is a site path from the root, like a link in an article: `/old/path/`, `/old/page.html`
or `old/path` (Hugo reads it from the site's root). A path ending in `.html` is that file; any
other is `index.html` in its folder; both under the base path (urls.Urls.fixed). The pages are
planned with the others (pages.py), show their article (so a retitled article's redirect pages
follow), and are left out of sitemaps and search; the aliases are part of each article's outline
(fingerprint.outline_digest), so adding or removing one changes the site's shape and an incremental
build plans them again. With `redirects_file = true` the same list is also written as
`_redirects`, the file Netlify and Cloudflare Pages read to answer with a real 301.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .config import Config
from .errors import Problem
from .records import Article, PageSpec
from .urls import Urls, site_path_problem

REDIRECTS_FILE = "_redirects"


@dataclass(frozen=True)
class Redirect:
    """One redirect page: served at `url`, sending on to `article`'s URL."""

    url: str
    alias: str  # as front matter wrote it
    article: Article


@dataclass(frozen=True)
class Plan:
    redirects: tuple[Redirect, ...]
    problems: tuple[Problem, ...]  # collisions: with a page, another redirect, the site's own


def plan_redirects(articles: Iterable[Article], config: Config, urls: Urls) -> Plan:
    """Every article's redirect pages, and each one that would land on a page or on another
    redirect (named with both files). An alias that is the article's own URL is no redirect."""
    articles = [a for a in articles if a.aliases] and list(articles)
    if not articles:  # the common case: no article lists an alias
        return Plan((), ())
    folder = Path(config.content_dir.name)
    pages = {urls.output_path(a.url).casefold(): a for a in articles}
    seen: dict[str, Redirect] = {}
    redirects: list[Redirect] = []
    problems: list[Problem] = []
    for article in articles:
        for alias in article.aliases:
            if site_path_problem(alias):  # reported where the article is parsed
                continue
            url = urls.fixed(alias)
            if url == article.url:
                continue
            redirect = Redirect(url, alias, article)
            key = urls.output_path(url).casefold()
            where = folder / article.source
            clash = _clash(redirect, key, pages, seen, urls, folder)
            if clash == "same":
                continue
            if clash:
                problems.append(Problem(where, None, f"alias {alias!r} ({url}) {clash}"))
                continue
            seen[key] = redirect
            redirects.append(redirect)
    return Plan(tuple(redirects), tuple(problems))


def _clash(redirect: Redirect, key: str, pages: dict[str, Article],
           seen: dict[str, Redirect], urls: Urls, folder: Path) -> str:
    """What the redirect page would land on: "" for nothing, "same" for a repeat of one of
    the same article's own aliases, else a description naming the other file."""
    if redirect.url == urls.home():
        return "would replace the site's home page"
    page = pages.get(key)
    if page is not None:
        return f"would replace the page of {folder / page.source} ({page.url})"
    taken = urls.taken_by_site(redirect.url)
    if taken:
        return f"would replace {taken}"
    other = seen.get(key)
    if other is None:
        return ""
    if other.article is redirect.article:
        return "same"
    return (f"is also an alias of {folder / other.article.source} (as {other.alias!r}): one "
            "old path can send readers to one article only")


def redirect_specs(plan: Plan, urls: Urls, want: Callable[[str], bool]) -> Iterator[PageSpec]:
    """The redirect pages wanted (see urls.url_filter)."""
    for redirect in plan.redirects:
        if not want(redirect.url):
            continue
        target = redirect.article
        page = {"url": redirect.url, "title": target.title, "kind": "redirect",
                "description": "", "canonical": urls.absolute(target.url), "feeds": (),
                "image": ""}
        yield PageSpec(redirect.url, "redirect.html", {"page": page, "target": target},
                       kind="redirect", shows=(target,))


def redirects_file_spec(plan: Plan, urls: Urls) -> PageSpec:
    """`_redirects` in the format Netlify and Cloudflare Pages read: `/old/ /new/ 301`."""
    rules = tuple((quote(r.url, safe="/"), r.article.url) for r in plan.redirects)
    return PageSpec(urls.file(REDIRECTS_FILE), "redirects.txt", {"rules": rules},
                    kind="redirects", shows=())


def redirect_urls(articles: Sequence[Article], config: Config, urls: Urls) -> frozenset[str]:
    """The URLs of the site's redirect pages (for the sitemaps, which leave them out)."""
    return frozenset(r.url for r in plan_redirects(articles, config, urls).redirects)


def redirect_count(articles: Sequence[Article], config: Config) -> int:
    """How many redirect pages the site has (the build's summary line)."""
    return len(plan_redirects(articles, config, Urls(config)).redirects)
