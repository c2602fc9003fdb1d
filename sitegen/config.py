"""One frozen `Config`, built once from the site's config file and the command line."""

from __future__ import annotations

import dataclasses
import os
import re
import string
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .sanitize import DEFAULT_IFRAME_HOSTS, RAW_HTML_MODES, validate_iframe_hosts

if TYPE_CHECKING:
    from .i18n import Language
    from .records import Article
    from .sitedata import Person, Story

DEFAULT_PERMALINK = "/{year}/{month}/{day}/{slug}/"
PERMALINK_FIELDS = ("year", "month", "day", "slug")
PERMALINK_TEXT = re.compile(r"^[A-Za-z0-9._~/-]*$")


@dataclass(frozen=True)
class Config:
    site_dir: Path
    title: str = "News Archive"
    description: str = ""
    base_url: str = "http://localhost:8000/"
    language: str = "en"
    timezone: str = "UTC"
    per_page: int = 50
    feed_items: int = 50
    home_latest: int = 20
    related_count: int = 5
    news_sitemap_days: int = 2
    featured_days: int = 2  # how long a `featured: true` article leads the home page
    max_tags: int = 50
    permalink: str = DEFAULT_PERMALINK
    cname: str = ""
    content_dir: Path = Path("content")
    output_dir: Path = Path("output")
    layouts_dir: Path = Path("layouts")
    static_dir: Path = Path("static")
    cache_dir: Path = Path(".sitegen-cache")
    drafts: bool = False
    future: bool = False
    search: bool = True
    jobs: int = 0
    engine: str = "local"  # where parallel work runs: "local" (a process pool) or "dask"
    scheduler: str = ""  # with engine "dask": a scheduler's address; "" starts a LocalCluster
    strict: bool = False
    clean: bool = False
    keep_going: bool = False
    force: bool = False  # build into an existing folder sitegen did not write
    verbose: bool = False
    git_history: bool = True
    redirects_file: bool = False  # also write `_redirects` (Netlify, Cloudflare Pages)
    raw_html: str = "safe"  # "trusted": article HTML is published as written (sanitize.py)
    iframe_hosts: tuple[str, ...] = DEFAULT_IFRAME_HOSTS
    front_matter: tuple[tuple[str, str], ...] = ()  # the site's own keys -> sitegen fields
    people: tuple[Person, ...] = ()  # data/authors.yaml (sitedata.py)
    stories: tuple[Story, ...] = ()  # data/stories.yaml (sitedata.py)
    shortcode_aliases: tuple[tuple[str, str], ...] = ()  # a name -> the shortcode it renders as
    site_variables: tuple[tuple[str, str], ...] = ()  # `{{ site.X }}` in articles
    image_widths: tuple[int, ...] = (480, 800, 1200, 1600)  # derived photos (images.py)
    # Languages (i18n.py): none on a site of one language, whose language is `language`.
    languages: tuple[Language, ...] = ()
    default_language: str = ""  # "" means `language`
    language_prefix_all: bool = False  # the default language under /<code>/ too
    strings: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # [strings.<code>]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def base_path(self) -> str:
        """The path part of `base_url`, always starting and ending with '/'."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    @property
    def site_language(self) -> str:
        """The default language: `default_language`, else `language`."""
        return self.default_language or self.language

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)

    def publishes(self, article: Article) -> bool:
        """Drafts, embargoed (future) and expired articles are left out unless asked for."""
        if article.draft and not self.drafts:
            return False
        if article.date > self.now and not self.future:
            return False
        return not (article.expires and article.expires <= self.now and not self.future)

    def output_settings(self) -> list[tuple[str, str]]:
        """Every setting that changes rendered bytes (not paths, jobs, verbosity or the
        engine), as sorted (name, repr) pairs: outputdigest.output_digest adds the files."""
        ignored = {"site_dir", "content_dir", "output_dir", "cache_dir", "jobs", "verbose",
                   "clean", "keep_going", "strict", "now", "search", "force",
                   "engine", "scheduler"}
        return sorted((f.name, repr(getattr(self, f.name)))
                      for f in dataclasses.fields(self) if f.name not in ignored)


FILE_KEYS = {
    "title": str, "description": str, "base_url": str, "language": str, "timezone": str,
    "per_page": int, "feed_items": int, "home_latest": int, "related_count": int,
    "news_sitemap_days": int, "max_tags": int, "permalink": str, "cname": str, "content_dir": str,
    "featured_days": int,
    "output_dir": str, "layouts_dir": str, "static_dir": str, "cache_dir": str,
    "git_history": bool, "front_matter": dict, "redirects_file": bool,
    "raw_html": str, "iframe_hosts": list,
    "image_widths": list,
    "shortcode_aliases": dict, "site_variables": dict,
    "languages": dict, "default_language": str, "language_prefix_all": bool, "strings": dict,
    "engine": str, "scheduler": str,
}
PATH_KEYS = {"content_dir", "output_dir", "layouts_dir", "static_dir", "cache_dir"}


def read_config_file(site_dir: Path) -> tuple[dict[str, Any], Path | None]:
    """The `sitegen.toml` of the site, else the `[tool.sitegen]` table of its pyproject.toml."""
    for name, table in (("sitegen.toml", None), ("pyproject.toml", ("tool", "sitegen"))):
        path = site_dir / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if table:
            data = data.get(table[0], {}).get(table[1])
            if data is None:
                continue
        return data, path
    return {}, None


def load_config(site_dir: Path | str = ".", **overrides: Any) -> Config:
    """Build the one `Config` of a run: file values first, then command-line overrides."""
    site_dir = Path(site_dir).resolve()
    if not site_dir.is_dir():
        raise ConfigError(f"{site_dir}: no such site folder")
    data, source = read_config_file(site_dir)
    errors = _validate_file_values(data, source)
    values: dict[str, Any] = dict(data)
    values.update({k: v for k, v in overrides.items() if v is not None})
    for key in PATH_KEYS:
        if key in values:
            path = Path(values[key]).expanduser()
            values[key] = path if path.is_absolute() else site_dir / path
    for key in PATH_KEYS - values.keys():
        values[key] = site_dir / Config.__dataclass_fields__[key].default
    errors += _validate_values(values)
    errors += _raw_html_errors(values)
    errors += _front_matter_errors(values)
    errors += _shortcode_errors(values)
    errors += _language_errors(values)
    errors += _output_dir_errors(values, site_dir)
    if errors:
        raise ConfigError("\n".join(errors))
    if "people" not in values:
        from .sitedata import load_people

        values["people"] = load_people(site_dir)
    if "stories" not in values:
        from .sitedata import load_stories

        values["stories"] = load_stories(site_dir)
    return Config(site_dir=site_dir, **values)


def _validate_file_values(data: dict[str, Any], source: Path | None) -> list[str]:
    errors = []
    for key, value in data.items():
        expected = FILE_KEYS.get(key)
        if expected is None:
            errors.append(f"{source}: unknown setting '{key}'")
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            errors.append(f"{source}: '{key}' must be {expected.__name__}, got {value!r}")
    return errors


def _front_matter_errors(values: dict[str, Any]) -> list[str]:
    """The `[front_matter]` table checked, then kept as sorted (key, field) pairs."""
    from .frontkeys import OWN_KEYS, mapping_errors

    mapping = values.get("front_matter", {})
    mapping = dict(mapping) if isinstance(mapping, tuple) else mapping
    errors = list(mapping_errors(mapping, OWN_KEYS))
    if not errors and isinstance(mapping, dict):
        values["front_matter"] = tuple(sorted(mapping.items()))
    return errors


def _shortcode_errors(values: dict[str, Any]) -> list[str]:
    """`shortcode_aliases` maps names to names; `site_variables` names to text. Both are
    then kept as sorted (name, value) pairs."""
    errors = []
    for key in ("shortcode_aliases", "site_variables"):
        table = values.get(key, {})
        table = dict(table) if isinstance(table, tuple) else table
        if not isinstance(table, dict):
            continue  # reported as the wrong type
        for name, value in table.items():
            if not re.fullmatch(r"[A-Za-z0-9_][\w.-]*", name):
                errors.append(f"{key}: {name!r} is not a name (letters, digits, '_', '-', '.')")
            if key == "shortcode_aliases" and (not isinstance(value, str) or
                                               not re.fullmatch(r"[A-Za-z0-9_][\w.-]*", value)
                                               or value == name):
                errors.append(f"shortcode_aliases: {name!r} must name another shortcode, "
                              f"got {value!r}")
            if key == "site_variables" and (isinstance(value, (dict, list)) or value is None):
                errors.append(f"site_variables: {name!r} must be text or a number, got {value!r}")
        if not errors:
            values[key] = tuple(sorted((n, str(v).lower() if isinstance(v, bool) else str(v))
                                       for n, v in table.items()))
    return errors


def _language_errors(values: dict[str, Any]) -> list[str]:
    """`languages`, `default_language` and `[strings]` checked, then kept as records."""
    from .i18n import language_errors

    return language_errors(values)


def _raw_html_errors(values: dict[str, Any]) -> list[str]:
    """`raw_html` is a known mode; `iframe_hosts` a list of hosts, then kept as a tuple."""
    errors = []
    if values.get("raw_html", "safe") not in RAW_HTML_MODES:
        errors.append(f"'raw_html' must be one of {', '.join(map(repr, RAW_HTML_MODES))}, "
                      f"got {values['raw_html']!r}")
    if "iframe_hosts" in values:
        host_errors = validate_iframe_hosts(values["iframe_hosts"])
        if not host_errors:
            values["iframe_hosts"] = tuple(values["iframe_hosts"])
        errors += host_errors
    return errors


def _validate_values(values: dict[str, Any]) -> list[str]:
    errors = []
    base = urlsplit(values.get("base_url", Config.base_url))
    if base.scheme not in ("http", "https") or not base.netloc:
        errors.append(f"base_url must be an absolute http(s) URL, got {values.get('base_url')!r}")
    try:
        ZoneInfo(values.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"unknown timezone {values.get('timezone')!r}")
    for key in ("per_page", "feed_items", "home_latest", "max_tags"):
        if isinstance(values.get(key), int) and values[key] < 1:
            errors.append(f"'{key}' must be at least 1")
    if isinstance(values.get("featured_days"), int) and values["featured_days"] < 0:
        errors.append("'featured_days' must be 0 or more")
    permalink = values.get("permalink", DEFAULT_PERMALINK)
    if isinstance(permalink, str):
        errors += _permalink_errors(permalink)
    errors += _image_width_errors(values)
    errors += _engine_errors(values)
    return errors


DASK_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")


def _engine_errors(values: dict[str, Any]) -> list[str]:
    """`engine` is "local" or "dask"; `scheduler` a Dask scheduler's address."""
    errors = []
    engine = values.get("engine", "local")
    if engine not in ("local", "dask"):
        errors.append(f"'engine' must be 'local' or 'dask', got {engine!r}")
    address = values.get("scheduler", "")
    if isinstance(address, str) and address:
        parts = urlsplit(address if "://" in address else f"tcp://{address}")
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme not in DASK_SCHEMES or not parts.hostname or not port_ok \
                or parts.path not in ("", "/"):
            errors.append(f"'scheduler' must be a Dask scheduler address such as "
                          f"tcp://HOST:8786, got {address!r}")
    return errors


def _image_width_errors(values: dict[str, Any]) -> list[str]:
    """`image_widths`: whole pixel widths from 16 to 8192, then kept sorted as a tuple."""
    widths = values.get("image_widths")
    if widths is None or isinstance(widths, tuple):
        return []
    if not isinstance(widths, list) or not widths or not all(
            isinstance(w, int) and not isinstance(w, bool) and 16 <= w <= 8192 for w in widths):
        return [f"'image_widths' must be a list of pixel widths from 16 to 8192, got {widths!r}"]
    values["image_widths"] = tuple(sorted(set(widths)))
    return []


def _permalink_errors(permalink: str) -> list[str]:
    """Every way `permalink` could not make one safe URL per article (it is str.format'ed)."""
    if "{slug}" not in permalink or not permalink.startswith("/") or not permalink.endswith("/"):
        return ["permalink must start and end with '/' and contain {slug}"]
    try:
        parts = list(string.Formatter().parse(permalink))
    except ValueError as exc:
        return [f"permalink {permalink[:80]!r}: {exc}"]
    errors = []
    for text, name, spec, conversion in parts:
        if not PERMALINK_TEXT.match(text):
            errors.append(f"permalink {permalink[:80]!r}: {text[:40]!r} may hold only letters, "
                          "digits, '-', '_', '.', '~' and '/'")
        if name is None:
            continue
        if name not in PERMALINK_FIELDS:
            errors.append(f"permalink: unknown field {{{name[:40]}}}; use "
                          + ", ".join(f"{{{f}}}" for f in PERMALINK_FIELDS))
        elif spec or conversion:
            errors.append(f"permalink: field {{{name}}} takes no format or conversion")
    if any(seg in (".", "..") for seg in permalink.split("/")) or "//" in permalink:
        errors.append("permalink must not have empty, '.' or '..' segments")
    return errors


def _output_dir_errors(values: dict[str, Any], site_dir: Path) -> list[str]:
    """Refuse an output folder whose writing would overwrite or delete the site's own files:
    the site folder or anything above it, a source folder or the cache, above or inside."""
    output = Path(values["output_dir"]).resolve()
    sources = {key: Path(values[key]).resolve()
               for key in ("content_dir", "layouts_dir", "static_dir", "cache_dir")}
    if output == site_dir or output in site_dir.parents or output == Path.home():
        return [f"output folder {output} would overwrite the site folder {site_dir}; "
                "choose another"]
    for key, folder in sources.items():
        if output == folder or output in folder.parents or folder in output.parents:
            name = key.removesuffix("_dir")
            return [f"output folder {output} overlaps the {name} folder {folder}; "
                    "choose a folder outside it"]
    return []
