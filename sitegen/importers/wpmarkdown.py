"""HTML to Markdown for imported bodies: markdownify, told what Markdown cannot say.

Tables with attributes, spans or block content, iframes, audio, video, forms and other
elements without a Markdown form stay HTML (Python-Markdown passes them through); inline
elements such as <sup>, <abbr> and <mark> stay HTML inside the Markdown. Text is escaped for
Python-Markdown (which escapes fewer characters than CommonMark) and for sitegen's shortcode
scanner: a `{{` or `{%` written in an article is text, not a template tag.
"""

from __future__ import annotations

import re
from typing import Any

from markdownify import ATX, MarkdownConverter

from ..shortcodes import WORDPRESS_NAMES

BLOCK_KEPT = ("iframe", "object", "embed", "audio", "video", "form", "details", "dl",
              "canvas", "svg", "map", "math", "address", "fieldset")
INLINE_KEPT = ("sup", "sub", "abbr", "acronym", "mark", "ins", "u", "small", "cite", "q",
               "time", "var", "dfn", "bdo", "bdi")
INLINE_ATTRS = {"abbr": ("title",), "acronym": ("title",), "bdo": ("dir",), "bdi": ("dir",),
                "time": ("datetime",), "q": ("cite",)}
TABLE_PLAIN_ATTRS = frozenset({"scope"})
_TEMPLATE_OPEN = re.compile(r"\{(?=[{%])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"(^|\n)([ \t]*)([>#]|[-+*][ \t]|\d{1,9}[.)][ \t]|={3,}|-{3,})")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
# Text that sitegen's scanner would read as the start of a WordPress call: `[caption`,
# `[/gallery` (in prose, a link's text or an image's alt text).
_CALL_NAME = re.compile(rf"^/?(?:{'|'.join(WORDPRESS_NAMES)})(?![\w-])", re.I)
_CALL_START = re.compile(rf"\[(?=/?(?:{'|'.join(WORDPRESS_NAMES)})(?![\w-]))", re.I)


def neutral_templates(text: str) -> str:
    """`{{` and `{%` as `&#123;{`, `&#123;%`: shown the same, never read as template tags."""
    return _TEMPLATE_OPEN.sub("&#123;", text)


def raw_html(html: str) -> str:
    """An HTML block Python-Markdown passes through whole: no blank line inside it."""
    return neutral_templates(_BLANK_LINES.sub("\n", html.strip()))


def not_a_call(text: str) -> str:
    """Bracketed text (a link's, an image's alt) that starts like a WordPress call, with its
    first letter as a character reference: `[caption](url)` is a link, not a caption."""
    if _CALL_NAME.match(text):
        at = 1 if text.startswith("/") else 0
        return f"{text[:at]}&#{ord(text[at])};{text[at + 1:]}"
    return text


class Converter(MarkdownConverter):
    """markdownify with sitegen's choices (see the module docstring)."""

    def __init__(self, **options: Any):
        super().__init__(heading_style=ATX, bullets="-", sub_symbol="<sub>", sup_symbol="<sup>",
                         escape_misc=False, strip_document="strip", **options)

    def escape(self, text: str, parent_tags: Any) -> str:
        if not text:
            return ""
        text = text.replace("\\", "\\\\").replace("`", "\\`")
        text = super().escape(text, parent_tags)
        text = _ENTITY.sub("&amp;", text).replace("<", "&lt;")
        text = _CALL_START.sub("&#91;", text)
        text = text.replace("[", "\\[").replace("]", "\\]")
        text = _LINE_START.sub(lambda m: m.group(1) + m.group(2) + _escape_start(m.group(3)),
                               text)
        return neutral_templates(text)

    def convert_a(self, el: Any, text: str, parent_tags: Any) -> str:
        return super().convert_a(el, not_a_call(text), parent_tags)

    def convert_table(self, el: Any, text: str, parent_tags: Any) -> str:
        if _plain_table(el):
            return super().convert_table(el, text, parent_tags)
        return "\n\n" + raw_html(str(el)) + "\n\n"

    def convert_figure(self, el: Any, text: str, parent_tags: Any) -> str:
        if el.find("figcaption") is not None and el.find(["img", "table"]) is not None:
            return "\n\n" + raw_html(str(el)) + "\n\n"
        return "\n\n" + text.strip() + "\n\n"

    def convert_img(self, el: Any, text: str, parent_tags: Any) -> str:
        if "_inline" in parent_tags:  # in a heading: its alt text
            return super().convert_img(el, text, parent_tags)
        alt = (el.attrs.get("alt") or "").replace("[", "\\[").replace("]", "\\]")
        src = (el.attrs.get("src") or "").replace(" ", "%20").replace(")", "%29")
        title = el.attrs.get("title") or ""
        title_part = ' "{}"'.format(title.replace('"', "&quot;")) if title else ""
        return f"![{not_a_call(neutral_templates(alt))}]({src}{title_part})"


def _escape_start(marker: str) -> str:
    if marker[0].isdigit():
        return re.sub(r"([.)])", r"\\\1", marker, count=1)
    return "\\" + marker


def _plain_table(table: Any) -> bool:
    """A table pipe syntax can hold: no attributes, spans or block content in cells."""
    if set(table.attrs) - TABLE_PLAIN_ATTRS:
        return False
    for element in table.find_all(True):
        if set(element.attrs) - TABLE_PLAIN_ATTRS:
            return False
        if element.name in ("table", "p", "ul", "ol", "div", "blockquote", "pre", "br",
                            "h1", "h2", "h3", "h4", "h5", "h6", "caption", "img"):
            return False
    rows = table.find_all("tr")
    return bool(rows) and bool(rows[0].find_all("th"))


def _keep_block(self: Converter, el: Any, text: str, parent_tags: Any) -> str:
    if "_inline" in parent_tags:
        return raw_html(str(el))
    return "\n\n" + raw_html(str(el)) + "\n\n"


def _keep_inline(self: Converter, el: Any, text: str, parent_tags: Any) -> str:
    if "_noformat" in parent_tags or not text.strip():
        return text
    kept = INLINE_ATTRS.get(el.name, ())
    attrs = "".join(f' {name}="{_attr(el.attrs[name])}"' for name in kept if name in el.attrs)
    tag = "abbr" if el.name == "acronym" else el.name  # HTML5 has no <acronym>
    return f"<{tag}{attrs}>{text}</{tag}>"


def _attr(value: Any) -> str:
    text = " ".join(value) if isinstance(value, list) else str(value)
    text = text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return neutral_templates(text)


for _name in BLOCK_KEPT:
    setattr(Converter, f"convert_{_name}", _keep_block)
for _name in INLINE_KEPT:
    if _name not in ("sup", "sub"):
        setattr(Converter, f"convert_{_name}", _keep_inline)
