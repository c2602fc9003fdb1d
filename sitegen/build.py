"""`build(config) -> BuildReport`: the pipeline's stages in order, each timed.

load -> parse + Markdown (parallel, cached) -> indexes -> plan -> render (parallel, only
pages whose fingerprint changed, into a staging folder) -> write -> search index.
Nothing touches `output/` until every page has rendered, so a failed build leaves the
previous site as it was.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from contextlib import ExitStack, closing, contextmanager, nullcontext
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, compat, search
from .cache import (
    CACHE_FORMAT,
    BuildCache,
    healing,
    parse_key,
    unpack_parsed,
    with_revisions,
)
from .config import Config
from .errors import ContentError, Problem, SitegenError, TemplateError
from .history import git_history, head_commit
from .images import RESERVED as RESERVED_IMAGES
from .intros import signature as intros_signature
from .outputtree import MARKER, OutputError, journal_files, locked, refuse_foreign
from .processes import Background
from .records import Article, BuildReport, PageSpec, SourceFile
from .shape import remember as remember_shape
from .shape import replan, site_shape
from .sources import discover_found, layout_dirs, read_source, stat_signature
from .urls import Urls
from .writer import CopyJob, Staged, Writer, WriteResult, files_not_as_left, find_strays

if TYPE_CHECKING:
    from .indexes import Indexes
    from .processes import Progress

# The stages past `load` import their modules when they run: a build that finds nothing
# changed (the common case in `serve` and CI) imports none of them.


@dataclasses.dataclass(frozen=True)
class Loaded:
    """The published articles of a run, with what was skipped and what was warned."""

    articles: tuple[Article, ...]
    keys: dict[str, str]  # article URL -> parse-cache key of its body
    warnings: tuple[Problem, ...]
    skipped: tuple[Problem, ...]
    valid_until: datetime | None = None  # when embargoes, expiries or the news window change
    digests: dict[str, str] = dataclasses.field(default_factory=dict)  # source path -> digest


class _Timer:
    def __init__(self, verbose_sink: Callable[[str], None] | None):
        self.stages: list[tuple[str, float]] = []
        self.sink = verbose_sink

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.stages.append((name, elapsed))
        if self.sink:
            self.sink(f"{name:<10} {elapsed:8.3f} s")


def build(config: Config, progress: Progress | None = None,
          log: Callable[[str], None] | None = None) -> BuildReport:
    """One build into `config.output_dir`, holding its lock (a second build waits)."""
    started = time.perf_counter()
    if config.search:  # an unsupported Pagefind stops the build before it writes anything
        search.check_pagefind()
    compat.check_all()  # an untested Markdown or Jinja said once, not by each forked worker
    with locked(config.output_dir, say=log) as work:
        _refuse_foreign_output(config)
        if config.clean:  # forget every earlier build: parsed articles, page states, search
            shutil.rmtree(config.cache_dir, ignore_errors=True)
        writer = Writer(config.output_dir, work)
        try:
            return healing(lambda: _build(config, writer, progress, log, started),
                           config.cache_dir, config.output_dir)  # a damaged cache: once more
        except OSError as exc:  # disk full, read-only folder: named, the old site stays
            raise OutputError(_write_failure(config, exc)) from exc
        finally:
            writer.discard_staging()


def _build(config: Config, writer: Writer, progress: Progress | None,
           log: Callable[[str], None] | None, started: float) -> BuildReport:
    timer = _Timer(log if config.verbose else None)
    with closing(BuildCache(config.cache_dir, config.output_dir)) as cache, \
            _cyclic_gc_paused(), ExitStack() as stack:
        with timer.stage("load"):
            previous = cache.page_states()  # what the last build wrote: (fingerprint, hash)
            # a stat of every output file, in a forked process while this one reads the sources
            disturbed = stack.enter_context(
                Background(files_not_as_left, config.output_dir, previous))
            sources, unused = scan_sources(config, cache)
            intros = intros_signature(config.content_dir)
            hashed = all(s.digest for s in sources)
            inputs = inputs_key(config, sources, intros) if hashed else None
            unchanged = _unchanged_since_last_build(config, cache, inputs, previous, disturbed)
        if unchanged is not None:
            return dataclasses.replace(unchanged, seconds=time.perf_counter() - started,
                                       stage_seconds=tuple(timer.stages))
        strays = stack.enter_context(  # another forked walk, while the build renders
            Background(find_strays, config.output_dir,
                       frozenset(previous) | frozenset(cache.file_signatures())))
        with timer.stage("parse"):
            loaded = parse_articles(sources, config, cache, progress)
            if not hashed:  # the parse workers hashed them
                sources = [dataclasses.replace(s, digest=loaded.digests[s.path])
                           for s in sources]
                remember_sources(cache, sources)
                inputs = inputs_key(config, sources, intros)
        if config.git_history:
            with timer.stage("history"):
                loaded = attach_history(loaded, config)
        with timer.stage("images"):  # derived photos the cache lacks (images.py)
            derived = derived_images(config, loaded, progress)
        with timer.stage("index"):
            indexes = index_articles(loaded, config, cache)
        with timer.stage("plan"):
            digests = _template_digests(config, cache)
            shape = site_shape(config, indexes.articles, digests, intros)
            not_as_left = disturbed.result()
            todo = replan(cache, config, shape, indexes.articles, previous, not_as_left)
            specs = plan_site(indexes, config, todo.wanted)
        with timer.stage("render"):
            staged, states = render_pages(specs, loaded.keys, config, writer, previous,
                                          not_as_left, progress, todo.kept, digests)
        with timer.stage("write"):
            result, changed_urls, signatures = write_output(config, writer, list(staged),
                                                            states, loaded, cache, previous,
                                                            strays.result(), derived)
        search_seconds = 0.0
        search_folders: tuple[str, ...] = ()
        if config.search:
            with timer.stage("search"):
                searched = search.update_search_index(
                    config, indexes.articles, changed_urls,
                    {rel: state[1] for rel, state in states.items()},
                    tree=writer.tree, generations=(writer.generation_before, writer.generation))
            search_seconds = timer.stages[-1][1]
            search_folders = searched.changed_folders
        with timer.stage("commit"):
            writer.finish(search_folders)
            if not config.search:
                search.follow_generation(config, writer.generation_before, writer.generation)
            _remember_pages(cache, states, previous, signatures)
        from .redirects import redirect_count

        report = BuildReport(
            articles=len(loaded.articles), pages_planned=len(specs) + len(todo.kept),
            pages_rendered=len(staged), files_written=result.written,
            files_unchanged=result.unchanged, files_removed=result.removed,
            seconds=time.perf_counter() - started, stage_seconds=tuple(timer.stages),
            warnings=tuple(map(str, loaded.warnings)), skipped=tuple(map(str, loaded.skipped)),
            search_seconds=search_seconds, unused=unused,
            redirects=redirect_count(indexes.articles, config),
        )
        _remember_build(cache, inputs, loaded, report)
        # after a full plan (`wanted` None), `specs` is the whole plan: its skeleton is kept
        remember_shape(cache, config, shape, indexes.articles,
                       specs if todo.wanted is None else None)
    return report


def _refuse_foreign_output(config: Config) -> None:
    """An existing output folder must be one sitegen wrote (see outputtree.refuse_foreign)."""
    output = config.output_dir
    if config.force or not output.is_dir() or (output / MARKER).is_file():
        refuse_foreign(output, True, config.force)
        return
    try:
        with closing(BuildCache(config.cache_dir, output)) as cache:
            recorded = bool(cache.page_states())
    except sqlite3.DatabaseError:  # a damaged cache records nothing (the build heals it)
        recorded = False
    refuse_foreign(output, recorded, config.force)


def _write_failure(config: Config, exc: OSError) -> str:
    where = exc.filename or config.output_dir
    return (f"cannot write {where}: {exc.strerror or exc}; "
            f"{config.output_dir} is left as it was")


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the stages build their large, acyclic data
    (articles, indexes, page specs): the collector walked it again and again (unpickling the
    parse cache of 10,000 articles took 5x longer). Render workers collect their own garbage
    (workers.run_parallel)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# ---------------------------------------------------------------- nothing changed?

def inputs_key(config: Config, sources: Sequence[SourceFile], intros: str = "") -> str:
    """A digest of everything a build reads: sources, intros, layouts, static files, config,
    git, and the cache format (a new sitegen may render the same inputs differently)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(intros.encode() + b"\0")
    for part in (__version__, str(CACHE_FORMAT), config.output_affecting_digest(),
                 str(config.search), str(config.strict), str(config.keep_going)):
        digest.update(part.encode() + b"\0")
    for src in sources:
        digest.update(f"{src.path}\0{src.digest}\0{src.bundle_files}\0".encode())
    for root in [*layout_dirs(config), config.static_dir, *_bundle_dirs(config, sources)]:
        digest.update(_file_signatures(root))
    if config.git_history:
        digest.update(head_commit(config.content_dir).encode())
    return digest.hexdigest()


def _template_digests(config: Config, cache: BuildCache) -> dict[str, str]:
    """render.template_digests, kept in the cache while no layout file's stat signature
    changed (parsing every layout for its references took ~25 ms a build)."""
    key = hashlib.blake2b(digest_size=16)
    for root in layout_dirs(config):
        key.update(f"{root}\0".encode() + _file_signatures(root))
    known = cache.get_meta("template_digests")
    if known and known.startswith(key.hexdigest() + "\n"):
        return json.loads(known[len(key.hexdigest()) + 1:])
    from .render import template_digests  # Jinja2 only once there is work for it

    digests = template_digests(config)
    cache.set_meta("template_digests", key.hexdigest() + "\n" + json.dumps(digests))
    return digests


def _file_signatures(root: Path) -> bytes:
    """Each file under `root`: its relative path and stat signature, in path order."""
    return "".join(f"{rel}\0{stat_signature(path)}\0"
                   for rel, path in sorted(_files_under(root, "").items())).encode()


def _bundle_dirs(config: Config, sources: Sequence[SourceFile]) -> list[Path]:
    return [config.content_dir / Path(s.path).parent for s in sources if s.bundle_files]


def _unchanged_since_last_build(config: Config, cache: BuildCache, inputs: str | None,
                                states: dict[str, tuple[str, str]],
                                disturbed: Background[frozenset[str]]) -> BuildReport | None:
    """The last report when no input changed, no date-driven change is due and every file
    the last build wrote is still in place (none is `disturbed`); else None (also when
    `inputs` is not known)."""
    if config.clean or inputs is None or cache.get_meta("inputs") != inputs or \
            cache.get_meta("committing") == "1":
        return None
    valid_until = cache.get_meta("valid_until")
    if valid_until and config.now >= datetime.fromisoformat(valid_until):
        return None
    if config.search and search.index_problem(config):
        return None
    if not states or disturbed.result() or not (config.output_dir / MARKER).is_file():
        return None
    last = cache.get_meta("report")
    counts = json.loads(last) if last else {}
    return BuildReport(articles=counts.get("articles", 0), pages_planned=len(states),
                       pages_rendered=0, files_written=0, files_unchanged=len(states),
                       files_removed=0, seconds=0.0,
                       warnings=tuple(counts.get("warnings", ())),
                       unused=tuple(counts.get("unused", ())),
                       redirects=counts.get("redirects", 0))


def _remember_build(cache: BuildCache, inputs: str, loaded: Loaded, report: BuildReport
                    ) -> None:
    cache.set_meta("inputs", inputs)
    cache.set_meta("valid_until", loaded.valid_until.isoformat() if loaded.valid_until else "")
    cache.set_meta("report", json.dumps({"articles": report.articles,
                                         "warnings": list(report.warnings),
                                         "unused": list(report.unused),
                                         "redirects": report.redirects}))


# ---------------------------------------------------------------- load and parse

HASHED_IN_PARENT = 500  # past this many new or touched files, the parse workers hash them


def load_sources(config: Config, cache: BuildCache | None = None) -> list[SourceFile]:
    """Every article file (see `scan_sources`)."""
    return scan_sources(config, cache)[0]


def scan_sources(config: Config, cache: BuildCache | None = None
                 ) -> tuple[list[SourceFile], tuple[str, ...]]:
    """Every article file, and the other files of content/ that no build uses (neither an
    article, an intro nor a bundle file). An article whose stat signature is unchanged is not
    read again.

    When more than HASHED_IN_PARENT files are new (a first build, a fresh clone), they are
    not read here: the parse workers read them anyway, so they hash them too, in parallel,
    and their digest stays "" until then (see `remember_sources`).
    """
    if not config.content_dir.is_dir():
        raise SitegenError(f"{config.content_dir}: no content folder")
    known = cache.source_digests() if cache else {}
    found, problems = [], []
    scanned = discover_found(config.content_dir)
    for rel, path, bundle in scanned.articles:
        try:
            signature = stat_signature(path)
        except OSError as exc:
            problems.append(Problem(path, None, f"cannot read: {exc.strerror}"))
            continue
        old = known.get(rel)
        found.append(SourceFile(rel, b"", old[1] if old and old[0] == signature else "",
                                bundle, signature))
    new = [i for i, src in enumerate(found) if not src.digest]
    defer = cache is not None and len(new) > HASHED_IN_PARENT
    for i in [] if defer else new:  # hash now; the worker that parses it reads it again
        src = found[i]
        try:
            digest = read_source(src.path, config.content_dir / src.path, ()).digest
        except OSError as exc:
            problems.append(Problem(config.content_dir / src.path, None,
                                    f"cannot read: {exc.strerror}"))
            continue
        found[i] = dataclasses.replace(src, digest=digest)
    if problems:
        raise ContentError(problems)
    if cache and not defer:
        remember_sources(cache, found, known)
    return found, tuple(sorted(scanned.unused))


def remember_sources(cache: BuildCache, sources: Sequence[SourceFile],
                     known: dict[str, tuple[str, str]] | None = None) -> None:
    """Keep each file's signature and digest, so that the next build reads only what changed."""
    rows = {s.path: (s.signature, s.digest) for s in sources if s.digest}
    if rows != known:
        cache.save_sources(rows, known)


def parse_articles(sources: Sequence[SourceFile], config: Config, cache: BuildCache,
                   progress: Progress | None = None) -> Loaded:
    """Articles from the parse cache, or parsed by the workers (which also hash the sources
    whose digest is not known yet). A few sources to parse (an edit) are parsed in a forked
    process while this one loads the cached articles: Markdown's and YAML's imports alone
    take as long as loading 10,000 articles."""
    config_digest = config.output_affecting_digest()
    keys = {s.path: parse_key(s.path, s.digest, config_digest, s.bundle_files)
            for s in sources if s.digest}
    bundles = {s.path: s.bundle_files for s in sources}
    stored = cache.parsed_keys() - _image_changed(config, keys.values())
    missing = [s for s in sources if keys.get(s.path) not in stored]
    aside = _parsed_aside(missing, config)
    with aside or nullcontext():
        cached = cache.get_parsed(key for key in keys.values() if key in stored)
        results: dict[str, tuple[Article, tuple] | list[Problem]] = {
            path: cached[key] for path, key in keys.items() if key in cached}
        lost = [s for s in sources if s.path not in results and keys.get(s.path) in stored]
        outcomes = chain(aside.result() if aside else _parsing(missing, config, progress),
                         _parsing(lost, config, progress))  # lost: rows gone since listed
        digests = {s.path: s.digest for s in sources}
        for path, digest, outcome in outcomes:
            # the workers put articles and bodies into the cache, and send the packed article
            results[path] = unpack_parsed(outcome) if isinstance(outcome, bytes) else outcome
            digests[path] = digest  # of the bytes the worker parsed and cached them under
            keys[path] = parse_key(path, digest, config_digest, bundles[path])
    if missing or lost:
        cache.forget_parsed_except(set(keys.values()))
    cache.keep_parsed_groups({keys[path]: outcome for path, outcome in results.items()
                              if isinstance(outcome, tuple)})
    return dataclasses.replace(_collect(sources, results, keys, config), digests=digests)


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


def _parsed_aside(missing: list[SourceFile], config: Config
                  ) -> Background[list[tuple[str, str, object]]] | None:
    """Too few sources to parse for the worker pool (an edit): parsed in one forked process
    while this one loads the cached articles."""
    if not missing:
        return None
    from .processes import PARALLEL_THRESHOLD

    return Background(_parsed, missing, config) if len(missing) < PARALLEL_THRESHOLD else None


def _parsing(sources: list[SourceFile], config: Config, progress: Progress | None = None
             ) -> Iterator[tuple[str, str, object]]:
    """(path, digest, packed article or problems) of each source, from the parse workers."""
    if not sources:
        return iter(())
    from .processes import Work, run_parallel
    from .workers import Worker, parse_many

    return run_parallel(Work(parse_many, sources, Worker, "parse"), config, progress)


def _parsed(sources: list[SourceFile], config: Config) -> list[tuple[str, str, object]]:
    return list(_parsing(sources, config))


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
    return Loaded(tuple(articles), {a.url: keys[a.source] for a in articles},
                  tuple(warnings), tuple(errors), valid_until)


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


# ---------------------------------------------------------------- index

def index_articles(loaded: Loaded, config: Config, cache: BuildCache) -> Indexes:
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


# ---------------------------------------------------------------- plan

def plan_site(indexes: Indexes, config: Config, wanted: Set[str] | None = None
              ) -> list[PageSpec]:
    """Every page's spec; or, with `wanted`, only those of these URLs."""
    if config.languages:  # a site of several languages: each planned as a site of its own
        from .languages import plan_languages

        specs = plan_languages(indexes, config, wanted, _lastmod)
    else:
        specs = _plan_one_language(indexes, config, wanted)
    seen: dict[str, PageSpec] = {}
    clashes = []
    for spec in specs:
        if seen.setdefault(spec.url, spec) is not spec:
            clashes.append(Problem(config.content_dir.name, None,
                                   f"two pages want the URL {spec.url} "
                                   f"({seen[spec.url].kind} and {spec.kind})"))
    if clashes:
        raise ContentError(clashes)
    return specs


def _plan_one_language(indexes: Indexes, config: Config, wanted: Set[str] | None
                       ) -> list[PageSpec]:
    from .feeds import plan_feeds
    from .indexes import utc_instant
    from .pages import plan_pages

    urls = Urls(config)
    html = list(plan_pages(indexes, config, urls, wanted))

    def lastmods() -> list[tuple[str, datetime | None]]:
        changed = {id(a): utc_instant(a.updated or a.date) for a in indexes.articles}
        every_page = html if wanted is None else plan_pages(indexes, config, urls)
        return [(urls.absolute(s.url), _lastmod(s, changed)) for s in every_page
                if s.kind != "404"]

    return html + list(plan_feeds(indexes, config, urls, lastmods, wanted))


def _lastmod(spec: PageSpec, changed: dict[int, tuple[datetime, datetime]]
             ) -> datetime | None:
    """When a page last changed: its article's, or the latest of the articles it lists
    (`changed`: each article's update or publication time, by id, see indexes.utc_instant)."""
    article = spec.context.get("article")
    if article is not None:
        return article.updated or article.date
    listed = spec.context.get("articles") or spec.context.get("latest") or ()
    latest = max(map(changed.__getitem__, map(id, listed)), default=None)
    return latest[1] if latest else None


# ---------------------------------------------------------------- render

def render_pages(specs: Sequence[PageSpec], body_keys: dict[str, str], config: Config,
                 writer: Writer, previous: dict[str, tuple[str, str]], not_as_left: Set[str],
                 progress: Progress | None = None,
                 kept: dict[str, tuple[str, str]] | None = None,
                 template_digests: dict[str, str] | None = None,
                 ) -> tuple[list[Staged], dict[str, tuple[str, str]]]:
    """Render into the staging folder every page whose fingerprint changed.

    `not_as_left`: output paths whose file is not as the last build left it
    (writer.files_not_as_left), rendered whatever their fingerprint. `kept`: the states of
    pages not planned again (shape.replan), taken as they are. Workers fingerprint their own
    share of the pages, so that work is parallel too.
    """
    from .processes import Work, run_parallel
    from .render import template_digests as digests_of  # Jinja2 only once there is work
    from .workers import RenderJob, Worker, render_many

    writer.discard_staging()
    job = RenderJob(template_digests or digests_of(config), config.output_affecting_digest(),
                    previous, not_as_left, body_keys, writer.staging)
    staged: list[Staged] = []
    states: dict[str, tuple[str, str]] = dict(kept or {})
    problems: dict[str, Problem] = {}
    for outcome in run_parallel(Work(render_many, specs, Worker, "render", job), config,
                                progress):
        if isinstance(outcome, Problem):
            problems.setdefault(str(outcome), outcome)
            continue
        rel, state, item = outcome
        states[rel] = state
        if item is not None:
            staged.append(item)
    if problems:
        writer.discard_staging()
        raise TemplateError(list(problems.values()))
    return staged, states


# ---------------------------------------------------------------- write

def write_output(config: Config, writer: Writer, staged: list[Staged],
                 states: dict[str, tuple[str, str]], loaded: Loaded, cache: BuildCache,
                 previous: dict[str, tuple[str, str]], strays: Sequence[str] = (),
                 derived: Sequence[CopyJob] = ()
                 ) -> tuple[WriteResult, set[str], dict[str, str]]:
    """Apply the build to the tree being prepared: staged pages, copied files, removals;
    `strays` (files in output/ that sitegen did not write) are kept as they are.
    Returns the result, the article URLs whose page was written, and the copies' new
    signatures (recorded once the tree is in place)."""
    urls = Urls(config)
    previous_hashes = {rel: out for rel, (_fp, out) in previous.items()}
    old_signatures = cache.file_signatures()
    extra = {".nojekyll": b""}
    if config.cname:
        extra["CNAME"] = config.cname.strip().encode() + b"\n"
    for rel, data in extra.items():
        item = writer.stage(rel, data)
        staged.append(item)
        states[rel] = ("", item.out_hash)
    copies = [*copy_jobs(config, loaded.articles, urls), *derived]  # derived: images.py
    clashes = copy_clashes(config, copies, states)
    if clashes:
        raise ContentError(clashes)
    planned = set(states) | {c.rel_path for c in copies}
    known = set(previous) | set(old_signatures)
    if cache.get_meta("committing") == "1":
        # a build killed after its switch, before it recorded its files: the journal lists them
        known |= set(journal_files(writer.work))
    cache.set_meta("committing", "1")  # until the records match the site in place
    writer.begin(start_empty=not previous, strays=[rel for rel in strays if rel not in planned])
    result, signatures = writer.commit(staged, previous_hashes, copies, old_signatures,
                                       planned, known=known)
    changed_urls = urls.served_by(result.written_paths) & {a.url for a in loaded.articles}
    return result, changed_urls, signatures


def _remember_pages(cache: BuildCache, states: dict[str, tuple[str, str]],
                    previous: dict[str, tuple[str, str]], signatures: dict[str, str]) -> None:
    """Record what the site now in place holds (after the switch: a build killed before it
    leaves the records of the old site, which is still the one in place)."""
    cache.save_pages(states, previous)
    if signatures != cache.file_signatures():
        cache.save_files(signatures)
    cache.set_meta("committing", "0")


def copy_jobs(config: Config, articles: Sequence[Article], urls: Urls) -> Iterator[CopyJob]:
    """Theme assets (site layouts override the built-in ones), static/, page-bundle files."""
    assets: dict[str, Path] = {}
    for layouts in reversed(layout_dirs(config)):
        assets.update(_files_under(layouts / "assets", "assets/"))
    yield from (CopyJob(path, rel) for rel, path in sorted(assets.items()))
    for rel, path in sorted(_files_under(config.static_dir, "").items()):
        yield CopyJob(path, rel)
    content_root = config.content_dir.resolve()
    for article in articles:
        if article.bundle_files:
            folder = config.content_dir / Path(article.source).parent
            base = urls.output_path(article.url).rsplit("/", 1)[0]
            for name in article.bundle_files:
                source = folder / name
                if content_root not in source.resolve().parents:
                    raise ContentError(Problem(Path(config.content_dir.name) / article.source,
                                               None, f"bundle file {name!r} links outside "
                                                     "the content folder"))
                yield CopyJob(source, f"{base}/{name}")


def copy_clashes(config: Config, copies: Sequence[CopyJob], pages: Set[str]
                 ) -> list[Problem]:
    """Copied files (static/, bundles, theme assets) that would land where a generated page,
    the search bundle or another copied file goes."""
    first: dict[str, Path] = {}
    problems = []
    for job in copies:
        where = _shown(config, job.source)
        if job.rel_path in pages:
            problems.append(Problem(where, None, f"would be copied to {job.rel_path}, a page "
                                                 "sitegen generates; rename or move it"))
        elif job.rel_path.split("/", 1)[0] == "pagefind":
            problems.append(Problem(where, None, "would be copied into pagefind/, the search "
                                                 "index's folder; move it"))
        elif RESERVED_IMAGES.match(job.rel_path) and config.cache_dir not in job.source.parents:
            problems.append(Problem(where, None, f"would be copied to {job.rel_path}, a folder "
                                                 "of derived photos; move it"))
        elif first.setdefault(job.rel_path, job.source) != job.source:
            problems.append(Problem(where, None, f"would be copied to {job.rel_path}, as "
                                                 f"{_shown(config, first[job.rel_path])} is"))
    return problems


def _shown(config: Config, path: Path) -> Path:
    """A source file's path as the site's author knows it (from the site folder)."""
    try:
        return path.relative_to(config.site_dir)
    except ValueError:
        return path


def _files_under(root: Path, prefix: str) -> dict[str, Path]:
    found = {}
    if root.is_dir():
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if not name.startswith("."):
                    path = Path(folder, name)
                    found[prefix + path.relative_to(root).as_posix()] = path
    return found
