"""The render stage: every planned page whose fingerprint changed, rendered by the workers
into the staging folder (nothing touches `output/` until every page has rendered)."""

from __future__ import annotations

from .errors import Problem, TemplateError
from .outputdigest import output_digest
from .plan import Plan
from .records import PageState
from .run import Run
from .writer import Rendered, Staged, Writer


def render_pages(run: Run, writer: Writer, plan: Plan, body_keys: dict[str, str]) -> Rendered:
    """Render into the staging folder every page of the plan whose fingerprint changed
    (`body_keys`: article URL -> parse-cache key of its body).

    Pages whose file is not as the last build left it (`plan.not_as_left`) are rendered
    whatever their fingerprint; the pages not planned again (`plan.kept`) keep their states.
    Workers fingerprint their own share of the pages, so that work is parallel too.
    """
    from .processes import Work, run_parallel
    from .render import template_digests as digests_of  # Jinja2 only once there is work
    from .workers import RenderJob, Worker, render_many

    config = run.config
    writer.discard_staging()
    # Dask's workers may be on other machines: they read the bodies from the database file
    # alone, which nothing writes until every page has rendered (BuildState.freeze_for_readers)
    frozen = run.cache.freeze_for_readers() if config.engine == "dask" else ""
    job = RenderJob(plan.template_digests or digests_of(config),
                    output_digest(config), run.previous, plan.not_as_left,
                    body_keys, writer.staging, frozen)
    staged: list[Staged] = []
    states: dict[str, PageState] = dict(plan.kept)
    problems: dict[str, Problem] = {}
    for outcome in run_parallel(Work(render_many, plan.specs, Worker, "render", job), config,
                                run.progress):
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
    return Rendered(tuple(staged), states)
