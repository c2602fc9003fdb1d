"""The Jinja2 environment over `layouts/`, and page specs to bytes."""

from __future__ import annotations

import hashlib
import json
import traceback
from datetime import datetime, tzinfo
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from jinja2 import meta as jinja_meta
from jinja2.compiler import CodeGenerator
from markupsafe import Markup

from . import compat
from .config import Config
from .dataexport import filters as data_filters
from .errors import Problem, TemplateError
from .i18n import Localizer
from .images import filters as image_filters
from .records import Article, PageSpec
from .sources import layout_dirs
from .urls import Urls

# Part of the compiled templates' folder name: Jinja compiles which filters receive the
# template's context into the code (2: the date filters do, for the page's language).
COMPILED_FORMAT = 2


class Renderer:
    def __init__(self, config: Config, cache_compiled: bool = False):
        """`cache_compiled`: keep compiled templates in the build cache (a build does; `check`
        writes nothing)."""
        self.config = config
        self.urls = Urls(config)
        self.env = make_environment(config, self.urls, cache_compiled)
        self.sites: dict[str, dict[str, Any]] = {}  # a site of several languages: `site` of each

    def render(self, spec: PageSpec, body_html: str = "") -> bytes:
        context = dict(spec.context)
        lang = context.get("lang")
        if lang is not None:  # a page of one language of several (languages.py)
            if lang not in self.sites:
                self.sites[lang] = site_values(self.config, Urls(self.config, lang), lang)
            context["site"] = self.sites[lang]
        if spec.body_of:
            context["body_html"] = Markup(body_html)
        try:
            template = self.env.get_template(spec.template)
            text = template.render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(Problem(exc.filename or exc.name or spec.template, exc.lineno,
                                        exc.message or str(exc))) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(Problem(spec.template, None,
                                        f"layout {exc.name!r} not found in "
                                        f"{', '.join(map(str, layout_dirs(self.config)))}")
                                ) from None
        except Exception as exc:  # a template's own runtime error, e.g. an undefined variable
            path, line = template_frame(exc)
            raise TemplateError(Problem(path or spec.template, line,
                                        f"{type(exc).__name__}: {exc}")) from None
        return text.encode("utf-8")


def template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost traceback frame that lies in a layout file."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".html", ".xml", ".txt")):
            return frame.filename, frame.lineno
    return None, None


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """`page.title` on a dict without the AttributeError Jinja raises and catches first (the
    theme reads ~50 such keys a page). Same precedence: a dict's own attributes (`items`,
    `get`...) still win over its keys."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        try:  # jinja2.Environment.getattr, inlined: it runs ~200 times a page
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


_escape_inner = getattr(markupsafe, "_escape_inner", None)  # markupsafe's C escaping
_new_str = str.__new__


def escape(value: Any) -> Markup:
    """markupsafe.escape, with a plain string made into Markup without the Python-level
    `Markup.__new__` (which only handles `__html__` objects and encodings)."""
    if type(value) is str and _escape_inner is not None:
        return _new_str(Markup, _escape_inner(value))
    return markupsafe.escape(value)


class _EscapingCodeGenerator(CodeGenerator):
    """Jinja's code generator, with autoescaped output going through `escape` above instead
    of markupsafe's: the same text, ~10% less time a page (a page escapes ~145 values)."""

    def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.sitegen_escape(")  # as Jinja writes "escape("
        if finalize.src is not None:
            self.write(finalize.src)


def _ensure_dir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def quick_escaping_supported() -> bool:
    """Whether this Jinja and MarkupSafe are versions `_EscapingCodeGenerator` and `escape`
    are tested with (compat.py: outside them, Jinja's code generator and markupsafe.escape
    run, and say so once) and have what they rely on."""
    tested = all([compat.usable(compat.JINJA2), compat.usable(compat.MARKUPSAFE)])  # ask both
    return tested and _escape_inner is not None and hasattr(CodeGenerator, "_output_child_pre")


def make_environment(config: Config, urls: Urls, cache_compiled: bool = False
                     ) -> jinja2.Environment:
    quick = quick_escaping_supported()
    environment = _Environment if compat.usable(compat.JINJA2) else jinja2.Environment
    env = environment(
        loader=jinja2.FileSystemLoader([str(d) for d in layout_dirs(config)]),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False,
        # Compiling the theme takes ~0.1 s in every render worker of every build. Jinja keys
        # the cache by template path and source checksum; the folder name adds what else
        # shapes the compiled code.
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(_ensure_dir(
            config.cache_dir / f"templates-{jinja2.__version__}-{int(quick)}-{COMPILED_FORMAT}")))
        if cache_compiled else None,
    )
    if quick:
        env.code_generator_class = _EscapingCodeGenerator
        env.sitegen_escape = escape  # type: ignore[attr-defined]
    local = Localizer(config)  # dates and theme strings in the page's language (i18n.py)
    env.filters.update(
        absolute=urls.absolute, isodate=_isodate, rfc822=_rfc822,
        longdate=_with_context(local.longdate), shortdate=_with_context(local.shortdate),
        time12=_with_context(local.time12), jsonld=_jsonld, memo=MacroMemo(),
        zone=ZoneNamer(config.tz),
    )
    env.filters.update(data_filters(urls))  # /data/ files (dataexport.py)
    env.filters.update(image_filters(config))  # derived photos (images.py)
    env.globals["site"] = site_values(config, urls)
    env.globals["_"] = env.globals["t"] = _with_context(local.gettext)
    return env


def _with_context(method: Any) -> Any:
    """A Localizer method as a Jinja function or filter that is given the template's context
    (for the page's language)."""

    @jinja2.pass_context
    def call(context: Any, *args: Any, **kwargs: Any) -> Any:
        return method(context, *args, **kwargs)

    return call


def site_values(config: Config, urls: Urls, lang: str = "") -> dict[str, Any]:
    """`site` in templates; `lang`: of a language of several, with its URLs and title."""
    from .i18n import direction, display_name, language_of, site_text

    title, description = site_text(config, lang)
    root = Urls(config)
    return {
        "title": title, "description": description,
        "base_url": config.base_url, "base_path": config.base_path,
        "language": lang or config.site_language, "home_url": urls.home(),
        "archive_url": urls.archive(), "search_url": urls.search(),
        "sections_url": urls.term_list("sections"), "tags_url": urls.term_list("tags"),
        "authors_url": urls.term_list("authors"), "feed_url": urls.feed(),
        "atom_url": urls.feed(atom=True), "assets_url": root.page("assets/"),
        "pagefind_url": root.page("pagefind/"),
        "dir": direction(language_of(config, lang or config.site_language)),
        # (code, name in itself, home page) of each language, for a language switch
        "languages": tuple((language.code, display_name(language),
                            Urls(config, language.code).home())
                           for language in config.languages),
    }


class MacroMemo:
    """`{{ headline | memo(item) }}`: a macro's output for an object, rendered once per process.

    One article's headline appears on ~8 list pages (home, archive, year, month, day, section,
    tags, authors); rendering it once saves a third of a list page's time. Only for macros
    whose output depends on their argument alone: a macro imported without context sees
    nothing else but the site's globals, which do not change during a build. An article is
    known by its card (the digest of what a list can show of it, which the pages'
    fingerprints trust too): on Dask every chunk of pages arrives as new objects, and an id
    would neither match the same article in the next chunk nor let those objects go. Other
    objects are known by id() and kept alive in the memo so that their id stays unique. It
    starts over past `limit` entries, so that a worker's memory stays bounded past ~120,000
    articles (~0.7 KB an entry). A smaller limit made 100,000 articles cost more than
    linear: the lists of one article lie far apart in the plan, so with 20,000 entries most
    headlines were rendered again (render 60 s instead of 37 s; the process tree's PSS 1.61
    GB instead of 1.75 GB).
    """

    def __init__(self, limit: int = 120_000) -> None:
        self.done: dict[tuple[Any, int | str], tuple[Any, Markup]] = {}
        self.limit = limit

    def __call__(self, macro: Any, item: Any) -> Markup:
        code = getattr(getattr(macro, "_func", None), "__code__", macro)
        card = item.card if isinstance(item, Article) else ""
        key = (code, card or id(item))
        known = self.done.get(key)
        if known is None:
            if len(self.done) >= self.limit:
                self.done.clear()
            known = (None if card else item, Markup(macro(item)))
            self.done[key] = known
        return known[1]


def _isodate(value: datetime | None) -> str:
    """ISO 8601 with at most milliseconds: HTML's <time datetime> allows no more."""
    if not value:
        return ""
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def _rfc822(value: datetime) -> str:
    return format_datetime(value)


class ZoneNamer:
    """`{{ date | zone }}`: the time zone as readers know it ("EST") where the site's
    `timezone` names the date's offset at that moment, else the offset ("UTC−05:00")."""

    def __init__(self, tz: tzinfo):
        self.tz = tz

    def __call__(self, value: datetime) -> str:
        offset = value.utcoffset()
        if offset is None:
            return ""
        local = value.astimezone(self.tz)
        name = local.tzname() or ""
        if local.utcoffset() == offset and name.isalpha():
            return name
        minutes = int(offset.total_seconds()) // 60
        sign = "\u2212" if minutes < 0 else "+"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _jsonld(data: Any) -> Markup:
    """JSON that '</script>' in a title cannot end: '<', '>' and '&' become \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text)


# ---------------------------------------------------------------- template digests

def template_digests(config: Config) -> dict[str, str]:
    """For each layout name: a digest of it and every layout it extends, includes or imports.

    A page's fingerprint carries the digest of its template, so changing a layout re-renders
    exactly the pages whose template used it.
    """
    dirs = layout_dirs(config)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in dirs]))
    names = env.list_templates()
    sources = {name: _source(env, name) for name in names}
    refs = {name: _references(env, sources[name]) for name in names}

    @cache
    def closure(name: str) -> frozenset[str]:
        seen = {name}
        stack = [name]
        while stack:
            for ref in refs.get(stack.pop(), ()):
                if ref not in seen:
                    seen.add(ref)
                    stack.append(ref)
        return frozenset(seen)

    out = {}
    for name in names:
        digest = hashlib.blake2b(digest_size=12)
        for dep in sorted(closure(name)):
            digest.update(dep.encode() + b"\0" + sources.get(dep, "").encode() + b"\0")
        out[name] = digest.hexdigest()
    return out


def _source(env: jinja2.Environment, name: str) -> str:
    assert env.loader is not None
    return env.loader.get_source(env, name)[0]


def _references(env: jinja2.Environment, source: str) -> tuple[str, ...]:
    try:
        found = jinja_meta.find_referenced_templates(env.parse(source))
    except jinja2.TemplateSyntaxError:
        return ()  # reported when the page renders
    return tuple(sorted(ref for ref in found if ref))
