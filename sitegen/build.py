"""`build(config) -> BuildReport`: the pipeline's stages in order, each timed.

load (scan.py) -> parse + Markdown (parse.py: parallel, cached) -> history -> images ->
index -> plan (plan.py) -> render (rendering.py: the pages planned a batch at a time as
they render, in parallel, only pages whose fingerprint changed, into a staging folder) ->
write (copies.py, writer.py) -> search -> commit. Nothing touches `output/` until every page
has rendered, so a failed build leaves the previous site as it was.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack

from . import compat, search
from .cache import healing
from .codeid import code_digest
from .config import Config
from .copies import planned_copies
from .outputtree import OutputError, delete_discarded, has_discarded, locked
from .parse import attach_history, derived_images, parse_articles
from .plan import index_articles, outline_of, plan_run, remember_plan
from .processes import Background, Progress, engine
from .records import BuildReport
from .rendering import render_pages
from .run import Run, StageTimer, cyclic_gc_paused, release_free_memory
from .scan import remember_build, scan, unchanged_since_last_build, with_digests
from .state import BuildState
from .urls import Urls
from .writer import (
    Writer,
    files_not_as_left,
    find_strays,
    refuse_foreign_output,
    remember_pages,
    write_output,
)

# The stage modules import what they work with (Markdown, Jinja2, the indexes) when they
# run: a build that finds nothing changed (the common case in `serve` and CI) imports none.


def build(config: Config, progress: Progress | None = None,
          log: Callable[[str], None] | None = None) -> BuildReport:
    """One build into `config.output_dir`, holding its lock (a second build waits)."""
    started = time.perf_counter()
    code_digest()  # read once, before any process is forked: a build keys all it keeps by it
    if config.search:  # an unsupported Pagefind stops the build before it writes anything
        search.check_pagefind()
    compat.check_all()  # an untested Markdown or Jinja said once, not by each forked worker
    with locked(config.output_dir, say=log) as work, engine(config):  # Dask: one cluster
        refuse_foreign_output(config)
        if config.clean:  # forget every earlier build: parsed articles, page states, search
            shutil.rmtree(config.cache_dir, ignore_errors=True)
        writer = Writer(config.output_dir, work)
        try:
            report = healing(lambda: _build(config, writer, progress, log, started),
                             config.cache_dir, config.output_dir)  # a damaged cache: once more
            # the time to the end, past the stages: letting go of a million articles' records
            # and closing the build state took ~2 s more
            return dataclasses.replace(report, seconds=time.perf_counter() - started)
        except OSError as exc:  # disk full, read-only folder: named, the old site stays
            where = exc.filename or config.output_dir
            raise OutputError(f"cannot write {where}: {exc.strerror or exc}; "
                              f"{config.output_dir} is left as it was") from exc
        finally:
            writer.discard_staging()


def _build(config: Config, writer: Writer, progress: Progress | None,
           log: Callable[[str], None] | None, started: float) -> BuildReport:
    timer = StageTimer(log if config.verbose else None)
    with BuildState.open(config) as cache, \
            cyclic_gc_paused(), ExitStack() as stack:
        with timer.stage("load"):
            run = Run(config, cache, cache.page_states(), progress)  # what the last build wrote
            writer.set_aside_stale_spare(start_empty=not run.previous)
            if has_discarded(writer.work):  # deleted in a forked process as the build goes on
                stack.enter_context(Background(delete_discarded, writer.work))
            # a stat of every output file, in a forked process while this one reads the sources
            disturbed = stack.enter_context(
                Background(files_not_as_left, config.output_dir, run.previous))
            found = scan(run)
            unchanged = unchanged_since_last_build(run, found.inputs, disturbed)
        if unchanged is not None:
            return dataclasses.replace(unchanged, seconds=time.perf_counter() - started,
                                       stage_seconds=tuple(timer.stages))
        strays = stack.enter_context(  # another forked walk, while the build renders
            Background(find_strays, config.output_dir,
                       run.previous, frozenset(cache.file_signatures())))
        with timer.stage("parse"):
            loaded = parse_articles(found.sources, config, cache, progress, outline=True,
                                    folder_digests=found.folder_digests)
            found = with_digests(run, found, loaded.digests)  # when the workers hashed them
            loaded = dataclasses.replace(loaded, digests={})  # read by no later stage (~250 B each)
            release_free_memory()  # the stage's dropped messages and tables (run.py)
        if config.git_history:
            with timer.stage("history"):
                loaded = attach_history(loaded, config)
        with timer.stage("images"):  # derived photos the cache lacks (images.py)
            derived = derived_images(config, loaded, progress)
        with timer.stage("index"):
            indexes = index_articles(loaded, config, cache)
        with timer.stage("plan"):
            plan = plan_run(run, indexes, found.intros, disturbed.result())
            outline = outline_of(plan, indexes.articles, config)
        with timer.stage("render"):  # the pages are planned as they are rendered, in batches
            rendered = render_pages(run, writer, plan, outline.following(plan.pages()),
                                    loaded.keys)
        with timer.stage("write"):
            copies = planned_copies(config, loaded.articles, derived, rendered.states.keys())
            written = write_output(run, writer, rendered, copies, strays.result())
        search_seconds = 0.0
        search_folders: tuple[str, ...] = ()
        search_files: tuple[str, ...] = ()
        if config.search:
            with timer.stage("search"):
                changed_urls = Urls(config).served_by(written.result.written_paths) & \
                    {a.url for a in loaded.articles}
                searched = search.update_search_index(
                    config, indexes.articles, changed_urls,
                    search.OutputHashes(written.states),
                    tree=writer.tree, generations=(writer.generation_before, writer.generation))
            search_seconds = timer.stages[-1][1]
            search_folders, search_files = searched.changed_folders, searched.changed_files
        with timer.stage("commit"):
            writer.finish(search_folders, search_files)
            if not config.search:
                search.follow_generation(config, writer.generation_before, writer.generation)
            remember_pages(run, written)
            remember_plan(run, plan, outline, indexes.articles)  # 3.6 s in an edit at a million
        from .redirects import redirect_count

        result = written.result
        report = BuildReport(
            articles=len(loaded.articles), pages_planned=len(outline.kinds) + len(plan.kept),
            pages_rendered=len(rendered.staged), files_written=result.written,
            files_unchanged=result.unchanged, files_removed=result.removed,
            seconds=time.perf_counter() - started, stage_seconds=tuple(timer.stages),
            warnings=tuple(map(str, loaded.warnings)), skipped=tuple(map(str, loaded.skipped)),
            search_seconds=search_seconds, unused=found.unused,
            redirects=redirect_count(indexes.articles, config),
        )
        remember_build(run, found.inputs, loaded.valid_until, report)
    return report
