"""The parse stage: each source parsed (by the workers, or from the parse cache) into an
`Article`, the published ones kept with what was warned and what was skipped; then their
revisions from git (the history stage) and their photos' derived files (the images stage)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import BuildCache, DamagedRecord, parse_key, unpack_parsed
from .config import Config
from .errors import ContentError, Problem
from .fingerprint import with_revisions
from .history import git_history
from .outputdigest import output_digest
from .processes import Background
from .records import Article, SourceFile
from .writer import CopyJob

if TYPE_CHECKING:
    from .processes import Progress
    from .workers import ParseJob


@dataclasses.dataclass(frozen=True)
class Loaded:
    """The published articles of a run, with what was skipped and what was warned."""

    articles: tuple[Article, ...]
    keys: Mapping[str, str]  # article URL -> parse-cache key of its body (BodyKeys)
    warnings: tuple[Problem, ...]
    skipped: tuple[Problem, ...]
    valid_until: datetime | None = None  # when embargoes, expiries or the news window change
    # source path -> digest, when the parse workers hashed sources the scan had not (for
    # scan.with_digests; the build drops it then: ~250 bytes an article at a million)
    digests: dict[str, str] = dataclasses.field(default_factory=dict)


def parse_articles(sources: Sequence[SourceFile], config: Config, cache: BuildCache,
                   progress: Progress | None = None, outline: bool = False) -> Loaded:
    """Articles from the parse cache, or parsed by the workers (which also hash the sources
    whose digest is not known yet). A few sources to parse (an edit) are parsed in a forked
    process while this one loads the cached articles: Markdown's and YAML's imports alone
    take as long as loading 10,000 articles.

    `outline`: the published articles as a build holds them all at once (`compact`), without
    what only `sitegen check` reads."""
    config_digest = output_digest(config)
    keys = {s.path: parse_key(s.path, s.digest, config_digest, s.bundle_files)
            for s in sources if s.digest}
    bundles = {s.path: s.bundle_files for s in sources}
    stored = cache.parsed_keys() - _image_changed(config, keys.values())
    missing = [s for s in sources if keys.get(s.path) not in stored]
    aside = _parsed_aside(missing, stored, config)
    with aside or nullcontext():
        cached = cache.get_parsed(key for key in keys.values() if key in stored)
        results: dict[str, tuple[Article, tuple] | list[Problem]] = {
            path: cached[key] for path, key in keys.items() if key in cached}
        lost = [s for s in sources if s.path not in results and keys.get(s.path) in stored]
        job = _parse_job(missing, stored, config)
        outcomes = chain(aside.result() if aside else _parsing(missing, job, config, progress),
                         _parsing(lost, job, config, progress))  # lost: rows gone since listed
        digests = {s.path: s.digest for s in sources}
        store = _Store(cache, config)
        for path, digest, outcome in outcomes:
            # the workers put articles and bodies into the cache (or send them to be stored
            # here: store.add), and send the packed article
            outcome = store.add(path, outcome)
            if outcome is not None:  # None: in the cache already, read by store.finish
                results[path] = unpack_parsed(outcome) if isinstance(outcome, bytes) \
                    else outcome
            digests[path] = digest  # of the bytes the worker parsed and cached them under
            keys[path] = parse_key(path, digest, config_digest, bundles[path])
        results.update(store.finish())
    if missing or lost:
        cache.forget_parsed_except(set(keys.values()))
    cache.keep_parsed_groups({keys[path]: outcome for path, outcome in results.items()
                              if isinstance(outcome, tuple)})
    loaded = _collect(sources, results, keys, config)
    if outline:
        compact(loaded.articles)
    if all(s.digest for s in sources):  # the scan knew every digest: nothing to pass back
        return loaded
    return dataclasses.replace(loaded, digests=digests)


class _Shared(dict):
    """One object for each value seen: the first one."""

    def __missing__(self, value: object) -> object:
        self[value] = value
        return value


def compact(articles: Iterable[Article]) -> None:
    """Each article as a build holds it in the parent (~1.6 KB an article is left, see
    issue #20): each value repeated across articles (datelines, bylines, sources, stories,
    tag sets, word counts) made one shared object, and its internal links (which only
    `sitegen check` reads, from the parse cache) dropped.

    In place: the records were unpickled for this build a moment ago and nothing else holds
    them yet; making each anew (`dataclasses.replace`) took 4-5 times as long as this pass."""
    shared = [(name, _Shared()) for name in _SHARED_FIELDS]  # a field's own (1 == True)
    # terms are one object each (records.shared_term): term lists are told apart by their
    # members' ids, as hashing a Term (a dataclass's __hash__, in Python) costs 1 us
    lists = [(name, {}) for name in ("tags", "authors")]
    put = object.__setattr__
    for article in articles:
        for name, values in shared:
            value = getattr(article, name)
            if value:
                put(article, name, values[value])
        for name, known in lists:
            terms = getattr(article, name)
            if terms:
                put(article, name, known.setdefault(tuple(map(id, terms)), terms))
        if article.internal_links:
            put(article, "internal_links", ())


_SHARED_FIELDS = ("dateline", "source_name", "story", "lang", "words")


def _image_changed(config: Config, keys: Iterable[str]) -> set[str]:
    """Parse keys of articles whose images changed since they were parsed (images.py)."""
    from .images import stale_keys

    return stale_keys(config, keys)


def derived_images(config: Config, loaded: Loaded, progress: Progress | None = None
                   ) -> list[CopyJob]:
    """The derived files of the published articles' photos, made where the cache lacks them."""
    from .images import prepare
    from .processes import Work, run_parallel
    from .workers import Worker, make_images

    def make_all(jobs: list) -> Iterator[Problem | None]:
        return run_parallel(Work(make_images, jobs, Worker, "images", costly=True), config,
                            progress)

    return prepare(config, loaded.keys.values(), make_all)


def _parsed_aside(missing: list[SourceFile], stored: set[str], config: Config
                  ) -> Background[list[tuple[str, str, object]]] | None:
    """Too few sources to parse for the worker pool (an edit): parsed in one forked process
    while this one loads the cached articles."""
    if not missing:
        return None
    from .processes import PARALLEL_THRESHOLD

    if len(missing) >= PARALLEL_THRESHOLD:
        return None
    return Background(_parsed, missing, _parse_job(missing, stored, config), config)


def _parse_job(missing: list[SourceFile], stored: set[str], config: Config) -> ParseJob:
    """The local pool's workers write the cache themselves (one machine's SQLite, shared in
    WAL mode: faster). Dask's may be on other machines, where SQLite cannot be shared: they
    send their rows here, and learn from `stored` which unhashed sources are parsed already."""
    from .workers import ParseJob

    if config.engine != "dask":
        return ParseJob()
    unhashed = any(not s.digest for s in missing)
    return ParseJob(writes=False, stored=frozenset(stored) if unhashed else frozenset())


def _parsing(sources: list[SourceFile], job: ParseJob, config: Config,
             progress: Progress | None = None) -> Iterator[tuple[str, str, object]]:
    """(path, digest, packed article or problems) of each source, from the parse workers."""
    if not sources:
        return iter(())
    from .processes import PARALLEL_THRESHOLD, Work, run_parallel
    from .workers import Worker, parse_many

    if len(sources) >= PARALLEL_THRESHOLD:
        # Imported once here rather than by each forked worker that meets a shortcode (~30 ms
        # each): the render stage needs it next anyway.
        import jinja2  # noqa: F401
    return run_parallel(Work(parse_many, sources, Worker, "parse", job), config, progress)


def _parsed(sources: list[SourceFile], job: ParseJob, config: Config
            ) -> list[tuple[str, str, object]]:
    return list(_parsing(sources, job, config))


class _Store:
    """Writes what parse workers sent back to be stored (workers.ToStore), a batch of
    articles and their image uses at a time, each in one transaction as the workers do."""

    BATCH = 500

    def __init__(self, cache: BuildCache, config: Config):
        self.cache, self.config = cache, config
        self.rows: list[tuple[str, bytes, str]] = []
        self.uses: list[tuple[str, tuple[tuple, ...]]] = []  # (key, images.Use's fields)
        self.known: dict[str, str] = {}  # source path -> key of a record the cache holds

    def add(self, path: str, outcome: object) -> object:
        """The outcome to collect: a ToStore's, queued for storing; any other as it is;
        None for a record the cache holds already (`finish` reads them all at once)."""
        from .workers import ToStore

        if not isinstance(outcome, ToStore):
            return outcome
        if outcome.outcome is None:  # parsed already: listed in `stored` at the start
            self.known[path] = outcome.key
            return None
        if outcome.body is not None:
            self.rows.append((outcome.key, outcome.outcome, outcome.body))
        self.uses.append((outcome.key, outcome.uses))
        if len(self.uses) >= self.BATCH:
            self.flush()
        return outcome.outcome

    def flush(self) -> None:
        from .images import Use, remember_uses

        if self.uses:
            self.cache.put_parsed(self.rows)
            remember_uses(self.config, [(key, [Use(*fields) for fields in uses])
                                        for key, uses in self.uses])
            self.rows, self.uses = [], []

    def finish(self) -> dict[str, tuple[Article, tuple]]:
        """Everything stored; the records the cache held already, by source path."""
        self.flush()
        if not self.known:
            return {}
        found = self.cache.get_parsed(self.known.values())
        gone = set(self.known.values()) - found.keys()
        if gone:  # pruned since by another sitegen sharing the cache
            raise DamagedRecord(f"{len(gone)} parsed records listed at the start are gone")
        return {path: found[key] for path, key in self.known.items()}


def _collect(sources: Sequence[SourceFile], results: dict, keys: dict[str, str],
             config: Config) -> Loaded:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    articles: list[Article] = []
    for src in sources:
        outcome = results[src.path]
        if isinstance(outcome, list):
            errors.extend(outcome)
            continue
        article, article_warnings = outcome
        failed = [w for w in article_warnings if w.severity == "error"]
        if failed and not config.keep_going:  # shortcode calls that could not be rendered
            errors.extend(failed)
            continue
        warnings.extend(article_warnings)
        if config.strict and article_warnings:
            errors.extend(dataclasses.replace(w, severity="error") for w in article_warnings)
            continue
        if config.publishes(article):
            articles.append(article)
    valid_until = _next_date_change([r[0] for r in results.values() if isinstance(r, tuple)],
                                    articles, config)
    from .pages import case_clashes  # past the load stage: imported when there is work

    errors.extend(_duplicate_urls(articles, config))
    errors.extend(case_clashes(articles, config))
    if errors and not config.keep_going:
        raise ContentError(errors)
    if errors:  # --keep-going: drop the articles of files with errors (duplicate URLs)
        bad_sources = {str(p.path) for p in errors}
        articles = [a for a in articles
                    if str(Path(config.content_dir.name) / a.source) not in bad_sources]
    return Loaded(tuple(articles), BodyKeys((a.url, keys[a.source]) for a in articles),
                  tuple(warnings), tuple(errors), valid_until)


class BodyKeys(Mapping[str, str]):
    """Article URL -> parse-cache key of its body (`cache.parse_key`, a hex digest), each
    held as its 16 bytes: 49 bytes an article where the string took 81."""

    __slots__ = ("_raw",)

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._raw = {url: bytes.fromhex(key) for url, key in pairs}

    def __getitem__(self, url: str) -> str:
        return self._raw[url].hex()

    def __contains__(self, url: object) -> bool:
        return url in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _next_date_change(parsed: Sequence[Article], published: Sequence[Article],
                      config: Config) -> datetime | None:
    """The first moment at which the passing of time alone changes the site."""
    now = config.now
    window = timedelta(days=config.news_sitemap_days)
    moments = [] if config.future else [a.date for a in parsed if a.date > now]
    moments += [a.expires for a in published if a.expires and a.expires > now]
    since = now - window  # in the news window: `date <= now < date + window`, one sum fewer
    moments += [a.date + window for a in published if since < a.date <= now]
    featured = timedelta(days=config.featured_days)  # a featured lead leaves the home page
    moments += [a.date + featured for a in published
                if a.featured and now - featured < a.date <= now]
    return min(moments, default=None)


def _duplicate_urls(articles: Sequence[Article], config: Config) -> list[Problem]:
    first: dict[str, Article] = {}
    problems = []
    for article in articles:
        other = first.setdefault(article.url, article)
        if other is not article:
            folder = Path(config.content_dir.name)
            problems.append(Problem(folder / article.source, None,
                                    f"URL {article.url} is also the URL of "
                                    f"{folder / other.source}"))
    return problems


def attach_history(loaded: Loaded, config: Config) -> Loaded:
    """Revisions from git; `updated` defaults to the last commit when later than the date."""
    history = git_history(config.content_dir, [a.source for a in loaded.articles],
                          config.cache_dir)
    if not history:
        return loaded
    articles = []
    for article in loaded.articles:
        revisions = history.get(article.source, ())
        if revisions:
            last = revisions[0].date
            updated = article.updated or (last if last > article.date else None)
            article = with_revisions(article, revisions, updated)
        articles.append(article)
    return dataclasses.replace(loaded, articles=tuple(articles))
