"""Walk `content/`, split front matter and validate it into `Article` records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from . import frontkeys, people
from .config import Config
from .errors import Problem
from .records import Article, Correction, SourceFile, Term
from .urls import Urls, is_safe_slug, slugify

try:
    YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    YamlLoader = yaml.SafeLoader

KNOWN_KEYS = (
    "title", "date", "slug", "section", "tags", "authors", "author", "summary", "updated",
    "draft", "expires", "dateline", "source", "link", "image", "image_alt", "story",
    "corrections", "lang",
)
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
DATE_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|[+-]\d{1,2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
FILENAME_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-")
_FM_HANDLER = frontmatter.YAMLHandler()


class _TextDatesLoader(YamlLoader):  # type: ignore[misc, valid-type]
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
    article = frontkeys.complete(_build_article(front.meta, src, checker, config, urls), front)
    article = people.with_names(article, config.people)  # data/authors.yaml: ids to names
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
    try:
        try:
            meta = yaml.load(fm_text, Loader=YamlLoader)
        except ValueError:  # an impossible date such as 2020-13-45: validated per key later
            meta = yaml.load(fm_text, Loader=_TextDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = fm_line + mark.line if mark else fm_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArticleError([Problem(display, line, f"invalid YAML: {problem}")]) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError([Problem(display, fm_line + 1,
                                    f"front matter must be a mapping of keys to values, "
                                    f"not a {type(meta).__name__}")])
    return meta


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
                   urls: Urls) -> Article:
    for key in meta:
        if not isinstance(key, str):
            check.error(str(key), f"front matter key {key!r} is not a string")
    _warn_typos(meta, check)
    title = _text(meta, "title", check, required=True)
    when = _date_field(meta, "date", check, config.tz, required=False)
    if when is None and "date" not in meta:
        when = _date_from_filename(src.path, config.tz)
        if when is None:
            check.error("date", "missing 'date' (and the file name does not start with one)")
    slug = _slug(meta, title, check)
    section_name = _text(meta, "section", check)
    tags = _names(meta, "tags", check)
    authors = _names(meta, "authors", check) or _names(meta, "author", check)
    draft = _bool(meta, "draft", check)
    link = _text(meta, "link", check)
    if link and not re.match(r"^(https?://|/)", link):
        check.error("link", f"'link' must be an http(s) URL or a site path, got {link!r}")
    image = _text(meta, "image", check)
    if image and (re.match(r"^\s*(javascript|data|vbscript):", image, re.I)):
        check.error("image", "'image' must be a URL or a bundle file name")
    if check.errors or when is None:
        return _placeholder(src)
    return Article(
        source=src.path, digest=src.digest, title=title, slug=slug,
        url=urls.article(slug, when), date=when,
        summary=_text(meta, "summary", check),
        section=_term(section_name, "sections", urls) if section_name else None,
        tags=_terms(tags, "tags", urls), authors=_terms(authors, "authors", urls),
        updated=_date_field(meta, "updated", check, config.tz),
        dateline=_text(meta, "dateline", check), source_name=_text(meta, "source", check),
        link=urls.page(link) if link.startswith("/") and not link.startswith("//") else link,
        image=_image_url(image, urls, when, slug),
        image_alt=_text(meta, "image_alt", check),
        story=_text(meta, "story", check), corrections=_corrections(meta, check, config.tz),
        lang=_text(meta, "lang", check), draft=draft,
        expires=_date_field(meta, "expires", check, config.tz),
        extra=tuple(sorted((k, v) for k, v in meta.items()
                           if isinstance(k, str) and k not in KNOWN_KEYS)),
        bundle_files=src.bundle_files,
    )


def _placeholder(src: SourceFile) -> Article:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return Article(source=src.path, digest=src.digest, title="", slug="", url="", date=epoch,
                   summary="")


def _warn_typos(meta: dict[str, Any], check: _Checker) -> None:
    for key in meta:
        if isinstance(key, str) and key not in KNOWN_KEYS:
            close = frontkeys.likely_typo(key, KNOWN_KEYS)
            if close:
                check.warn(key, f"unknown key '{key}': did you mean '{close}'?")


def _text(meta: dict[str, Any], key: str, check: _Checker, required: bool = False) -> str:
    value = meta.get(key)
    if value is None:
        if required:
            check.error(key, f"missing '{key}'")
        return ""
    if isinstance(value, (dict, list, bool)):
        check.error(key, f"'{key}' must be text, got {type(value).__name__}")
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
        check.error(key, f"'{key}' must be true or false, got {value!r}")
        return False
    return value


def _names(meta: dict[str, Any], key: str, check: _Checker) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and
                                              not isinstance(v, bool) for v in value):
        check.error(key, f"'{key}' must be a list of names, got {value!r}")
        return []
    names = [str(v).strip() for v in value if str(v).strip()]
    for name in names:
        if not slugify(name):
            check.error(key, f"'{key}' entry {name!r} has no letters or digits for a URL")
    return names


def _slug(meta: dict[str, Any], title: str, check: _Checker) -> str:
    if "slug" in meta:
        slug = _text(meta, "slug", check)
        if not is_safe_slug(slug):
            check.error("slug", f"'slug' {slug!r} must be one URL segment "
                                "(letters, digits, '-', '_', '.'), with no '/' or '..'")
        return slug
    slug = slugify(title)
    if title and not slug:
        check.error("title", "the title gives an empty slug: set 'slug'")
    return slug


def _term(name: str, kind: str, urls: Urls) -> Term:
    slug = slugify(name)
    return Term(name, slug, urls.term(kind, slug))


def _terms(names: list[str], kind: str, urls: Urls) -> tuple[Term, ...]:
    seen: dict[str, Term] = {}
    for name in names:
        term = _term(name, kind, urls)
        seen.setdefault(term.slug, term)
    return tuple(seen.values())


def _image_url(image: str, urls: Urls, when: datetime, slug: str) -> str:
    if not image or re.match(r"^(https?:)?//", image) or image.startswith("/"):
        return urls.page(image) if image.startswith("/") and not image.startswith("//") else image
    return urls.article(slug, when) + image  # a page-bundle file next to the article


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
            when = parse_date(item["date"], tz) if "date" in item else None
            if "date" in item and when is None:
                check.error("corrections", f"correction date {item['date']!r} is not a date")
            out.append(Correction(when, item["text"].strip()))
        else:
            check.error("corrections", f"correction {item!r} needs a 'text'")
    return tuple(out)


# ---------------------------------------------------------------- dates

def _date_field(meta: dict[str, Any], key: str, check: _Checker, tz: tzinfo,
                required: bool = False) -> datetime | None:
    if key not in meta or meta[key] is None or meta[key] == "":
        if required or (key in meta and key == "date"):
            check.error(key, f"missing '{key}'")
        return None
    value = parse_date(meta[key], tz)
    if value is None:
        check.error(key, f"'{key}' is not a date I can read: {meta[key]!r} "
                         "(use e.g. 2019-02-14, 2019-02-14 09:24:00 -0500 or ISO 8601)")
    return value


def parse_date(value: Any, tz: tzinfo) -> datetime | None:
    """A timezone-aware datetime in the offset as written; naive values are read in `tz`."""
    if isinstance(value, datetime):
        return value if value.tzinfo else _localize(value, tz)
    if isinstance(value, date):
        return _localize(datetime.combine(value, time()), tz)
    if not isinstance(value, str):
        return None
    match = DATE_RE.match(value.strip())
    if not match:
        return None
    y, mo, d, h, mi, s, frac, off = match.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                         int((frac or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    if off is None:
        return _localize(naive, tz)
    offset = _offset(off)
    return None if offset is None else naive.replace(tzinfo=offset)


def _offset(text: str) -> timezone | None:
    if text.upper() == "Z":
        return UTC
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
        return _localize(datetime(*map(int, match.groups())), tz)
    except ValueError:
        return None
