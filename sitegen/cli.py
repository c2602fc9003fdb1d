"""The `sitegen` command: parses arguments into one Config and turns errors into exit codes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from . import __version__
from .build import build
from .config import Config, load_config
from .errors import SitegenError

# Plain click output: importing rich costs ~0.1 s, a third of a no-change rebuild. rich is
# imported only for the progress bar (in a terminal) and by `serve`.


def say(text: str, style: str | None = None, err: bool = True) -> None:
    click.secho(text, fg=style, err=err)


def _problem_style(severity: str) -> str:
    return "red" if severity == "error" else "yellow"


def _fail(exc: SitegenError, output: Path | None = None) -> None:
    problems = getattr(exc, "problems", None)
    if problems:
        for problem in problems:
            say(str(problem), _problem_style(problem.severity))
        left = f"; {output} left as it was" if output else ""
        say(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}{left}.")
    else:
        say(f"error: {exc}", "red")
    sys.exit(exc.exit_code)


def _site_options(func):
    func = click.argument("site", required=False, default=".",
                          type=click.Path(file_okay=False, path_type=Path))(func)
    func = click.option("--content", "content_dir", type=click.Path(path_type=Path),
                        help="Folder of articles (default: SITE/content).")(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sitegen")
def main() -> None:
    """sitegen: turn a folder of Markdown news articles into a static news site."""


@main.command("build")
@_site_options
@click.option("--output", "output_dir", type=click.Path(path_type=Path),
              help="Where the site is written (default: SITE/output).")
@click.option("--base-url", help="Public URL of the site, e.g. https://user.github.io/repo/.")
@click.option("--drafts", is_flag=True, default=None, help="Include drafts.")
@click.option("--future", is_flag=True, default=None,
              help="Include embargoed (future-dated) and expired articles.")
@click.option("--no-search", "no_search", is_flag=True, help="Skip the Pagefind index.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--engine", type=click.Choice(["local", "dask"]),
              help="Where parallel work runs: a local process pool (default) or Dask "
                   "(the `dask` extra).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: an existing cluster's scheduler, e.g. "
                   "tcp://HOST:8786 (default: a LocalCluster of --jobs workers).")
@click.option("--strict", is_flag=True, default=None, help="Treat warnings as errors.")
@click.option("--force", is_flag=True, default=None,
              help="Build into an existing folder sitegen did not write (replaces its files).")
@click.option("--clean", is_flag=True, default=None,
              help="Forget the build cache and rebuild everything.")
@click.option("--keep-going", is_flag=True, default=None,
              help="Skip articles with errors, list them, and build the rest.")
@click.option("--verbose", "-v", is_flag=True, default=None, help="Print each stage's time.")
def build_command(site: Path, no_search: bool, **options) -> None:
    """Build the site into the output folder."""
    config = _config(site, search=False if no_search else None, **options)
    report = _run_build(config)
    for warning in report.warnings:
        say(warning, "yellow")
    for skipped in report.skipped:
        say(f"skipped {skipped}", "yellow")
    if config.verbose:
        for rel in report.unused:
            say(f"not used: {config.content_dir.name}/{rel}")
    say(report.summary_line(), err=False)


def _config(site: Path, **options) -> Config:
    try:
        return load_config(site, **options)
    except SitegenError as exc:
        _fail(exc)
        raise  # unreachable: _fail exits


def _run_build(config: Config):
    try:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(stderr=True, highlight=False)
            with Progress(TextColumn("{task.description:<8}"), BarColumn(),
                          MofNCompleteColumn(), TextColumn("{task.fields[rate]:>9}"),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                tasks: dict[str, tuple[int, float]] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:  # items per second from the stage's first report
                        tasks[stage] = (bar.add_task(stage, total=total, rate=""),
                                        time.monotonic())
                    task, started = tasks[stage]
                    seconds = time.monotonic() - started
                    bar.update(task, completed=done, total=total,
                               rate=f"{done / seconds:,.0f}/s" if seconds >= 1 else "")

                return build(config, progress, log=console.print)
        return build(config, log=say)
    except SitegenError as exc:
        _fail(exc, config.output_dir)
    except KeyboardInterrupt:
        say(f"Interrupted: {config.output_dir} holds the old site or the new one, whole.", "yellow")
        sys.exit(130)


@main.command("serve")
@_site_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Requests must name localhost, 127.0.0.1, [::1] or this "
                   "host in their Host header (others get 421: a guard against DNS "
                   "rebinding); 0.0.0.0 or :: serves the whole network and accepts any Host.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--drafts", is_flag=True, default=None, help="Include drafts.")
@click.option("--future", is_flag=True, default=None,
              help="Include embargoed (future-dated) and expired articles.")
@click.option("--no-search", "no_search", is_flag=True, help="Skip the Pagefind index.")
@click.option("--verbose", "-v", is_flag=True, default=None, help="Print each stage's time.")
def serve_command(site: Path, host: str, port: int, no_search: bool, **options) -> None:
    """Build, serve the output on HOST:PORT and rebuild and reload on every save."""
    from .serve import serve

    given = {"search": False if no_search else None, **options}
    overrides = {key: value for key, value in given.items() if value is not None}
    config = _config(site, **overrides)
    try:
        serve(config, host=host, port=port, overrides=overrides)
    except SitegenError as exc:
        _fail(exc)


@main.command("new")
@click.argument("title")
@click.option("--site", "site", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="The site folder (default: the current folder).")
@click.option("--section", help="Section of the article.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for more).")
@click.option("--author", "authors", multiple=True, help="An author (repeat for more).")
def new_command(title: str, site: Path, section: str | None, tags: tuple[str, ...],
                authors: tuple[str, ...]) -> None:
    """Write a new draft article content/YYYY/MM/<slug>.md and print its path."""
    from .authoring import new_article

    config = _config(site)
    try:
        path = new_article(config, title, section=section, tags=list(tags),
                           authors=list(authors))
    except SitegenError as exc:
        _fail(exc)
    say(str(path), err=False)


@main.command("due")
@_site_options
@click.option("--since", metavar="TIME",
              help="When the deployed site was built (ISO 8601; UTC without an offset). "
                   "Without it, a build is due.")
def due_command(site: Path, since: str | None, **options) -> None:
    """Exit 0 (due) when a publication moment (an embargo's end, an expiry, the end of the
    news or featured window) has passed since TIME, else 1; 2 on an error."""
    from .due import due_since, parse_since

    try:
        when = parse_since(since) if since else None
    except ValueError:
        say(f"error: --since {since!r} is not an ISO 8601 time", "red")
        sys.exit(2)
    config = _config(site, **options)
    try:
        answer = due_since(config, when)
    except SitegenError as exc:
        for problem in getattr(exc, "problems", None) or ():
            say(str(problem), _problem_style(problem.severity))
        say(f"error: {exc}" if not getattr(exc, "problems", None) else "not answered", "red")
        sys.exit(2)
    say(answer.message(when), err=False)
    sys.exit(0 if answer.due else 1)


@main.command("check")
@_site_options
@click.option("--strict", is_flag=True, default=None, help="Treat warnings as errors.")
@click.option("--fix", is_flag=True, help="Add the aliases that keep changed URLs working.")
def check_command(site: Path, fix: bool, **options) -> None:
    """Validate articles, links, images, layouts and changed URLs; writes nothing but what
    --fix adds to front matter."""
    from .check import check_site

    config = _config(site, **options)
    notes: list[str] = []
    try:
        problems = check_site(config, fix=fix, notes=notes)
    except SitegenError as exc:
        _fail(exc)
    for note in notes:
        say(note)
    errors = [p for p in problems if p.severity == "error"]
    fixed = [p for p in problems if p.severity == "fixed"]
    for problem in problems:
        say(str(problem), "green" if problem in fixed else _problem_style(problem.severity))
    mended = f", {len(fixed)} fixed" if fixed else ""
    say(f"{len(errors)} errors, {len(problems) - len(errors) - len(fixed)} warnings{mended}",
        err=False)
    sys.exit(1 if errors or fixed else 0)  # a fix is not staged yet: the commit would lose it


@main.group("import")
def import_group() -> None:
    """Import another system's export into the content folder."""


@import_group.command("wordpress")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", "site", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="The site folder (default: the current folder).")
@click.option("--into", "into", type=click.Path(file_okay=False, path_type=Path),
              help="Folder the posts are written to (default: the site's content folder).")
@click.option("--media", "media", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The site's uploads folder (wp-content/uploads): files posts use are "
                   "copied into their bundles.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the report is written (default: SITE/wordpress-import-report.txt).")
@click.option("--force", is_flag=True, help="Overwrite files edited since they were imported.")
def import_wordpress_command(export: Path, site: Path, into: Path | None, media: Path | None,
                             report_path: Path | None, force: bool) -> None:
    """Import the posts of a WordPress export (WXR, Tools > Export) as page bundles."""
    try:
        import bs4  # noqa: F401
        import markdownify  # noqa: F401
    except ImportError:
        say("error: importing from WordPress needs markdownify: "
            "pip install 'sitegen[wordpress]'", "red")
        sys.exit(2)
    from .importers.wordpress import Importer, write_report

    config = _config(site)
    into = into or config.content_dir
    report_path = report_path or config.site_dir / "wordpress-import-report.txt"
    try:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            with Progress(TextColumn("{task.description:<8}"), BarColumn(), DownloadColumn(),
                          console=Console(stderr=True), transient=True) as bar:
                tasks: dict[str, int] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.update(tasks[stage], completed=done)

                report = Importer(config, export, into, media, force, progress).run()
        else:
            report = Importer(config, export, into, media, force).run()
        write_report(report, report_path, export)
    except SitegenError as exc:
        _fail(exc)
    except OSError as exc:
        say(f"error: {exc}", "red")
        sys.exit(1)
    say(report.summary(), err=False)
    say(f"report: {report_path}", err=False)


def run() -> None:
    """The `sitegen` console script: `main`, then an exit that skips the interpreter's teardown.
    Freeing a build's objects one by one (10,000 articles, their pages and indexes) took ~50 ms
    of a 1.3 s rebuild; every file and process is closed by then."""
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


if __name__ == "__main__":
    run()
