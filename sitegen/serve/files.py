"""What the preview answers for a path: the file inside `output/` (or a redirect, 400, 404),
its content type, and HTML with the live-reload script added (never to `output/` itself)."""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

PREFIX = "/__sitegen__/"
SCRIPT_URL = PREFIX + "livereload.js"
EVENTS_URL = PREFIX + "events"
STATE_URL = PREFIX + "state"
HTML_SUFFIXES = (".html", ".htm")


# -- request paths

@dataclass(frozen=True)
class Resolved:
    """What to answer to one request path: a file (200), a redirect (301), 400 or 404."""

    status: int
    file: Path | None = None
    location: str = ""


def resolve_request(root: Path, base_path: str, raw_path: str) -> Resolved:
    """Map a raw request path (still %-encoded) to a file inside `root`, never outside it."""
    path, _, query = raw_path.partition("?")
    path = path.partition("#")[0]
    query = f"?{query}" if query else ""
    if not path.startswith("/") or path.startswith("//"):
        return Resolved(HTTPStatus.BAD_REQUEST)
    if base_path != "/":
        if path in ("/", base_path.rstrip("/")):
            return Resolved(HTTPStatus.MOVED_PERMANENTLY, location=base_path + query)
        if not path.startswith(base_path):
            return Resolved(HTTPStatus.NOT_FOUND)
    segments = decode_segments(path[len(base_path) - 1:])
    if segments is None:
        return Resolved(HTTPStatus.BAD_REQUEST)
    return _resolve_file(root, root.joinpath(*segments), path, query)


def decode_segments(path: str) -> list[str] | None:
    """The decoded segments of an absolute URL path; None when it could leave its folder."""
    lowered = path.lower()
    if any(bad in lowered for bad in ("%2f", "%5c", "%00", "\\", "\x00")):
        return None
    parts = path[1:].split("/")
    if parts[-1] == "":
        parts.pop()
    try:
        segments = [unquote(part, errors="strict") for part in parts]
    except UnicodeDecodeError:
        return None
    if any(seg in ("", ".", "..") or "/" in seg or "\\" in seg for seg in segments):
        return None
    return segments


def _resolve_file(root: Path, target: Path, path: str, query: str) -> Resolved:
    try:
        return _resolve_existing(root, target, path, query)
    except OSError:  # a name longer than the file system allows, for one
        return Resolved(HTTPStatus.NOT_FOUND)


def _resolve_existing(root: Path, target: Path, path: str, query: str) -> Resolved:
    if not is_inside(root, target):
        return Resolved(HTTPStatus.NOT_FOUND)
    if target.is_dir():
        index = target / "index.html"
        if not index.is_file() or not is_inside(root, index):
            return Resolved(HTTPStatus.NOT_FOUND)
        if not path.endswith("/"):
            return Resolved(HTTPStatus.MOVED_PERMANENTLY, location=f"{path}/{query}")
        return Resolved(HTTPStatus.OK, index)
    if target.is_file() and not path.endswith("/"):
        return Resolved(HTTPStatus.OK, target)
    return Resolved(HTTPStatus.NOT_FOUND)


def is_inside(root: Path, target: Path) -> bool:
    """Whether `target`, symlinks followed, is `root` or inside it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(target)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


# -- script injection

def script_tag(epoch: int) -> bytes:
    return f'<script src="{SCRIPT_URL}" data-epoch="{epoch}" defer></script>'.encode()


def inject_script(html: bytes, tag: bytes) -> bytes:
    """`tag` before the last `</body>`, or at the end when there is none."""
    at = html.lower().rfind(b"</body")
    return html + tag if at < 0 else html[:at] + tag + html[at:]


def is_html(path: Path) -> bool:
    return path.suffix.lower() in HTML_SUFFIXES


def livereload_js() -> bytes:
    return resources.files("sitegen").joinpath("livereload.js").read_bytes()


def content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json",
                                            "application/xml", "image/svg+xml"):
        kind += "; charset=utf-8"
    return kind
