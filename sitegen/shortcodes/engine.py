"""Calls to HTML: pairing tags, rendering templates, URL expressions, placeholders.

`Engine.expand(body, page, convert)` runs before Markdown. Each template call becomes a
placeholder token (letters and digits, which Markdown and the sanitizer leave alone): on a
line of its own it is its own paragraph (block output), else it stays inline. URL expressions
(`{{ site.baseurl }}`, `relative_url`, `post_url`, `link`) become text in the Markdown itself,
so that links written with them are links Markdown sees: they get the base path and are
checked like any other. `Expansion.substitute(html)` puts the rendered HTML in place of the
tokens after Markdown and the sanitizer: template output is trusted, the body is not.
"""

from __future__ import annotations

import functools
import html as html_lib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from markupsafe import Markup

from ..errors import Problem
from ..sources import layout_dirs
from .syntax import (
    PAIRED_ONLY,
    WORDPRESS_NAMES,
    ArgumentError,
    Piece,
    Tag,
    Unterminated,
    parse_args,
    scan,
)

if TYPE_CHECKING:
    import jinja2

    from ..config import Config

# Names handled here rather than by a template.
URL_TAGS = ("post_url", "link", "ref", "relref")
MAX_DEPTH = 8  # includes and inner content that expand into more calls
_BLOCK = re.compile(r"\s*<(?:address|article|aside|audio|blockquote|details|div|dl|figure|h[1-6]|"
                    r"hr|iframe|ol|p|pre|section|table|ul|video)\b")
_MARKDOWN_INCLUDES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".txt")
Convert = Callable[[str], tuple[str, tuple[str, ...]]]  # Markdown -> (HTML, internal links)


class ShortcodeFailure(Exception):
    """Raised by a template through `fail(...)`, or by the engine: the call cannot render."""


@dataclass(frozen=True)
class Page:
    """What a call may know about the article it is in."""

    display: str  # the file as errors name it (content/2019/x.md)
    body_line: int  # line of the file where the body starts
    article: Any  # the Article record parsed from the front matter
    source: str = ""  # path relative to the content folder


@dataclass(frozen=True)
class Call:
    tag: Tag
    children: tuple[Node, ...] | None = None  # None: not a paired call
    close: Tag | None = None

    @property
    def end(self) -> int:
        return (self.close or self.tag).end


Node = str | Call | Unterminated


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
        token, pair = _patterns(self.nonce)
        if self.pending:
            html = self._pairs(html, pair)
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

    def _pairs(self, html: str, pair: re.Pattern[str]) -> str:
        """Each paired call's inner HTML, between its start and end markers, rendered by its
        template into a token; innermost first."""
        n = self.nonce

        def rendered(match: re.Match[str]) -> str:
            number = str(len(self.blocks))
            self.blocks[number] = self.pending[match.group(1) or match.group(2)](
                match.group(3).strip())
            return f"{n}{number}z"

        start = re.compile(rf"{n}\d+s")
        for _ in range(MAX_DEPTH + 1):
            if not start.search(html):
                break
            html = pair.sub(rendered, html)
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


@functools.cache
def _patterns(nonce: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The token of a call's HTML, and the markers around a paired call's inner content."""
    n = nonce
    return (re.compile(rf"{n}(\d+)z"),
            re.compile(rf"(?:<p>{n}(\d+)s</p>|{n}(\d+)s) ?((?:(?!{n}\d+s).)*?)"
                       rf" ?(?:<p>{n}(?:\1|\2)e</p>|{n}(?:\1|\2)e)", re.S))


class Engine:
    """One per parsing process: templates are compiled once."""

    def __init__(self, config: Config, urls: Any):
        self.config = config
        self.urls = urls
        self.aliases = dict(getattr(config, "shortcode_aliases", ()))
        self.variables = dict(getattr(config, "site_variables", ()))
        self.wp_names = tuple(sorted({*WORDPRESS_NAMES, *self.aliases}))
        self._env: jinja2.Environment | None = None
        self._names: tuple[str, ...] | None = None
        self._resolver: _Resolver | None = None
        self.images: Any = None  # an images.Resolver once a call asks for a picture

    def may_contain(self, text: str) -> bool:
        from .syntax import may_contain

        return may_contain(text, self.wp_names)

    # ------------------------------------------------------------ templates

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2  # only in processes that meet a call

            dirs = [str(d / "shortcodes") for d in layout_dirs(self.config)]
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(dirs), autoescape=True, auto_reload=False,
                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
            env.filters.update(video=video_of, split_media=split_media,
                               asset=self._asset_url, image_list=image_list)
            env.globals["fail"] = _fail
            self._env = env
        return self._env

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a call may use: templates, aliases and the names handled here."""
        if self._names is None:
            templates = {n[:-5] for n in self.env.list_templates() if n.endswith(".html")
                         and "/" not in n}
            self._names = tuple(sorted(templates | set(self.aliases) | set(URL_TAGS) |
                                       {"raw", "comment"}))
        return self._names

    def _asset_url(self, value: str) -> str:
        """An image or media address as written: a site path gets the base path; a
        script URL is refused."""
        value = str(value).strip()
        if re.match(r"^\s*(javascript|vbscript|data):", value, re.I):
            raise ShortcodeFailure(f"{value!r} is not an address for media")
        if value.startswith("/") and not value.startswith("//"):
            return self.urls.page(value)
        return value

    # ------------------------------------------------------------ expand

    def expand(self, text: str, page: Page, convert: Convert) -> Expansion:
        nonce = "sgscq"  # one nonce, so that its patterns are compiled once
        while nonce in text:
            nonce += "q"
        expansion = Expansion("", nonce)
        run = _Run(self, page, convert, expansion, text)
        expansion.text = run.markdown(tree(scan(text, self.wp_names)), 0)
        return expansion


def tree(pieces: list[Piece]) -> list[Node]:
    """Pair open and close tags: a close tag takes back to its nearest open tag of the same
    name and syntax; open tags left without a close are single calls."""
    root: list[Node] = []
    stack: list[tuple[Tag, list[Node]]] = []
    current = root
    for piece in pieces:
        if isinstance(piece, Tag) and piece.closing:
            family = _family(piece.syntax)
            depth = next((i for i in range(len(stack) - 1, -1, -1)
                          if stack[i][0].name == piece.name
                          and _family(stack[i][0].syntax) == family), None)
            if depth is None:
                current.append(Call(piece))  # a close tag without its open tag: reported
                continue
            while len(stack) > depth + 1:  # open tags inside without a close: single calls
                tag, children = stack.pop()
                stack[-1][1].extend([Call(tag), *children])
            tag, children = stack.pop()
            current = stack[-1][1] if stack else root
            current.append(Call(tag, tuple(children), piece))
        elif isinstance(piece, Tag) and not piece.self_closing and piece.verbatim is None \
                and piece.syntax not in ("expr", "bad"):
            stack.append((piece, []))
            current = stack[-1][1]
        else:
            current.append(Call(piece) if isinstance(piece, Tag) else piece)
    while stack:
        tag, children = stack.pop()
        parent = stack[-1][1] if stack else root
        parent.extend([Call(tag), *children])
    return root


def _family(syntax: str) -> str:
    return "hugo" if syntax.startswith("hugo") else syntax


class _Run:
    """The expansion of one body."""

    def __init__(self, engine: Engine, page: Page, convert: Convert, out: Expansion,
                 text: str, variables: dict[str, str] | None = None):
        self.engine, self.page, self.convert, self.out = engine, page, convert, out
        self.text = text
        self.variables = variables or {}

    def line(self, pos: int) -> int:
        return self.page.body_line + self.text.count("\n", 0, pos)

    def markdown(self, nodes: list[Node] | tuple[Node, ...], depth: int) -> str:
        parts: list[str] = []
        for node in nodes:
            if isinstance(node, str):
                parts.append(node)
            elif isinstance(node, Unterminated):
                self.problem(node.pos, node.name, f"'{{% {node.name} %}}' is never closed "
                             f"by '{{% end{node.name} %}}'")
            else:
                parts.append(self.call(node, depth))
        return "".join(parts)

    # ------------------------------------------------------------ one call

    def call(self, call: Call, depth: int) -> str:
        tag = call.tag
        try:
            if tag.closing:
                opener = {"liquid": f"{{% {tag.name} %}}", "wp": f"[{tag.name}]"}.get(
                    tag.syntax, f"{{{{< {tag.name} >}}}}")
                raise ShortcodeFailure(f"a closing tag without its opening {opener}")
            if tag.syntax == "bad":
                raise ShortcodeFailure(f"cannot read this tag (unclosed quote or missing "
                                       f"end?): {tag.args}")
            if tag.syntax == "expr":
                return self.expression(tag)
            if tag.name == "comment" and tag.syntax == "liquid":
                return ""
            if tag.name in URL_TAGS and tag.name not in self.engine.aliases:
                return self.url_of(tag)
            if call.children is not None and tag.verbatim is None and \
                    self.engine.aliases.get(tag.name, tag.name) != "include":
                return self.paired(call, depth)
            html = self.template(call, depth)
        except ShortcodeFailure as exc:
            self.problem(tag.pos, tag.name or tag.args, str(exc))
            return self.markdown(call.children, depth) if call.children else ""
        return self.place(call, html)

    def paired(self, call: Call, depth: int) -> str:
        """Start and end markers around the inner Markdown: the template renders after
        Markdown (`Expansion._pairs`), with the inner HTML."""
        if depth >= MAX_DEPTH:
            raise ShortcodeFailure(f"calls nested deeper than {MAX_DEPTH}")
        name, context = self.prepare(call)
        tag = call.tag

        def render(inner_html: str) -> str:
            if tag.syntax == "hugo":  # {{< >}}: one paragraph unwrapped, as Hugo's markdownify
                match = re.fullmatch(r"\s*<p>(.*?)</p>\s*", inner_html, re.S)
                if match and "<p>" not in match.group(1):
                    inner_html = match.group(1)
            try:
                return self.render(name, {**context, "inner": Markup(inner_html)})
            except ShortcodeFailure as exc:  # shown as its inner content
                self.problem(tag.pos, tag.name, str(exc))
                return inner_html

        number = str(len(self.out.pending))
        self.out.pending[number] = render
        start, end = f"{self.out.nonce}{number}s", f"{self.out.nonce}{number}e"
        inner = self.markdown(call.children or (), depth + 1)
        if self.alone(call):
            return f"\n\n{start}\n\n{inner}\n\n{end}\n\n"
        return f"{start} {inner} {end}"

    def alone(self, call: Call) -> bool:
        """Whether a call stands alone on its lines, from the start of the first."""
        start = self.text.rfind("\n", 0, call.tag.pos) + 1
        end = self.text.find("\n", call.end)
        end = len(self.text) if end < 0 else end
        return start == call.tag.pos and not self.text[call.end:end].strip()

    def place(self, call: Call, html: str) -> str:
        """The placeholder of a call's HTML: its own paragraph when the call stands alone on
        its lines, else inline."""
        number = str(len(self.out.blocks))
        self.out.blocks[number] = html
        token = f"{self.out.nonce}{number}z"
        return f"\n\n{token}\n\n" if self.alone(call) else token

    def template(self, call: Call, depth: int) -> str:
        """The HTML of a call whose inner content (if any) is not Markdown: single calls,
        highlight, include."""
        name, context = self.prepare(call)
        if name == "include":
            args, kwargs = context["args"], context["kwargs"]
            context["inner"] = self.include(call.tag, tuple(args), kwargs, depth)
        return self.render(name, context)

    def prepare(self, call: Call) -> tuple[str, dict[str, Any]]:
        """The template name and context of a call (its inner HTML still to come)."""
        tag = call.tag
        name = self.engine.aliases.get(tag.name, tag.name)
        if name == "wp_caption":
            name = "caption"
        if tag.name in PAIRED_ONLY and call.children is None and tag.verbatim is None \
                and tag.syntax in ("liquid", "wp"):
            end = {"liquid": f"{{% end{tag.name} %}}", "wp": f"[/{tag.name}]"}.get(
                tag.syntax, f"{{{{< /{tag.name} >}}}}")
            raise ShortcodeFailure(f"'{tag.name}' is never closed by {end}")
        if name not in self.engine.names or name in URL_TAGS or name in ("raw", "comment"):
            target = f" (an alias of '{name}')" if name != tag.name else ""
            raise ShortcodeFailure(f"unknown shortcode '{tag.name}'{target}; shortcodes "
                                   f"that exist: {', '.join(self.engine.names)}")
        try:
            args, kwargs = parse_args(tag.args)
        except ArgumentError as exc:
            raise ShortcodeFailure(str(exc)) from None
        if tag.syntax.startswith("hugo") and args and kwargs and name != "include":
            raise ShortcodeFailure("Hugo shortcodes take positional or named arguments, "
                                   "not both")
        inner_text = ""
        if tag.verbatim is not None:
            inner_text = tag.verbatim
        elif call.children is not None:
            assert call.close is not None
            inner_text = self.text[tag.end:call.close.pos]
        context = {
            "name": tag.name, "args": list(args), "kwargs": kwargs, "inner": Markup(""),
            "inner_text": inner_text, "paired": call.children is not None,
            "article": self.page.article, "base_path": self.engine.config.base_path,
            "site": {"title": self.engine.config.title, "base_url": self.engine.config.base_url,
                     "base_path": self.engine.config.base_path},
            "arg": _getter(args, kwargs),
            "picture": functools.partial(self.picture, tag.pos),
        }
        return name, context

    def picture(self, pos: int, src: str) -> Any:
        """A local raster image's responsive versions (images.Picture), else None."""
        from ..images import ImageError, Resolver

        if self.engine.images is None:
            self.engine.images = Resolver(self.engine.config)
        bundle = getattr(self.page.article, "bundle_files", ())
        try:
            return self.engine.images.picture(str(src).strip(), self.page.source, bundle,
                                              self.page.display, self.line(pos))
        except ImageError as exc:
            raise ShortcodeFailure(str(exc)) from None

    def render(self, name: str, context: dict[str, Any]) -> str:
        import jinja2

        try:
            return self.engine.env.get_template(f"{name}.html").render(context).strip()
        except ShortcodeFailure:
            raise
        except jinja2.TemplateError as exc:
            raise ShortcodeFailure(f"layouts/shortcodes/{name}.html: {exc}") from None
        except Exception as exc:  # a template's runtime error: shown as the call's problem
            raise ShortcodeFailure(f"layouts/shortcodes/{name}.html: "
                                   f"{type(exc).__name__}: {exc}") from None

    def fragment(self, markdown_text: str) -> str:
        html, links = self.convert(markdown_text)
        self.out.links.extend(links)
        return self.out.substitute(html)

    def include(self, tag: Tag, args: tuple[str, ...], kwargs: dict[str, str],
                depth: int) -> Markup:
        if not args:
            raise ShortcodeFailure("include needs a file name")
        if depth >= MAX_DEPTH:
            raise ShortcodeFailure(f"includes nested deeper than {MAX_DEPTH}")
        site = self.engine.config.site_dir
        folders = [site / "includes", site / "_includes"]
        path = next((f / args[0] for f in folders if _inside(f, f / args[0])
                     and (f / args[0]).is_file()), None)
        if path is None:
            raise ShortcodeFailure(f"include: no file {args[0]!r} in {site.name}/includes/")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ShortcodeFailure(f"include: cannot read {path.name}: {exc}") from None
        nested = _Run(self.engine, self.page, self.convert, self.out, text,
                      {f"include.{k}": v for k, v in kwargs.items()})
        nested.page = Page(f"{self.page.display} (include {args[0]})", 1, self.page.article)
        expanded = nested.markdown(tree(scan(text, self.engine.wp_names)), depth + 1)
        if path.suffix.lower() in _MARKDOWN_INCLUDES:
            return Markup(self.fragment(expanded).strip())
        return Markup(self.out.substitute(expanded).strip())  # HTML and SVG: the site's own

    def problem(self, pos: int, name: str, message: str) -> None:
        self.out.problems.append(Problem(self.page.display, self.line(pos),
                                         f"shortcode '{name}': {message}"))

    # ------------------------------------------------------------ URLs and variables

    def in_html_tag(self, pos: int) -> bool:
        """Whether `pos` is inside an HTML start tag (an attribute), where Markdown does not
        add the base path to links."""
        lt = self.text.rfind("<", max(0, pos - 2000), pos)
        return lt > self.text.rfind(">", max(0, pos - 2000), pos) and \
            self.text[lt + 1:lt + 2].isalpha()

    def site_path(self, tag: Tag, path: str) -> str:
        """A site path ('/a/b/') as the Markdown needs it: root-relative where Markdown adds
        the base path itself, with the base path inside HTML."""
        path = "/" + path.lstrip("/")
        return self.engine.urls.page(path) if self.in_html_tag(tag.pos) else path

    def url_of(self, tag: Tag) -> str:
        try:
            args, _ = parse_args(tag.args)
        except ArgumentError as exc:
            raise ShortcodeFailure(str(exc)) from None
        if not args:
            raise ShortcodeFailure(f"{tag.name} needs the file it links to")
        if self.engine._resolver is None:
            self.engine._resolver = _Resolver(self.engine.config, self.engine.urls)
        url = self.engine._resolver.url(tag.name, args[0])
        base = self.engine.config.base_path
        return self.site_path(tag, url[len(base) - 1:] if url.startswith(base) else url)

    def expression(self, tag: Tag) -> str:
        parts = [p.strip() for p in re.split(r"\|(?=(?:[^\"']|\"[^\"]*\"|'[^']*')*$)",
                                             tag.args)]
        value, kind = self.primary(tag, parts[0])
        config = self.engine.config
        for item in parts[1:]:
            name = item.split(":", 1)[0].strip()
            if name in ("relative_url", "url"):
                kind = "path"
            elif name == "absolute_url":
                value, kind = config.base_url + value.lstrip("/"), "text"
            else:
                raise ShortcodeFailure(f"unknown filter '{name}' in {tag.source}; filters "
                                       "that work: relative_url, url, absolute_url")
        if kind == "path":
            return self.site_path(tag, value)
        return html_lib.escape(value, quote=False)

    def primary(self, tag: Tag, text: str) -> tuple[str, str]:
        config = self.engine.config
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            return text[1:-1], "text"
        if text == "site.url":
            return config.origin, "text"
        if text == "site.baseurl":
            follows = self.text[tag.end:tag.end + 1]
            after_origin = self.text[:tag.pos].rstrip().endswith("{{ site.url }}")
            if after_origin or self.in_html_tag(tag.pos):
                return config.base_path.rstrip("/") + ("" if follows == "/" else "/"), "text"
            return ("" if follows == "/" else "/"), "text"
        if text in ("site.title", "site.description"):
            return getattr(config, text[5:]), "text"
        if text.startswith("site.") and text[5:] in self.engine.variables:
            return str(self.engine.variables[text[5:]]), "text"
        if text in self.variables:
            return self.variables[text], "text"
        if text in ("page.title", "page.url", "page.summary"):
            return str(getattr(self.page.article, text[5:], "")), "text"
        known = ["site.url", "site.baseurl", "site.title", "site.description",
                 *(f"site.{k}" for k in self.engine.variables), *self.variables,
                 "page.title", "page.url", "page.summary"]
        raise ShortcodeFailure(f"unknown variable '{text}' in {tag.source} (set site "
                               f"variables in [tool.sitegen.site_variables]); variables "
                               f"that exist: {', '.join(known)}")


def _getter(args: tuple[str, ...], kwargs: dict[str, str]) -> Callable[..., str]:
    def arg(key: str, index: int | None = None, default: str = "") -> str:
        """A named argument, else the positional one at `index`, else `default`."""
        if key in kwargs:
            return kwargs[key]
        if index is not None and index < len(args):
            return args[index]
        return default
    return arg


def _fail(message: str) -> None:
    raise ShortcodeFailure(message)


def _inside(folder: Path, path: Path) -> bool:
    try:
        return folder.resolve() in path.resolve().parents
    except OSError:
        return False


# ---------------------------------------------------------------- template helpers

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


# ---------------------------------------------------------------- post_url and link

class _Resolver:
    """Article URLs by file: for `post_url 2019-02-14-slug` and `link path/to/file.md`, the
    URL of the article file they name, parsed from its front matter as a build would."""

    def __init__(self, config: Config, urls: Any):
        self.config, self.urls = config, urls
        self.files: list[str] = []
        root = str(config.content_dir)
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel = os.path.relpath(folder, root).replace(os.sep, "/")
            self.files += [n if rel == "." else f"{rel}/{n}" for n in sorted(names)
                           if not n.startswith(".")]
        self.known: dict[str, str] = {}

    def url(self, kind: str, ref: str) -> str:
        ref = ref.strip().lstrip("./")
        if kind == "post_url":
            found = [f for f in self.files if _stem(f) == ref or _stem(f).endswith("/" + ref)
                     or f.endswith(f"/{ref}/index.md")]
        else:
            found = [f for f in self.files if f == ref or f.endswith("/" + ref)]
        if not found:
            raise ShortcodeFailure(f"{kind} {ref!r}: no article file of that name in "
                                   f"{self.config.content_dir.name}/")
        return self.url_of_file(sorted(found, key=len)[0])

    def url_of_file(self, rel: str) -> str:
        if rel not in self.known:
            from ..content import ArticleError, parse_source
            from ..sources import read_source

            try:
                source = read_source(rel, self.config.content_dir / rel, ())
                self.known[rel] = parse_source(source, self.config, self.urls).article.url
            except (ArticleError, OSError) as exc:
                raise ShortcodeFailure(f"links to {rel}, which is not an article: "
                                       f"{exc}") from None
        return self.known[rel]


def _stem(rel: str) -> str:
    return rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
