"""The worker processes of a build: parse + Markdown, and render, over a fork pool.

Each worker keeps one Markdown instance, one Jinja environment and one cache connection for its
whole life; that per-process state is what makes the pool fast. Workers are forked after the
work list exists and inherit it, so only index ranges travel to them.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import signal
from collections.abc import Callable, Sequence, Set
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

from . import images
from .cache import (
    BuildCache,
    Fingerprinter,
    card_digest,
    iter_chunks,
    outline_digest,
    pack_parsed,
    parse_key,
)
from .config import Config
from .errors import Problem, TemplateError
from .records import PageSpec, SourceFile
from .sources import read_source
from .urls import Urls
from .writer import Stager

PARALLEL_THRESHOLD = 200  # below this many items a process pool costs more than it saves
Progress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class RenderJob:
    """What every render worker needs besides the specs: shared by fork, never pickled."""

    digests: dict[str, str]
    config_digest: str
    previous: dict[str, tuple[str, str]]
    not_as_left: Set[str]  # output paths whose file is not as `previous` says
    body_keys: dict[str, str]
    staging: Path  # the staging folder pages are written into


def _with_data(src: SourceFile, config: Config) -> SourceFile:
    """A source's bytes, read by the worker that parses it: the parent never holds them all."""
    if src.data:
        return src
    return read_source(src.path, config.content_dir / src.path, src.bundle_files)


class WorkerState:
    config: Config | None = None
    markdown: Any = None  # a markup.MarkdownRenderer once needed
    renderer: Any = None  # a render.Renderer once needed
    cache: BuildCache | None = None
    writer: Stager | None = None
    urls: Urls | None = None
    fingerprint: Fingerprinter = Fingerprinter()
    items: list = []  # set in the parent just before forking; the workers inherit it
    job: RenderJob | None = None  # likewise


def _init_worker(config: Config) -> None:
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        gc.enable()  # for the worker's own garbage; what it inherited is frozen (run_parallel)
    WorkerState.config = config
    WorkerState.markdown = None
    WorkerState.renderer = None
    WorkerState.cache = None
    WorkerState.writer = None
    WorkerState.urls = Urls(config)
    WorkerState.fingerprint = Fingerprinter()


def _worker_cache() -> BuildCache:
    """This worker's connection to the build cache, opened on first use."""
    state = WorkerState
    assert state.config is not None
    if state.cache is None:
        state.cache = BuildCache(state.config.cache_dir, state.config.output_dir)
    return state.cache


def parse_many(sources: list[SourceFile]) -> list[tuple[str, str, object]]:
    """(path, digest, record) or (path, digest, problems) per source: the digest of the bytes
    read here, the article and its warnings packed as the cache keeps them (pickled once for
    both). Each parsed article and its body HTML go into the parse cache from here: the parent
    never receives the bodies. A source the parent had not hashed may be in the cache already
    (a touched, unchanged file): it is taken from there."""
    state = WorkerState
    assert state.config is not None
    config_digest = state.config.output_affecting_digest()
    out: list[tuple[str, str, object]] = []
    read: list[tuple[SourceFile, str]] = []  # keyed by the bytes read here, not the parent's
    unhashed: list[str] = []
    for src in sources:
        try:
            data = _with_data(src, state.config)
        except OSError as exc:
            out.append((src.path, "", [Problem(Path(state.config.content_dir.name) / src.path,
                                               None, f"cannot read: {exc.strerror}")]))
            continue
        read.append((data, parse_key(src.path, data.digest, config_digest, src.bundle_files)))
        if not src.digest:
            unhashed.append(read[-1][1])
    known = _worker_cache().get_parsed_blobs(unhashed) if unhashed else {}
    rows = []
    image_uses = []
    for src, key in read:
        if key in known:
            out.append((src.path, src.digest, known[key]))
            continue
        outcome, html = _parse_one(src)
        uses = images.take_uses()  # the images it shows (recorded while it was parsed)
        image_uses.append((key, uses if html is not None else []))
        if html is None:
            out.append((src.path, src.digest, outcome))
            continue
        record = pack_parsed(*outcome)
        out.append((src.path, src.digest, record))
        rows.append((key, record, html))
    _worker_cache().put_parsed(rows)
    images.remember_uses(state.config, image_uses)
    return out


def _parse_one(src: SourceFile) -> tuple[Any, str | None]:
    """((article, warnings), body HTML) or (problems, None)."""
    from . import content  # YAML and front matter: only where something is parsed
    from .htmlbody import is_html_source, render_html
    state = WorkerState
    assert state.config is not None and state.urls is not None
    images.take_uses()  # from this article only
    if state.markdown is None:
        from .markup import MarkdownRenderer  # only workers that convert need Markdown
        from .sanitize import Sanitizer
        from .shortcodes import Engine

        state.markdown = MarkdownRenderer(state.config.base_path,
                                          Sanitizer.from_config(state.config),
                                          Engine(state.config, state.urls),
                                          images.Resolver(state.config))
    try:
        parsed = content.parse_source(src, state.config, state.urls)
    except content.ArticleError as exc:
        return exc.problems, None
    if is_html_source(src.path):  # an .html article: its body is HTML already
        rendered = render_html(parsed.body, state.config.base_path, state.markdown.sanitizer)
    else:
        from .shortcodes import Page

        page = Page(str(Path(state.config.content_dir.name) / src.path), parsed.body_line,
                    parsed.article, src.path)
        rendered = state.markdown.render(parsed.body, page)
    article = dataclasses.replace(
        parsed.article, summary=parsed.article.summary or rendered.excerpt,
        is_brief=not rendered.html, words=rendered.words,
        internal_links=_link_lines(rendered.internal_links, parsed.body, parsed.body_line))
    # its page shows its images too: a changed photo renders it again (images.py)
    article = dataclasses.replace(article, digest=images.fold_digest(article.digest,
                                                                     images.peek_uses()))
    article = dataclasses.replace(article, card=card_digest(article),
                                  outline=outline_digest(article))
    # shortcode calls that could not render: errors, unless --keep-going (build._collect)
    return (article, parsed.warnings + rendered.shortcode_problems), rendered.html


def _link_lines(links: Sequence[str], body: str, body_line: int) -> tuple[tuple[str, int], ...]:
    out = []
    for link in links:
        at = body.find(link)
        out.append((link, body_line + body.count("\n", 0, at) if at >= 0 else body_line))
    return tuple(out)


def render_many(specs: list[PageSpec]) -> list:
    """(output path, (fingerprint, output hash), Staged or None) per page, or Problems."""
    state, job = WorkerState, WorkerState.job
    assert state.config is not None and state.urls is not None and job is not None
    if state.renderer is None:
        from .render import Renderer

        state.renderer = Renderer(state.config, cache_compiled=True)
        state.writer = Stager(job.staging)
    assert state.writer is not None
    out: list = []
    to_render: list[tuple[PageSpec, str, str]] = []
    for spec in specs:
        fp = state.fingerprint(spec.template, job.digests.get(spec.template, ""),
                               job.config_digest, spec.context, spec.body_of)
        rel = state.urls.output_path(spec.url)
        old = job.previous.get(rel)
        if old and old[0] == fp and rel not in job.not_as_left:
            out.append((rel, old, None))
        else:
            to_render.append((spec, rel, fp))
    bodies = _worker_cache().bodies([job.body_keys.get(spec.url, "")
                                 for spec, _, _ in to_render if spec.body_of])
    for spec, rel, fp in to_render:
        body_key = job.body_keys.get(spec.url, "")
        if spec.body_of and body_key not in bodies:  # never rendered without its body
            out.append(Problem(Path(state.config.output_dir.name) / rel, None,
                               "the build cache lost the body of this page's article; "
                               "run `sitegen build --clean`"))
            continue
        try:
            data = state.renderer.render(spec, bodies[body_key] if spec.body_of else "")
        except TemplateError as exc:
            out.extend(exc.problems)
            if len(out) > 20:
                break
            continue
        item = state.writer.stage(rel, data)
        out.append((rel, (fp, item.out_hash), item))
    return out


def make_images(jobs: list) -> list[Problem | None]:
    """Each job's derived image files, or the Problem that stopped it (images.make)."""
    config = WorkerState.config
    assert config is not None
    return [images.make(job, config) for job in jobs]


def run_parallel(func, items: list, config: Config, progress: Progress | None, label: str,
                 costly: bool = False):
    """Run `func` over chunks of `items`, in a process pool when there is enough work
    (`costly`: each item is worth a worker of its own, as an image to resize is).

    Workers are forked after `items` exist and inherit them: only index ranges travel to
    the workers, never the page contexts themselves.
    """
    if not items:
        return
    # The build's records are acyclic and live until the end: out of every collection, so
    # neither this process nor a forked worker walks (and so copies) them again and again.
    gc.freeze()
    try:
        yield from _run(func, items, config, progress, label, costly)
    finally:
        gc.unfreeze()


def _run(func, items: list, config: Config, progress: Progress | None, label: str,
         costly: bool = False):
    total, done = len(items), 0
    workers = min(config.workers, len(items) if costly else max(1, len(items) // 50))
    threshold = 2 if costly else PARALLEL_THRESHOLD
    if workers <= 1 or len(items) < threshold or "fork" not in get_all_start_methods():
        _init_worker(config)
        collecting = gc.isenabled()
        for chunk in iter_chunks(items, 100):
            gc.enable()  # Jinja leaves reference cycles behind: collect them as we go
            results = func(chunk)
            if not collecting:
                gc.disable()
            yield from results
            done += len(chunk)
            if progress:
                progress(label, done, total)
        return
    size = max(20, min(100, total // (workers * 8)))  # small chunks: a short tail at the end
    if costly:
        size = max(1, min(8, total // (workers * 4)))
    ranges = [(start, min(total, start + size)) for start in range(0, total, size)]
    WorkerState.items = items
    try:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=get_context("fork"),
                                 initializer=_init_worker, initargs=(config,)) as pool:
            for (start, end), results in zip(ranges, pool.map(_run_range, [func] * len(ranges),
                                                              ranges), strict=True):
                yield from results
                done += end - start
                if progress:
                    progress(label, done, total)
    finally:
        WorkerState.items = []


def _run_range(func, bounds: tuple[int, int]) -> list:
    start, end = bounds
    return func(WorkerState.items[start:end])
