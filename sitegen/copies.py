"""The files a build copies as they are: theme assets (site layouts override the built-in
ones), static/, page-bundle files, and the photos' derived files; none may land where
another generated or copied file goes."""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from pathlib import Path

from .config import Config
from .errors import ContentError, Problem
from .images import RESERVED as RESERVED_IMAGES
from .records import Article
from .scan import files_under
from .sources import layout_dirs
from .urls import Urls
from .writer import CopyJob, extra_files


def planned_copies(config: Config, articles: Sequence[Article], derived: Sequence[CopyJob],
                   pages: Container[str]) -> list[CopyJob]:
    """Every file to copy (`derived`: the photos' derived files, images.py), refused when one
    would land on one of the `pages` or the extra files, or where another copy goes."""
    copies = [*copy_jobs(config, articles, Urls(config)), *derived]
    clashes = copy_clashes(config, copies, _Either(pages, extra_files(config)))
    if clashes:
        raise ContentError(clashes)
    return copies


def copy_jobs(config: Config, articles: Sequence[Article], urls: Urls) -> Iterator[CopyJob]:
    """Theme assets (site layouts override the built-in ones), static/, page-bundle files."""
    assets: dict[str, Path] = {}
    for layouts in reversed(layout_dirs(config)):
        assets.update(files_under(layouts / "assets", "assets/"))
    yield from (CopyJob(path, rel) for rel, path in sorted(assets.items()))
    for rel, path in sorted(files_under(config.static_dir, "").items()):
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


class _Either(Container[str]):
    """Paths in any of `parts`, each asked in turn: a set of every page's path cost a
    read of the whole pages table (1.3 million rows at a million articles) on every edit."""

    def __init__(self, *parts: Container[str]):
        self.parts = parts

    def __contains__(self, rel: object) -> bool:
        return any(rel in part for part in self.parts)


def copy_clashes(config: Config, copies: Sequence[CopyJob], pages: Container[str]
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
