"""Languages: the site's languages, theme strings from message catalogs, dates in words.

Theme strings are gettext messages whose ids are the English text. A language's strings come
from, in order of precedence: the site config's `[strings.<code>]` table, the site's own
`i18n/<code>.po` or `i18n/<code>.yaml`, and the catalog shipped in `sitegen/locale/<code>.po`
(English and Spanish). A string no catalog translates is shown as written (English).

Dates and month names come from Babel (CLDR), except English, whose formats are the theme's
own (`March 4, 2025`, `Mar 4, 2025`, `9:24 a.m.`: AP style, not CLDR's) unless the site gives
English a `date_format`.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol


class SiteSettings(Protocol):
    """What this module reads of the site's Config (config.py imports this module, so it
    cannot import config.py): its settings of languages and strings."""

    site_dir: Path
    title: str
    description: str
    languages: tuple[Language, ...]
    site_language: str
    strings: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
LANGUAGE_KEYS = {"title": str, "description": str, "date_format": str, "dir": str}
# Babel's date formats by name; anything else is a CLDR pattern ("d 'de' MMMM 'de' y").
NAMED_FORMATS = ("short", "medium", "long", "full")
# calendar.month_name formats a date with strftime at every lookup (~15,000 a build)
MONTH_NAMES = tuple(calendar.month_name)
MONTH_ABBRS = tuple(calendar.month_abbr)


@dataclass(frozen=True)
class Language:
    """One language of the site (config `[languages.<code>]`)."""

    code: str
    title: str = ""
    description: str = ""
    date_format: str = ""  # longdate: a Babel format name or CLDR pattern; "" for the default
    dir: str = ""  # "rtl" or "ltr"; "" for what CLDR says of the language


# ---------------------------------------------------------------- configuration

def language_errors(values: dict[str, Any]) -> list[str]:
    """Check `languages`, `default_language` and `strings`; keep them as records and tuples."""
    errors: list[str] = []
    table = values.get("languages", {})
    languages: list[Language] = []
    if isinstance(table, dict):
        for code, entry in table.items():
            language, problems = _language(code, entry)
            errors += problems
            if language:
                languages.append(language)
    elif isinstance(table, tuple):
        languages = list(table)
    default = values.get("default_language") or values.get("language", "en")
    codes = [language.code for language in languages]
    if languages and default not in codes:
        errors.append(f"default_language {default!r} is not one of the languages "
                      f"({', '.join(codes)}); add [languages.{default}]")
    if isinstance(default, str) and not LANGUAGE_CODE.match(default):
        errors.append(f"default_language {default!r} is not a language code such as 'en'")
    strings = values.get("strings", {})
    if isinstance(strings, dict):
        errors += _strings_errors(strings)
        if not errors:
            values["strings"] = tuple(sorted(
                (code, tuple(sorted((str(k), str(v)) for k, v in table.items())))
                for code, table in strings.items()))
    if not errors and isinstance(table, dict):
        languages.sort(key=lambda language: language.code != default)  # the default first
        values["languages"] = tuple(languages)
    return errors


def _language(code: Any, entry: Any) -> tuple[Language | None, list[str]]:
    where = f"languages.{code}"
    if not isinstance(code, str) or not LANGUAGE_CODE.match(code):
        return None, [f"{where}: {code!r} is not a language code such as 'en' or 'pt-BR'"]
    if not isinstance(entry, dict):
        return None, [f"{where} must be a table such as {{title = \"...\"}}, got {entry!r}"]
    errors = [f"{where}: unknown setting {key!r} (use {', '.join(LANGUAGE_KEYS)})"
              for key in entry if key not in LANGUAGE_KEYS]
    errors += [f"{where}: {key!r} must be text, got {value!r}" for key, value in entry.items()
               if key in LANGUAGE_KEYS and not isinstance(value, str)]
    if entry.get("dir", "") not in ("", "ltr", "rtl"):
        errors.append(f"{where}: 'dir' must be 'ltr' or 'rtl', got {entry['dir']!r}")
    if not errors and _locale(code) is None:
        errors.append(f"{where}: Babel knows no language {code!r}")
    if not errors and entry.get("date_format"):
        problem = _format_problem(code, entry["date_format"])
        if problem:
            errors.append(f"{where}: date_format {entry['date_format']!r}: {problem}")
    if errors:
        return None, errors
    return Language(code, **{key: entry.get(key, "") for key in LANGUAGE_KEYS}), []


def _strings_errors(strings: dict[str, Any]) -> list[str]:
    errors = []
    for code, table in strings.items():
        if not LANGUAGE_CODE.match(code):
            errors.append(f"strings.{code}: {code!r} is not a language code")
        elif not isinstance(table, dict):
            errors.append(f"strings.{code} must be a table of \"English text\" = \"translation\"")
        else:
            errors += [f"strings.{code}: {key!r} must be text, got {value!r}"
                       for key, value in table.items() if not isinstance(value, str)]
    return errors


def _format_problem(code: str, pattern: str) -> str | None:
    try:
        format_date(date(2025, 3, 4), pattern, code)
    except Exception as exc:  # Babel's pattern parser raises several kinds
        return str(exc) or type(exc).__name__
    return None


@cache
def _locale(code: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


def site_languages(config: SiteSettings) -> tuple[Language, ...]:
    """The site's languages, its default first: one (`language`) on a site of one language."""
    return config.languages or (Language(config.site_language),)


def language_of(config: SiteSettings, code: str) -> Language:
    """The language record of `code`, or the default's when `code` is not a site language."""
    for language in site_languages(config):
        if language.code == code:
            return language
    return site_languages(config)[0]


def direction(language: Language) -> str:
    """"rtl" or "ltr": as configured, else as CLDR writes the language (ar, he, fa, ur...)."""
    if language.dir:
        return language.dir
    locale = _locale(language.code)
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def display_name(language: Language) -> str:
    """The language's name in itself ("Español"), for "Read in" links."""
    locale = _locale(language.code)
    name = locale.get_display_name(locale) if locale is not None else None
    return name[:1].upper() + name[1:] if name else language.code


# ---------------------------------------------------------------- strings

def strings_for(config: SiteSettings, code: str) -> dict[str, str]:
    """Every translated string of a language (English text -> translation)."""
    strings = dict(_po_file(LOCALE_DIR / f"{code}.po"))
    site_dir = config.site_dir / "i18n"
    strings.update(_po_file(site_dir / f"{code}.po"))
    strings.update(_yaml_file(site_dir / f"{code}.yaml"))
    strings.update(dict(config.strings).get(code, ()))
    return {key: value for key, value in strings.items() if value}


def translator(config: SiteSettings, code: str) -> Callable[[str], str]:
    strings = strings_for(config, code)
    return lambda text: strings.get(text, text)


def _po_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from babel.messages.pofile import PoFileError, read_po

    from .errors import ConfigError

    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return {str(message.id): str(message.string) for message in catalog
            if message.id and isinstance(message.id, str) and isinstance(message.string, str)
            and not message.fuzzy}


def _yaml_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    import yaml

    from .errors import ConfigError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in data.items()):
        raise ConfigError(f"{path}: must map English text to its translation, one per line "
                          "(\"Updated\": \"Actualizado\")")
    return data


def files_digest(config: SiteSettings) -> str:
    """A digest of every catalog file a build may read (shipped and the site's own)."""
    digest = hashlib.blake2b(digest_size=12)
    for folder in (LOCALE_DIR, config.site_dir / "i18n"):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix in (".po", ".yaml"):
                    digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------- dates

def format_date(value: date, pattern: str, code: str) -> str:
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, format=pattern, locale=code.replace("-", "_"))


class EnglishDates:
    """The theme's own English formats (what the site has always shown)."""

    def long(self, value: datetime) -> str:
        return f"{value:%B} {value.day}, {value.year}"

    def short(self, value: datetime) -> str:
        return f"{value:%b} {value.day}, {value.year}"

    def time(self, value: datetime) -> str:
        hour = value.hour % 12 or 12
        return f"{hour}:{value:%M} {'a.m.' if value.hour < 12 else 'p.m.'}"

    def month(self, month: int) -> str:
        return MONTH_NAMES[month]

    def month_abbr(self, month: int) -> str:
        return MONTH_ABBRS[month]

    def month_year(self, year: int, month: int) -> str:
        return f"{MONTH_NAMES[month]} {year}"

    def month_day(self, month: int, day: int) -> str:
        return f"{MONTH_NAMES[month]} {day}"

    def day(self, year: int, month: int, day: int) -> str:
        return f"{MONTH_NAMES[month]} {day}, {year}"


class BabelDates(EnglishDates):
    """Dates and month names as CLDR writes them in a language (`4 de marzo de 2025`)."""

    def __init__(self, code: str, long_format: str = ""):
        self.code = code.replace("-", "_")
        self.long_format = long_format or "long"
        self._cache: dict[tuple[str, date], str] = {}

    def _date(self, kind: str, value: date) -> str:
        key = (kind, value)
        text = self._cache.get(key)
        if text is None:
            from babel.dates import format_skeleton

            if kind == "long":
                text = format_date(value, self.long_format, self.code)
            elif kind == "short":
                text = format_date(value, "medium", self.code)
            else:
                text = format_skeleton(kind, value, locale=self.code)
            self._cache[key] = text
        return text

    def long(self, value: datetime) -> str:
        return self._date("long", value.date())

    def short(self, value: datetime) -> str:
        return self._date("short", value.date())

    def time(self, value: datetime) -> str:
        from babel.dates import format_time

        return format_time(value.time(), "short", locale=self.code)

    def month(self, month: int) -> str:
        from babel.dates import get_month_names

        return str(get_month_names("wide", "stand-alone", self.code)[month])

    def month_abbr(self, month: int) -> str:
        from babel.dates import get_month_names

        return str(get_month_names("abbreviated", "stand-alone", self.code)[month])

    def month_year(self, year: int, month: int) -> str:
        return self._date("yMMMM", date(year, month, 1))

    def month_day(self, month: int, day: int) -> str:
        return self._date("MMMMd", date(2000, month, day))

    def day(self, year: int, month: int, day: int) -> str:
        return self.long(datetime(year, month, day))


def dates_for(language: Language) -> EnglishDates:
    if language.code.split("-")[0] == "en" and not language.date_format:
        return EnglishDates()
    return BabelDates(language.code, language.date_format)


# ---------------------------------------------------------------- planning

@dataclass(frozen=True)
class PageLanguage:
    """What the planner of one language's pages needs: its strings, its dates, and the
    other-language versions of its pages (by URL)."""

    code: str
    t: Callable[[str], str]
    dates: EnglishDates
    # page URL -> (code, URL) of every version including its own, for hreflang
    alternates: dict[str, tuple[tuple[str, str], ...]]
    # article URL -> (code, language name, URL) of its versions in other languages
    translations: dict[str, tuple[tuple[str, str, str], ...]]
    root_pages: bool = True  # the site's one 404 page


def page_language(config: SiteSettings, code: str = "") -> PageLanguage:
    """A site of one language, or one language's pages without alternates."""
    language = language_of(config, code or config.site_language)
    return PageLanguage(language.code, translator(config, language.code),
                        dates_for(language), {}, {})


def site_text(config: SiteSettings, code: str = "") -> tuple[str, str]:
    """The site's title and description in a language (`[languages.<code>]`, else the
    site's own)."""
    for language in config.languages:
        if language.code == code:
            return (language.title or config.title, language.description or config.description)
    return config.title, config.description


# ---------------------------------------------------------------- templates

class Localizer:
    """The template functions of a language: `_("Updated")` (also `t`), and the `longdate`,
    `shortdate` and `time12` filters (each given the template's context, render.py). The
    language is the filter's argument when given (a macro's item: `item.date |
    shortdate(item.lang)`), else the page's (`lang` in the context of a site of several
    languages), else the site's."""

    def __init__(self, config: SiteSettings):
        self.config = config
        self.default = config.site_language
        self.codes = frozenset(language.code for language in site_languages(config))
        self._dates: dict[str, EnglishDates] = {}
        self._strings: dict[str, Callable[[str], str]] = {}

    def code(self, context: Any, lang: str | None = None) -> str:
        if lang in self.codes:
            return lang  # type: ignore[return-value]
        page = context.get("lang")
        return page if page in self.codes else self.default

    def dates(self, code: str) -> EnglishDates:
        dates = self._dates.get(code)
        if dates is None:
            dates = self._dates[code] = dates_for(language_of(self.config, code))
        return dates

    def text(self, code: str, message: str) -> str:
        translate = self._strings.get(code)
        if translate is None:
            translate = self._strings[code] = translator(self.config, code)
        return translate(message)

    def gettext(self, context: Any, message: str, lang: str | None = None, **values: Any
                ) -> str:
        text = self.text(self.code(context, lang), message)
        return text.format(**values) if values else text

    def longdate(self, context: Any, value: datetime, lang: str | None = None) -> str:
        return self.dates(self.code(context, lang)).long(value)

    def shortdate(self, context: Any, value: datetime, lang: str | None = None) -> str:
        return self.dates(self.code(context, lang)).short(value)

    def time12(self, context: Any, value: datetime, lang: str | None = None) -> str:
        return self.dates(self.code(context, lang)).time(value)
