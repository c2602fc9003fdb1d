"""Slugs, permalinks and output paths: every URL of the site is made here and only here.

URLs handed to templates are site paths that already carry the base path of `base_url`
(`/repo/2019/02/14/slug/` for a project site), so templates never join URLs themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set
from datetime import datetime
from functools import lru_cache

from .config import Config

SAFE_SLUG = re.compile(r"^[\w][\w.~-]*$")


@lru_cache(maxsize=65536)
def slugify(name: str) -> str:
    """python-slugify's defaults: "Marco Rubio" -> "marco-rubio"."""
    from slugify import slugify as python_slugify  # on first use: a no-change build needs none

    return python_slugify(name)


def is_safe_slug(slug: str) -> bool:
    """A slug that is one path segment and cannot climb out of `output/`."""
    return bool(SAFE_SLUG.match(slug)) and ".." not in slug


class Urls:
    """Builds every URL of one site from its config."""

    def __init__(self, config: Config):
        self.base = config.base_path
        self.origin = config.origin
        self.permalink = config.permalink

    def page(self, path: str) -> str:
        """A site path ('/a/b/') as a URL with the base path ('/repo/a/b/')."""
        return self.base + path.lstrip("/")

    def absolute(self, url: str) -> str:
        return url if "://" in url else self.origin + url

    def paged(self, first: str, number: int) -> str:
        return first if number <= 1 else f"{first}page/{number}/"

    def article(self, slug: str, date: datetime) -> str:
        return self.page(self.permalink.format(
            year=f"{date.year:04d}", month=f"{date.month:02d}", day=f"{date.day:02d}", slug=slug))

    def home(self) -> str:
        return self.base

    def archive(self) -> str:
        return self.page("archive/")

    def year(self, year: int) -> str:
        return self.page(f"{year:04d}/")

    def month(self, year: int, month: int) -> str:
        return self.page(f"{year:04d}/{month:02d}/")

    def day(self, year: int, month: int, day: int) -> str:
        return self.page(f"{year:04d}/{month:02d}/{day:02d}/")

    def term_list(self, kind: str) -> str:
        return self.page(f"{kind}/")

    def term(self, kind: str, slug: str) -> str:
        return self.page(f"{kind}/{slug}/")

    def feed(self, scope_url: str | None = None, atom: bool = False) -> str:
        name = "atom.xml" if atom else "feed.xml"
        return (scope_url or self.base) + name

    def search(self) -> str:
        return self.page("search/")

    def file(self, name: str) -> str:
        return self.page(name)

    def output_path(self, url: str) -> str:
        """The file, relative to `output/`, that serves a URL: '/repo/a/' -> 'a/index.html'."""
        if not url.startswith(self.base):
            raise ValueError(f"URL {url!r} is outside the base path {self.base!r}")
        rel = url[len(self.base):]
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        return safe_relative_path(rel)

    def served_by(self, rel_paths: Iterable[str]) -> set[str]:
        """The URLs these output files serve (`output_path` the other way round)."""
        urls = set()
        for rel in rel_paths:
            urls.add(self.base + rel)
            if rel == "index.html" or rel.endswith("/index.html"):
                urls.add(self.base + rel[:-len("index.html")])
        return urls

    def internal_target(self, href: str) -> str | None:
        """The site path a root-relative link points to, without query or fragment."""
        if not href.startswith("/") or href.startswith("//"):
            return None
        return re.split(r"[?#]", href, maxsplit=1)[0]


def url_filter(wanted: Set[str] | None) -> Callable[[str], bool]:
    """Whether a planner makes the spec of a URL: every one, or only the `wanted` ones."""
    return (lambda url: True) if wanted is None else wanted.__contains__


def safe_relative_path(rel: str) -> str:
    """A relative POSIX path that cannot leave the folder it is joined to.

    Substring checks on the path framed by slashes: an empty, "." or ".." part shows as
    "//", "/./" or "/../" (this runs for every page of every build; pathlib cost 1 s at 10k,
    splitting into parts 30 ms).
    """
    framed = f"/{rel}/"
    if "//" in framed or "/./" in framed or "/../" in framed or "\\" in rel or "\0" in rel:
        raise ValueError(f"unsafe output path {rel!r}")
    return rel
