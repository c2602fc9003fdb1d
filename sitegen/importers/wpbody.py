"""A WordPress post body as sitegen Markdown.

In order: WordPress's shortcodes that sitegen renders (`[caption]`, `[gallery]`, `[embed]`,
`[audio]`, `[video]`) are set aside as tokens, and a URL alone on a line (WordPress's
auto-embed) becomes `[embed]URL[/embed]`; classic-editor text gets wpautop's paragraphs (block
editor posts are HTML already); links to the old site's posts and to its uploads are rewritten;
markdownify converts the HTML (wpmarkdown); the tokens are put back as written. A `[gallery]`
without ids gets the ids of the images attached to the post, as WordPress shows it.

Two changes make the body valid HTML under sitegen's page, whose headline is its only <h1>:
an old-style caption (`<dl class="wp-caption"><dt>image</dt><dd>text</dd></dl>`, written by
WordPress before 3.x kept the shortcode) becomes a `[caption]` call with its image and text
(one with neither is left out and noted), and the body's headings are renumbered to sit under
the headline: all are shifted so the shallowest is <h2>, then each heading's level is
min(its shifted level, the previous heading's level + 1, 6), the previous level starting at 1.
Relative nesting is kept where it never skips a level (h3, h4, h3 -> h2, h3, h2); a jump
deeper becomes one level deeper (h3, h5, h4 -> h2, h3, h3). Headings inside <pre> or <code>
are left as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

from ..shortcodes import WORDPRESS_NAMES, parse_args
from .wpmarkdown import Converter

_BLOCK = (r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|"
          r"pre|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|"
          r"section|article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|"
          r"summary|iframe|object|video|audio|script|noscript)")
_NAMES = "|".join(sorted(WORDPRESS_NAMES, key=len, reverse=True))
_ARGS = r"(?:\"[^\"]*\"|'[^']*'|[^\]\"'])*"
# `[[name]]` is WordPress's escape (shown as written); paired media calls are kept whole.
_SHORTCODE = re.compile(
    rf"\[\[(?:{_NAMES})\b{_ARGS}\]\]"
    rf"|\[(?P<paired>embed|audio|video)\b{_ARGS}\](?:(?!\[(?:embed|audio|video)\b).)*?"
    rf"\[/(?P=paired)\]"
    rf"|\[/?(?P<name>{_NAMES})(?![\w-]){_ARGS}\]"
    rf"|\[(?P<jet>youtube|vimeo)[= ](?P<url>[^\]\s]+)[^\]]*\]", re.S | re.I)
_URL_LINE = re.compile(r"^[ \t]*(https?://[^\s<>\"'\[\]]+)[ \t]*$", re.M)
_TOKEN = re.compile(r"xsgwp(\d+)x")
_URL = re.compile(r"https?://[^\s\"'\[\]<>]+")
_PRE = re.compile(r"<pre\b.*?</pre>", re.S | re.I)
_IDS = re.compile(r"\s(?:ids|include)=(\"[^\"]*\"|'[^']*'|[\d,\s]+)", re.I)
_OLD_CAPTION = re.compile(
    r"<dl\b(?=[^>]*\bclass\s*=\s*(?:\"[^\"]*|'[^']*|)\bwp-caption\b)[^>]*>.*?</dl\s*>",
    re.S | re.I)
_HEADING = re.compile(r"^h[1-6]$")


@dataclass(frozen=True)
class Links:
    """What the body's addresses become: `media` gives the bundle's file name of an upload
    (None: left as it was), `post` the new site path of a post's old address."""

    media: Callable[[str], str | None]
    post: Callable[[str], str | None]
    children: tuple[int, ...] = ()  # images attached to the post, in gallery order
    known: Callable[[int], bool] = lambda _id: True


@dataclass(frozen=True)
class Body:
    markdown: str
    gallery_ids: tuple[int, ...]
    notes: tuple[str, ...]  # what could not be carried over


def convert(html: str, links: Links) -> Body:
    """The Markdown of one post's body (see the module docstring)."""
    kept: list[str] = []
    notes: list[str] = []
    gallery: list[int] = []

    def keep(text: str) -> str:
        kept.append(text)
        return f"xsgwp{len(kept) - 1}x"

    def shortcode(match: re.Match[str]) -> str:
        text = match.group(0)
        if match.group("jet"):
            text = f"[embed]{match.group('url')}[/embed]"
        elif (match.group("name") or "").lower() == "gallery" and not text.startswith("[/"):
            text = _gallery(text, links, gallery, notes)
            if not text:
                return ""
        token = keep(_URL.sub(lambda m: links.media(m.group(0)) or m.group(0), text))
        # A call that starts or ends a line is a block of its own, as WordPress shows it.
        before = match.string[match.start() - 1:match.start()] if match.start() else "\n"
        after = match.string[match.end():match.end() + 1] or "\n"
        opening = not text.startswith("[/")
        closing = text.startswith("[/") or (match.group("name") or "").lower() != "caption"
        return ("\n\n" if before == "\n" and opening else "") + token + \
            ("\n\n" if after == "\n" and closing else "")

    pres: list[str] = []
    html = _PRE.sub(lambda m: pres.append(m.group(0)) or f"<pre>xsgpre{len(pres) - 1}x</pre>",
                    html.replace("\r\n", "\n").replace("\r", "\n"))
    html = _OLD_CAPTION.sub(lambda m: _caption_call(m.group(0), notes), html)
    html = _SHORTCODE.sub(shortcode, html)
    html = _URL_LINE.sub(lambda m: keep(f"[embed]{unescape(m.group(1))}[/embed]"), html)
    if "<!-- wp:" not in html:
        html = wpautop(html)
    html = re.sub(r"<pre>xsgpre(\d+)x</pre>", lambda m: pres[int(m.group(1))], html)
    markdown = _to_markdown(html, links)
    markdown = _TOKEN.sub(lambda m: kept[int(m.group(1))], _tidy(markdown))
    return Body(markdown.strip() + "\n" if markdown.strip() else "", tuple(gallery),
                tuple(notes))


def _caption_call(html: str, notes: list[str]) -> str:
    """An old-style caption (`dl.wp-caption`) as the `[caption]` call WordPress now writes,
    on lines of its own; '' (and a note) when it holds neither an image nor text."""
    from bs4 import BeautifulSoup

    dl = BeautifulSoup(html, "html.parser").find("dl")
    img = dl.find("img") if dl else None
    dd = dl.find("dd") if dl else None
    text = dd.decode_contents().strip() if dd else ""
    if img is None:
        if not text:
            notes.append("an empty old-style caption (dl.wp-caption) was left out")
            return ""
        return f"\n<p>{text}</p>\n"
    media = img.parent if img.parent is not None and img.parent.name == "a" else img
    classes = dl.get("class") or []
    width = img.get("width") or ""
    if not str(width).isdigit():
        style = re.search(r"width:\s*(\d+)px", str(dl.get("style") or ""))
        width = str(int(style.group(1)) - 10) if style else ""  # WordPress adds 10px
    attrs = {"id": dl.get("id") or "",
             "align": next((c for c in classes if c.startswith("align")), ""),
             "width": str(width)}
    spelled = "".join(f' {k}="{v.replace(chr(34), "")}"' for k, v in attrs.items() if v)
    return f"\n[caption{spelled}]{media}{' ' + text if text else ''}[/caption]\n"


def _renumber_headings(soup: Any) -> None:
    """The body's headings under the page's <h1> headline (the rule: module docstring)."""
    headings = [h for h in soup.find_all(_HEADING) if h.find_parent(["pre", "code"]) is None]
    if not headings:
        return
    shift = 2 - min(int(h.name[1]) for h in headings)
    previous = 1
    for heading in headings:
        previous = min(int(heading.name[1]) + shift, previous + 1, 6)
        heading.name = f"h{previous}"


def _tidy(markdown: str) -> str:
    """At most one blank line between blocks, outside fenced code."""
    out: list[str] = []
    fence = ""
    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = "" if fence == marker else (fence or marker)
        if not fence and not stripped and out and not out[-1].strip():
            continue
        out.append(line.rstrip() if not fence and not line.endswith("  ") else line)
    return "\n".join(out)


def _gallery(text: str, links: Links, used: list[int], notes: list[str]) -> str:
    """A gallery call with its image ids spelled out, or '' when it has no image left."""
    try:
        _args, kwargs = parse_args(text.strip("[]")[len("gallery"):])
    except Exception:  # noqa: BLE001 - an unreadable call is kept as written
        return text
    given = kwargs.get("ids") or kwargs.get("include") or ""
    ids = [int(n) for n in re.findall(r"\d+", given)] if given else list(links.children)
    excluded = {int(n) for n in re.findall(r"\d+", kwargs.get("exclude", ""))}
    found = [n for n in ids if n not in excluded and links.known(n)]
    if len(found) < len(ids) - len(excluded & set(ids)):
        notes.append(f"gallery images not in the export: "
                     f"{', '.join(str(n) for n in ids if not links.known(n))}")
    if not found:
        notes.append("a [gallery] with no images attached was left out")
        return ""
    used.extend(n for n in found if n not in used)
    rest = _IDS.sub("", text[len("[gallery"):-1])
    return f'[gallery ids="{",".join(str(n) for n in found)}"{rest}]'


def wpautop(text: str) -> str:
    """WordPress's wpautop: blank-line separated text as <p>s, single newlines as <br />,
    block elements left unwrapped (the order of its steps, without its rare special cases)."""
    if not text.strip():
        return ""
    text = re.sub(r"<[^<>]*>", lambda m: m.group(0).replace("\n", " "), text)
    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text, flags=re.I)
    text = re.sub(rf"(<{_BLOCK}[\s/>])", r"\n\n\1", text, flags=re.I)
    text = re.sub(rf"(</{_BLOCK}>)", r"\1\n\n", text, flags=re.I)
    text = re.sub(r"\n\n+", "\n\n", text)
    chunks = [c.strip("\n") for c in re.split(r"\n\s*\n", text) if c.strip()]
    text = "".join(f"<p>{chunk}</p>\n" for chunk in chunks)
    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(rf"<p>\s*(</?{_BLOCK}[^>]*>)", r"\1", text, flags=re.I)
    text = re.sub(rf"(</?{_BLOCK}[^>]*>)\s*</p>", r"\1", text, flags=re.I)
    text = re.sub(r"(?<!<br />)\s*\n(?!$)", "<br />\n", text)
    text = re.sub(rf"(</?{_BLOCK}[^>]*>)\s*<br />", r"\1", text, flags=re.I)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text,
                  flags=re.I)
    return text


def _to_markdown(html: str, links: Links) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    _renumber_headings(soup)
    for element in soup.find_all(True):
        for name in [a for a in element.attrs if a.startswith("data-")]:
            del element[name]  # the block editor's own bookkeeping (data-id, data-link)
        for attr in ("href", "src", "poster"):
            url = element.get(attr)
            if isinstance(url, str) and url.startswith(("http://", "https://", "/")):
                new = links.media(url) or (links.post(url) if attr == "href" else None)
                if new:
                    element[attr] = new
                    if attr == "src":  # other sizes of the image are on the old site
                        for gone in ("srcset", "sizes"):
                            element.attrs.pop(gone, None)
    return Converter().convert_soup(soup)
