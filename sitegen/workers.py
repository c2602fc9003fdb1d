"""What a build's worker processes do: parse + Markdown, render, resize images.

Each function is called as `func(worker, job, chunk)` by processes.run_parallel, which owns
the processes. A `Worker` keeps one Markdown instance, one Jinja environment and one cache
connection for its process's whole life; that per-process state is what makes the pool fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from . import images
from .config import Config
from .errors import Problem, SitegenError, TemplateError
from .fingerprint import Fingerprinter, card_digest, outline_digest
from .outputdigest import output_digest
from .parsedrecords import pack_parsed, parse_key
from .records import PageSpec, PageState, SourceFile
from .sources import read_source
from .state import BuildState
from .urls import Urls
from .writer import Stager


@dataclasses.dataclass(frozen=True)
class RenderJob:
    """What every render worker needs besides its pages: small, whatever the site's size
    (on Dask it is sent to every worker; what is a page's own travels with it: RenderItem)."""

    digests: dict[str, str]
    config_digest: str
    staging: Path  # the staging folder pages are written into
    # "": bodies from this worker's cache connection (the local pool). Else the signature
    # of the database file as BuildState.freeze_for_readers left it: bodies read from that
    # file alone, opened read-only and immutable (Dask: workers anywhere on a shared
    # filesystem, where the write-ahead log cannot be shared)
    frozen_database: str = ""


class RenderItem(NamedTuple):
    """One page for a render worker: its spec, its output path, the state the last build
    left there (None: render it whatever its fingerprint, its file not being as that build
    left it, or there being none) and the parse-cache key of its article's body ("": none)."""

    spec: PageSpec
    rel: str
    previous: PageState | None
    body_key: str


@dataclasses.dataclass(frozen=True)
class ParseJob:
    """How parse workers use the build cache. `writes`: each puts its parsed rows and image
    uses into it (the local pool: one machine's SQLite). Else (Dask: workers anywhere on a
    shared filesystem, where SQLite cannot be shared) they never open it: the rows come back
    as `ToStore` outcomes for the parent to write, and `stored` (the parse keys the cache
    holds) tells them which sources the parent had not hashed are parsed already."""

    writes: bool = True
    stored: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class ToStore:
    """A parse outcome for the parent to store (ParseJob.writes False): `outcome` as the
    workers send it (a packed record or problems; None: the cache holds it under `key`),
    the body HTML of a parsed article, and the images it uses (images.Use as tuples)."""

    outcome: object
    key: str
    body: str | None = None
    uses: tuple[tuple, ...] = ()


def _with_data(src: SourceFile, config: Config) -> SourceFile:
    """A source's bytes, read by the worker that parses it: the parent never holds them all."""
    if src.data:
        return src
    return read_source(src.path, config.content_dir / src.path, src.bundle_files)


class Worker:
    """One worker process's state for its whole life (processes.run_parallel makes one per
    process): what it builds on first use is kept for every later chunk."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.urls = Urls(config)
        self.fingerprint = Fingerprinter()
        self._markdown: Any = None  # a markup.MarkdownRenderer once needed
        self._renderer: Any = None  # a render.Renderer once needed
        self._cache: BuildState | None = None
        self._stagers: dict[Path, Stager] = {}

    @property
    def cache(self) -> BuildState:
        """This worker's connection to the build cache, opened on first use."""
        if self._cache is None:
            self._cache = BuildState(self.config)  # the build opened and settled it
        return self._cache

    @property
    def markdown(self) -> Any:
        if self._markdown is None:
            from .markup import MarkdownRenderer  # only workers that convert need Markdown
            from .sanitize import Sanitizer
            from .shortcodes import Engine

            self._markdown = MarkdownRenderer(self.config.base_path,
                                              Sanitizer.from_config(self.config),
                                              Engine(self.config, self.urls, True),
                                              images.Resolver(self.config))
        return self._markdown

    @property
    def renderer(self) -> Any:
        if self._renderer is None:
            from .render import Renderer

            self._renderer = Renderer(self.config, cache_compiled=True)
        return self._renderer

    def stager(self, staging: Path) -> Stager:
        if staging not in self._stagers:
            self._stagers[staging] = Stager(staging)
        return self._stagers[staging]


def parse_many(worker: Worker, job: ParseJob | None, sources: list[SourceFile]
               ) -> list[tuple[str, str, object]]:
    """(path, digest, record) or (path, digest, problems) per source: the digest of the bytes
    read here, the article and its warnings packed as the cache keeps them (pickled once for
    both). Each parsed article and its body HTML go into the parse cache from here: the parent
    never receives the bodies. A source the parent had not hashed may be in the cache already
    (a touched, unchanged file): it is taken from there. Without `job.writes` each outcome
    is a ToStore and the cache is not opened (ParseJob)."""
    job = job or ParseJob()
    config = worker.config
    config_digest = output_digest(config)
    out: list[tuple[str, str, object]] = []
    read: list[tuple[SourceFile, str]] = []  # keyed by the bytes read here, not the parent's
    unhashed: list[str] = []
    for src in sources:
        try:
            data = _with_data(src, config)
        except OSError as exc:
            out.append((src.path, "", [Problem(Path(config.content_dir.name) / src.path,
                                               None, f"cannot read: {exc.strerror}")]))
            continue
        read.append((data, parse_key(src.path, data.digest, config_digest, src.bundle_files)))
        if not src.digest:
            unhashed.append(read[-1][1])
    if not job.writes:  # a source the parent had not hashed may be parsed already
        kept = job.stored.intersection(unhashed)
        return out + [(src.path, src.digest,
                       ToStore(None, key) if key in kept else _to_store(worker, src, key))
                      for src, key in read]
    known = worker.cache.get_parsed_blobs(unhashed) if unhashed else {}
    rows = []
    image_uses = []
    for src, key in read:
        if key in known:
            out.append((src.path, src.digest, known[key]))
            continue
        outcome, html = _parse_one(worker, src)
        uses = images.take_uses()  # the images it shows (recorded while it was parsed)
        image_uses.append((key, uses if html is not None else []))
        if html is None:
            out.append((src.path, src.digest, outcome))
            continue
        record = pack_parsed(*outcome)
        out.append((src.path, src.digest, record))
        rows.append((key, record, html))
    worker.cache.put_parsed(rows)
    images.remember_uses(config, image_uses)
    return out


def _to_store(worker: Worker, src: SourceFile, key: str) -> ToStore:
    outcome, html = _parse_one(worker, src)
    uses = tuple(dataclasses.astuple(use) for use in images.take_uses())
    if html is None:
        return ToStore(outcome, key)  # its uses, none now, replace what was recorded
    return ToStore(pack_parsed(*outcome), key, html, uses)


def _parse_one(worker: Worker, src: SourceFile) -> tuple[Any, str | None]:
    """((article, warnings), body HTML) or (problems, None)."""
    from . import content  # YAML and front matter: only where something is parsed
    from .htmlbody import is_html_source, render_html
    config = worker.config
    images.take_uses()  # from this article only
    markdown = worker.markdown
    try:
        parsed = content.parse_source(src, config, worker.urls)
    except content.ArticleError as exc:
        return exc.problems, None
    if is_html_source(src.path):  # an .html article: its body is HTML already
        rendered = render_html(parsed.body, config.base_path, markdown.sanitizer)
    else:
        from .shortcodes import Page

        page = Page(str(Path(config.content_dir.name) / src.path), parsed.body_line,
                    parsed.article, src.path)
        rendered = markdown.render(parsed.body, page)
    article = dataclasses.replace(
        parsed.article, summary=parsed.article.summary or rendered.excerpt,
        is_brief=not rendered.html, words=rendered.words,
        internal_links=_link_lines(rendered.internal_links, parsed.body, parsed.body_line))
    # its page shows its images too: a changed photo renders it again (images.py)
    article = dataclasses.replace(article, digest=images.fold_digest(article.digest,
                                                                     images.peek_uses()))
    article = dataclasses.replace(article, card=card_digest(article),
                                  outline=outline_digest(article))
    # shortcode calls that could not render: errors, unless --keep-going (parse._collect)
    return (article, parsed.warnings + rendered.shortcode_problems), rendered.html


def _link_lines(links: Sequence[str], body: str, body_line: int) -> tuple[tuple[str, int], ...]:
    out = []
    for link in links:
        at = body.find(link)
        out.append((link, body_line + body.count("\n", 0, at) if at >= 0 else body_line))
    return tuple(out)


def render_many(worker: Worker, job: RenderJob, items: list[RenderItem]) -> list:
    """(output path, PageState, Staged or None) per page, or Problems."""
    config = worker.config
    out: list = []
    to_render: list[tuple[RenderItem, str]] = []
    for item in items:
        spec = item.spec
        fp = worker.fingerprint(spec.template, job.digests.get(spec.template, ""),
                                job.config_digest, spec.context, spec.body_of)
        if item.previous is not None and item.previous.fingerprint == fp:
            out.append((item.rel, item.previous, None))
        else:
            to_render.append((item, fp))
    bodies = _bodies(worker, job, [item.body_key for item, _ in to_render
                                   if item.spec.body_of])
    stager = worker.stager(job.staging)
    for item, fp in to_render:
        spec, rel = item.spec, item.rel
        if spec.body_of and item.body_key not in bodies:  # never rendered without its body
            out.append(Problem(Path(config.output_dir.name) / rel, None,
                               "the build cache lost the body of this page's article; "
                               "run `sitegen build --clean`"))
            continue
        try:
            data = worker.renderer.render(spec, bodies[item.body_key] if spec.body_of else "")
        except TemplateError as exc:
            out.extend(exc.problems)
            if len(out) > 20:
                break
            continue
        staged = stager.stage(rel, data)
        out.append((rel, PageState(fp, staged.out_hash), staged))
    return out


def _bodies(worker: Worker, job: RenderJob, keys: list[str]) -> dict[str, str]:
    """Body HTML by parse key: from the worker's connection, or from the frozen database
    file (RenderJob.frozen_database), checked unchanged before and after it is read."""
    if not job.frozen_database:
        return worker.cache.bodies(keys)
    if not keys:
        return {}
    state = BuildState(worker.config, read_only=True)
    try:
        if state.database_signature() == job.frozen_database:
            bodies = state.bodies(keys)
            if state.database_signature() == job.frozen_database:
                return bodies
    finally:
        state.close()
    raise SitegenError(f"{state.files.database} changed while the pages were rendered: "
                       "run the build again")


def make_images(worker: Worker, job: None, jobs: list) -> list[Problem | None]:
    """Each job's derived image files, or the Problem that stopped it (images.make)."""
    return [images.make(item, worker.config) for item in jobs]
