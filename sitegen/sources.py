"""Find the site's input files: articles and their page bundles, and the layout folders.

Kept apart from parsing (content.py) and rendering (render.py) so that a build that finds
nothing changed never imports YAML or Jinja2.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import ContentError, Problem
from .records import SourceFile

MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
ARTICLE_EXTENSIONS = (*MARKDOWN_EXTENSIONS, ".html")  # .html only with front matter
BUNDLE_INDEXES = tuple(f"index{ext}" for ext in ARTICLE_EXTENSIONS)
INTRO_NAMES = frozenset(f"_index{ext}" for ext in ARTICLE_EXTENSIONS)
_DATED = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}-")
_DATE_KEY = re.compile(rb"^(date|publishdate|pubdate|published)\s*:", re.I | re.M)


@dataclass(frozen=True)
class Found:
    """What `scan` finds in the content folder."""

    articles: list[tuple[str, str, tuple[str, ...]]]  # (relative path, path, bundle files)
    intros: list[str]  # _index files, and index files at a section's root (intros.py)
    unused: list[str]  # files that are neither articles nor bundle files


@dataclass(frozen=True)
class Walked:
    """`scan`'s findings with the stat signature of each article, in the order of
    `found.articles` (None where the stat failed: the full scan says why)."""

    found: Found
    signatures: list[str | None]
    digest: str | None = None  # `signatures_digest` of the articles; None if a stat failed


def walk_articles(content_dir: Path) -> Walked:
    """One walk of the content folder with a stat of each article: what both the no-change
    check and, when something changed, the listing of the sources need (a second walk and
    stat of every file took 7-10 s at a million articles)."""
    found = Found([], [], [])
    signatures: list[str | None] = []
    for kind, rel, path, bundle in walk(content_dir):
        if kind is ARTICLE:
            found.articles.append((rel, path, bundle))
            try:
                signatures.append(stat_signature(path))
            except OSError:
                signatures.append(None)
        else:
            (found.intros if kind is INTRO else found.unused).append(rel)
    failed = None in signatures
    digest = None if failed else signatures_digest(
        (rel, signature, bundle) for (rel, _path, bundle), signature
        in zip(found.articles, signatures, strict=True))
    return Walked(found, signatures, digest)


def signatures_digest(rows: Iterable[tuple[str, str | None, tuple[str, ...]]]) -> str:
    """A digest of (relative path, stat signature, bundle files) of every article."""
    digest = hashlib.blake2b(digest_size=16)
    for rel, signature, bundle in rows:
        digest.update(f"{rel}\0{signature}\0{bundle}\0".encode())
    return digest.hexdigest()


def refuse_links_out(content_dir: Path, found: Found) -> None:
    """ContentError for article files that are symbolic links to outside `content_dir`."""
    outside = _links_out(content_dir, found.articles)
    if outside:
        raise ContentError(outside)


def discover(content_dir: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every article file under `content_dir`: (relative path, path, bundle files), sorted.

    Paths are strings: pathlib objects for 100,000 files cost more than the walk itself.
    An article file that is a symbolic link to outside `content_dir` is refused
    (`ContentError`), as page-bundle files are when copied.
    """
    return discover_found(content_dir).articles


def discover_found(content_dir: Path) -> Found:
    """`scan`, with article files that link outside `content_dir` refused (`ContentError`)."""
    found = scan(content_dir)
    refuse_links_out(content_dir, found)
    return found


def _links_out(content_dir: Path, articles: list[tuple[str, str, tuple[str, ...]]]
               ) -> list[Problem]:
    """The articles that are symbolic links to outside `content_dir`: one scandir a folder,
    whose entries know whether they are links without a stat of each file."""
    links: set[str] = set()
    for folder in {path.rpartition(os.sep)[0] for _rel, path, _bundle in articles}:
        with os.scandir(folder) as entries:
            links.update(entry.path for entry in entries if entry.is_symlink())
    if not links:
        return []
    root = os.path.realpath(content_dir)
    problems = []
    for rel, path, _bundle in articles:
        target = os.path.realpath(path) if path in links else root
        if os.path.commonpath([root, target]) != root:
            problems.append(Problem(f"{content_dir.name}/{rel}", None,
                                    f"a link to {target}, outside the content folder: "
                                    "refused"))
    return problems


def scan(content_dir: Path) -> Found:
    """Articles (Markdown files, .html files with front matter, page bundles), section
    intros and every other file, in one walk."""
    found = Found([], [], [])
    lists = {ARTICLE: found.articles, INTRO: found.intros, UNUSED: found.unused}
    for kind, rel, path, bundle in walk(content_dir):
        lists[kind].append((rel, path, bundle) if kind is ARTICLE else rel)
    return found


ARTICLE, INTRO, UNUSED = "article", "intro", "unused"


def walk(content_dir: Path) -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
    """`scan`'s walk as a stream: (ARTICLE, INTRO or UNUSED, relative path, path, bundle
    files), in the order of `scan`'s lists."""
    root = str(content_dir)
    skip = len(root) + 1
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_folder = folder[skip:].replace(os.sep, "/")
        prefix = f"{rel_folder}/" if rel_folder else ""
        index = next((name for name in BUNDLE_INDEXES if name in files), None)
        if index and not is_section_root(folder, rel_folder, files, index):
            bundle = tuple(sorted(_bundle_files(Path(folder), index)))
            yield ARTICLE, prefix + index, os.path.join(folder, index), bundle
            dirs[:] = []  # a bundle's subfolders hold its files, not articles
            continue
        base = folder + os.sep  # not os.path.join: it cost as much as the stat of each file
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = base + name
            if name in INTRO_NAMES or name == index:
                yield INTRO, prefix + name, path, ()
            elif is_article_file(name, path):
                yield ARTICLE, prefix + name, path, ()
            else:
                yield UNUSED, prefix + name, path, ()


def is_article_file(name: str, path: str) -> bool:
    if name.endswith(MARKDOWN_EXTENSIONS):
        return True
    return name.endswith(".html") and _starts_with_front_matter(path)


def _starts_with_front_matter(path: str) -> bool:
    """Jekyll and Hugo read an .html file with front matter as a page; others are copied."""
    try:
        with open(path, "rb") as file:
            head = file.read(64)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"---")


def is_section_root(folder: str, rel_folder: str, files: list[str], index: str) -> bool:
    """An index file that is a section's intro, not a page bundle: in a top-level folder
    whose name has no date, with other articles beside or below it, and itself without a
    date. Anything else with an index file stays a bundle (its files are its own)."""
    if not rel_folder or "/" in rel_folder or _DATED.match(rel_folder):
        return False
    if not _has_articles(folder, files, index):
        return False
    try:
        with open(os.path.join(folder, index), "rb") as file:
            head = file.read(8192)
    except OSError:
        return False
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not text.startswith(b"---"):
        return False
    end = text.find(b"\n---", 3)
    return end > 0 and not _DATE_KEY.search(text[3:end])


def _has_articles(folder: str, files: list[str], index: str) -> bool:
    if any(name != index and name.endswith(MARKDOWN_EXTENSIONS) for name in files):
        return True
    for sub in sorted(os.listdir(folder)):
        path = os.path.join(folder, sub)
        if sub.startswith(".") or not os.path.isdir(path):
            continue
        for _sub, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            if any(n.endswith(MARKDOWN_EXTENSIONS) and not n.startswith(".") for n in names):
                return True
    return False


def _bundle_files(folder: Path, index: str) -> list[str]:
    """The files of a bundle but its `index`: a second index file is a file to copy (and so
    collides with the page, an error naming it)."""
    out = []
    for sub, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not (sub == str(folder) and name == index) and not name.startswith("."):
                out.append(Path(sub, name).relative_to(folder).as_posix())
    return out


def read_source(rel: str, path: Path | str, bundle: tuple[str, ...]) -> SourceFile:
    with open(path, "rb") as file:
        data = file.read()
    return SourceFile(rel, data, hashlib.blake2b(data, digest_size=16).hexdigest(), bundle)


def stat_signature(path: Path | str) -> str:
    """Changes whenever the file's bytes may have: ctime cannot be set back by any tool."""
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


BUILTIN_LAYOUTS = Path(__file__).resolve().parent.parent / "layouts"


def builtin_layouts() -> Path:
    """The built-in theme: the repository's `layouts/`, or the copy installed with the package."""
    if BUILTIN_LAYOUTS.is_dir():
        return BUILTIN_LAYOUTS
    return Path(__file__).resolve().parent / "theme"


def layout_dirs(config: Config) -> list[Path]:
    """The site's own layouts first, so they override the built-in theme file by file."""
    dirs = [config.layouts_dir] if config.layouts_dir.is_dir() else []
    builtin = builtin_layouts()
    if builtin.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(builtin)
    return dirs


