"""URL expressions and links to articles: `{{ site.baseurl }}`, `{{ "/p" | relative_url }}`,
`absolute_url`, site variables, `{% post_url %}` and `{% link %}`.

They become text in the Markdown itself (not placeholders), so that links written with them
are links Markdown sees: they get the base path and are checked like any other. Inside an HTML
attribute, where Markdown adds no base path, the text carries it already.
"""

from __future__ import annotations

import html as html_lib
import os
import re
from typing import TYPE_CHECKING, Any, Protocol

from .filters import Page, ShortcodeFailure
from .syntax import ArgumentError, Tag, parse_args

if TYPE_CHECKING:
    from ..config import Config


class Engine(Protocol):
    """What URL expressions use of the shortcode engine (engine.Engine)."""

    config: Config
    urls: Any
    resolver: Resolver | None


class UrlExpressions:
    """The URL and variable calls of one body (a part of `engine._Run`)."""

    engine: Engine
    page: Page
    text: str  # the body (or include) the calls are in
    variables: dict[str, str]  # an include's parameters (`include.key`)

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
        if self.engine.resolver is None:
            self.engine.resolver = Resolver(self.engine.config, self.engine.urls)
        url = self.engine.resolver.url(tag.name, args[0])
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


class Resolver:
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
