"""Walk `content/`, split front matter and validate it into `Article` records."""

from __future__ import annotations

import dataclasses
import re
import reprlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from . import frontkeys, people, photos
from .config import Config
from .errors import Problem
from .records import Article, Correction, SourceFile, Term
from .urls import Urls, site_path_problem, slug_problem, slugify

try:
    YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    YamlLoader = yaml.SafeLoader

KNOWN_KEYS = (
    "title", "date", "slug", "section", "tags", "authors", "author", "summary", "updated",
    "draft", "expires", "dateline", "source", "link", "image", "image_alt", "story",
    "corrections", "lang", "image_caption", "image_credit", "featured",
    "translation_key", "translation_of",
)
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
# Values that YAML aliases repeat (each use of an alias counts all it holds): an alias
# "billion laughs" of 393 bytes expands to a billion values.
MAX_YAML_REPEATS = 10_000
MAX_YAML_INT_DIGITS = 100  # longer integers are read as text (int() refuses 4,300 digits)
MAX_SHOWN = 80  # characters of a value quoted in a message
# Not allowed in XML 1.0 (feeds, sitemaps) and never meant in text: C0 controls but tab,
# newline and carriage return; DEL; the non-characters U+FFFE and U+FFFF.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
DATE_RE = re.compile(
    r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
FILENAME_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-")
_FM_HANDLER = frontmatter.YAMLHandler()


class _Loader(YamlLoader):  # type: ignore[misc, valid-type]
    """The safe loader, reading an integer too long for int() as the text it is."""


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int | str:
    if len(node.value) > MAX_YAML_INT_DIGITS:
        return str(node.value)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _TextDatesLoader(_Loader):
    """Reads timestamps as text: used when PyYAML's own date parsing raises (2020-13-45)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in YamlLoader.yaml_implicit_resolvers.items()
}


# ---------------------------------------------------------------- parsing

@dataclass(frozen=True)
class Parsed:
    """An article's metadata plus the Markdown body still to convert."""

    article: Article
    body: str
    body_line: int  # line of the file where the body starts
    warnings: tuple[Problem, ...]


class ArticleError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


def parse_source(src: SourceFile, config: Config, urls: Urls) -> Parsed:
    """Split and validate one source file; raises `ArticleError` listing all its problems."""
    display = str(Path(config.content_dir.name) / src.path)
    text = _decode(src, display)
    fm_text, body, fm_line, body_line = _split(text, display)
    meta = _load_yaml(fm_text, fm_line, display)
    checker = _Checker(display, fm_text, fm_line)
    front = frontkeys.normalize(meta, config.front_matter)  # Hugo's, Jekyll's keys, entities
    checker.origins = front.origins
    for key, message in front.problems:
        checker.error(key, message)
    fixed = _fixed_url(front.permalink, _written_key(meta, "permalink", config), front.meta,
                       checker, urls)
    article = _bundle_image_under(_build_article(front.meta, src, checker, config, urls, fixed),
                                  fixed, urls)
    article = photos.with_derived_image(article, front.meta.get("image"), src, config, checker)
    article = frontkeys.complete(article, front)
    _check_aliases(article.aliases, _written_key(meta, "aliases", config), checker)
    article = people.with_names(article, config.people)  # data/authors.yaml: ids to names
    body = _drop_control_characters(body, body_line, checker)
    if checker.errors:
        raise ArticleError(checker.errors + checker.warnings)  # warnings too: fix both at once
    return Parsed(article, body, body_line, tuple(checker.warnings))


def _decode(src: SourceFile, display: str) -> str:
    if len(src.data) > MAX_ARTICLE_BYTES:
        raise ArticleError([Problem(display, None,
                                    f"file is {len(src.data) // 1024} KB, over the "
                                    f"{MAX_ARTICLE_BYTES // 1024 // 1024} MB limit")])
    if b"\x00" in src.data[:8192]:
        raise ArticleError([Problem(display, None, "binary file, not a Markdown article")])
    try:
        text = src.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = src.data[: exc.start].count(b"\n") + 1
        raise ArticleError([Problem(display, line,
                                    f"not valid UTF-8 (byte 0x{src.data[exc.start]:02x} "
                                    f"at offset {exc.start})")]) from None
    if not text.strip():
        raise ArticleError([Problem(display, None, "empty file")])
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _drop_control_characters(body: str, body_line: int, check: _Checker) -> str:
    """The body without control characters (see CONTROL_RE), with a warning at the first."""
    found = CONTROL_RE.search(body)
    if not found:
        return body
    cleaned = CONTROL_RE.sub("", body)
    line = body_line + body.count("\n", 0, found.start())
    check.warnings.append(Problem(
        check.display, line, f"{len(body) - len(cleaned)} control character(s) dropped from "
        f"the body, the first U+{ord(found.group()):04X} on this line", "warning"))
    return cleaned


def _split(text: str, display: str) -> tuple[str, str, int, int]:
    """Front matter text, body, the line where front matter starts and where the body starts."""
    stripped = text.lstrip("\n \t")
    skipped = text[: len(text) - len(stripped)].count("\n")
    if not _FM_HANDLER.detect(stripped):
        raise ArticleError([Problem(display, skipped + 1,
                                    "no front matter: the file must start with a '---' line")])
    try:
        fm_text, body = _FM_HANDLER.split(stripped)
    except ValueError:
        raise ArticleError([Problem(display, skipped + 1,
                                    "front matter is not closed by a '---' line")]) from None
    fm_line = skipped + 1  # fm_text starts with the rest of the opening '---' line
    body_start = len(stripped) - len(body.lstrip("\n"))
    body_line = skipped + stripped.count("\n", 0, body_start) + 1
    body = body.lstrip("\n")
    return fm_text, body, fm_line, body_line


def _load_yaml(fm_text: str, fm_line: int, display: str) -> dict[str, Any]:
    raw = CONTROL_RE.search(fm_text)
    if raw:  # YAML refuses these too, but names neither the character's line nor the character
        raise ArticleError([Problem(display, fm_line + fm_text.count("\n", 0, raw.start()),
                                    f"control character U+{ord(raw.group()):04X} in front "
                                    "matter: not allowed, it makes feeds invalid XML")])
    try:
        try:
            meta = _compose_and_construct(fm_text, fm_line, display, _Loader)
        except (ValueError, TypeError, AttributeError, OverflowError):
            # an impossible date such as 2020-13-45: validated per key later
            meta = _compose_and_construct(fm_text, fm_line, display, _TextDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = fm_line + mark.line if mark else fm_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArticleError([Problem(display, line, f"invalid YAML: {problem}")]) from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # an explicit tag on a value it cannot read, e.g. `!!timestamp soon`, `!!int x`
        raise ArticleError([Problem(display, fm_line, "front matter has a value YAML cannot "
                                    "read as the type its tag (e.g. !!int, !!timestamp) "
                                    f"says ({shown_text(str(exc))})")]) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError([Problem(display, fm_line + 1,
                                    f"front matter must be a mapping of keys to values, "
                                    f"not a {type(meta).__name__}")])
    return meta


def _compose_and_construct(fm_text: str, fm_line: int, display: str, loader_class: type
                           ) -> Any:
    """Compose the node graph, check it (size, duplicate keys, control characters), and only
    then build Python values from it."""
    loader = loader_class(fm_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _node_problem(node)
        if problem:
            mark, message = problem
            raise ArticleError([Problem(display, fm_line + mark.line, message)])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _node_problem(root: yaml.Node) -> tuple[Any, str] | None:
    """The first problem of a front matter's node graph: (its mark, a message), or None.

    It walks the graph as construction would expand it, an alias each time it is used, and
    stops after `MAX_YAML_REPEATS` values seen again: so a graph that expands to billions (or,
    with a recursive alias, forever) costs no more than the text it is written in.
    """
    is_mapping = isinstance(root, yaml.MappingNode)
    entries = root.value if is_mapping else [(None, root)]
    checked = {id(root)} if is_mapping else set()
    duplicate = _duplicate_key(root) if is_mapping else None
    if duplicate is not None:
        return duplicate.start_mark, _duplicate_message(duplicate)
    remaining = MAX_YAML_REPEATS
    for key, value in entries:
        stack = [value] if key is None else [key, value]
        while stack:
            node = stack.pop()
            seen = id(node) in checked
            remaining -= seen
            if remaining < 0:
                name = f"'{shown_text(key.value)}'" if key is not None else "front matter"
                return ((key or root).start_mark,
                        f"{name} expands to more than {MAX_YAML_REPEATS:,} values through "
                        "YAML aliases (each repeats all its anchor holds): refused")
            problem = None if seen else _own_problem(node)
            checked.add(id(node))
            if problem:
                return problem
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                stack.extend(part for pair in node.value for part in pair)
    return None


def _own_problem(node: yaml.Node) -> tuple[Any, str] | None:
    """A problem of this node itself (not of its children)."""
    if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
        found = CONTROL_RE.search(node.value)
        if found:
            return _control_problem(node, found)
    elif isinstance(node, yaml.MappingNode):
        duplicate = _duplicate_key(node)
        if duplicate is not None:
            return duplicate.start_mark, _duplicate_message(duplicate)
    return None


def _duplicate_message(key: yaml.ScalarNode) -> str:
    return f"key '{shown_text(key.value)}' appears twice in the same mapping"


def _control_problem(node: yaml.ScalarNode, found: re.Match[str]) -> tuple[Any, str]:
    text = node.value
    mark = node.start_mark
    if node.style in ("|", ">"):  # a block scalar: its text starts on the next line
        mark = yaml.Mark(mark.name, mark.index, mark.line + 1 + text.count("\n", 0,
                         found.start()), 0, None, None)
    return mark, (f"control character U+{ord(found.group()):04X} in a value "
                  f"({shown(text[max(0, found.start() - 20):found.end() + 20])}): not "
                  "allowed, it makes feeds invalid XML")


def _duplicate_key(node: yaml.MappingNode) -> yaml.ScalarNode | None:
    seen: set[tuple[str, str]] = set()
    for key, _value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if (key.tag, key.value) in seen:
                return key
            seen.add((key.tag, key.value))
    return None


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 2, MAX_SHOWN, MAX_SHOWN, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = _SHORT.maxfrozenset = 5


def shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut to about `MAX_SHOWN` characters, without
    ever making the whole repr (a number of 5,000 digits, a list of a million values)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<a number of about {int(value.bit_length() * 0.30103)} digits>"
    text = _SHORT.repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def shown_text(text: str) -> str:
    """Text to quote inside a message's own quotes, cut to about `MAX_SHOWN` characters."""
    text = CONTROL_RE.sub("?", text)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


class _Checker:
    """Collects every problem of one file, each with the line of its key."""

    def __init__(self, display: str, fm_text: str, fm_line: int):
        self.display, self.fm_text, self.fm_line = display, fm_text, fm_line
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.origins: dict[str, str] = {}  # sitegen key -> the foreign key it was read from

    def line_of(self, key: str) -> int:
        key = self.origins.get(key, key)
        match = re.search(rf"^{re.escape(str(key))}\s*:", self.fm_text, re.MULTILINE)
        return self.fm_line + self.fm_text.count("\n", 0, match.start()) if match else self.fm_line

    def error(self, key: str, message: str) -> None:
        self.errors.append(Problem(self.display, self.line_of(key), message))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(Problem(self.display, self.line_of(key), message, "warning"))


def _build_article(meta: dict[str, Any], src: SourceFile, check: _Checker, config: Config,
                   urls: Urls, fixed: str = "") -> Article:
    """`fixed`: the URL front matter gives the article (Hugo's `url`, Jekyll's `permalink`),
    or "" when its URL follows the config's `permalink` pattern."""
    for key in meta:
        if not isinstance(key, str):
            check.error(str(key), f"front matter key {shown(key)} is not a string")
    _warn_typos(meta, check)
    title = _text(meta, "title", check, required=True)
    when = _date_field(meta, "date", check, config.tz, required=False)
    if when is None and "date" not in meta:
        when = _date_from_filename(src.path, config.tz)
        if when is None:
            check.error("date", "missing 'date' (and the file name does not start with one)")
    slug = fixed.rstrip("/").rsplit("/", 1)[-1] if fixed else _slug(meta, title, check, src.path)
    section_name = _text(meta, "section", check)
    tags = _names(meta, "tags", check, limit=config.max_tags)
    authors = _names(meta, "authors", check) or _names(meta, "author", check)
    draft = _bool(meta, "draft", check)
    link = _text(meta, "link", check)
    if link and not re.match(r"^(https?://|/)", link):
        check.error("link", f"'link' must be an http(s) URL or a site path, got {shown(link)}")
    image = _text(meta, "image", check)
    if image and (re.match(r"^\s*(javascript|data|vbscript):", image, re.I)):
        check.error("image", "'image' must be a URL or a bundle file name")
    lang = _lang(meta, check, config)
    site_urls, urls = urls, _language_urls(urls, config, lang)
    url = (fixed or urls.article(slug, when)) if when is not None and not check.errors else ""
    taken = urls.taken_by_site(url) if url else None
    if taken:
        by = ("slug" if "slug" in meta else "permalink" if fixed
              else "slug" if file_slug(src.path) else "title")  # the line of what gave the URL
        check.error(by, f"the URL {url} is {taken}: set another 'slug'")
    updated = _date_field(meta, "updated", check, config.tz)
    expires = _date_field(meta, "expires", check, config.tz)
    corrections = _corrections(meta, check, config.tz)
    if check.errors or when is None:
        return _placeholder(src)
    local = photos.local_file(image, src.path, src.bundle_files, config)
    size = (photos.image_size(local) if local else None) or (0, 0)
    return Article(
        source=src.path, digest=src.digest, title=title, slug=slug,
        url=url, date=when,
        summary=_text(meta, "summary", check),
        section=_term(section_name, "sections", urls) if section_name else None,
        tags=_terms(tags, "tags", urls), authors=_terms(authors, "authors", urls),
        updated=updated,
        dateline=_text(meta, "dateline", check), source_name=_text(meta, "source", check),
        link=site_urls.page(link) if link.startswith("/") and not link.startswith("//")
        else link,
        image=photos.image_url(image, site_urls if image.startswith("/") else urls, when, slug),
        image_alt=_text(meta, "image_alt", check),
        image_caption=_text(meta, "image_caption", check),
        image_credit=_text(meta, "image_credit", check),
        image_width=size[0], image_height=size[1],
        featured=_bool(meta, "featured", check),
        story=_text(meta, "story", check), corrections=corrections,
        lang=lang, draft=draft,
        expires=expires,
        extra=tuple(sorted((k, v) for k, v in meta.items()
                           if isinstance(k, str) and k not in KNOWN_KEYS)),
        bundle_files=src.bundle_files,
        translation_key=_text(meta, "translation_key", check),
        translation_of=_text(meta, "translation_of", check),
    )


def _lang(meta: dict[str, Any], check: _Checker, config: Config) -> str:
    """The article's language: as written on a site of one language; on a site of several,
    one of them (default: the site's)."""
    lang = _text(meta, "lang", check)
    if not config.languages:
        return lang
    codes = [language.code for language in config.languages]
    if not lang:
        return config.site_language
    if lang not in codes:
        check.error("lang", f"'lang' {shown(lang)} is not one of the site's languages "
                            f"({', '.join(codes)})")
    return lang


def _language_urls(urls: Urls, config: Config, lang: str) -> Urls:
    """The URLs of the article's language (its pages and terms under `/<lang>/`)."""
    if not config.languages or lang == config.site_language and not config.language_prefix_all:
        return urls
    return Urls(config, lang)


def _placeholder(src: SourceFile) -> Article:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return Article(source=src.path, digest=src.digest, title="", slug="", url="", date=epoch,
                   summary="")


def _warn_typos(meta: dict[str, Any], check: _Checker) -> None:
    for key in meta:
        if isinstance(key, str) and key not in KNOWN_KEYS:
            close = frontkeys.likely_typo(key, KNOWN_KEYS)
            if close:
                check.warn(key, f"unknown key '{shown_text(key)}': did you mean '{close}'?")


def _kind(value: Any) -> str:
    """What a YAML value is, as a message names it."""
    kinds = {bytes: "binary data (!!binary)", set: "a set (!!set)", list: "a list",
             dict: "a mapping", bool: "true/false", datetime: "a date and time"}
    return next((name for t, name in kinds.items() if isinstance(value, t)),
                type(value).__name__)


def _text(meta: dict[str, Any], key: str, check: _Checker, required: bool = False) -> str:
    """A text field; numbers and dates YAML read from unquoted text are that text again."""
    value = meta.get(key)
    if value is None:
        if required:
            check.error(key, f"missing '{key}'")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, date)):
        check.error(key, f"'{key}' must be text, got {_kind(value)}: {shown(value)}")
        return ""
    text = str(value).strip()
    if required and not text:
        check.error(key, f"'{key}' is empty")
    return text


def _bool(meta: dict[str, Any], key: str, check: _Checker) -> bool:
    value = meta.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        check.error(key, f"'{key}' must be true or false, got {shown(value)}")
        return False
    return value


def _names(meta: dict[str, Any], key: str, check: _Checker, limit: int | None = None
           ) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and
                                              not isinstance(v, bool) for v in value):
        check.error(key, f"'{key}' must be a list of names, got {shown(value)}")
        return []
    names = [str(v).strip() for v in value if str(v).strip()]
    if limit is not None and len(set(names)) > limit:
        check.error(key, f"{len(set(names)):,} {key}, over the limit of {limit} per article "
                         f"(setting max_{key})")
        return []
    for name in names:
        if not slugify(name):
            check.error(key, f"'{key}' entry {shown(name)} has no letters or digits for a URL")
    return names


def _slug(meta: dict[str, Any], title: str, check: _Checker, rel_path: str) -> str:
    """`slug`, else the file name (the bundle's folder name) without a leading date, else
    the title (Hugo's `url` and Jekyll's `permalink` come before the file name: `_fixed_url`)."""
    if "slug" in meta:
        slug = _text(meta, "slug", check)
        problem = slug_problem(slug)
        if problem:
            check.error("slug", f"'slug' {shown(slug)} {problem}")
        return slug
    slug = file_slug(rel_path) or slugify(title)
    if title and not slug:
        check.error("title", "the title gives an empty slug: set 'slug'")
    return slug


def file_slug(rel_path: str) -> str:
    """The slug a file name gives: '2019/2019-02-14-Harbour-Reopens.md' -> 'harbour-reopens',
    'harbour/index.md' -> 'harbour'; "" for a bare 'index.md' or a name with no letters."""
    parts = rel_path.split("/")
    bundle = len(parts) > 1 and parts[-1].rsplit(".", 1)[0] == "index"
    name = parts[-2] if bundle else parts[-1].rsplit(".", 1)[0]
    name = FILENAME_DATE_RE.sub("", name)
    return "" if name.lower() in ("index", "_index") else slugify(name)


def _fixed_url(permalink: str, key: str, meta: dict[str, Any], check: _Checker,
               urls: Urls) -> str:
    """The URL Hugo's `url` or Jekyll's `permalink` gives the article, under the base path;
    "" when there is none, when `slug` is set (it comes first) or when it is unusable."""
    if not permalink or "slug" in meta:
        return ""
    if ":" in permalink and "://" not in permalink:  # Jekyll's placeholders (:year, :title)
        check.warn(key, f"'{key}' {shown(permalink)} has placeholders: ignored, the URL "
                        "follows the site's `permalink` setting")
        return ""
    problem = site_path_problem(permalink)
    if problem:
        check.error(key, f"'{key}' {shown(permalink)} {problem}")
        return ""
    url = urls.fixed(permalink)
    if url == urls.home():
        check.error(key, f"'{key}' {shown(permalink)} is the URL of the home page")
        return ""
    return url


def _bundle_image_under(article: Article, fixed: str, urls: Urls) -> Article:
    """A page-bundle image sits next to the page: at the folder of a `fixed` URL, not at the
    URL the permalink pattern would have given."""
    pattern = urls.article(article.slug, article.date) if fixed and article.url else ""
    if not pattern or not article.image.startswith(pattern):
        return article
    folder = fixed if fixed.endswith("/") else fixed.rsplit("/", 1)[0] + "/"
    return dataclasses.replace(article, image=folder + article.image[len(pattern):])


def _check_aliases(aliases: tuple[str, ...], key: str, check: _Checker) -> None:
    for alias in aliases:
        problem = site_path_problem(alias)
        if problem:
            check.error(key, f"'{key}' entry {shown(alias)} {problem}")


def _written_key(meta: dict[str, Any], target: str, config: Config) -> str:
    """The key front matter wrote a field under (`url` or `permalink` for "permalink",
    `aliases` or `redirect_from` for "aliases"), for messages and their line."""
    site = dict(config.front_matter)
    for key in meta:
        if isinstance(key, str) and (site.get(key) or frontkeys.FOREIGN_KEYS.get(key.lower())
                                     ) == target:
            return key
    return target


def _term(name: str, kind: str, urls: Urls) -> Term:
    slug = slugify(name)
    return Term(name, slug, urls.term(kind, slug))


def _terms(names: list[str], kind: str, urls: Urls) -> tuple[Term, ...]:
    seen: dict[str, Term] = {}
    for name in names:
        term = _term(name, kind, urls)
        seen.setdefault(term.slug, term)
    return tuple(seen.values())


def _corrections(meta: dict[str, Any], check: _Checker, tz: tzinfo) -> tuple[Correction, ...]:
    value = meta.get("corrections")
    if value is None:
        return ()
    if not isinstance(value, list):
        check.error("corrections", "'corrections' must be a list of {date, text}")
        return ()
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(Correction(None, item))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            when = None
            if "date" in item:
                when, problem = read_date(item["date"], tz)
                if problem:
                    check.error("corrections", f"correction date {problem}")
            out.append(Correction(when, item["text"].strip()))
        else:
            check.error("corrections", f"correction {shown(item)} needs a 'text'")
    return tuple(out)


# ---------------------------------------------------------------- dates

DATE_FORMATS = ("2019-02-14, 2019-02-14 09:24, 2019-02-14 09:24:00 -0500, ISO 8601 "
                "(2019-02-14T09:24:00-05:00), 2019/02/14 [09:24], February 14, 2019 "
                "[9:24 am], Feb 14, 2019, 14 February 2019, RFC 2822 "
                "(Thu, 14 Feb 2019 09:24:00 -0500) or Unix seconds (1550154240)")
MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for name in names}
ZONES = {"z": 0, "ut": 0, "utc": 0, "gmt": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
         "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}  # RFC 2822's names
_MONTH = r"([a-z]{3,9})\.?"
_CLOCK = (r"(?:(?:,\s*|\s+)(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?"
          r"(?:\s*([+-]\d{2}:?\d{2}|[a-z]{1,3}))?)?")
# "February 14, 2019", "Thursday, Feb 14 2019 9:24 am", "14 February 2019" and RFC 2822's
# "Thu, 14 Feb 2019 09:24:00 -0500" (the weekday, when written, is not checked).
WRITTEN_DATE_RE = re.compile(
    r"^(?:[a-z]{3,9}\.?,?\s+)??"
    rf"(?:{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})"
    rf"|(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}}))"
    rf"{_CLOCK}$", re.IGNORECASE)
# Unix seconds: from 1973-03-03 (fewer digits are more likely a year or 20190214) to 2100.
UNIX_SECONDS = range(100_000_000, 4_102_444_800)
# The instants a build can compute with: converting to UTC (and a day either side) may not
# leave datetime's years 1 to 9999.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _date_field(meta: dict[str, Any], key: str, check: _Checker, tz: tzinfo,
                required: bool = False) -> datetime | None:
    if key not in meta or meta[key] is None or meta[key] == "":
        if required or (key in meta and key == "date"):
            check.error(key, f"missing '{key}'")
        return None
    value, problem = read_date(meta[key], tz)
    if problem:
        check.error(key, f"'{key}' {problem}")
    return value


def read_date(value: Any, tz: tzinfo) -> tuple[datetime | None, str]:
    """(the date, "") or (None, why not, quoting the value and the formats that work)."""
    when = _read_date(value, tz)
    written = value.isoformat(sep=" ") if isinstance(value, datetime) else \
        value.isoformat() if isinstance(value, date) else shown(value)
    if when is None:
        return None, f"is not a date I can read: {written} (use {DATE_FORMATS})"
    if not _in_range(when):
        return None, (f"{written} is out of range: a date must lie between the years 1 "
                      "and 9999 in UTC too")
    return when, ""


def parse_date(value: Any, tz: tzinfo) -> datetime | None:
    """A timezone-aware datetime in the offset as written; naive values are read in `tz`.
    None when unreadable or out of range."""
    return read_date(value, tz)[0]


def _read_date(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else _localize(value, tz)
    if isinstance(value, date):
        return _localize(datetime.combine(value, time()), tz)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_unix(value, tz) if value in UNIX_SECONDS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 64:
        return None
    match = DATE_RE.match(text)
    if match:
        y, _sep, mo, d, h, mi, s, frac, off = match.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return _assemble(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                         micro, _offset(off) if off else None, tz)
    match = WRITTEN_DATE_RE.match(text)
    return _written_date(match, tz) if match else None


def _written_date(match: re.Match[str], tz: tzinfo) -> datetime | None:
    month1, day1, year1, day2, month2, year2, h, mi, s, half, zone = match.groups()
    month = MONTHS.get((month1 or month2).lower())
    if month is None:
        return None
    hour = int(h or 0)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    offset = None
    if zone:
        named = ZONES.get(zone.lower())
        offset = timezone(timedelta(hours=named)) if named is not None else _offset(zone)
        if offset is None:
            return None
    return _assemble(int(year1 or year2), month, int(day1 or day2), hour, int(mi or 0),
                     int(s or 0), 0, offset, tz, zoned=bool(zone))


def _assemble(y: int, mo: int, d: int, h: int, mi: int, s: int, micro: int,
              offset: tzinfo | None, tz: tzinfo, zoned: bool | None = None) -> datetime | None:
    """The datetime of these parts, None when they are no date (Feb 30, 25:00, +25:00)."""
    try:
        naive = datetime(y, mo, d, h, mi, s, micro)
    except ValueError:
        return None
    if zoned is None:
        zoned = offset is not None
    if not zoned:
        return _localize(naive, tz)
    return None if offset is None else naive.replace(tzinfo=offset)


def _from_unix(seconds: int, tz: tzinfo) -> datetime:
    """An instant shown in the site's timezone, frozen to its offset then."""
    local = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
    return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))


def _in_range(when: datetime) -> bool:
    try:
        return EARLIEST <= when.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


def _offset(text: str) -> timezone | None:
    if text.upper() == "Z":
        return UTC
    if text[0] not in "+-":
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
    if int(hours) > 14 or int(minutes) > 59:
        return None
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach `tz`, then freeze it to a fixed offset so the date as written never moves."""
    aware = naive.replace(tzinfo=tz)
    return naive.replace(tzinfo=timezone(aware.utcoffset() or timedelta(0)))


def _date_from_filename(rel_path: str, tz: tzinfo) -> datetime | None:
    parts = rel_path.split("/")
    name = parts[-2] if parts[-1] == "index.md" and len(parts) > 1 else parts[-1]
    match = FILENAME_DATE_RE.match(name)
    if not match:
        return None
    try:
        when = _localize(datetime(*map(int, match.groups())), tz)
    except ValueError:
        return None
    return when if _in_range(when) else None
