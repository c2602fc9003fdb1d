"""Intro pages of sections, tags and authors (Hugo's `_index.md`): a title and intro text for
the term's page; never an article, so no date is needed.

Where they are looked for (the folder's name is compared by its slug):
    content/<section>/_index.md   (or an index.md at a section's root: sources.is_section_root)
    content/sections/<section>/_index.md
    content/tags/<tag>/_index.md
    content/authors/<author>/_index.md
Any Markdown extension works in place of `.md`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ContentError, Problem
from .frontkeys import decode_entities
from .sources import INTRO_NAMES, MARKDOWN_EXTENSIONS, is_section_root, stat_signature
from .urls import slugify

KIND_FOLDERS = {"sections": "sections", "tags": "tags", "authors": "authors"}
_INTROS = sorted(name for name in INTRO_NAMES if name.endswith(MARKDOWN_EXTENSIONS))
_INDEXES = [f"index{ext}" for ext in MARKDOWN_EXTENSIONS]


@dataclass(frozen=True)
class Intro:
    title: str
    html: str  # the intro text, rendered from Markdown


def intro_files(content_dir: Path) -> dict[tuple[str, str], Path]:
    """(kind, slug) -> the intro file: a few directory listings, no walk of the content."""
    found: dict[tuple[str, str], Path] = {}
    for name in _subfolders(content_dir):
        folder = content_dir / name
        if name in KIND_FOLDERS.values():
            kind = next(k for k, v in KIND_FOLDERS.items() if v == name)
            for sub in _subfolders(folder):
                path = _first(folder / sub, _INTROS)
                if path:
                    found[(kind, slugify(sub))] = path
            continue
        path = _first(folder, _INTROS) or _section_root_index(folder, name)
        if path:
            found.setdefault(("sections", slugify(name)), path)
    return found


def _subfolders(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def _first(folder: Path, names: list[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _section_root_index(folder: Path, name: str) -> Path | None:
    index = _first(folder, _INDEXES)
    if index is None:
        return None
    files = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    return index if is_section_root(str(folder), name, files, index.name) else None


def signature(content_dir: Path) -> str:
    """Changes whenever an intro file is added, removed or edited (for the build's
    no-change check and the site's shape)."""
    digest = hashlib.blake2b(digest_size=16)
    for key, path in sorted(intro_files(content_dir).items()):
        digest.update(f"{key}\0{path}\0{stat_signature(path)}\0".encode())
    return digest.hexdigest()


def load_intro(path: Path, content_dir: Path, base_path: str) -> Intro:
    """The intro's title (entities decoded) and its body as HTML."""
    import frontmatter  # YAML and Markdown: only for a site that has intros

    from .markup import MarkdownRenderer

    display = Path(content_dir.name) / path.relative_to(content_dir)
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8-sig"))
    except Exception as exc:  # YAML errors, decoding errors: all named with the file
        raise ContentError([Problem(display, None, f"intro page cannot be read: {exc}")]) \
            from None
    title = post.metadata.get("title", "")
    if not isinstance(title, str):
        raise ContentError([Problem(display, None, "'title' must be text")])
    html = MarkdownRenderer(base_path).render(post.content).html if post.content.strip() else ""
    return Intro(decode_entities(title).strip(), html)
