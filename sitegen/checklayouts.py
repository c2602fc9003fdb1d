"""`sitegen check`'s layouts: each compiles, and each renders one real page of every kind it
is used for (check.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import jinja2

from .config import Config
from .errors import Problem, TemplateError
from .records import Article, PageSpec
from .render import Renderer
from .urls import Urls

# Fields whose branches an article layout is most likely to have: the richest article
# (most of these set) is the one rendered to check it.
_ARTICLE_FEATURES = ("image", "updated", "corrections", "link", "dateline", "source_name",
                     "story", "section", "tags", "authors", "summary", "revisions", "extra")


def layout_problems(config: Config, specs: Sequence[PageSpec], keys: dict[str, str],
                    body: Callable[[str], str], reported: Iterable[Problem]) -> list[Problem]:
    """The layouts' syntax errors, then the errors of rendering one page of each (layout,
    kind) of `specs` (`keys`: article URL -> parse-cache key of its body, read by `body`);
    none at a file and line already `reported`."""
    problems: list[Problem] = []
    renderer = Renderer(config)
    env = renderer.env
    shortcodes = None
    for name in env.list_templates():
        if name.startswith("assets/"):
            continue
        try:
            if name.startswith("shortcodes/"):  # compiled with their own filters
                shortcodes = shortcodes or shortcode_env(config)
                shortcodes.get_template(name[len("shortcodes/"):])
                continue
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(_display(config, exc.filename or name), exc.lineno,
                                    exc.message or str(exc)))
        except UnicodeDecodeError:
            problems.append(Problem(_display(config, name), None, "layout is not valid UTF-8"))
    # A syntax error is reported once above; a runtime error once, with its first page.
    seen: set[tuple[str, int | None, str]] = {(str(p.path), p.line, "")
                                              for p in (*reported, *problems)}
    for spec in _one_per_kind(specs):
        text = body(keys[spec.url]) if spec.body_of and spec.url in keys else ""
        try:
            renderer.render(spec, text)
        except TemplateError as exc:
            for problem in exc.problems:
                path = _display(config, str(problem.path))
                if {(path, problem.line, ""), (path, problem.line, problem.message)} & seen:
                    continue
                seen.add((path, problem.line, problem.message))
                problems.append(dataclasses.replace(
                    problem, path=path, message=f"{problem.message} (rendering {spec.url})"))
    return problems


def shortcode_env(config: Config) -> jinja2.Environment:
    """The environment shortcode templates render in (their filters and globals)."""
    from .shortcodes import Engine

    return Engine(config, Urls(config)).env


def _one_per_kind(specs: Iterable[PageSpec]) -> list[PageSpec]:
    """One page for each (layout, kind); for articles the one with the most fields set."""
    chosen: dict[tuple[str, str], PageSpec] = {}
    score: dict[tuple[str, str], int] = {}
    for spec in specs:
        key = (spec.template, spec.kind)
        article = spec.context.get("article")
        points = sum(bool(getattr(article, f, None)) for f in _ARTICLE_FEATURES) \
            if isinstance(article, Article) else 0
        if key not in chosen or points > score[key]:
            chosen[key], score[key] = spec, points
    return list(chosen.values())


def _display(config: Config, path: str) -> str:
    """A layout's path relative to the site folder when it lies inside it."""
    try:
        return Path(path).resolve().relative_to(config.site_dir).as_posix()
    except ValueError:
        return path
