"""The index and plan stages: every index of the published articles, then the pages to
render: every page's `PageSpec`, or while the site's shape is the one the last build
recorded, only the pages showing an article that changed (shape.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config
from .records import Article, PageSpec, PageState
from .run import Run
from .scan import file_signatures
from .shape import Outline, replan, site_shape
from .shape import remember as remember_shape
from .sources import layout_dirs
from .state import BuildState
from .urls import Urls

if TYPE_CHECKING:
    from .indexes import Indexes
    from .parse import Loaded


@dataclass(frozen=True)
class Plan:
    """What to plan and render: `pages()` gives the specs of the pages to fingerprint (and
    render when changed), planned one at a time as the render stage asks for them; `kept`,
    the states of the pages kept as they are; `wanted`, the URLs planned again (None: every
    page); `not_as_left`, output paths whose file is not as the last build left it (rendered
    whatever their fingerprint); the site's shape and each template's digest."""

    pages: Callable[[], Iterator[PageSpec]]
    kept: Mapping[str, PageState]
    wanted: frozenset[str] | None
    not_as_left: frozenset[str]
    shape: str
    template_digests: dict[str, str]


def index_articles(loaded: Loaded, config: Config, cache: BuildState) -> Indexes:
    """Every index; related lists (the costly one) come from the cache when no article's URL,
    instant or tags changed since they were computed."""
    from .indexes import build_indexes, related_key, related_ranks

    key = related_key(loaded.articles, config.related_count)
    known = cache.get_related(key)
    if known is not None and len(known) != len(loaded.articles) * config.related_count:
        known = None  # ranks that do not fit these articles (a damaged cache): computed again
    indexes = build_indexes(loaded.articles, config.related_count, known)
    if known is None:
        cache.put_related(key, related_ranks(indexes))
    return indexes


def plan_run(run: Run, indexes: Indexes, intros: str, not_as_left: frozenset[str]) -> Plan:
    """The plan of this run (see `Plan`)."""
    config, cache = run.config, run.cache
    digests = _template_digests(config, cache)
    shape = site_shape(config, indexes.articles, digests, intros)
    todo = replan(cache, config, shape, indexes.articles, run.previous, not_as_left)
    specs = partial(plan_specs, indexes, config, todo.wanted, cache.files.data_years)
    return Plan(specs, todo.kept, todo.wanted,
                not_as_left, shape, digests)


def outline_of(plan: Plan, articles: tuple[Article, ...], config: Config) -> Outline:
    """What to note of the plan's pages as they stream past: after a full plan (`wanted`
    None) the skeleton too (shape.py)."""
    return Outline(config, articles if plan.wanted is None else None)


def remember_plan(run: Run, plan: Plan, outline: Outline, articles: tuple[Article, ...]
                  ) -> None:
    """Keep the site's shape, and after a full plan its skeleton (shape.py)."""
    remember_shape(run.cache, run.config, plan.shape, articles,
                   outline if plan.wanted is None else None)


def plan_site(indexes: Indexes, config: Config, wanted: Set[str] | None = None
              ) -> list[PageSpec]:
    """Every page's spec; or, with `wanted`, only those of these URLs. Two pages wanting
    one URL are a ContentError."""
    return list(Outline(config).following(plan_specs(indexes, config, wanted)))


def plan_specs(indexes: Indexes, config: Config, wanted: Set[str] | None = None,
               data_memo: Path | None = None) -> Iterator[PageSpec]:
    """Every page's spec, one at a time (see `plan_site`; URLs not checked). `data_memo`: the
    build state's memo of the /data/ index (dataexport.py; `check` keeps none)."""
    if config.languages:  # a site of several languages: each planned as a site of its own
        from .languages import plan_languages

        return plan_languages(indexes, config, wanted, data_memo)
    return _plan_one_language(indexes, config, wanted, data_memo)


def _plan_one_language(indexes: Indexes, config: Config, wanted: Set[str] | None,
                       data_memo: Path | None) -> Iterator[PageSpec]:
    from .feeds import plan_feeds
    from .pages import plan_pages
    from .sitemap import SitemapPages

    urls = Urls(config)
    lastmods = SitemapPages(indexes, config, urls, wanted)
    yield from lastmods.following(plan_pages(indexes, config, urls, wanted))
    yield from plan_feeds(indexes, config, urls, lastmods, wanted, data_memo=data_memo)


def _template_digests(config: Config, cache: BuildState) -> dict[str, str]:
    """render.template_digests, kept in the cache while no layout file's stat signature
    changed (parsing every layout for its references took ~25 ms a build)."""
    key = hashlib.blake2b(digest_size=16)
    for root in layout_dirs(config):
        key.update(f"{root}\0".encode() + file_signatures(root))
    known = cache.template_digests(key.hexdigest())
    if known is not None:
        return known
    from .render import template_digests  # Jinja2 only once there is work for it

    digests = template_digests(config)
    cache.keep_template_digests(key.hexdigest(), digests)
    return digests
