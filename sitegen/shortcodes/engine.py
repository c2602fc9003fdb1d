"""Calls to HTML: pairing tags and rendering each call through its template.

`Engine.expand(body, page, convert)` runs before Markdown: `syntax.scan` reads the calls,
`tree` pairs open and close tags, and each call becomes a placeholder (`expansion.py`): on a
line of its own it is its own paragraph (block output), else it stays inline. URL expressions
(`{{ site.baseurl }}`, `relative_url`, `post_url`, `link`) become text in the Markdown itself
(`expressions.py`). `Expansion.substitute(html)` puts the rendered HTML in place of the tokens
after Markdown and the sanitizer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..errors import Problem
from ..sources import layout_dirs
from .expansion import MAX_DEPTH, Expansion
from .expressions import Resolver, UrlExpressions
from .filters import (
    Page,
    ShortcodeFailure,
    fail,
    getter,
    image_list,
    split_media,
    video_of,
)
from .syntax import (
    PAIRED_ONLY,
    WORDPRESS_NAMES,
    ArgumentError,
    Piece,
    Tag,
    Unterminated,
    may_contain,
    parse_args,
    scan,
)

if TYPE_CHECKING:
    import jinja2

    from ..config import Config

__all__ = ["Engine", "Expansion", "Page", "ShortcodeFailure", "tree"]

# Names handled here rather than by a template.
URL_TAGS = ("post_url", "link", "ref", "relref")
_MARKDOWN_INCLUDES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".txt")
_ONE_PARAGRAPH = re.compile(r"\s*<p>(.*?)</p>\s*", re.S)
Convert = Callable[[str], tuple[str, tuple[str, ...]]]  # Markdown -> (HTML, internal links)
RenderFunction = Callable[[Any], Iterator[str]]  # a compiled template's body


@dataclass(frozen=True)
class Call:
    tag: Tag
    children: tuple[Node, ...] | None = None  # None: not a paired call
    close: Tag | None = None

    @property
    def end(self) -> int:
        return (self.close or self.tag).end


Node = str | Call | Unterminated


class Engine:
    """One per parsing process: templates are compiled once (and, with `cache_compiled`,
    kept compiled in the build's cache folder: a worker's first call then loads its
    templates instead of compiling them, as render.py does for the theme)."""

    def __init__(self, config: Config, urls: Any, cache_compiled: bool = False):
        self.config = config
        self.urls = urls
        self.cache_compiled = cache_compiled
        self.aliases = dict(getattr(config, "shortcode_aliases", ()))
        self.variables = dict(getattr(config, "site_variables", ()))
        self.wp_names = tuple(sorted({*WORDPRESS_NAMES, *self.aliases}))
        self._env: jinja2.Environment | None = None
        self._names: tuple[str, ...] | None = None
        # each template's compiled body, by name: Environment.get_template's cache lookup
        # and Template.render cost as much as a short template itself
        self._render: dict[str, tuple[jinja2.Template, RenderFunction]] = {}
        self.resolver: Resolver | None = None  # post_url and link, once a call asks
        self.images: Any = None  # an images.Resolver once a call asks for a picture
        self.site = {"title": config.title, "base_url": config.base_url,
                     "base_path": config.base_path}

    def may_contain(self, text: str) -> bool:
        return may_contain(text, self.wp_names)

    # ------------------------------------------------------------ templates

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2  # only in processes that meet a call

            dirs = [str(d / "shortcodes") for d in layout_dirs(self.config)]
            compiled = self.config.cache_dir / f"templates-shortcodes-{jinja2.__version__}"
            if self.cache_compiled:
                compiled.mkdir(parents=True, exist_ok=True)
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(dirs), autoescape=True, auto_reload=False,
                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                # Jinja keys each compiled template by its path and checks its source
                bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled))
                if self.cache_compiled else None)
            env.filters.update(video=video_of, split_media=split_media,
                               asset=self._asset_url, image_list=image_list)
            env.globals["fail"] = fail
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

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Template `layouts/shortcodes/<name>.html` with `context`, stripped."""
        compiled = self._render.get(name)
        if compiled is None:
            template = self.env.get_template(f"{name}.html")
            # a plain dict, not Jinja's ChainMap of template and environment globals (which
            # never change here): every new_context copies it, and a ChainMap copies slowly
            template.globals = dict(template.globals)
            compiled = self._render[name] = (template, template.root_render_func)
        template, root = compiled
        return "".join(root(template.new_context(context))).strip()

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


class _Run(UrlExpressions):
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
                match = _ONE_PARAGRAPH.fullmatch(inner_html)
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
            "article": self.page.article, "base_path": self.engine.site["base_path"],
            "site": self.engine.site, "arg": getter(args, kwargs),
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
            return self.engine.render(name, context)
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


def _inside(folder: Path, path: Path) -> bool:
    try:
        return folder.resolve() in path.resolve().parents
    except OSError:
        return False
