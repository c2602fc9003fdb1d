"""Trimming an article page to what Pagefind reads of it.

Pagefind indexes text only inside the `data-pagefind-body` element but reads `data-pagefind-*`
attributes anywhere in the page. When nothing outside that element carries one, the page is cut
to its `<html>` tag (the language) and that element: half of what the service would parse
(head, masthead, related links, footer), and the same index.
"""

from __future__ import annotations

import re
from functools import cache

_BODY_TAG = re.compile(rb"<([a-zA-Z][\w-]*)\s[^>]*?\bdata-pagefind-body\b[^>]*>")
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)


def trim_page(html: bytes) -> bytes:
    """The part of a page Pagefind uses: its `<html>` tag (the language) and its
    `data-pagefind-body` element.

    Pagefind indexes text only inside `data-pagefind-body` but reads `data-pagefind-*`
    attributes anywhere, so the page is kept whole when one stands outside that element.
    Trimming halves what the service parses (head, masthead, related links, footer).
    """
    start = _BODY_TAG.search(html)
    if start is None:
        return html
    end = element_end(html, start.group(1), start.start())
    if end is None or b"data-pagefind-" in html[:start.start()] \
            or b"data-pagefind-" in html[end:]:
        return html
    opening = _HTML_TAG.search(html, 0, start.start())
    return b"".join((opening.group(0) if opening else b"<html>", b"<body>",
                     html[start.start():end], b"</body></html>"))


@cache
def _tag_pattern(tag: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"<!--.*?-->|<(/?)" + re.escape(tag) + rb"(?=[\s/>])[^>]*>",
                      re.DOTALL | re.IGNORECASE)


def element_end(html: bytes, tag: bytes, start: int) -> int | None:
    """The offset just past the end tag that closes the `tag` element opening at `start`."""
    depth = 0
    for match in _tag_pattern(tag).finditer(html, start):
        if match.group(0).startswith(b"<!--"):
            continue
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return match.end()
    return None


