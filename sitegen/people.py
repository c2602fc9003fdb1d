"""People: `data/authors.yaml` (or `.yml`, `.toml`) maps an author id to who they are.

    jdoe:
      name: Jane Doe
      role: Courts reporter
      bio: Covers the state's courts.
      photo: /img/people/jdoe.jpg
      links: {Mastodon: "https://example.social/@jdoe", Website: "https://jdoe.example"}

Read once with the config (Config.people), so that an edit of the file changes the output
digest like any setting: bylines, author pages, JSON-LD and feeds follow it. An article's
author id with no entry shows as written.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .records import Article, shared_term
from .urls import slugify

NAMES = ("authors.yaml", "authors.yml", "authors.toml")
FIELDS = ("name", "bio", "photo", "role", "links")


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    bio: str = ""
    photo: str = ""
    role: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (label, URL)


def people_file(site_dir: Path) -> Path | None:
    return next((site_dir / "data" / name for name in NAMES
                 if (site_dir / "data" / name).is_file()), None)


def load_people(site_dir: Path) -> tuple[Person, ...]:
    """Every entry of the site's authors file, in id order; () when there is none."""
    path = people_file(site_dir)
    if path is None:
        return ()
    data = _read(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must map author ids to their details, "
                          f"not a {type(data).__name__}")
    errors: list[str] = []
    people = [_person(str(key), value, path, errors) for key, value in data.items()]
    if errors:
        raise ConfigError("\n".join(errors))
    return tuple(sorted(people, key=lambda p: p.id))


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    import yaml  # only for a site that has a YAML authors file

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None


def _person(key: str, value: Any, path: Path, errors: list[str]) -> Person:
    if isinstance(value, str):  # `jdoe: Jane Doe`
        value = {"name": value}
    if not isinstance(value, dict):
        errors.append(f"{path}: '{key}' must be a name or a table of {', '.join(FIELDS)}")
        return Person(key, key)
    for field in value:
        if field not in FIELDS:
            errors.append(f"{path}: '{key}' has an unknown field '{field}' "
                          f"(use {', '.join(FIELDS)})")
    text = {f: value.get(f) for f in FIELDS[:-1]}
    for field, found in text.items():
        if found is not None and not isinstance(found, str):
            errors.append(f"{path}: '{key}.{field}' must be text, got {found!r}")
    links = _links(value.get("links"), f"{path}: '{key}.links'", errors)
    name = (text["name"] or key).strip() if isinstance(text["name"], str | None) else key
    return Person(key, name, *(str(text[f] or "").strip() for f in ("bio", "photo", "role")),
                  links=links)


def _links(value: Any, where: str, errors: list[str]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, dict):
        pairs = [(str(label), url) for label, url in value.items()]
    elif isinstance(value, list):
        pairs = [(urlsplit(url).netloc if isinstance(url, str) else "", url) for url in value]
    else:
        errors.append(f"{where} must be a list of URLs or a table of label = URL")
        return ()
    for _label, url in pairs:
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https", "mailto"):
            errors.append(f"{where}: {url!r} is not an http(s) or mailto URL")
    return tuple((label, url) for label, url in pairs if isinstance(url, str))


@cache
def by_slug(people: tuple[Person, ...]) -> dict[str, Person]:
    """Each person under the slug of their id (the slug of their author page)."""
    return {slugify(person.id): person for person in people}


def with_names(article: Article, people: tuple[Person, ...]) -> Article:
    """The article with each author id that has an entry shown by that person's name (the
    author page keeps the id's URL)."""
    if not people or not article.authors:
        return article
    known = by_slug(people)
    authors = tuple(shared_term(known[t.slug].name, t.slug, t.url) if t.slug in known else t
                    for t in article.authors)
    return article if authors == article.authors else replace(article, authors=authors)


def people_of(article: Article, people: tuple[Person, ...]) -> tuple[Person | None, ...]:
    """The entry of each of the article's authors, in byline order (None: no entry)."""
    known = by_slug(people) if people else {}
    return tuple(known.get(t.slug) for t in article.authors)


def author_problems(articles: Iterable[Article], people: tuple[Person, ...],
                    has_file: bool) -> list[str]:
    """For `check`: author ids with no entry (only when there is an authors file), and
    bylines that differ only in case or accents (two author pages for one person)."""
    problems = []
    known = by_slug(people) if people else {}
    used: dict[str, set[str]] = {}
    missing: dict[str, int] = {}
    for article in articles:
        for term in article.authors:
            used.setdefault(_folded(term.name), set()).add(term.name)
            if has_file and term.slug not in known:
                missing[term.name] = missing.get(term.name, 0) + 1
    for name, count in sorted(missing.items()):
        problems.append(f"author '{name}' ({count} article{'s' if count > 1 else ''}) has no "
                        "entry in data/authors")
    for spellings in sorted(sorted(s) for s in used.values() if len(s) > 1):
        problems.append("bylines that differ only in case or accents: "
                        + ", ".join(f"'{s}'" for s in spellings))
    return problems


def _folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())
