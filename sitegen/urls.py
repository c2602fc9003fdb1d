"""Slugs, permalinks and output paths: every URL of the site is made here and only here.

URLs handed to templates are site paths that already carry the base path of `base_url`
(`/repo/2019/02/14/slug/` for a project site), so templates never join URLs themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from .config import Config
from .slugs import FILE_LIKE_SLUG as FILE_LIKE_SLUG
from .slugs import MAX_SLUG_BYTES as MAX_SLUG_BYTES
from .slugs import SAFE_SLUG as SAFE_SLUG
from .slugs import is_safe_slug as is_safe_slug
from .slugs import slug_problem as slug_problem
from .slugs import slugify as slugify

# Every top-level name the site itself writes (folders and files), compared case-folded.
SITE_ROOT_NAMES = frozenset({
    "archive", "tags", "sections", "authors", "search", "assets", "pagefind", "page",
    "index.html", "404.html", "feed.xml", "atom.xml", "sitemap.xml", "news-sitemap.xml",
    "robots.txt", ".nojekyll", "cname", "_redirects", "on-this-day",
    "feed.json", "stories", "corrections", "data",
})
SITEMAP_PART = re.compile(r"^sitemap-\d+\.xml$")
DATE_ARCHIVE_PATH = re.compile(r"^\d{4}/(?:\d{2}/(?:\d{2}/)?)?$")
# A site path written in front matter names a file when it ends like one, else a folder.
HTML_FILE = re.compile(r"\.html?$", re.IGNORECASE)
MAX_SEGMENT_BYTES = 255  # a file name on every common file system


def site_path_problem(path: str) -> str | None:
    """Why a site path written in front matter (an alias, Hugo's `url`, Jekyll's `permalink`)
    cannot be served from a file of the site, or None when it can."""
    text = path.strip()
    if not text:
        return "is empty"
    if "://" in text or text.startswith("//"):
        return "must be a site path such as /2019/02/14/old-headline/, not a full URL"
    if "?" in text or "#" in text:
        return "has a query or fragment: a static host serves files by path alone"
    rel = unquote(text).lstrip("/")
    try:
        safe_relative_path(rel.rstrip("/") or "index.html")
    except ValueError:
        return "must not hold '.', '..', '\\' or an empty segment ('//')"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES
           for part in rel.split("/")):
        return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


class Urls:
    """Builds every URL of one site from its config."""

    def __init__(self, config: Config, lang: str = ""):
        """`lang`: the URLs of that language's pages, under its prefix (`/es/`); the site's
        own files (assets, the search bundle, output paths) stay at the site's root."""
        self.root = config.base_path
        self.base = self.root + language_prefix(config, lang)
        self.origin = config.origin
        self.permalink = config.permalink
        self.languages = frozenset(language.code.casefold() for language in config.languages)

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

    def fixed(self, path: str) -> str:
        """The URL of a site path written in front matter (see `site_path_problem`), under
        the base path: '/old/page.html' is that file; '/old/path', '/old/path/' and
        'old/path' (Hugo reads it from the site's root) are the folder '/old/path/'."""
        rel = unquote(path.strip()).lstrip("/")
        if rel and not rel.endswith("/") and not HTML_FILE.search(rel):
            rel += "/"
        return self.root + rel

    def taken_by_site(self, url: str) -> str | None:
        """What of the site's own an article URL would land on (e.g. "the site's own tags
        folder"), or None. Case-folded: case-insensitive file systems and caches."""
        rel = url[len(self.base):] if url.startswith(self.base) else url.lstrip("/")
        first = rel.split("/", 1)[0].casefold()
        if first in self.languages and self.base == self.root:
            return f"the site's own {first} language folder"
        if first in SITE_ROOT_NAMES or SITEMAP_PART.match(first):
            kind = "folder" if first.isalpha() and first != "cname" else "file"
            return f"the site's own {first} {kind}"
        if DATE_ARCHIVE_PATH.match(rel):
            return f"the site's own date archive page /{rel}"
        return None

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

    def on_this_day(self, month: int, day: int) -> str:
        return self.page(f"on-this-day/{month:02d}-{day:02d}/")

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
        if not url.startswith(self.root):
            raise ValueError(f"URL {url!r} is outside the base path {self.root!r}")
        rel = url[len(self.root):]
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        return safe_relative_path(rel)

    def served_by(self, rel_paths: Iterable[str]) -> set[str]:
        """The URLs these output files serve (`output_path` the other way round)."""
        urls = set()
        for rel in rel_paths:
            urls.add(self.root + rel)
            if rel == "index.html" or rel.endswith("/index.html"):
                urls.add(self.root + rel[:-len("index.html")])
        return urls

    def internal_target(self, href: str) -> str | None:
        """The site path a root-relative link points to, without query or fragment."""
        if not href.startswith("/") or href.startswith("//"):
            return None
        return re.split(r"[?#]", href, maxsplit=1)[0]


def language_prefix(config: Config, lang: str) -> str:
    """'es/' for a language's pages: none for the site's default language, unless
    `language_prefix_all`; none on a site of one language."""
    if not lang or not config.languages:
        return ""
    if lang == config.site_language and not config.language_prefix_all:
        return ""
    return f"{lang}/"


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


def page_meta(url: str, title: str, kind: str, urls: Urls, description: str = "",
              feeds: tuple[tuple[str, str], ...] = (), image: str = "") -> dict[str, Any]:
    return {
        "url": url, "title": title, "kind": kind, "description": description,
        "canonical": urls.absolute(url), "feeds": feeds,
        "image": urls.absolute(image) if image else "",
    }
