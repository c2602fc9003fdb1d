"""What shortcode templates see besides their arguments: filters and `fail()`.

A template fails a call with `fail("why")`, which raises `ShortcodeFailure`: the call is then an
error with the file and line (see the package docstring). The filters `video`, `split_media`
and `image_list` read what archives write (video page URLs, WordPress captions and galleries).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from markupsafe import Markup


@dataclass(frozen=True)
class Page:
    """What a call may know about the article it is in."""

    display: str  # the file as errors name it (content/2019/x.md)
    body_line: int  # line of the file where the body starts
    article: Any  # the Article record parsed from the front matter
    source: str = ""  # path relative to the content folder


class ShortcodeFailure(Exception):
    """Raised by a template through `fail(...)`, or by the engine: the call cannot render."""


def fail(message: str) -> None:
    raise ShortcodeFailure(message)


def getter(args: tuple[str, ...], kwargs: dict[str, str]) -> Callable[..., str]:
    """A template's `arg(key, index, default)`."""
    def arg(key: str, index: int | None = None, default: str = "") -> str:
        """A named argument, else the positional one at `index`, else `default`."""
        if key in kwargs:
            return kwargs[key]
        if index is not None and index < len(args):
            return args[index]
        return default
    return arg


_YOUTUBE_ID = re.compile(r"^[\w-]{6,20}$")


def video_of(url: str, service: str = "") -> dict[str, str] | None:
    """{'service': 'youtube'|'vimeo', 'id': ...} for a video page URL, or for a bare id when
    the `service` is given; else None."""
    url = str(url).strip()
    if service == "youtube" and _YOUTUBE_ID.match(url):
        return {"service": service, "id": url}
    if service == "vimeo" and url.isdigit():
        return {"service": service, "id": url}
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.").removeprefix("m.")
    if host in ("youtube.com", "youtube-nocookie.com"):
        video = parse_qs(parts.query).get("v", [""])[0]
        if not video and parts.path.startswith(("/embed/", "/shorts/", "/live/")):
            video = parts.path.split("/")[2]
        if _YOUTUBE_ID.match(video):
            return {"service": "youtube", "id": video}
    if host == "youtu.be" and _YOUTUBE_ID.match(parts.path.strip("/")):
        return {"service": "youtube", "id": parts.path.strip("/")}
    if host in ("vimeo.com", "player.vimeo.com"):
        digits = [p for p in parts.path.split("/") if p.isdigit()]
        if digits:
            return {"service": "vimeo", "id": digits[0]}
    return None


_MEDIA = re.compile(r"^\s*(?:<p>)?\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)(.*?)"
                    r"(?:</p>)?\s*$", re.S)


def split_media(html: str) -> dict[str, Markup]:
    """A WordPress caption's inner HTML as its image (or linked image) and caption text."""
    match = _MEDIA.match(str(html))
    if not match:
        return {"media": Markup(""), "text": Markup(html)}
    return {"media": Markup(match.group(1)), "text": Markup(match.group(2).strip())}


def image_list(images: str, ids: str, article: Any) -> list[dict[str, str]]:
    """A gallery's images: `images` as comma-separated addresses, then WordPress attachment
    `ids` looked up in the article's `attachments` front matter."""
    out = [{"src": s.strip(), "alt": "", "caption": ""} for s in str(images).split(",")
           if s.strip()]
    wanted = [i.strip() for i in str(ids).split(",") if i.strip()]
    if not wanted:
        return out
    extra = dict(getattr(article, "extra", ()) or ())
    table = extra.get("attachments")
    if not isinstance(table, dict):
        raise ShortcodeFailure(f"ids={ids!r} needs an 'attachments' map in the front matter "
                               "(attachment id: image address)")
    table = {str(k): v for k, v in table.items()}
    for key in wanted:
        item = table.get(key)
        if isinstance(item, str):
            item = {"src": item}
        if not isinstance(item, dict) or not (item.get("src") or item.get("url")):
            raise ShortcodeFailure(f"attachment {key} is not in the article's 'attachments'")
        out.append({"src": str(item.get("src") or item.get("url")),
                    "alt": str(item.get("alt", "")), "caption": str(item.get("caption", ""))})
    return out
