"""A WordPress export (WXR) read as a stream of records.

`Export(path)` is iterated for its `<item>`s, one `Item` at a time; the channel's own entries
(authors, categories, the blog's address) fill its attributes as they go by, before the items
in every export WordPress writes. Each child of `<channel>` is dropped from the tree once read,
so memory does not grow with the file. Namespaces are matched by what they name, not their
version (exports carry export/1.0 to 1.2, over http or https).
"""

from __future__ import annotations

import contextlib
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ContentError, Problem

# postmeta the importer uses; the rest (often most of an export's bytes) is not kept.
META_KEYS = frozenset({"_yoast_wpseo_primary_category", "_wp_attachment_image_alt",
                       "_thumbnail_id"})
# C0 controls other than tab, LF and CR are not allowed in XML 1.0, yet WordPress exports
# carry them (pasted text). No UTF-8 sequence contains these bytes, so they are dropped.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13))


@dataclass(frozen=True, slots=True)
class Term:
    """A category, tag or other term of an item: `domain` is category, post_tag, ..."""

    domain: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """One `<item>`: a post, page, attachment, menu item, ..."""

    post_id: int
    post_type: str
    status: str
    title: str
    link: str
    creator: str
    post_date: str
    post_date_gmt: str
    modified_gmt: str
    post_name: str
    parent: int
    menu_order: int
    password: str
    attachment_url: str
    content: str
    excerpt: str
    terms: tuple[Term, ...]
    meta: tuple[tuple[str, str], ...]
    comments: int

    def meta_value(self, key: str) -> str:
        return next((v for k, v in self.meta if k == key), "")


class _Clean(io.RawIOBase):
    """The export's bytes without the control characters XML refuses."""

    def __init__(self, raw: io.BufferedReader):
        self.raw = raw
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        self.done += len(data)
        data = data.translate(None, _CONTROL)
        buffer[:len(data)] = data
        return len(data)


@lru_cache(maxsize=256)
def local_name(tag: str) -> str:
    """'{https://wordpress.org/export/1.2/}post_id' -> 'wp:post_id'."""
    if not tag.startswith("{"):
        return tag
    uri, local = tag[1:].split("}", 1)
    if "wordpress.org/export" in uri:
        prefix = "excerpt" if "excerpt" in uri else "wp"
    elif "purl.org/rss/1.0/modules/content" in uri:
        prefix = "content"
    elif "purl.org/dc/" in uri:
        prefix = "dc"
    else:
        prefix = uri
    return f"{prefix}:{local}"


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


class Export:
    """One pass over an export: iterate it for its items."""

    def __init__(self, path: Path, progress: Callable[[int], None] | None = None):
        self.path = path
        self.progress = progress
        self.size = path.stat().st_size
        self.base_url = ""
        self.wxr_version = ""
        self.authors: dict[str, str] = {}  # login -> display name
        self.categories: dict[str, str] = {}  # term id -> name

    def __iter__(self) -> Iterator[Item]:
        with open(self.path, "rb") as raw:
            clean = _Clean(raw)
            try:
                yield from self._items(io.BufferedReader(clean, 1 << 16), clean)
            except ET.ParseError as exc:
                line = exc.position[0] if exc.position else None
                raise ContentError(Problem(self.path, line, "not a readable WordPress "
                                           f"export: {exc.msg}")) from None
        if not self.wxr_version:
            raise ContentError(Problem(self.path, None, "not a WordPress export (WXR): "
                                       "it has no <wp:wxr_version>"))

    def _items(self, stream: io.BufferedReader, clean: _Clean) -> Iterator[Item]:
        parser = ET.XMLPullParser(events=("start", "end"))
        stack: list[ET.Element] = []
        while chunk := stream.read(1 << 16):
            parser.feed(chunk)
            for event, elem in parser.read_events():
                if event == "start":
                    stack.append(elem)  # type: ignore[arg-type]
                    continue
                stack.pop()
                if len(stack) != 2:  # only the children of <channel> are handled
                    continue
                item = self._channel_child(elem)  # type: ignore[arg-type]
                with contextlib.suppress(ValueError):
                    stack[1].remove(elem)  # type: ignore[arg-type]
                if item is not None:
                    yield item
                    if self.progress:
                        self.progress(clean.done)
        parser.close()

    def _channel_child(self, elem: ET.Element) -> Item | None:
        name = local_name(elem.tag)
        if name == "item":
            return _item(elem)
        if name == "wp:wxr_version":
            self.wxr_version = (elem.text or "").strip()
        elif name == "wp:base_blog_url" or (name == "link" and not self.base_url):
            self.base_url = (elem.text or "").strip()
        elif name == "wp:author":
            fields = _fields(elem)
            login = fields.get("wp:author_login", "").strip()
            if login:
                self.authors[login] = fields.get("wp:author_display_name", "").strip() or login
        elif name == "wp:category":
            fields = _fields(elem)
            term_id = fields.get("wp:term_id", "").strip()
            if term_id:
                self.categories[term_id] = fields.get("wp:cat_name", "").strip()
        return None


def _fields(elem: ET.Element) -> dict[str, str]:
    return {local_name(child.tag): child.text or "" for child in elem}


def _item(elem: ET.Element) -> Item:
    text: dict[str, str] = {}
    terms: list[Term] = []
    meta: list[tuple[str, str]] = []
    comments = 0
    for child in elem:
        name = local_name(child.tag)
        if name == "category":
            terms.append(Term(child.get("domain", "category"), child.get("nicename", ""),
                              (child.text or "").strip()))
        elif name == "wp:postmeta":
            fields = _fields(child)
            key = fields.get("wp:meta_key", "").strip()
            if key in META_KEYS:
                meta.append((key, fields.get("wp:meta_value", "").strip()))
        elif name == "wp:comment":
            comments += 1
        else:  # itertext: markup written unescaped in a field is kept as its text
            text[name] = child.text or "" if len(child) == 0 else "".join(child.itertext())

    def get(key: str) -> str:
        return text.get(key, "").strip()

    return Item(
        post_id=_int(get("wp:post_id")), post_type=get("wp:post_type"), status=get("wp:status"),
        title=text.get("title", "").strip(), link=get("link"), creator=get("dc:creator"),
        post_date=get("wp:post_date"), post_date_gmt=get("wp:post_date_gmt"),
        modified_gmt=get("wp:post_modified_gmt"), post_name=get("wp:post_name"),
        parent=_int(get("wp:post_parent")), menu_order=_int(get("wp:menu_order")),
        password=get("wp:post_password"), attachment_url=get("wp:attachment_url"),
        content=text.get("content:encoded", ""), excerpt=text.get("excerpt:encoded", ""),
        terms=tuple(terms), meta=tuple(meta), comments=comments)
