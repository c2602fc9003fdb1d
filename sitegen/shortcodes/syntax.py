"""Reading shortcode calls out of a Markdown body: code regions, verbatim blocks, tags, arguments.

`scan(text)` turns a body into pieces: plain strings, passed to Markdown as they are (prose,
code blocks, code spans, the inside of `{% raw %}`), and `Tag`s, the calls of the three
syntaxes. Code is found first and never scanned for calls; only two things change inside it:
`{% raw %}`/`{% endraw %}` markers are dropped (Jekyll runs Liquid before Markdown, so they
never show) and Hugo's escape `{{</* name */>}}` becomes `{{< name >}}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORDPRESS_NAMES = ("caption", "wp_caption", "gallery", "embed", "audio", "video")
# Liquid's block tags: written without their end tag, they are an unterminated call.
PAIRED_ONLY = frozenset({"raw", "comment", "highlight", "for", "if", "unless", "case",
                         "capture", "tablerow", "caption", "wp_caption", "embed"})

_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^[ \t]{0,3}(?:[-*+]|\d{1,9}[.)])[ \t]")
_RAW_MARK = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")
_HUGO_ESCAPE = re.compile(r"\{\{([<%])/\*(.*?)\*/([>%])\}\}", re.S)
# Blocks whose inside is never scanned: its text is shown as written (raw), dropped
# (comment) or is the code of a highlight call.
_VERBATIM_OPEN = re.compile(
    r"\{%-?\s*(?P<l>raw|comment|highlight)\b(?P<la>[^%]*?)-?%\}"
    r"|\{\{(?P<d>[<%])\s*(?P<h>highlight)\b(?P<ha>[^>%]*?)[>%]\}\}")
# Runs of plain characters are possessive (`++`): a lazy loop over single characters tried
# the tag's end after each one (84 us for a figure call with a caption); a run stops at every
# character where an end can start, so the loop still stops at the first end, and a
# possessive run cannot backtrack into the exponential search of an unclosed tag.
_QUOTED = r"\"(?:[^\"\\]++|\\.)*+\"|'[^']*+'|`[^`]*+`"
_TAGS = re.compile(
    r"(?P<code>(?P<ticks>`+)(?:[^`\n]++|\n(?![ \t]*\n)|`(?!(?P=ticks)))+?(?P=ticks)(?!`))"
    r"|(?P<esc>\{\{[<%]/\*.*?\*/[>%]\}\})"
    r"|\{\{(?P<hd>[<%])\s*(?P<hc>/)?\s*(?P<hn>[A-Za-z0-9_][\w.-]*)"
    rf"(?P<ha>(?:{_QUOTED}|[^\"'`>%\s/]++|[\s/])*?)\s*(?P<hs>/)?\s*[>%]\}}\}}"
    r"|\{%-?\s*(?P<ln>[A-Za-z_][\w-]*)"
    r"(?P<la>(?:" + _QUOTED + r"|[^%\"'`\s-]++|[\s-])*?)\s*-?%\}"
    r"|\{\{-?(?![<%])(?P<out>[^{}]+?)-?\}\}"
    r"|(?P<bad>\{\{[<%]|\{%)",  # an opening no tag above could read: reported, not shown
    re.S)
_WP_TAGS: dict[tuple[str, ...], re.Pattern[str]] = {}


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag as written: `syntax` is hugo (`{{< >}}`), hugo-md (`{{% %}}`), liquid (`{% %}`),
    expr (`{{ x }}`) or wp (`[name]`)."""

    syntax: str
    name: str
    args: str
    pos: int  # offset in the body
    source: str  # the tag as written (for a verbatim block: the whole block)
    closing: bool = False
    self_closing: bool = False
    verbatim: str | None = None  # the inside of a highlight block, as written

    @property
    def end(self) -> int:
        return self.pos + len(self.source)


@dataclass(frozen=True, slots=True)
class Unterminated:
    """A verbatim block (`{% raw %}`, `{% highlight %}`) whose end tag is missing."""

    name: str
    pos: int


Piece = str | Tag | Unterminated


def may_contain(text: str, wp_names: tuple[str, ...] = WORDPRESS_NAMES) -> bool:
    """Whether `text` can hold a call at all: the fast path of every article without one."""
    return ("{" in text and ("{{" in text or "{%" in text)) or \
        ("[" in text and may_hold_bracket_call(text, wp_names))


def may_hold_bracket_call(text: str, wp_names: tuple[str, ...]) -> bool:
    """Whether a WordPress-style call (`[name`, `[/name`) can be in `text`: Markdown links put
    '[' everywhere, and the full pattern tried at each of them cost more than the scan."""
    at = text.find("[")
    while at >= 0:  # a false positive ('[captions]') only costs the full scan
        if text.startswith(wp_names, at + 1) or text.startswith(wp_names, at + 2):
            return True
        at = text.find("[", at + 1)
    return False


def _wp_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    regex = _WP_TAGS.get(names)
    if regex is None:
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        regex = re.compile(
            rf"(?P<wo>\[)?\[(?P<wc>/)?(?P<wn>{alternatives})(?![\w-])"
            rf"(?P<wa>(?:{_QUOTED}|[^\]\"'`\s/]++|[\s/])*?)\s*(?P<ws>/)?\](?P<wx>\])?",
            re.S)
        _WP_TAGS[names] = regex
    return regex


def scan(text: str, wp_names: tuple[str, ...] = WORDPRESS_NAMES) -> list[Piece]:
    """The body as pieces: text for Markdown, and the tags in it (see the module docstring)."""
    pieces: list[Piece] = []
    wp = _wp_regex(wp_names)
    for kind, start, end in _regions(text):
        chunk = text[start:end]
        if kind == "code":
            pieces.append(_in_code(chunk))
        elif kind == "raw":
            pieces.append(_without_raw_marks(chunk))  # the inside as written, not scanned
        elif kind in ("comment", "highlight"):
            pieces.append(_verbatim_tag(kind, chunk, start))
        elif kind == "unterminated":
            opener = _VERBATIM_OPEN.match(chunk)
            assert opener is not None
            pieces.append(Unterminated(opener.group("l") or "highlight", start))
            pieces.extend(_tags(chunk[opener.end():], start + opener.end(), wp, wp_names))
        else:
            pieces.extend(_tags(chunk, start, wp, wp_names))
    return pieces


def _in_code(chunk: str) -> str:
    if "{" not in chunk:
        return chunk
    chunk = _without_raw_marks(chunk)
    return _HUGO_ESCAPE.sub(_unescape, chunk)


def _without_raw_marks(chunk: str) -> str:
    """The text as Liquid shows it: each `{% raw %}` and the `{% endraw %}` that ends it
    dropped, and what lies between kept as written, a `{% raw %}` in it included (Jekyll's
    own posts write `{% raw %}{% raw %}{% endraw %}` to show the tag)."""
    out, at, inside = [], 0, False
    for mark in _RAW_MARK.finditer(chunk):
        closing = "endraw" in mark.group()
        if inside and not closing:
            continue  # shown as written
        out.append(chunk[at:mark.start()])
        at, inside = mark.end(), not closing
    out.append(chunk[at:])
    return "".join(out)


def _unescape(match: re.Match[str]) -> str:
    return "{{" + match.group(1) + match.group(2) + match.group(3) + "}}"


def _verbatim_tag(kind: str, chunk: str, start: int) -> Tag:
    opener = _VERBATIM_OPEN.match(chunk)
    assert opener is not None
    closer = _closer(kind, chunk, opener.end())
    assert closer is not None
    syntax = "liquid" if opener.group("l") else ("hugo" if opener.group("d") == "<" else
                                                 "hugo-md")
    args = (opener.group("la") or opener.group("ha") or "").strip()
    inner = chunk[opener.end():closer.start()]
    return Tag(syntax, kind, args, start, chunk, verbatim=inner.strip("\n"))


def _closer(kind: str, text: str, start: int) -> re.Match[str] | None:
    if kind == "highlight":
        pattern = r"\{%-?\s*endhighlight\s*-?%\}|\{\{[<%]\s*/highlight\s*[>%]\}\}"
    else:
        pattern = rf"\{{%-?\s*end{kind}\s*-?%\}}"
    return re.compile(pattern).search(text, start)


def _regions(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) covering the text: code, raw, comment, highlight, unterminated or
    text. Verbatim blocks that start outside code win over code regions inside them."""
    code = _code_regions(text)
    out: list[tuple[str, int, int]] = []
    at = 0
    code_i = 0
    while at < len(text):
        while code_i < len(code) and code[code_i][1] <= at:
            code_i += 1
        next_code = code[code_i] if code_i < len(code) else (len(text), len(text))
        if next_code[0] <= at:
            out.append(("code", at, next_code[1]))
            at = next_code[1]
            continue
        opener = _VERBATIM_OPEN.search(text, at, next_code[0]) if "{" in text else None
        if opener is None:
            out.append(("text", at, next_code[0]))
            at = next_code[0]
            continue
        if opener.start() > at:
            out.append(("text", at, opener.start()))
        kind = opener.group("l") or "highlight"
        closer = _closer(kind, text, opener.end())
        if closer is None:
            out.append(("unterminated", opener.start(), next_code[0]))
            at = next_code[0]
            continue
        out.append((kind, opener.start(), closer.end()))
        at = closer.end()
    return [r for r in out if r[1] < r[2]]


def _code_regions(text: str) -> list[tuple[int, int]]:
    """Fenced and indented code blocks as (start, end) offsets, in order."""
    if not _may_hold_code_block(text):
        return []  # most bodies: the line-by-line walk below cost ~0.1 ms an article
    regions: list[tuple[int, int]] = []
    lines = text.splitlines(keepends=True)
    offset = 0
    fence: tuple[str, int, int] | None = None  # (char, length, start)
    blank_before, in_list, in_indented = True, False, False
    for line in lines:
        stripped = line.strip()
        if fence is not None:
            match = _FENCE.match(line)
            if match and match.group(2)[0] == fence[0] and len(match.group(2)) >= fence[1] \
                    and not line[match.end():].strip():
                regions.append((fence[2], offset + len(line)))
                fence = None
            offset += len(line)
            continue
        match = _FENCE.match(line)
        if match and len(match.group(1).expandtabs(4)) < 4 + 4 * in_list and \
                not (match.group(2)[0] == "`" and "`" in line[match.end():]):
            fence = (match.group(2)[0], len(match.group(2)), offset)
            in_indented = False
        elif stripped and line.startswith(("    ", "\t")) and not in_list and \
                (blank_before or in_indented):
            if in_indented and regions and regions[-1][1] == offset:
                regions[-1] = (regions[-1][0], offset + len(line))
            else:
                regions.append((offset, offset + len(line)))
            in_indented = True
        elif stripped:
            in_indented = False
            if _LIST_ITEM.match(line):
                in_list = True
            elif not line[0].isspace() and blank_before:
                in_list = False
        elif in_indented and regions and regions[-1][1] == offset:
            regions[-1] = (regions[-1][0], offset + len(line))  # blank lines inside the block
        blank_before = not stripped
        offset += len(line)
    if fence is not None:  # an unclosed fence runs to the end, as Markdown reads it
        regions.append((fence[2], len(text)))
    return regions


def _may_hold_code_block(text: str) -> bool:
    """Whether a fence (backticks or tildes) or an indented line can be in `text` (a test
    for one character is a memchr; one for a string walks the text ten times slower)."""
    return "`" in text or "~" in text or "\t" in text or "\n    " in text or \
        text.startswith("    ")


def _tags(chunk: str, base: int, wp: re.Pattern[str], wp_names: tuple[str, ...]
          ) -> list[Piece]:
    """Text and tags of a region outside code; code spans stay text."""
    if "{" not in chunk and "[" not in chunk:
        return [chunk]
    found = [m for m in _matches(chunk) if not m.group("code")] if "{" in chunk else []
    if "[" in chunk and may_hold_bracket_call(chunk, wp_names):
        brackets = list(wp.finditer(chunk))
        if brackets:
            found = _merge(found, brackets, chunk)
    pieces: list[Piece] = []
    at = 0
    for match in found:
        if match.start() > at:
            pieces.append(chunk[at:match.start()])
        pieces.append(_tag(match, base))
        at = match.end()
    if at < len(chunk):
        pieces.append(chunk[at:])
    return pieces


def _matches(chunk: str) -> list[re.Match[str]]:
    """The tags and code spans of `chunk`, left to right: `_TAGS` tried only at a '{' or a
    backtick, found with str.find (a regex search, even for `[{`]`, cost 20-50 us a body)."""
    out = []
    find, match_at = chunk.find, _TAGS.match
    brace, tick = find("{"), find("`")
    at = 0
    while brace >= 0 or tick >= 0:
        start = brace if tick < 0 or 0 <= brace < tick else tick
        match = match_at(chunk, start)
        if match is not None:
            out.append(match)
            at = match.end()
        elif start == tick:  # a run of backticks with no end: skip all of it
            at = start + 1
            while at < len(chunk) and chunk[at] == "`":
                at += 1
        else:
            at = start + 1
        if 0 <= brace < at:
            brace = find("{", at)
        if 0 <= tick < at:
            tick = find("`", at)
    return out


def _merge(braces: list[re.Match[str]], brackets: list[re.Match[str]], chunk: str
           ) -> list[re.Match[str]]:
    """Both lists in order, without a bracket tag inside a brace tag or a code span."""
    spans = [(m.start(), m.end()) for m in _matches(chunk)]
    kept = [m for m in brackets if not any(s <= m.start() < e for s, e in spans)]
    return sorted(braces + kept, key=lambda m: m.start())


def _tag(match: re.Match[str], base: int) -> Piece:
    groups = match.groupdict()
    source = match.group(0)
    pos = base + match.start()
    if groups.get("esc"):
        return _HUGO_ESCAPE.sub(_unescape, source)
    if groups.get("hn"):
        syntax = "hugo" if groups["hd"] == "<" else "hugo-md"
        return Tag(syntax, groups["hn"], groups["ha"].strip(), pos, source,
                   closing=bool(groups["hc"]), self_closing=bool(groups["hs"]))
    if groups.get("ln"):
        name = groups["ln"]
        closing = name.startswith("end") and len(name) > 3
        return Tag("liquid", name[3:] if closing else name, groups["la"].strip(), pos, source,
                   closing=closing)
    if groups.get("out"):
        return Tag("expr", "", groups["out"].strip(), pos, source)
    if groups.get("bad"):
        line_end = match.string.find("\n", match.start())
        written = match.string[match.start():line_end if line_end >= 0 else None][:60]
        return Tag("bad", "", written, pos, source)
    if groups.get("wo") and groups.get("wx"):  # [[caption]]: WordPress's escape
        return source[1:-1]
    return Tag("wp", groups["wn"], groups["wa"].strip(), pos, source,
               closing=bool(groups["wc"]), self_closing=bool(groups["ws"]))


# ---------------------------------------------------------------- arguments

_ARG = re.compile(
    r"\s*(?:(?P<key>[A-Za-z_][\w-]*)\s*(?:=|:(?=\s))\s*)?"
    r"(?:\"(?P<dq>(?:[^\"\\]++|\\.)*+)\"|'(?P<sq>[^']*)'|`(?P<bq>[^`]*)`"
    r"|“(?P<cq>[^”]*)”|(?P<bare>[^\s\"'`]+))\s*,?", re.S)


_BACKSLASH = re.compile(r"\\(.)")


class ArgumentError(ValueError):
    """Arguments that cannot be read."""


def parse_args(text: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """Positional and named arguments: `a "b c" key="v" key=v key='v' key=`raw``."""
    args: list[str] = []
    kwargs: dict[str, str] = {}
    at = 0
    text = text.strip()
    match_at = _ARG.match
    while at < len(text):
        match = match_at(text, at)
        if match is None or match.end() == at:
            raise ArgumentError(f"cannot read the arguments from {text[at:]!r}")
        key, dq, sq, bq, cq, bare = match.groups()
        if dq is not None:
            value = _BACKSLASH.sub(r"\1", dq) if "\\" in dq else dq
        elif bare is not None:
            value = bare.rstrip(",")
        else:
            value = sq if sq is not None else bq if bq is not None else cq
        if key:
            kwargs[key] = value
        else:
            args.append(value)
        at = match.end()
    return tuple(args), kwargs
