"""Plan the HTML pages: indexes in, one `PageSpec` per URL out, each with only the data it shows."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Sequence, Set
from datetime import timedelta
from pathlib import Path
from typing import Any

from .config import Config
from .corrections import corrections_url
from .corrections import plan_pages as correction_pages
from .datepages import (
    BarChart,
    MonthCalendar,
    bar_chart,
    month_calendar,
    neighbours,
    on_this_day_keys,
)
from .errors import ContentError, Problem
from .i18n import PageLanguage, page_language, site_text
from .indexes import Indexes, paginate
from .intros import Intro, intro_files, load_intro
from .jsonfeed import feed_links
from .people import Person, by_slug
from .records import Article, PageSpec, Pagination, Term
from .redirects import plan_redirects, redirect_specs
from .stories import plan_pages as story_pages
from .stories import story_slug, threads
from .urls import Urls, page_meta, url_filter

HOME_SECTION_ITEMS = 5
PAGE_WINDOW = 3


def plan_pages(indexes: Indexes, config: Config, urls: Urls, wanted: Set[str] | None = None,
               language: PageLanguage | None = None) -> Iterator[PageSpec]:
    """Every HTML page's spec; with `wanted`, only those of these URLs (see shape.replan).
    `language`: the pages of one language of several (languages.py)."""
    clashes = case_clashes(indexes.articles, config)
    redirects = plan_redirects(indexes.articles, config, urls)  # aliases: old paths
    if clashes or (redirects.problems and not config.keep_going):
        raise ContentError(clashes + list(redirects.problems))
    nav = tuple(ix.term for ix in sorted(indexes.sections.values(), key=lambda i: i.term.name))
    planner = _Planner(indexes, config, urls, nav, wanted, language)
    want, t = planner.want, planner.t
    if want(urls.home()):
        yield planner.home()
    yield from planner.articles()
    yield from redirect_specs(redirects, urls, want)
    yield from planner.listing(urls.archive(), t("All headlines"), indexes.articles, "archive",
                               chart=planner.years_chart())
    yield from planner.date_archives()
    yield from planner.on_this_day()
    for kind, label in (("sections", "Sections"), ("tags", "Tags"), ("authors", "Authors")):
        yield from planner.terms(kind, t(label))
    yield from story_pages(planner)
    yield from correction_pages(planner, indexes.articles)
    if want(urls.search()):
        yield planner.simple(urls.search(), "search.html", t("Search"), "search")
    if planner.language.root_pages and want(urls.file("404.html")):
        yield planner.simple(urls.file("404.html"), "404.html", t("Page not found"), "404")


def case_clashes(articles: Iterable[Article], config: Config) -> list[Problem]:
    """Articles whose URLs differ only in case: one folder on a case-insensitive file system
    (macOS, Windows) and in case-insensitive caches, so one would overwrite the other."""
    first: dict[str, Article] = {}
    problems = []
    folder = Path(config.content_dir.name)
    for article in articles:
        other = first.setdefault(article.url.casefold(), article)
        if other.url != article.url:
            problems.append(Problem(folder / article.source, None,
                                    f"URL {article.url} differs only in case from "
                                    f"{other.url} of {folder / other.source}: on "
                                    "case-insensitive file systems and caches they are one; "
                                    "change a 'slug'"))
    return problems


class _Planner:
    def __init__(self, indexes: Indexes, config: Config, urls: Urls, nav: tuple[Term, ...],
                 wanted: Set[str] | None = None, language: PageLanguage | None = None):
        self.ix, self.config, self.urls, self.nav = indexes, config, urls, nav
        self.language = language or page_language(config)
        self.t, self.dates = self.language.t, self.language.dates
        self.want = url_filter(wanted)
        self.nav_root = os.path.commonprefix([term.url for term in nav])
        self.day_urls = {key: urls.day(*key) for key in indexes.day_keys}
        self.people = {slug: _shown(person, urls)
                       for slug, person in by_slug(config.people).items()}
        self._intro_files: dict[tuple[str, str], os.PathLike] | None = None
        self.threads = threads(indexes.articles, config.stories, urls.home())
        self.corrections_url = corrections_url(urls)

    def spec(self, url: str, template: str, meta: dict[str, Any],
             shows: tuple[Article, ...] | None, body_of: str = "", **context: Any) -> PageSpec:
        """`shows`: every article in `context`; the rest of it must follow from the site's
        shape (shape.site_shape: URLs, dates, terms, stories, configuration, templates)."""
        current = next((term.url for term in self.nav if url.startswith(term.url)), "") \
            if url.startswith(self.nav_root) else ""
        alternates = self.language.alternates.get(url)
        if alternates:
            meta = {**meta, "alternates": alternates}
        return PageSpec(url, template,
                        {"page": meta, "nav": self.nav, "nav_current": current, **context},
                        body_of=body_of, kind=meta["kind"], shows=shows)

    def home(self) -> PageSpec:
        u, ix = self.urls, self.ix
        blocks = tuple((t.term, t.articles[:HOME_SECTION_ITEMS])
                       for t in sorted(ix.sections.values(), key=lambda t: t.term.name))
        years = tuple((y, u.year(y), len(arts)) for y, arts in sorted(ix.years.items(),
                                                                       reverse=True))
        lead = self.lead()
        title, description = site_text(self.config, self.language.code)
        meta = page_meta(u.home(), title, "home", u, description,
                         image=lead.image if lead else "")
        latest = ix.articles[: self.config.home_latest]
        # shows None: the lead follows the clock too (featured_days), so every build plans it
        return self.spec(u.home(), "home.html", meta, None,
                         lead=lead, latest=latest, sections=blocks,
                         years=years, archive_url=u.archive(),
                         more=len(ix.articles) > self.config.home_latest)

    def lead(self) -> Article | None:
        """The newest article marked `featured` within `featured_days`, else the newest."""
        since = self.config.now - timedelta(days=self.config.featured_days)
        for article in self.ix.articles:
            if article.date <= since:
                break
            if article.featured:
                return article
        return self.ix.articles[0] if self.ix.articles else None

    def articles(self) -> Iterator[PageSpec]:
        u = self.urls
        for article in self.ix.articles:
            if not self.want(article.url):
                continue
            y, m, d = article.day_key
            meta = page_meta(article.url, article.title, "article", u, article.summary,
                             image=article.image)
            neighbours = self.ix.neighbours[article.url]
            related = self.ix.related.get(article.url, ())
            story = self.ix.stories.get(article.story, ())
            shows = (article, *(n for n in (neighbours.prev, neighbours.next,
                                            neighbours.section_prev, neighbours.section_next)
                                if n is not None), *related, *story)
            thread = self.threads.get(story_slug(article.story)) if article.story else None
            if thread:
                shows = (*shows, thread.articles[0])  # it titles the thread
            translations = self.language.translations.get(article.url, ())
            if translations:
                meta["translations"] = translations
            people = tuple(self.people.get(author.slug) for author in article.authors)
            yield self.spec(article.url, "article.html", meta, shows, body_of=article.digest,
                            article=article, people=people, neighbours=neighbours,
                            related=related,
                            story=story, day_url=self.day_urls[(y, m, d)],
                            story_url=thread.url if thread else "",
                            story_title=thread.title if thread else "",
                            corrections_url=self.corrections_url)

    def listing(self, first_url: str, title: str, articles: Sequence[Article], kind: str,
                description: str = "", feeds: tuple[tuple[str, str], ...] = (),
                **extra: Any) -> Iterator[PageSpec]:
        pages = paginate(articles, self.config.per_page)
        for number, chunk in enumerate(pages, start=1):
            url = self.urls.paged(first_url, number)
            if not self.want(url):
                continue
            heading = title if number == 1 else self.t("{title} (page {number})").format(
                title=title, number=number)
            meta = page_meta(url, heading, kind, self.urls, description, feeds)
            yield self.spec(url, "list.html", meta, chunk, heading=title, articles=chunk,
                            pagination=self.pagination(first_url, number, len(pages)),
                            total=len(articles), **extra)

    def pagination(self, first_url: str, number: int, total: int) -> Pagination:
        paged = self.urls.paged
        window = sorted({1, total, *range(max(1, number - PAGE_WINDOW),
                                          min(total, number + PAGE_WINDOW) + 1)})
        return Pagination(
            number=number, total=total, url=paged(first_url, number),
            prev_url=paged(first_url, number - 1) if number > 1 else None,
            next_url=paged(first_url, number + 1) if number < total else None,
            pages=tuple((n, paged(first_url, n)) for n in window),
        )

    def date_archives(self) -> Iterator[PageSpec]:
        u, ix = self.urls, self.ix
        months_of: dict[int, list[tuple[str, str, int]]] = {}
        for (y, m), arts in sorted(ix.months.items(), reverse=True):
            months_of.setdefault(y, []).append((self.dates.month(m), u.month(y, m), len(arts)))
        days_of: dict[tuple[int, int], list[tuple[str, str, int]]] = {}
        for (y, m, d), arts in sorted(ix.days.items(), reverse=True):
            days_of.setdefault((y, m), []).append((str(d), self.day_urls[(y, m, d)], len(arts)))
        year_keys, month_keys = sorted(ix.years), sorted(ix.months)
        for y, arts in ix.years.items():
            before, after = neighbours(year_keys, y)
            yield from self.listing(u.year(y), str(y), arts, "year",
                                    children=tuple(months_of[y]),
                                    child_label=self.t("Months"),
                                    prev_period=self._year_link(before),
                                    next_period=self._year_link(after),
                                    chart=self.months_chart(y))
        for (y, m), arts in ix.months.items():
            before, after = neighbours(month_keys, (y, m))
            yield from self.listing(u.month(y, m), self.dates.month_year(y, m), arts,
                                    "month", children=tuple(days_of[(y, m)]),
                                    child_label=self.t("Days"), up=(str(y), u.year(y)),
                                    prev_period=self._month_link(before),
                                    next_period=self._month_link(after),
                                    calendar=self.calendar(y, m, days_of[(y, m)]))
        keys = ix.day_keys
        for i, (y, m, d) in enumerate(keys):
            prev_day = self._day_link(keys[i - 1]) if i > 0 else None
            next_day = self._day_link(keys[i + 1]) if i + 1 < len(keys) else None
            yield from self.listing(self.day_urls[(y, m, d)], self.dates.day(y, m, d),
                                    ix.days[(y, m, d)], "day", prev_day=prev_day,
                                    next_day=next_day,
                                    up=(self.dates.month_year(y, m), u.month(y, m)),
                                    on_this_day=(self.dates.month_day(m, d),
                                                 u.on_this_day(m, d)))

    def _year_link(self, year: int | None) -> tuple[str, str] | None:
        return (str(year), self.urls.year(year)) if year is not None else None

    def _month_link(self, key: tuple[int, int] | None) -> tuple[str, str] | None:
        if key is None:
            return None
        return (self.dates.month_year(*key), self.urls.month(*key))

    def years_chart(self) -> BarChart:
        """Articles per year, every year from the first to the last (empty ones too)."""
        years = self.ix.years
        span = range(min(years), max(years) + 1) if years else range(0)
        return bar_chart(self.t("Articles per year"), self.t("Year"),
                         [(str(y), str(y), self.urls.year(y) if y in years else "",
                           len(years.get(y, ()))) for y in span])

    def months_chart(self, year: int) -> BarChart:
        months = self.ix.months
        return bar_chart(self.t("Articles per month in {year}").format(year=year),
                         self.t("Month"),
                         [(self.dates.month_abbr(m), self.dates.month(m),
                           self.urls.month(year, m) if (year, m) in months
                           else "", len(months.get((year, m), ()))) for m in range(1, 13)])

    def calendar(self, year: int, month: int, days: Sequence[tuple[str, str, int]]
                 ) -> MonthCalendar:
        counts = {int(label): count for label, _url, count in days}
        return month_calendar(year, month, self.dates.month_year(year, month), counts,
                              lambda day: self.day_urls[(year, month, day)])

    def on_this_day(self) -> Iterator[PageSpec]:
        """/on-this-day/MM-DD/: the articles of a day of the year in every year, newest
        year first."""
        ix, u = self.ix, self.urls
        by_day: dict[tuple[int, int], list[Article]] = {}
        for y, m, d in reversed(ix.day_keys):
            by_day.setdefault((m, d), []).extend(ix.days[(y, m, d)])
        for m, d in on_this_day_keys(ix.day_keys):
            arts = by_day[(m, d)]
            years = len({a.day_key[0] for a in arts})
            day = self.dates.month_day(m, d)
            about = ("Articles of {day} in {years} year, newest first" if years == 1
                     else "Articles of {day} in {years} years, newest first")
            yield from self.listing(u.on_this_day(m, d),
                                    self.t("On this day: {day}").format(day=day),
                                    tuple(arts), "on-this-day",
                                    self.t(about).format(day=day, years=years),
                                    up=(self.t("All headlines"), u.archive()))

    def _day_link(self, key: tuple[int, int, int]) -> tuple[str, str]:
        y, m, d = key
        return (self.dates.day(y, m, d), self.day_urls[key])

    def terms(self, kind: str, label: str) -> Iterator[PageSpec]:
        u = self.urls
        index = getattr(self.ix, kind)
        entries = tuple((t.term, len(t.articles)) for t in
                        sorted(index.values(), key=lambda t: t.term.name.casefold()))
        if self.want(u.term_list(kind)):
            meta = page_meta(u.term_list(kind), label, f"{kind}-list", u)
            yield self.spec(u.term_list(kind), "terms.html", meta, (), heading=label,
                            terms=entries, term_kind=kind)
        described = {"sections": "Section: {title}", "tags": "Tag: {title}",
                     "authors": "Author: {title}"}[kind]
        for term_index in index.values():
            term = term_index.term
            feeds = feed_links(term.name, term.url, u)
            if not any(self.want(u.paged(term.url, n)) for n in
                       range(1, -(-len(term_index.articles) // self.config.per_page) + 2)):
                continue
            intro = self.intro(kind, term.slug)
            title = intro.title if intro and intro.title else term.name
            yield from self.listing(term.url, title, term_index.articles, kind[:-1],
                                    self.t(described).format(title=title), feeds,
                                    up=(label, u.term_list(kind)), intro=intro,
                                    person=self.people.get(term.slug)
                                    if kind == "authors" else None)

    def intro(self, kind: str, slug: str) -> Intro | None:
        """The term's intro page (intros.py), read when a page of the term is planned."""
        if self._intro_files is None:
            self._intro_files = intro_files(self.config.content_dir)
        path = self._intro_files.get((kind, slug))
        if path is None:
            return None
        return load_intro(path, self.config.content_dir, self.config.base_path)

    def simple(self, url: str, template: str, title: str, kind: str) -> PageSpec:
        return self.spec(url, template, page_meta(url, title, kind, self.urls), (),
                         archive_url=self.urls.archive())


def _shown(person: Person, urls: Urls) -> Person:
    """A person with a site path photo under the base path, as pages link it."""
    photo = person.photo
    if photo.startswith("/") and not photo.startswith("//"):
        return dataclasses.replace(person, photo=urls.page(photo))
    return person
