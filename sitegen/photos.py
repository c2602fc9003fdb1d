"""Lead photos: where an article's `image` lives, its URL, and its pixel size.

Every URL of a lead photo is made here (`image_url`). The size is read from the file's header
at parse time (PNG, GIF, JPEG, WebP): enough for `width` and `height` attributes, so that a
card does not shift when the photo arrives. A local raster photo is then shown through its
derived files (`with_derived_image`, images.py): `image` names the largest of them, which
templates turn into srcsets (the `picture` filter).
"""

from __future__ import annotations

import dataclasses
import re
import struct
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .config import Config
from .records import Article, SourceFile
from .urls import Urls

REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)
HEADER_BYTES = 512 * 1024  # a JPEG's size marker may follow large EXIF or ICC blocks
# JPEG start-of-frame markers that carry the size (not DHT 0xC4, JPG 0xC8, DAC 0xCC)
SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.DOTALL)
SVG_ATTR = re.compile(rb"""([\w:-]+)\s*=\s*["']([^"']*)["']""")
SVG_LENGTH = re.compile(rb"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:px)?\s*")
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB,
                         0xCD, 0xCE, 0xCF})


def is_remote(image: str) -> bool:
    return bool(REMOTE.match(image))


def image_url(image: str, urls: Urls, when: datetime, slug: str) -> str:
    """The URL of `image` as written in front matter: a remote URL as it is, a site path
    under the base path, any other name a file of the article's page bundle."""
    if not image or is_remote(image):
        return image
    if image.startswith("/"):
        return urls.page(image)
    return urls.article(slug, when) + image


class _Checker(Protocol):
    def line_of(self, key: str) -> int: ...

    def error(self, key: str, message: str) -> None: ...


def with_derived_image(article: Article, written: Any, src: SourceFile, config: Config,
                       check: _Checker) -> Article:
    """The article with its local raster lead photo (`written`: `image` as in its front
    matter) at the URL and size of its largest derived file; a file that is no image it can
    read is an error on the `image` line."""
    from . import images

    if not article.url or not isinstance(written, str):
        return article
    local = local_file(written, src.path, src.bundle_files, config)
    if local is None:
        return article
    display = str(Path(config.content_dir.name) / src.path)
    try:
        found = images.use_image(local, config, display, check.line_of("image"))
    except images.ImageError as exc:
        check.error("image", str(exc))
        return article
    if found is None:
        return article
    use, rel = found
    return dataclasses.replace(article, image=config.base_path + rel, image_width=use.width,
                               image_height=use.height)


def local_file(image: str, source: str, bundle_files: tuple[str, ...], config: Config
               ) -> Path | None:
    """The file a local `image` is copied from: a page-bundle file next to the article
    (`source`, relative to the content folder) or a file under static/; None otherwise."""
    if not image or is_remote(image):
        return None
    if image.startswith("/"):
        path = config.static_dir / image.lstrip("/")
    elif image in bundle_files:
        path = config.content_dir / Path(source).parent / image
    else:
        return None
    return path if ".." not in Path(image).parts else None


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) in pixels from the file's header; None when unreadable or unknown."""
    try:
        with path.open("rb") as file:
            head = file.read(HEADER_BYTES)
    except OSError:
        return None
    return header_size(head)


def header_size(head: bytes) -> tuple[int, int] | None:
    """The pixel size in the first bytes of a PNG, GIF, JPEG or WebP file."""
    size: tuple[int, int] | None = None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        size = struct.unpack(">II", head[16:24])
    elif head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        size = struct.unpack("<HH", head[6:10])
    elif head.startswith(b"\xff\xd8"):
        size = _jpeg_size(head)
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        size = _webp_size(head)
    elif b"<svg" in head[:4096]:
        size = _svg_size(head)
    if size is None or not all(0 < n < 1_000_000 for n in size):
        return None
    return size


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        (length,) = struct.unpack(">H", head[i + 2:i + 4])
        if marker in SOF_MARKERS:
            height, width = struct.unpack(">HH", head[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def _svg_size(head: bytes) -> tuple[int, int] | None:
    """The root element's width and height (unitless or px), else its viewBox's."""
    tag = SVG_TAG.search(head)
    if tag is None:
        return None
    attrs = dict(SVG_ATTR.findall(tag.group(0)))
    width, height = (SVG_LENGTH.fullmatch(attrs.get(name, b"")) for name in (b"width", b"height"))
    if width and height:
        return round(float(width.group(1))), round(float(height.group(1)))
    box = attrs.get(b"viewBox", b"").replace(b",", b" ").split()
    try:
        return (round(float(box[2])), round(float(box[3]))) if len(box) == 4 else None
    except ValueError:
        return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(head) >= 30:
        return (int.from_bytes(head[24:27], "little") + 1,
                int.from_bytes(head[27:30], "little") + 1)
    return None
