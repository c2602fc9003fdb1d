"""The plan of a site in several languages: each language's pages, feeds and sitemap under
its prefix (`/es/...`; none for the default language), with its versions of each article linked.

Each language is planned as a site of its own (its own indexes: home, archives, sections,
tags, authors, stories, corrections, feeds, sitemap, search page), from the articles whose
`lang` it is. Every spec carries `lang` in its context, which the renderer reads for the
language's strings, dates and `site` values (render.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence, Set
from itertools import chain
from pathlib import Path
from urllib.parse import urlsplit

from .config import Config
from .errors import ContentError, Problem
from .i18n import PageLanguage, dates_for, display_name, language_of, translator
from .indexes import Indexes
from .records import Article, PageSpec
from .redirects import plan_redirects, redirects_file_spec
from .urls import Urls


def plan_languages(indexes: Indexes, config: Config, wanted: Set[str] | None,
                   data_memo: Path | None = None) -> Iterator[PageSpec]:
    """Every spec of a site of several languages, one at a time (`data_memo`: see
    plan.plan_specs)."""
    from .feeds import plan_feeds
    from .indexes import build_indexes
    from .pages import plan_pages
    from .sitemap import SitemapPages

    alternates, translations = versions(indexes.articles, config)
    by_language: dict[str, list[Article]] = {lang.code: [] for lang in config.languages}
    for article in indexes.articles:
        by_language[article.lang].append(article)
    sitemaps = []
    for language in config.languages:
        code = language.code
        urls = Urls(config, code)
        sub = build_indexes(by_language[code], config.related_count)
        plan = PageLanguage(code, translator(config, code), dates_for(language), alternates,
                            translations, root_pages=code == config.site_language)
        lastmods = SitemapPages(sub, config, urls, wanted, plan)
        html = lastmods.following(plan_pages(sub, config, urls, wanted, plan))
        feeds = plan_feeds(sub, config, urls, lastmods, wanted, plan, root_files=False,
                           data_memo=data_memo)
        for spec in chain(html, feeds):
            yield _in_language(spec, code, urls.home())
        sitemaps.append(urls.absolute(urls.file("sitemap.xml")))
    yield from _root_files(indexes, config, sitemaps, wanted)


def _root_files(indexes: Indexes, config: Config, sitemaps: Sequence[str],
                wanted: Set[str] | None) -> list[PageSpec]:
    """robots.txt (naming every language's sitemap), _redirects, and with
    `language_prefix_all` the root page that sends readers to the default language."""
    urls = Urls(config)
    want = (lambda url: True) if wanted is None else wanted.__contains__
    specs = []
    if want(urls.file("robots.txt")):
        specs.append(PageSpec(urls.file("robots.txt"), "robots.txt",
                              {"sitemap": sitemaps[0], "more_sitemaps": tuple(sitemaps[1:])},
                              kind="robots", shows=()))
    if config.redirects_file and want(urls.file("_redirects")):
        specs.append(redirects_file_spec(plan_redirects(indexes.articles, config, urls), urls))
    if config.language_prefix_all and want(urls.home()):
        home = Urls(config, config.site_language).home()
        title = language_of(config, config.site_language).title or config.title
        page = {"url": urls.home(), "title": title, "kind": "redirect", "description": "",
                "canonical": urls.absolute(home), "feeds": (), "image": ""}
        target = {"title": title, "url": home, "lang": config.site_language}
        specs.append(PageSpec(urls.home(), "redirect.html", {"page": page, "target": target},
                              kind="redirect", shows=()))
    return specs


def _in_language(spec: PageSpec, code: str, home: str) -> PageSpec:
    context = {**spec.context, "lang": code}
    if context.get("nav_current") == "":
        # The sections nav is rendered once per `nav_current` object (base.html's memo): with
        # no current section, the language's home URL (no section's URL) keeps each
        # language's nav apart, where "" is one object for all.
        context["nav_current"] = home
    return dataclasses.replace(spec, context=context)


# ---------------------------------------------------------------- translations

def versions(articles: Sequence[Article], config: Config
             ) -> tuple[dict[str, tuple[tuple[str, str], ...]],
                        dict[str, tuple[tuple[str, str, str], ...]]]:
    """The versions of each article in other languages, linked by a shared `translation_key`
    or by `translation_of` (the original's file, site path or URL), as hreflang alternates
    (page URL -> (language, URL) of every version, its own too) and as the "Read in" links of
    its page (article URL -> (language, name, URL) of the others). The home pages are
    alternates of each other."""
    groups = translation_groups(articles, config)
    order = {lang.code: number for number, lang in enumerate(config.languages)}
    alternates: dict[str, tuple[tuple[str, str], ...]] = {}
    translations: dict[str, tuple[tuple[str, str, str], ...]] = {}
    for group in groups:
        group = sorted(group, key=lambda a: order.get(a.lang, len(order)))
        pairs = tuple((a.lang, a.url) for a in group)
        for article in group:
            alternates[article.url] = pairs
            translations[article.url] = tuple(
                (other.lang, display_name(language_of(config, other.lang)), other.url)
                for other in group if other is not article)
    homes = tuple((lang.code, Urls(config, lang.code).home()) for lang in config.languages)
    for _code, url in homes:
        alternates[url] = homes
    return alternates, translations


def translation_groups(articles: Sequence[Article], config: Config
                       ) -> list[tuple[Article, ...]]:
    """Articles that are versions of one another (two or more, one per language)."""
    urls = Urls(config)
    by_source = {a.source: a for a in articles}
    by_url = {a.url: a for a in articles}
    problems = []
    keys: dict[str, str] = {}  # article URL -> its group's key
    for article in articles:
        if article.translation_key:
            keys[article.url] = "key\0" + article.translation_key
    for article in articles:
        if article.translation_of and not article.translation_key:
            original = _find(article.translation_of, by_source, by_url, urls, config)
            if original is None:
                problems.append(Problem(Path(config.content_dir.name) / article.source, None,
                                        f"translation_of {article.translation_of!r} names no "
                                        "published article (give its file, e.g. "
                                        "2025/03/storm.md, or its URL)"))
                continue
            key = keys.setdefault(original.url, "url\0" + original.url)
            keys[article.url] = key
    if problems:
        raise ContentError(problems)
    members: dict[str, list[Article]] = {}
    for article in articles:
        if article.url in keys:
            members.setdefault(keys[article.url], []).append(article)
    groups = []
    for group in members.values():
        languages = [a.lang for a in group]
        if len(set(languages)) < len(languages):
            clash = [a for a in group if languages.count(a.lang) > 1]
            problems.append(Problem(Path(config.content_dir.name) / clash[1].source, None,
                                    f"is a second {clash[1].lang!r} version of the article "
                                    f"of {Path(config.content_dir.name) / clash[0].source}; "
                                    "give each translation its own 'lang'"))
        elif len(group) > 1:
            groups.append(tuple(group))
    if problems:
        raise ContentError(problems)
    return groups


def _find(reference: str, by_source: dict[str, Article], by_url: dict[str, Article],
          urls: Urls, config: Config) -> Article | None:
    """The article a `translation_of` names: its file (relative to content/, with or without
    `content/`), its site path, or its full URL on this site."""
    text = reference.strip()
    source = text.removeprefix("./").removeprefix(config.content_dir.name + "/")
    if source in by_source:
        return by_source[source]
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        if f"{parts.scheme}://{parts.netloc}" != urls.origin:
            return None
        return by_url.get(parts.path) or by_url.get(parts.path + "/")
    if text.startswith("/"):
        return by_url.get(urls.fixed(text)) or by_url.get(text)
    return None
