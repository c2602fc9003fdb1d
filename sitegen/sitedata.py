"""The site's data files, read into records once with the config: `data/authors.yaml` (who
an author id is: people.py shows them) and `data/stories.yaml` (a story thread's title and
description: stories.py). YAML or TOML; a file with errors is a ConfigError naming it."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .errors import ConfigError

PEOPLE_NAMES = ("authors.yaml", "authors.yml", "authors.toml")
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
    return _data_file(site_dir, PEOPLE_NAMES)


def load_people(site_dir: Path) -> tuple[Person, ...]:
    """Every entry of the site's authors file, in id order; () when there is none."""
    return _load_entries(people_file(site_dir), _person, "author ids to their details")


def _data_file(site_dir: Path, names: tuple[str, ...]) -> Path | None:
    return next((site_dir / "data" / name for name in names
                 if (site_dir / "data" / name).is_file()), None)


Entry = TypeVar("Entry", "Person", "Story")


def _load_entries(path: Path | None, make: Callable[[str, Any, Path, list[str]], Entry],
                  what: str) -> tuple[Entry, ...]:
    """Each key of a data file made into a record (every error at once), in id order."""
    if path is None:
        return ()
    data = read_data_file(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must map {what}, not a {type(data).__name__}")
    errors: list[str] = []
    entries = [make(str(key), value, path, errors) for key, value in data.items()]
    if errors:
        raise ConfigError("\n".join(errors))
    return tuple(sorted(entries, key=lambda entry: entry.id))


def read_data_file(path: Path) -> Any:
    """A data file's contents: TOML by its suffix, else YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    import yaml  # only for a site that has a YAML data file

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


STORY_NAMES = ("stories.yaml", "stories.yml", "stories.toml")


@dataclass(frozen=True, slots=True)
class Story:
    """A thread's entry in data/stories.yaml."""

    id: str
    title: str = ""
    description: str = ""


def stories_file(site_dir: Path) -> Path | None:
    return _data_file(site_dir, STORY_NAMES)


def load_stories(site_dir: Path) -> tuple[Story, ...]:
    """Every entry of the site's stories file, in id order; () when there is none."""
    return _load_entries(stories_file(site_dir), _story,
                         "story ids to their title and description")


def _story(key: str, value: Any, path: Path, errors: list[str]) -> Story:
    if isinstance(value, str):  # `my-story: The title`
        return Story(key, value.strip())
    if not isinstance(value, dict):
        errors.append(f"{path}: story {key!r} must be a title or a mapping with 'title' and "
                      f"'description', not a {type(value).__name__}")
        return Story(key)
    unknown = sorted(set(map(str, value)) - {"title", "description"})
    if unknown:
        errors.append(f"{path}: story {key!r}: unknown key(s) {', '.join(unknown)} "
                      "(expected 'title', 'description')")
    fields = {}
    for name in ("title", "description"):
        text = value.get(name, "")
        if not isinstance(text, str):
            errors.append(f"{path}: story {key!r}: '{name}' must be text, got {text!r}")
            text = ""
        fields[name] = text.strip()
    return Story(key, **fields)
