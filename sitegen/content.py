"""Validate each source's front matter into an `Article` record, every problem with its line
(the front matter is read by frontyaml.py, its dates by dates.py)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from . import frontkeys, people, photos
from .config import Config
from .dates import FILENAME_DATE_RE, date_from_filename, read_date
from .errors import Problem
from .frontyaml import (
    CONTROL_RE,
    ArticleError,
    decode_source,
    load_yaml,
    shown,
    shown_text,
    split_front_matter,
)
from .records import Article, Correction, SourceFile, Term
from .urls import Urls, site_path_problem, slug_problem, slugify

KNOWN_KEYS = (
    "title", "date", "slug", "section", "tags", "authors", "author", "summary", "updated",
    "draft", "expires", "dateline", "source", "link", "image", "image_alt", "story",
    "corrections", "lang", "image_caption", "image_credit", "featured",
    "translation_key", "translation_of",
)


# ---------------------------------------------------------------- parsing

@dataclass(frozen=True)
class Parsed:
    """An article's metadata plus the Markdown body still to convert."""

    article: Article
    body: str
    body_line: int  # line of the file where the body starts
    warnings: tuple[Problem, ...]


def parse_source(src: SourceFile, config: Config, urls: Urls) -> Parsed:
    """Split and validate one source file; raises `ArticleError` listing all its problems."""
    display = str(Path(config.content_dir.name) / src.path)
    text = decode_source(src, display)
    fm_text, body, fm_line, body_line = split_front_matter(text, display)
    meta = load_yaml(fm_text, fm_line, display)
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
        when = date_from_filename(src.path, config.tz)
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
