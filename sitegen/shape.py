"""What an edit can leave alone: the site's shape, and the pages that show changed articles.

Every page the planner vouches for lists the articles it shows (`PageSpec.shows`); the rest of
such a page follows from the site's *shape*: the articles' URLs, order, dates, terms and stories
(which give every index, neighbour and related list, count and navigation), the configuration
and the templates. So while the shape is the one the last build recorded, a page can change only
if one of its articles changed (its record or its body), and only such pages need planning and
fingerprinting again; every other page keeps the last build's state, as long as its file is in
place. Pages that list no articles (`shows` None: the news sitemap, which follows the clock) are
planned by every build.

The last build's *skeleton* says which pages show which articles: every page's URL and output
path, and for each article (by its position in the newest-first order, which the shape fixes)
the pages that show it. It is a function of the shape alone, so a skeleton recorded for a shape
serves any later build of that shape. The build state keeps it (state.BuildState.skeleton).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence, Set
from dataclasses import dataclass

from . import __version__
from .config import Config
from .fingerprint import outline_digest
from .outputdigest import output_digest
from .records import Article, PageSpec, PageState
from .state import BuildState
from .urls import Urls


def site_shape(config: Config, articles: Sequence[Article], template_digests: dict[str, str],
               intros: str = "") -> str:
    """A digest of everything but the articles' records that a vouched-for page shows
    (`intros`: intros.signature, the section, tag and author intro files)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(intros.encode() + b"\0")
    for part in (__version__, output_digest(config),
                 json.dumps(template_digests, sort_keys=True)):
        digest.update(part.encode() + b"\0")
    digest.update("".join(a.outline or outline_digest(a) for a in articles).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Skeleton:
    shape: str
    urls: tuple[str, ...]  # every page, in plan order
    rels: tuple[str, ...]  # their output paths
    shown_on: tuple[tuple[int, ...], ...]  # per article (newest first): the pages showing it
    always: tuple[int, ...]  # pages planned by every build


@dataclass(frozen=True)
class Replan:
    """What the plan stage must do: `wanted` is None to plan every page; else the URLs to plan
    again, every other page keeping its state in `kept` (output path -> state)."""

    wanted: frozenset[str] | None
    kept: dict[str, PageState]


def replan(cache: BuildState, config: Config, shape: str, articles: Sequence[Article],
           previous: dict[str, PageState], disturbed: Set[str]) -> Replan:
    """The pages to plan again: those showing an article whose record or body changed, those
    planned by every build, and those whose file is not as the last build left it (output
    paths in `disturbed`, see writer.files_not_as_left)."""
    everything = Replan(None, {})
    keys = cache.shape_keys(shape)
    if keys is None:
        return everything
    skeleton = cache.skeleton()
    if not isinstance(skeleton, Skeleton) or skeleton.shape != shape or \
            len(skeleton.shown_on) != len(articles):
        return everything
    wanted = set(skeleton.always)
    for position, article in enumerate(articles):
        key = article_key(article)
        if not key or keys.get(article.url) != key:
            wanted.update(skeleton.shown_on[position])
    kept: dict[str, PageState] = {}
    for number, rel in enumerate(skeleton.rels):
        if number in wanted:
            continue
        state = previous.get(rel)
        if state and rel not in disturbed:
            kept[rel] = state
        else:
            wanted.add(number)
    return Replan(frozenset(skeleton.urls[number] for number in wanted), kept)


def article_key(article: Article) -> str:
    """Changes with anything a page can show of the article: its record and its body."""
    return f"{article.card}:{article.digest}" if article.card else ""


def remember(cache: BuildState, config: Config, shape: str, articles: Sequence[Article],
             specs: Sequence[PageSpec] | None) -> None:
    """Record the shape and each article's key; and, after a build that planned every page
    (`specs`), the skeleton of that plan."""
    keys = {a.url: article_key(a) for a in articles}
    cache.keep_shape_keys(shape, keys)
    if specs is None:
        return
    rels = [Urls(config).output_path(spec.url) for spec in specs]
    position = {id(article): number for number, article in enumerate(articles)}
    shown_on: list[list[int]] = [[] for _ in articles]
    always = []
    for number, spec in enumerate(specs):
        if spec.shows is None:
            always.append(number)
            continue
        for article in set(map(id, spec.shows)):
            shown_on[position[article]].append(number)
    skeleton = Skeleton(shape, tuple(spec.url for spec in specs), tuple(rels),
                        tuple(map(tuple, shown_on)), tuple(always))
    cache.keep_skeleton(skeleton)

