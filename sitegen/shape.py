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
serves any later build of that shape. It is kept as a pickle next to the build cache.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .cache import CACHE_FORMAT, BuildCache, outline_digest, output_key
from .config import Config
from .records import Article, PageSpec, PageState
from .urls import Urls
from .writer import write_atomic

SKELETON_FORMAT = 1


def site_shape(config: Config, articles: Sequence[Article], template_digests: dict[str, str],
               intros: str = "") -> str:
    """A digest of everything but the articles' records that a vouched-for page shows
    (`intros`: intros.signature, the section, tag and author intro files)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(intros.encode() + b"\0")
    for part in (__version__, str(CACHE_FORMAT), str(SKELETON_FORMAT),
                 config.output_affecting_digest(), json.dumps(template_digests, sort_keys=True)):
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


def replan(cache: BuildCache, config: Config, shape: str, articles: Sequence[Article],
           previous: dict[str, PageState], disturbed: Set[str]) -> Replan:
    """The pages to plan again: those showing an article whose record or body changed, those
    planned by every build, and those whose file is not as the last build left it (output
    paths in `disturbed`, see writer.files_not_as_left)."""
    everything = Replan(None, {})
    last = cache.get_meta("shape")
    if not last or not last.startswith(shape + "\n"):
        return everything
    skeleton = _load(config.cache_dir, config.output_dir)
    if skeleton is None or skeleton.shape != shape or len(skeleton.shown_on) != len(articles):
        return everything
    keys = json.loads(last[len(shape) + 1:])
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


def remember(cache: BuildCache, config: Config, shape: str, articles: Sequence[Article],
             specs: Sequence[PageSpec] | None) -> None:
    """Record the shape and each article's key; and, after a build that planned every page
    (`specs`), the skeleton of that plan."""
    keys = {a.url: article_key(a) for a in articles}
    cache.set_meta("shape", shape + "\n" + json.dumps(keys, separators=(",", ":")))
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
    write_atomic(_path(config.cache_dir, config.output_dir),
                 pickle.dumps(skeleton, protocol=pickle.HIGHEST_PROTOCOL))


def _path(cache_dir: Path, output_dir: Path) -> Path:
    return cache_dir / f"skeleton-{output_key(output_dir)}.pickle"


def _load(cache_dir: Path, output_dir: Path) -> Skeleton | None:
    try:
        skeleton = pickle.loads(_path(cache_dir, output_dir).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        return None
    return skeleton if isinstance(skeleton, Skeleton) else None
