"""Bodies of `.html` articles (Jekyll and Hugo read an .html file with front matter as a page):
passed through as HTML, never read as Markdown, with root-relative links under the base path
as Markdown bodies have them, and cleaned by the same sanitizer."""

from __future__ import annotations

import re
from typing import Any

from .markup import _TAGS, Rendered, _excerpt

_ROOT_LINK = re.compile(r"""(\s(?:href|src)\s*=\s*)(["'])(/(?!/)[^"']*)\2""", re.I)


def is_html_source(rel_path: str) -> bool:
    return rel_path.endswith(".html")


def render_html(body: str, base_path: str, sanitizer: Any = None) -> Rendered:
    """The body as HTML, with what Markdown rendering gives besides (links, excerpt, words)."""
    found: list[str] = []

    def rebase(match: re.Match[str]) -> str:
        found.append(match.group(3))
        return f"{match.group(1)}{match.group(2)}{base_path}{match.group(3)[1:]}{match.group(2)}"

    html = _ROOT_LINK.sub(rebase, body.strip())
    if sanitizer is None:
        return Rendered(html, tuple(found), _excerpt(html), len(_TAGS.sub(" ", html).split()))
    cleaned = sanitizer.clean(html)
    html = cleaned.html
    return Rendered(html, tuple(found), _excerpt(html), len(_TAGS.sub(" ", html).split()),
                    cleaned.removed)
