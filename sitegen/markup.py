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
    from .images import Resolver
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


class _ImageRewriter(Treeprocessor):
    """Local raster images as a <picture>: WebP and fallback srcsets at the derived widths,
    the size (no layout shift) and lazy loading (images.py). Runs after `_LinkRewriter`."""

    def __init__(self, md: markdown.Markdown, resolver: Resolver):
        super().__init__(md)
        self.resolver = resolver
        self.page: Page | None = None
        self.text = ""  # the body as written, to find an image's line
        self.problems: list[Problem] = []

    def run(self, root: etree.Element) -> None:
        if self.page is None:
            return
        parents = {child: parent for parent in root.iter() for child in parent}
        for element in [e for e in root.iter("img") if e.get("src")]:
            found = self._picture(element.get("src", ""))
            if found is None:
                continue
            parent = parents[element]
            at = list(parent).index(element)
            wrapper = etree.Element("picture")
            wrapper.tail, element.tail = element.tail, None
            if found.webp_srcset:
                etree.SubElement(wrapper, "source", type="image/webp",
                                 srcset=found.webp_srcset, sizes=found.sizes)
            for name, value in (("src", found.src), ("srcset", found.srcset),
                                ("sizes", found.sizes), ("width", str(found.width)),
                                ("height", str(found.height)), ("loading", "lazy"),
                                ("decoding", "async")):
                element.set(name, value)
            wrapper.append(element)
            parent[at] = wrapper

    def _picture(self, src: str):  # noqa: ANN202 (images.Picture | None)
        from .errors import Problem
        from .images import ImageError

        page = self.page
        assert page is not None
        written = src[len(self.md_base):] if src.startswith(self.md_base) else src
        at = self.text.find(written.lstrip("/"))
        line = page.body_line + self.text.count("\n", 0, at) if at >= 0 else page.body_line
        bundle = getattr(page.article, "bundle_files", ())
        try:
            return self.resolver.picture(src, page.source, bundle, page.display, line)
        except ImageError as exc:
            self.problems.append(Problem(page.display, line, str(exc)))
            return None

    @property
    def md_base(self) -> str:
        return self.resolver.config.base_path


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
    def __init__(self, base_path: str, images: Resolver | None = None):
        super().__init__()
        self.base_path = base_path
        self.processor: _LinkRewriter | None = None
        self.images = _ImageRewriter(None, images) if images is not None else None  # type: ignore[arg-type]

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        self.processor = _LinkRewriter(md, self.base_path)
        md.treeprocessors.register(self.processor, "sitegen-links", 1)
        md.treeprocessors.register(_HeadingIds(md), "sitegen-heading-ids", 2)
        if self.images is not None:
            self.images.md = md
            md.treeprocessors.register(self.images, "sitegen-images", 0)
        if quickmarkdown.supported():
            md.treeprocessors.register(quickmarkdown.QuickInline(md), "inline", 20)
            quickmarkdown.quicken_block_parser(md)
            quickmarkdown.quicken_preprocessors(md)


class MarkdownRenderer:
    """Reuses one `Markdown` instance, as Python-Markdown#305 advises."""

    def __init__(self, base_path: str = "/", sanitizer: Sanitizer | None = None,
                 shortcodes: ShortcodeEngine | None = None, images: Resolver | None = None):
        """`images`: local raster images become responsive pictures (images.py)."""
        self.links = _LinkExtension(base_path, images)
        self.shortcodes = shortcodes
        self.sanitizer = sanitizer or Sanitizer()
        self.md = markdown.Markdown(
            extensions=[*(extension() for extension in EXTENSIONS), self.links],
            output_format="html",
        )

    def render(self, text: str, page: Page | None = None) -> Rendered:
        """`page`: the article the body is in, for its shortcodes (none expanded without)."""
        expansion = None
        pictures = self.links.images
        if pictures is not None:
            pictures.page, pictures.text, pictures.problems = page, text, []
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
        problems = tuple(expansion.problems) if expansion else ()
        if pictures is not None:
            problems += tuple(pictures.problems)
            pictures.page = None
        return Rendered(html, links, _excerpt(html), len(plain.split()), cleaned.removed,
                        problems)

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
