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
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass

from .codeid import code_digest
from .config import Config
from .errors import ContentError, Problem
from .fingerprint import outline_digest
from .outputdigest import output_digest
from .pagestates import KeptStates, StoredPageStates
from .records import Article, PageSpec, PageState
from .state import BuildState
from .urls import Urls


def site_shape(config: Config, articles: Sequence[Article], template_digests: dict[str, str],
               intros: str = "") -> str:
    """A digest of everything but the articles' records that a vouched-for page shows
    (`intros`: intros.signature, the section, tag and author intro files)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(intros.encode() + b"\0")
    for part in (code_digest(), output_digest(config),
                 json.dumps(template_digests, sort_keys=True)):
        digest.update(part.encode() + b"\0")
    digest.update("".join(a.outline or outline_digest(a) for a in articles).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ShownOn:
    """Per article (newest first), the numbers of the pages showing it: two flat arrays, the
    pages of article `n` being `pages[starts[n]:starts[n + 1]]` (a tuple of tuples of ints
    took ~10 times the memory, and as many times longer to load)."""

    starts: array
    pages: array

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, position: int) -> array:
        return self.pages[self.starts[position]:self.starts[position + 1]]


@dataclass(frozen=True)
class Skeleton:
    shape: str
    urls: tuple[str, ...]  # every page, in plan order
    rels: tuple[str, ...]  # their output paths
    shown_on: ShownOn | tuple[tuple[int, ...], ...]  # per article: the pages showing it
    always: tuple[int, ...]  # pages planned by every build
    order: array | None = None  # the pages' numbers in the order of their output paths

    def path_order(self) -> Sequence[int]:
        """The pages' numbers in the order of their output paths (that of the stored page
        states' rows); a skeleton kept by an earlier sitegen has it sorted here."""
        if self.order is not None:
            return self.order
        return sorted(range(len(self.rels)), key=self.rels.__getitem__)


@dataclass(frozen=True)
class Replan:
    """What the plan stage must do: `wanted` is None to plan every page; else the URLs to plan
    again, every other page keeping its state in `kept` (output path -> state: none, or
    pagestates.KeptStates, the last build's states but a few)."""

    wanted: frozenset[str] | None
    kept: Mapping[str, PageState]


def replan(cache: BuildState, config: Config, shape: str, articles: Sequence[Article],
           previous: Mapping[str, PageState], disturbed: Set[str]) -> Replan:
    """The pages to plan again: those showing an article whose record or body changed, those
    planned by every build, and those whose file is not as the last build left it (output
    paths in `disturbed`, see writer.files_not_as_left)."""
    everything = Replan(None, {})
    keys = cache.shape_keys(shape)
    if keys is None or len(keys) != len(articles):
        return everything
    skeleton = cache.skeleton()
    if not isinstance(skeleton, Skeleton) or skeleton.shape != shape or \
            len(skeleton.shown_on) != len(articles):
        return everything
    wanted = set(skeleton.always)
    for position, article in enumerate(articles):
        key = article_key(article)
        if not key or keys[position] != key:
            wanted.update(skeleton.shown_on[position])
    left_out = _left_out(skeleton, wanted, previous, disturbed)
    return Replan(frozenset(skeleton.urls[number] for number in wanted),
                  KeptStates(previous, frozenset(left_out)))


def _left_out(skeleton: Skeleton, wanted: set[int], previous: Mapping[str, PageState],
              disturbed: Set[str]) -> set[str]:
    """The output paths of `previous` that an edit build does not keep: those of the pages
    planned again, and of files not as the last build left them, and those not in the
    skeleton (the extra files). A page without a state is added to `wanted`. One pass over
    `previous` in path order, merged with the skeleton's paths in that order: a query each
    would cost ~2 s a million pages."""
    rels = skeleton.rels
    left_out = set()
    known = iter(previous if isinstance(previous, StoredPageStates) else sorted(previous))
    key = next(known, None)
    for number in skeleton.path_order():
        rel = rels[number]
        while key is not None and key < rel:
            left_out.add(key)
            key = next(known, None)
        if key != rel:
            wanted.add(number)
            continue
        key = next(known, None)
        if number in wanted or rel in disturbed:
            left_out.add(rel)
            wanted.add(number)
    while key is not None:
        left_out.add(key)
        key = next(known, None)
    return left_out


def article_key(article: Article) -> int:
    """Changes with anything a page can show of the article: its record (the card digest) and
    its body (the source's digest), in 64 bits; 0 (the pages showing it always planned
    again) when it has no card."""
    if not article.card:
        return 0
    key = hashlib.blake2b(f"{article.card}:{article.digest}".encode(), digest_size=8)
    return int.from_bytes(key.digest(), "little") or 1


class Outline:
    """What the build keeps of each page the planner streams past (`following`) on its way
    to the render stage: strings and ints, never the spec. Its URL and kind, so that two
    pages wanting one URL are found; and with `articles` (a plan of every page) which of
    them it shows, for the skeleton."""

    def __init__(self, config: Config, articles: Sequence[Article] | None = None):
        self.config = config
        self.kinds: dict[str, str] = {}  # URL -> kind, in plan order
        self.clashes: list[Problem] = []
        self.always: list[int] = []
        self._position = {id(a): n for n, a in enumerate(articles or ())}
        self._shown_on = [array("i") for _ in articles] if articles is not None else None

    def following(self, specs: Iterable[PageSpec]) -> Iterator[PageSpec]:
        """`specs`, noted one by one; once they are all planned, two pages wanting one URL
        are a ContentError."""
        for spec in specs:
            self.note(spec)
            yield spec
        self._position = {}  # planned: only the skeleton's numbers are wanted now
        if self.clashes:
            raise ContentError(self.clashes)

    def note(self, spec: PageSpec) -> None:
        number = len(self.kinds)
        known = self.kinds.setdefault(spec.url, spec.kind)
        if len(self.kinds) == number:
            self.clashes.append(Problem(self.config.content_dir.name, None,
                                        f"two pages want the URL {spec.url} "
                                        f"({known} and {spec.kind})"))
            return
        if self._shown_on is None:
            return
        if spec.shows is None:
            self.always.append(number)
            return
        for article in set(map(id, spec.shows)):
            self._shown_on[self._position[article]].append(number)

    def skeleton(self, shape: str) -> Skeleton:
        """The skeleton of a plan of every page."""
        assert self._shown_on is not None, "an Outline of every page has the articles"
        starts, pages = array("q", [0]), array("i")
        for numbers in self._shown_on:
            pages.extend(numbers)  # in page order
            starts.append(len(pages))
        output_path = Urls(self.config).output_path
        rels = tuple(map(output_path, self.kinds))
        order = array("i", sorted(range(len(rels)), key=rels.__getitem__))
        return Skeleton(shape, tuple(self.kinds), rels, ShownOn(starts, pages),
                        tuple(self.always), order)


def remember(cache: BuildState, config: Config, shape: str, articles: Sequence[Article],
             outline: Outline | None) -> None:
    """Record the shape and each article's key; and, after a build that planned every page
    (`outline` of every page), the skeleton of that plan."""
    cache.keep_shape_keys(shape, array("Q", map(article_key, articles)))
    if outline is not None:
        cache.keep_skeleton(outline.skeleton(shape))
