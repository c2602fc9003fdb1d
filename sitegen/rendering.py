"""The render stage: every planned page whose fingerprint changed, rendered by the workers
into the staging folder (nothing touches `output/` until every page has rendered).

The planner hands over its pages one at a time and they are rendered a batch at a time, so
the build holds one batch of specs, never the whole site's (a million articles make ~1.8
million pages, ~1.7 KB of spec each); what must see every page (two pages wanting one URL,
the sitemap, the skeleton) notes a few strings and ints of each as it streams past."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Set
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import Problem, TemplateError
from .outputdigest import output_digest
from .pagestates import NEW_TABLE, NewStates, add_new_states, start_new_states
from .plan import Plan
from .processes import Progress
from .records import PageSpec, PageState
from .run import Run, release_free_memory
from .urls import Urls
from .writer import Rendered, StagedPages, Writer

if TYPE_CHECKING:
    from .workers import RenderItem

# Pages per batch: each batch forks the pool again (~0.5 s of CPU at 20,000 articles: its
# workers start a renderer and a cache connection anew), and its specs are what the build
# holds of the plan at a time (~1.7 KB a page). Sending pickled chunks to one pool instead
# cost ~0.4 ms a page (7 KB pickled each), half of it in this process: ~8 times as much.
BATCH_PAGES = 10_000
# A sitemap part lists up to 50,000 pages (feeds.SITEMAP_LIMIT), about as much memory as
# the specs of a tenth as many pages: it weighs that much in a batch.
ENTRIES_PER_PAGE = 10
# A forked worker copies each page of memory whose objects it reads (their reference counts
# change): a batch of 10,000 listing pages of 20 articles each had the two workers copy
# ~0.9 GB each at a million articles. The articles a page shows weigh in its batch too.
SHOWN_PER_PAGE = 4


def render_pages(run: Run, writer: Writer, plan: Plan, specs: Iterable[PageSpec],
                 body_keys: Mapping[str, str]) -> Rendered:
    """Render into the staging folder every page of `specs` (the plan's pages, as they are
    planned) whose fingerprint changed (`body_keys`: article URL -> parse-cache key of its
    body).

    Pages whose file is not as the last build left it (`plan.not_as_left`) are rendered
    whatever their fingerprint; the pages not planned again (`plan.kept`) keep their states.
    The planned pages' states go into the build state's database a batch at a time
    (pagestates.NEW_TABLE), not into this process's memory.
    Workers fingerprint their own share of the pages, so that work is parallel too. After a
    template error the rest of the plan is still planned (two pages wanting one URL are
    found), but not rendered.
    """
    from .processes import Work, run_parallel
    from .render import template_digests as digests_of  # Jinja2 only once there is work
    from .workers import RenderJob, Worker, render_many

    config = run.config
    writer.discard_staging()
    # Dask's workers may be on other machines: they read the bodies from the database file
    # alone, which nothing writes until every page has rendered (BuildState.freeze_for_readers)
    frozen = run.cache.freeze_for_readers() if config.engine == "dask" else ""
    job = RenderJob(plan.template_digests or digests_of(config), output_digest(config),
                    writer.staging, frozen)
    items = _Items(Urls(config), run.previous, plan.not_as_left, body_keys)
    db = run.cache.db
    start_new_states(db)
    problems: dict[str, Problem] = {}
    done = 0
    with _no_checkpoints(db, bool(frozen)):
        for batch in batches(specs, BATCH_PAGES):
            if problems:
                continue
            release_free_memory()  # what the last batch's specs and items left (run.py)
            work = Work(render_many, [items.of(spec) for spec in batch], Worker, "render", job)
            rows = []
            for outcome in run_parallel(work, config,
                                        _progress(run.progress, done, len(work.items))):
                if isinstance(outcome, Problem):
                    problems.setdefault(str(outcome), outcome)
                    continue
                rel, state, item = outcome
                rows.append((rel, *state, item is not None))
            add_new_states(db, rows)
            done += len(work.items)
    if problems:
        writer.discard_staging()
        raise TemplateError(list(problems.values()))
    planned = run.cache.page_states().beside(NEW_TABLE)
    return Rendered(StagedPages(planned, planned.staged_count()),
                    NewStates(planned, plan.kept, run.previous))


@contextmanager
def _no_checkpoints(db: sqlite3.Connection, frozen: bool) -> Iterator[None]:
    """While Dask's workers read the frozen database file (BuildState.freeze_for_readers),
    the states written meanwhile stay in the write-ahead log: no checkpoint moves them into
    that file."""
    if not frozen:
        yield
        return
    (before,) = db.execute("PRAGMA wal_autocheckpoint").fetchone()
    db.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        db.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")


def batches(specs: Iterable[PageSpec], size: int) -> Iterator[list[PageSpec]]:
    """`specs` in lists of about `size` pages' worth (see ENTRIES_PER_PAGE)."""
    batch: list[PageSpec] = []
    weight = 0
    for spec in specs:
        batch.append(spec)
        weight += 1 + len(spec.context.get("entries", ())) // ENTRIES_PER_PAGE \
            + len(spec.shows or ()) // SHOWN_PER_PAGE
        if weight >= size:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch


class _Items:
    """Each page's RenderItem: what the worker needs of the last build's states and of the
    bodies travels with the page, not with every worker's job."""

    def __init__(self, urls: Urls, previous: Mapping[str, PageState], not_as_left: Set[str],
                 body_keys: Mapping[str, str]):
        from .workers import RenderItem

        self._item, self._urls = RenderItem, urls
        self._previous, self._not_as_left, self._body_keys = previous, not_as_left, body_keys

    def of(self, spec: PageSpec) -> RenderItem:
        rel = self._urls.output_path(spec.url)
        previous = None if rel in self._not_as_left else self._previous.get(rel)
        return self._item(spec, rel, previous,
                          self._body_keys.get(spec.url, "") if spec.body_of else "")


def _progress(progress: Progress | None, before: int, count: int) -> Progress | None:
    """The stage's progress across batches: its total grows as the pages are planned."""
    if progress is None:
        return None
    return lambda label, done, _total: progress(label, before + done, before + count)
