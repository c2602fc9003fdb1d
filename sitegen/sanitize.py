"""Article body HTML made safe to publish: no script, event handlers or script URLs.

Markdown passes raw HTML through, so an article could run script on the site. `Sanitizer.clean`
keeps the tags and attributes Markdown and editorial HTML use (POLICY) and removes the rest with
nh3 (ammonia). nh3 re-serialises what it cleans (`&copy;` becomes `©`, Markdown's obfuscated
`mailto:` is decoded), so a body only goes through it when a scan finds something the policy
would remove: a body with nothing unsafe keeps its exact bytes, at the cost of one regular
expression over it (the scan's Python part runs only for tags that are not of the shapes
Markdown writes). The scan looks at every `<` followed by a letter, wherever it is (in a
comment, an attribute, a code block): where a browser could see a start tag, so does the scan,
and one it cannot read as strictly well-formed counts as something to clean.

What the scan finds is also what gets reported (`Removal`): `sitegen check` lists it per article.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import nh3

class _Settings(Protocol):
    """What the sanitizer reads of the site's Config (config.py imports this module)."""

    raw_html: str
    iframe_hosts: tuple[str, ...]


RAW_HTML_MODES = ("safe", "trusted")
DEFAULT_IFRAME_HOSTS = ("www.youtube.com", "www.youtube-nocookie.com", "player.vimeo.com",
                        "www.google.com/maps", "maps.google.com", "www.openstreetmap.org")

GENERIC_ATTRIBUTES = frozenset({"id", "class", "title", "lang", "dir"})
_CELL = frozenset({"colspan", "rowspan", "headers", "align"})
_MEDIA = frozenset({"src", "controls", "preload", "loop", "muted"})
POLICY: dict[str, frozenset[str]] = {name: frozenset(attrs) for name, attrs in {
    "a": {"href", "rel", "target", "hreflang"}, "abbr": (), "address": (), "article": (),
    "aside": (), "audio": _MEDIA, "b": (), "bdi": (), "bdo": (), "blockquote": {"cite"},
    "br": (), "caption": (), "cite": (), "code": (), "col": {"span"}, "colgroup": {"span"},
    "dd": (), "del": {"cite", "datetime"}, "details": {"open"}, "dfn": (), "div": (),
    "dl": (), "dt": (), "em": (), "figcaption": (), "figure": (), "footer": (), "h1": (),
    "h2": (), "h3": (), "h4": (), "h5": (), "h6": (), "header": (), "hr": (), "i": (),
    "iframe": {"src", "title", "width", "height", "allow", "allowfullscreen", "loading",
               "referrerpolicy"},
    "img": {"src", "srcset", "sizes", "width", "height", "loading", "alt", "decoding"},
    "ins": {"cite", "datetime"}, "kbd": (), "li": {"value"}, "mark": (),
    "ol": {"start", "reversed", "type"}, "p": (), "picture": (), "pre": (), "q": {"cite"},
    "rp": (), "rt": (), "ruby": (), "s": (), "samp": (), "section": (), "small": (),
    "source": {"src", "srcset", "sizes", "type", "media", "width", "height"}, "span": (),
    "strong": (), "sub": (), "summary": (), "sup": (), "table": (), "tbody": (),
    "td": _CELL, "tfoot": (), "th": _CELL | {"scope", "abbr"}, "thead": (),
    "time": {"datetime"}, "tr": (), "track": {"src", "kind", "srclang", "label", "default"},
    "u": (), "ul": (), "var": (),
    "video": _MEDIA | {"width", "height", "poster", "playsinline"}, "wbr": (),
}.items()}
# Python-Markdown's tables write column alignment as a style; no other style is kept.
STYLE_VALUES = frozenset({"text-align: left;", "text-align: center;", "text-align: right;"})
STYLED = ("td", "th")
# Removed with everything inside them (other tags not in POLICY lose the tag, keep the text).
CLEAN_CONTENT = frozenset({"script", "style", "template", "textarea", "select", "noscript",
                           "svg", "math", "title", "xmp", "noembed", "noframes"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "poster", "srcset"})
# ammonia's default URL schemes; `data:` only for images (`_url_ok`).
SCHEMES = frozenset({"bitcoin", "ftp", "ftps", "geo", "http", "https", "im", "irc", "ircs",
                     "magnet", "mailto", "mms", "mx", "news", "nntp", "openpgp4fpr", "sip",
                     "sms", "smsto", "ssh", "tel", "url", "webcal", "wtai", "xmpp"})
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp|avif)[;,]")

_WS = "[ \t\n\f\r]"  # HTML's whitespace (not Unicode's, nor \v)
_VALUE = r"""(?:"[^"]*"|'[^']*'|[^ \t\n\f\r"'=<>`]+)"""
_ATTRIBUTE = re.compile(rf"""([^ \t\n\f\r"'<>/=]+)(?:{_WS}*={_WS}*({_VALUE}))?""")
_START_TAG = re.compile(
    rf"""<([a-zA-Z][a-zA-Z0-9]*)((?:{_WS}+[^ \t\n\f\r"'<>/=]+(?:{_WS}*={_WS}*{_VALUE})?)*)"""
    rf"""{_WS}*/?>""")
_TAG_NAME = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)")
# The tags Markdown writes, safe as they stand: a `<` followed by one of these is not looked
# at again. Every other `<` followed by a letter is a candidate for the full check.
_SAFE_SHAPES = "|".join((
    "(?:{})>".format("|".join(sorted((n for n, a in POLICY.items() if n != "iframe"),
                                     key=len, reverse=True))),
    'h[1-6] id="[^"]*">', 'code class="[^"]*">', '(?:sup|li) id="[^"]*">',
    'div class="footnote">', 't[hd] style="text-align: (?:left|center|right);">',
    'a (?:class="footnote-(?:backref|ref)" )?href="(?:https?://|/|#)[^"]*"(?: title="[^"]*")?>',
    'img alt="[^"]*" src="(?:https?://|/)[^"]*"(?: title="[^"]*")?>',
))
_CANDIDATE = re.compile(f"<(?=[a-zA-Z])(?!{_SAFE_SHAPES})")
# nh3's output: every literal '<' starts a tag (text has '&lt;'), values are in double quotes.
_IFRAME = re.compile(r"<iframe((?: [^\s=>]+(?:=\"[^\"]*\")?)*)>.*?</iframe>", re.S)
_OUTPUT_TAG = re.compile(r'<[a-z][^\s/>]*(?: [^\s=>]+(?:="[^"]*")?)*>')
_BRACKET_VALUE = re.compile(r'="[^"]*[<>]')
_URL_CONTROLS = "".join(map(chr, range(0x21)))


@dataclass(frozen=True)
class Removal:
    """One thing cleaning removes, with the text to look for to find it in the source."""

    message: str
    hints: tuple[str, ...]


@dataclass(frozen=True)
class Cleaned:
    html: str
    removed: tuple[Removal, ...] = ()


@dataclass(frozen=True)
class Sanitizer:
    mode: str = "safe"
    iframe_hosts: tuple[str, ...] = DEFAULT_IFRAME_HOSTS

    @classmethod
    def from_config(cls, config: _Settings) -> Sanitizer:
        return cls(config.raw_html, config.iframe_hosts)

    def clean(self, html: str) -> Cleaned:
        """The body HTML without what POLICY does not keep; unchanged when nothing is found."""
        if self.mode == "trusted":
            return Cleaned(html)
        removed = tuple(self.findings(html))
        if not removed:
            return Cleaned(html)
        return Cleaned(_tidy(self._cleaner.clean(html)), removed)

    def findings(self, html: str) -> Iterable[Removal]:
        """What cleaning `html` would remove (nothing: `html` is safe as it stands)."""
        for candidate in _CANDIDATE.finditer(html):
            at = candidate.start()
            tag = _START_TAG.match(html, at)
            if tag is None:
                raw = html[at:at + 60].split("\n", 1)[0]
                name = _TAG_NAME.match(html, at)  # a letter follows every candidate '<'
                yield Removal(f"cleaned a <{name.group(1).lower() if name else ''}> tag it "
                              "could not read as well-formed HTML", (raw,))
            else:
                yield from self._tag_findings(tag.group(1).lower(), tag.group(1),
                                              tag.group(2))

    def _tag_findings(self, name: str, raw_name: str, attributes: str) -> Iterable[Removal]:
        opening = f"<{raw_name}"
        if name in CLEAN_CONTENT:
            yield Removal(f"removed <{name}> element", (opening,))
            return
        if name not in POLICY:
            yield Removal(f"removed <{name}> tag (its content kept)", (opening,))
            return
        attrs = [(m.group(1).lower(), m.group(0), m.group(2) or "")
                 for m in _ATTRIBUTE.finditer(attributes)]
        if name == "iframe":
            src = next((html_lib.unescape(_unquote(v)) for a, _, v in attrs if a == "src"), None)
            reason = self._iframe_refusal(src)
            if reason:
                hints = tuple(_unquote(v) for a, _, v in attrs if a == "src") + (opening,)
                yield Removal(f"removed iframe {reason}", hints)
                return
        allowed = POLICY[name]
        for attr, text, value in attrs:
            hints = (text, opening)
            if attr not in allowed and attr not in GENERIC_ATTRIBUTES and not (
                    attr == "style" and name in STYLED):
                yield Removal(f"removed {attr} attribute from <{name}>", hints)
            elif attr == "style" and html_lib.unescape(_unquote(value)) not in STYLE_VALUES:
                yield Removal(f"removed style attribute from <{name}> (only a table "
                              "column's text-align is kept)", hints)
            elif attr in URL_ATTRIBUTES and self._url(name, attr,
                                                      html_lib.unescape(_unquote(value))) is None:
                url = _unquote(value)
                scheme = _scheme(html_lib.unescape(url))
                what = f"{scheme}: URL" if scheme else "URL"
                yield Removal(f"removed {what} from <{name} {attr}>", (url, text, opening))

    def _iframe_refusal(self, src: str | None) -> str:
        """Why an iframe with this src is not kept ('' when it is)."""
        if not src:
            return "without a src"
        parts = urlsplit(src.strip(_URL_CONTROLS).replace("\t", "").replace("\n", "")
                         .replace("\r", ""))
        if parts.scheme.lower() != "https":
            return f"with a non-https src ({src[:60]})"
        host = (parts.hostname or "").lower()
        if parts.username or parts.password or parts.port not in (None, 443):
            return f"from {parts.netloc} (not a plain host name)"
        if not any(_host_matches(entry, host, parts.path) for entry in self.iframe_hosts):
            shown = host + (parts.path if any(e.lower().partition("/")[0] == host
                                              for e in self.iframe_hosts) else "")
            return f"from {shown or '?'} (not in iframe_hosts)"
        return ""

    def _url(self, tag: str, attr: str, value: str) -> str | None:
        """`value` if it is a URL the policy keeps on this attribute, else None."""
        if tag == "iframe" and attr == "src":
            return value if not self._iframe_refusal(value) else None
        if attr == "srcset":
            candidates = (c.strip().split(" ", 1)[0] for c in value.split(","))
            return value if all(_url_ok(tag, attr, c) for c in candidates if c) else None
        return value if _url_ok(tag, attr, value) else None

    def _filter(self, tag: str, attr: str, value: str) -> str | None:
        """nh3's attribute filter: the same URL rules the scan applies."""
        return self._url(tag, attr, value) if attr in URL_ATTRIBUTES else value

    @cached_property
    def _cleaner(self) -> nh3.Cleaner:
        import nh3

        attributes = {name: set(attrs) for name, attrs in POLICY.items() if attrs}
        attributes["*"] = set(GENERIC_ATTRIBUTES)
        return nh3.Cleaner(
            tags=set(POLICY), clean_content_tags=set(CLEAN_CONTENT), attributes=attributes,
            tag_attribute_values={tag: {"style": set(STYLE_VALUES)} for tag in STYLED},
            attribute_filter=self._filter, link_rel=None,
            url_schemes=set(SCHEMES | {"data"}))


def _unquote(value: str) -> str:
    return value[1:-1] if value[:1] in ("'", '"') else value


def _scheme(url: str) -> str:
    """The scheme of a URL as a browser reads it, lowercased ('' for a relative URL)."""
    url = url.strip(_URL_CONTROLS).replace("\t", "").replace("\n", "").replace("\r", "")
    colon = url.find(":")
    if colon < 0 or any(c in url[:colon] for c in "/?#"):
        return ""
    return url[:colon].lower() or ":"


def _url_ok(tag: str, attr: str, url: str) -> bool:
    scheme = _scheme(url)
    if scheme == "data":
        cleaned = url.strip(_URL_CONTROLS).lower()
        return tag == "img" and attr == "src" and _DATA_IMAGE.match(cleaned) is not None
    return not scheme or scheme in SCHEMES


def _host_matches(entry: str, host: str, path: str) -> bool:
    """`www.google.com/maps` matches that host with a path of /maps or below it."""
    entry_host, slash, prefix = entry.lower().partition("/")
    if entry_host != host:
        return False
    if not slash or not prefix.strip("/"):
        return True
    prefix = "/" + prefix.strip("/")
    return path == prefix or path.startswith(prefix + "/")


def _tidy(cleaned: str) -> str:
    """nh3's output made to pass the scan as it stands (cleaning twice changes nothing and
    finds nothing): iframes as `_iframe_without_content`, and '<' or '>' in an attribute
    value written as a character reference (the scan would read it as a tag)."""
    cleaned = _IFRAME.sub(_iframe_without_content, cleaned)
    if _BRACKET_VALUE.search(cleaned):
        cleaned = _OUTPUT_TAG.sub(_escape_brackets, cleaned)
    return cleaned


def _escape_brackets(tag: re.Match[str]) -> str:
    return tag.group(0)[0] + tag.group(0)[1:-1].replace("<", "&lt;").replace(">", "&gt;") + ">"


def _iframe_without_content(match: re.Match[str]) -> str:
    """A kept iframe without its fallback content (text a feed reader could show as HTML);
    one whose src the filter removed goes altogether."""
    attributes = match.group(1)
    return f"<iframe{attributes}></iframe>" if ' src="' in attributes else ""


def validate_iframe_hosts(value: object) -> list[str]:
    """Errors of an `iframe_hosts` setting: a list of host names, each maybe with a path."""
    if not isinstance(value, list | tuple):
        return [f"'iframe_hosts' must be a list of host names, got {value!r}"]
    errors = []
    for entry in value:
        if not isinstance(entry, str) or not re.fullmatch(r"[A-Za-z0-9.-]+(/[^\s:]*)?", entry):
            errors.append(f"'iframe_hosts': {entry!r} is not a host name (write "
                          "'www.example.com', or 'www.example.com/path' for part of a site)")
    return errors


_RAW_TAG = re.compile(r"<[A-Za-z]")
_LINK_TARGET = re.compile(r"\]\(\s*<?(?!https?://|/|#)[^)\s]*[:&]")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:", re.M)


def may_need_cleaning(markdown_text: str) -> bool:
    """Whether a Markdown body could render to HTML that cleaning changes: raw HTML, attribute
    lists, or a link target with a scheme or an entity (false means it certainly cannot)."""
    text = markdown_text
    return ("{" in text or _RAW_TAG.search(text) is not None
            or ("](" in text and _LINK_TARGET.search(text) is not None)
            or ("]:" in text and _REFERENCE.search(text) is not None))
