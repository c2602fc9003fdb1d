"""The parse stage: each source parsed (by the workers, or from the parse cache) into an
`Article`, the published ones kept with what was warned and what was skipped; then their
revisions from git (the history stage) and their photos' derived files (the images stage).

A build keeps what the stage made of each content folder (parsedfolders.py): the next one
makes anew only the outcomes of folders whose sources changed, then joins every folder's
(`_joined`: duplicate URLs and clashing cases are checked across all of them)."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from . import parsedfolders, scan
from .cache import BuildCache
from .config import Config
from .damage import DamagedRecord, report_damage
from .errors import ContentError, Problem
from .fingerprint import with_revisions
from .history import git_history
from .outputdigest import output_digest
from .parsedrecords import parse_key, unpack_parsed
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
                   progress: Progress | None = None, outline: bool = False,
                   folder_digests: Mapping[str, str] | None = None) -> Loaded:
    """Articles from the parse cache, or parsed by the workers (which also hash the sources
    whose digest is not known yet). A few sources to parse (an edit) are parsed in a forked
    process while this one loads the cached articles: Markdown's and YAML's imports alone
    take as long as loading 10,000 articles.

    `outline`: the published articles as a build holds them all at once (`compact`), without
    what only `sitegen check` reads; each folder's outcome kept for the next build, which
    makes anew only those of the folders whose sources changed (parsedfolders.py), by their
    `folder_digests` (scan.py: made here when not given)."""
    if outline:
        if folder_digests is None:
            folder_digests = scan.folder_digests(sources)
        return _parse_by_folder(sources, folder_digests, config, cache, progress)
    parsed = _outcomes(sources, config, cache, progress, whole=True)
    whole = parsedfolders.outcome_of(sources, parsed.results, parsed.keys, config)
    loaded = _joined([whole], config)
    return _with_digests(loaded, sources, parsed)


def _parse_by_folder(sources: Sequence[SourceFile], digests: Mapping[str, str], config: Config,
                     cache: BuildCache, progress: Progress | None) -> Loaded:
    """`parse_articles` with the outcomes of unchanged folders as the last build kept them."""
    basis = parsedfolders.basis(config)
    folders = parsedfolders.by_folder(sources)
    # the kept outcomes name records by key: trusted only while no one else (an older
    # sitegen sharing the cache) has pruned the records since this stage last counted them
    counted = cache.get_meta(parsedfolders.PARSED_ROWS) == str(cache.parsed_count())
    known = cache.parsed_folders(basis) if counted else {}
    standing = {folder for folder in folders
                if parsedfolders.stands(known.get(folder), digests.get(folder), config.now)}
    kept = _kept_outcomes(cache, config, standing)
    redo = [src for folder, members in folders.items() if folder not in kept
            for src in members]
    parsed = _outcomes(redo, config, cache, progress, whole=not kept)
    made = {folder: parsedfolders.outcome_of(members, parsed.results, parsed.keys, config)
            for folder, members in folders.items() if folder not in kept}
    compact(chain.from_iterable(outcome.articles for outcome in made.values()))
    if kept:  # the records of the folders made anew or gone, by their last keys
        redone = (made.keys() | (known.keys() - folders.keys())) & known.keys()
        old = {key for keys in cache.folder_keys(redone).values() for key in keys}
        cache.forget_parsed(old - set(parsed.keys.values()))
        cache.drop_parsed_groups(parsed.reparsed)
    cache.keep_folders(basis, _folder_rows(folders, made, parsed, config), set(kept))
    cache.set_meta(parsedfolders.PARSED_ROWS, str(cache.parsed_count()))
    loaded = _joined([kept.get(folder) or made[folder] for folder in folders], config)
    return _with_digests(loaded, sources, parsed)


def _kept_outcomes(cache: BuildCache, config: Config, standing: set[str]
                   ) -> dict[str, parsedfolders.FolderOutcome]:
    """The kept outcomes of these folders, but those whose articles use an image that
    changed since (images.stale_keys) and those that do not unpickle."""
    stale = _image_changed(config, None) if standing else set()
    if stale:
        standing = {folder for folder, keys in cache.folder_keys(standing).items()
                    if stale.isdisjoint(keys)}
    kept = {folder: parsedfolders.unpack(blob)
            for folder, blob in cache.folder_outcomes(standing).items()}
    damaged = [folder for folder, outcome in kept.items() if outcome is None]
    if damaged:
        report_damage(cache.path, f"the kept outcome of {len(damaged)} content folders "
                                  "does not unpickle")
    return {folder: outcome for folder, outcome in kept.items() if outcome is not None}


def _folder_rows(folders: dict[str, list[SourceFile]],
                 made: dict[str, parsedfolders.FolderOutcome], parsed: _Parsed,
                 config: Config) -> Iterator[tuple[str, str, str, str, str, bytes]]:
    """The rows `cache.keep_folders` keeps of the outcomes made anew."""
    for folder, outcome in made.items():
        members = [src if src.digest else dataclasses.replace(src, digest=parsed.digests[src.path])
                   for src in folders[folder]]
        yield (folder, scan.folder_digests(members)[folder], parsedfolders.moment(config.now),
               parsedfolders.moment(outcome.valid_until),
               " ".join(parsed.keys[src.path] for src in members),
               parsedfolders.pack(outcome))


@dataclasses.dataclass(frozen=True)
class _Parsed:
    """What the parse cache and the workers gave for some sources, by source path: the parsed
    article and its warnings, or the problems that stopped it; its parse key; its digest; and
    the keys parsed by the workers (not read from the cache)."""

    results: dict[str, tuple[Article, tuple] | list[Problem]]
    keys: dict[str, str]
    digests: dict[str, str]
    reparsed: frozenset[str]


def _outcomes(sources: Sequence[SourceFile], config: Config, cache: BuildCache,
              progress: Progress | None, whole: bool) -> _Parsed:
    """Each source's record, from the cache or parsed. `whole`: these are every source of the
    build, so the cache is pruned to their records and its groups rewritten; else only
    their own records are looked up, row by row."""
    config_digest = output_digest(config)
    keys = {s.path: parse_key(s.path, s.digest, config_digest, s.bundle_files)
            for s in sources if s.digest}
    bundles = {s.path: s.bundle_files for s in sources}
    listed = cache.parsed_keys() if whole else cache.parsed_among(keys.values())
    stored = listed - _image_changed(config, keys.values())
    missing = [s for s in sources if keys.get(s.path) not in stored]
    aside = _parsed_aside(missing, stored, config)
    reparsed = set()
    with aside or nullcontext():
        wanted = (key for key in keys.values() if key in stored)
        cached = cache.get_parsed(wanted) if whole else cache.get_parsed_rows(wanted)
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
            reparsed.add(keys[path])
        results.update(store.finish())
    if whole:
        if missing or lost:
            cache.forget_parsed_except(set(keys.values()))
        cache.keep_parsed_groups({keys[path]: outcome for path, outcome in results.items()
                                  if isinstance(outcome, tuple)})
    return _Parsed(results, keys, digests, frozenset(reparsed))


def _with_digests(loaded: Loaded, sources: Sequence[SourceFile], parsed: _Parsed) -> Loaded:
    """`loaded` with the digests the workers computed, when the scan had not hashed some."""
    if all(s.digest for s in sources):  # the scan knew every digest: nothing to pass back
        return loaded
    return dataclasses.replace(loaded, digests={s.path: parsed.digests.get(s.path, s.digest)
                                                for s in sources})


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


def _image_changed(config: Config, keys: Iterable[str] | None) -> set[str]:
    """Parse keys (of these; None: any) of articles whose images changed since they were
    parsed (images.py)."""
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


def _joined(outcomes: Sequence[parsedfolders.FolderOutcome], config: Config) -> Loaded:
    """The folders' outcomes as one, checked across folders: two articles with one URL (or
    URLs that differ only in case) are errors; with `--keep-going`, those files are left out."""
    from .pages import case_clashes  # past the load stage: imported when there is work

    articles = tuple(chain.from_iterable(outcome.articles for outcome in outcomes))
    body_keys = list(chain.from_iterable(outcome.body_keys for outcome in outcomes))
    warnings = tuple(chain.from_iterable(outcome.warnings for outcome in outcomes))
    errors = list(chain.from_iterable(outcome.errors for outcome in outcomes))
    keys = BodyKeys.of(articles, body_keys)
    # each check is a pass over every article: made only when the URLs by key say it can
    # find something (fewer keys than articles: two share a URL)
    if len(keys) != len(articles):
        errors.extend(_duplicate_urls(articles, config))
    if len({url.casefold() for url in keys}) != len(keys):
        errors.extend(case_clashes(articles, config))
    if errors and not config.keep_going:
        raise ContentError(errors)
    if errors:  # --keep-going: drop the articles of files with errors (duplicate URLs)
        bad_sources = {str(p.path) for p in errors}
        kept = [i for i, a in enumerate(articles)
                if str(Path(config.content_dir.name) / a.source) not in bad_sources]
        articles, body_keys = tuple(articles[i] for i in kept), [body_keys[i] for i in kept]
        keys = BodyKeys.of(articles, body_keys)
    valid_until = min((outcome.valid_until for outcome in outcomes if outcome.valid_until),
                      default=None)
    return Loaded(articles, keys, warnings, tuple(errors), valid_until)


class BodyKeys(Mapping[str, str]):
    """Article URL -> parse-cache key of its body (`parsedrecords.parse_key`, a hex digest), each
    held as its 16 bytes: 49 bytes an article where the string took 81."""

    __slots__ = ("_raw",)

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._raw = {url: bytes.fromhex(key) for url, key in pairs}

    @classmethod
    def of(cls, articles: Sequence[Article], keys: Sequence[bytes]) -> BodyKeys:
        """The keys of these articles' bodies, given as bytes in the same order."""
        made = cls(())
        made._raw = dict(zip(map(_url, articles), keys, strict=True))
        return made

    def __getitem__(self, url: str) -> str:
        return self._raw[url].hex()

    def __contains__(self, url: object) -> bool:
        return url in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


_url = operator.attrgetter("url")


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
