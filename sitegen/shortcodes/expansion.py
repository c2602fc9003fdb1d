"""Placeholders: what `Engine.expand` leaves in the Markdown, and the HTML put back after it.

Each template call is a token `<nonce><number>z` (letters and digits, which Markdown and the
sanitizer leave alone); a paired call whose inner content is Markdown is a start marker
`<nonce><number>s` and an end marker `<nonce><number>e` around that content, converted in the
same Markdown pass as the body. `Expansion.substitute(html)` renders each pair's template with
its inner HTML, then puts every call's HTML in place of its token: template output is
trusted, the body is not, so this runs after the sanitizer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import Problem

MAX_DEPTH = 8  # includes and inner content that expand into more calls
_BLOCK = re.compile(r"\s*<(?:address|article|aside|audio|blockquote|details|div|dl|figure|h[1-6]|"
                    r"hr|iframe|ol|p|pre|section|table|ul|video)\b")


@dataclass
class Expansion:
    text: str  # the Markdown to convert, with placeholder tokens
    nonce: str
    blocks: dict[str, str] = field(default_factory=dict)  # token number -> HTML
    problems: list[Problem] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # internal links of inner content
    # paired calls, rendered once Markdown has converted their inner content in the same
    # pass as the body (a Markdown run of its own cost ~0.3 ms a call)
    pending: dict[str, Callable[[str], str]] = field(default_factory=dict)

    def substitute(self, html: str) -> str:
        """The HTML of each call in place of its token. Block output (a figure, an aside) in
        a paragraph ends the paragraph there and starts another after it: HTML has no
        figure inside a <p>."""
        if not self.blocks and not self.pending:
            return html
        token, start = _patterns(self.nonce)
        if self.pending:
            html = self._pairs(html, start)
        for _ in range(MAX_DEPTH + 1):  # output of a call may hold tokens of inner calls
            if self.nonce not in html:
                break
            html = self._split_paragraphs(html, token)
            html = token.sub(lambda m: self.blocks.get(m.group(1), ""), html)
        return html

    def _split_paragraphs(self, html: str, token: re.Pattern[str]) -> str:
        """Each `<p>…</p>` holding a token, through `_paragraph`; found from the tokens
        rather than by a pattern tried at every paragraph of the body."""
        out: list[str] = []
        at = 0
        while (found := html.find(self.nonce, at)) >= 0:
            start = html.rfind("<p>", at, found)
            end = html.find("</p>", found)
            if start < 0 or end < 0 or html.find("</p>", start, found) >= 0:
                out.append(html[at:found + 1])  # not inside a paragraph
                at = found + 1
                continue
            out.append(html[at:start])
            out.append(self._paragraph(html[start + 3:end], token))
            at = end + 4
        out.append(html[at:])
        return "".join(out)

    def _pairs(self, html: str, start: re.Pattern[str]) -> str:
        """Each paired call's inner HTML, between its start and end markers, rendered by its
        template into a token; innermost first (a pair with no start marker inside), one
        nesting level a pass. A marker alone in its paragraph takes the `<p>` with it."""
        for _ in range(MAX_DEPTH + 1):
            starts = list(start.finditer(html))
            if not starts:
                break
            out: list[str] = []
            at = 0
            for i, marker in enumerate(starts):
                if marker.start() < at:
                    continue
                end = f"{self.nonce}{marker.group(1)}e"
                close = html.find(end, marker.end())
                if close < 0 or (i + 1 < len(starts) and starts[i + 1].start() < close):
                    continue  # no end, or not innermost: a later pass
                first, inner_from = _unwrapped(html, marker.start(), marker.end())
                inner_to, last = _unwrapped(html, close, close + len(end))
                number = str(len(self.blocks))
                self.blocks[number] = self.pending[marker.group(1)](
                    html[inner_from:inner_to].strip())
                out.append(html[at:first])
                out.append(f"{self.nonce}{number}z")
                at = last
            if at == 0:
                break  # markers without their pair: left as they are
            out.append(html[at:])
            html = "".join(out)
        return html

    def _paragraph(self, inner: str, token: re.Pattern[str]) -> str:
        parts = token.split(inner)  # text, number, text, number, ..., text
        out: list[str] = []
        text = parts[0]
        for number, after in zip(parts[1::2], parts[2::2], strict=True):
            html = self.blocks.get(number, "")
            if _BLOCK.match(html):
                if text.strip():
                    out.append(f"<p>{text.strip()}</p>\n")
                out.append(html + "\n")
                text = after
            else:
                text += html + after
        if text.strip():
            out.append(f"<p>{text.strip()}</p>")
        return "".join(out).rstrip("\n")


def _unwrapped(html: str, start: int, end: int) -> tuple[int, int]:
    """The span of a marker at html[start:end], with `<p>`/`</p>` when it is a paragraph of
    its own."""
    if start >= 3 and html.startswith("<p>", start - 3) and html.startswith("</p>", end):
        return start - 3, end + 4
    return start, end


@functools.cache
def _patterns(nonce: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The token of a call's HTML, and the start marker of a paired call's inner content."""
    return re.compile(rf"{nonce}(\d+)z"), re.compile(rf"{nonce}(\d+)s")
