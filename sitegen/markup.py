"""Markdown to HTML: one `Markdown` instance per process, `reset()` between documents."""

from __future__ import annotations

import html as html_lib
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from typing import TYPE_CHECKING

import markdown
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.treeprocessors import Treeprocessor

from . import quickmarkdown
from .sanitize import Removal, Sanitizer
from .urls import slugify

if TYPE_CHECKING:
    from .errors import Problem
    from .shortcodes import Engine as ShortcodeEngine
    from .shortcodes import Page

# Chosen for cost: `smarty` doubled conversion time (a second inline pass) and `toc` added
# half again; heading ids come from the cheap `_HeadingIds` below instead.
# Extensions by class, not by name: a name is looked up among the entry points of every
# installed distribution (importlib.metadata), ~20 ms in each process that parses.
EXTENSIONS = (TableExtension, FootnoteExtension, AttrListExtension, FencedCodeExtension,
              DefListExtension, SaneListExtension)
EXCERPT_WORDS = 40
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
_TAGS = re.compile(r"<[^>]+>")
@dataclass(frozen=True)
class Rendered:
    html: str
    internal_links: tuple[str, ...]  # root-relative targets as written, before the base path
    excerpt: str
    words: int
    removed: tuple[Removal, ...] = ()  # what the sanitizer took out of the HTML (`check`)
    shortcode_problems: tuple[Problem, ...] = ()  # calls that could not be rendered


class _LinkRewriter(Treeprocessor):
    """Prefixes root-relative links with the base path and records them for `check`."""

    def __init__(self, md: markdown.Markdown, base_path: str):
        super().__init__(md)
        self.base_path = base_path
        self.found: list[str] = []

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            for attr in ("href", "src"):
                value = element.get(attr)
                if value and value.startswith("/") and not value.startswith("//"):
                    self.found.append(value)
                    element.set(attr, self.base_path + value[1:])


class _HeadingIds(Treeprocessor):
    """Gives every h2-h6 without an id a slug id, unique within the document (for anchors)."""

    def run(self, root: etree.Element) -> None:
        seen: set[str] = set()
        for element in root.iter():
            if element.tag in HEADINGS and "id" not in element.attrib:
                base = slugify("".join(element.itertext())) or "section"
                slug, n = base, 1
                while slug in seen:
                    n += 1
                    slug = f"{base}-{n}"
                seen.add(slug)
                element.set("id", slug)


class _LinkExtension(Extension):
    def __init__(self, base_path: str):
        super().__init__()
        self.base_path = base_path
        self.processor: _LinkRewriter | None = None

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        self.processor = _LinkRewriter(md, self.base_path)
        md.treeprocessors.register(self.processor, "sitegen-links", 1)
        md.treeprocessors.register(_HeadingIds(md), "sitegen-heading-ids", 2)
        if quickmarkdown.supported():
            md.treeprocessors.register(quickmarkdown.QuickInline(md), "inline", 20)
            quickmarkdown.quicken_block_parser(md)
            quickmarkdown.quicken_preprocessors(md)


class MarkdownRenderer:
    """Reuses one `Markdown` instance, as Python-Markdown#305 advises."""

    def __init__(self, base_path: str = "/", sanitizer: Sanitizer | None = None,
                 shortcodes: ShortcodeEngine | None = None):
        self.links = _LinkExtension(base_path)
        self.shortcodes = shortcodes
        self.sanitizer = sanitizer or Sanitizer()
        self.md = markdown.Markdown(
            extensions=[*(extension() for extension in EXTENSIONS), self.links],
            output_format="html",
        )

    def render(self, text: str, page: Page | None = None) -> Rendered:
        """`page`: the article the body is in, for its shortcodes (none expanded without)."""
        expansion = None
        if page is not None and self.shortcodes is not None and self.shortcodes.may_contain(text):
            expansion = self.shortcodes.expand(text, page, self._fragment)
            text = expansion.text
        self.md.reset()
        assert self.links.processor is not None
        self.links.processor.found = []
        html = self.md.convert(text) if text.strip() else ""
        cleaned = self.sanitizer.clean(html)  # last: on the body HTML as published
        html = cleaned.html
        links = tuple(self.links.processor.found)
        if expansion is not None:  # trusted template output: after the sanitizer
            html = expansion.substitute(html)
            links += tuple(expansion.links)
        plain = _TAGS.sub(" ", html)
        return Rendered(html, links, _excerpt(html), len(plain.split()),
                        cleaned.removed, tuple(expansion.problems) if expansion else ())

    def _fragment(self, text: str) -> tuple[str, tuple[str, ...]]:
        """The inner Markdown of a shortcode call: HTML (sanitized) and its internal links."""
        self.md.reset()
        assert self.links.processor is not None
        self.links.processor.found = []
        html = self.md.convert(text) if text.strip() else ""
        return self.sanitizer.clean(html).html, tuple(self.links.processor.found)


def _excerpt(html: str) -> str:
    """The first paragraph as plain text, cut to about 40 words."""
    match = re.search(r"<p>(.*?)</p>", html, re.S)
    if not match:
        return ""
    words = html_lib.unescape(_TAGS.sub("", match.group(1))).split()
    text = " ".join(words[:EXCERPT_WORDS])
    return text + ("…" if len(words) > EXCERPT_WORDS else "")
