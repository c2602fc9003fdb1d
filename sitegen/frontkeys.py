"""Foreign keys of Hugo, Jekyll and WordPress exports mapped to sitegen's fields.

`normalize` takes the front matter as YAML read it and gives the mapping content.py builds an
Article from: sitegen's own keys, those of other generators renamed to the field they mean
(FOREIGN_KEYS), the site's own mapping (`[front_matter]` in the config) applied first, and
HTML entities in every text value decoded once (`EPA&#8217;s` -> `EPA’s`). A value under
sitegen's own key always wins over a foreign one; list fields (tags, authors, aliases) are
merged, sitegen's entries first.

Kept free of YAML and Markdown imports: config.py validates the site's mapping with it.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .records import Article

# Lower-cased foreign key -> what it means. Targets other than sitegen's front-matter fields:
# "categories" (first is the section when none is given, the rest are tags), "aliases" and
# "permalink" (kept on the record for redirects), "weight", "published" (false hides it),
# "hidden" (true hides it) and "extra" (kept as is for templates, never a typo).
FOREIGN_KEYS: dict[str, str] = {
    # Hugo
    "description": "summary",
    "lastmod": "updated",
    "publishdate": "date",
    "pubdate": "date",
    "expirydate": "expires",
    "unpublishdate": "expires",
    "categories": "categories",
    "keywords": "tags",
    "images": "image",
    "aliases": "aliases",
    "url": "permalink",
    "weight": "weight",
    "headless": "hidden",
    # Jekyll
    "excerpt": "summary",
    "permalink": "permalink",
    "redirect_from": "aliases",
    "translationkey": "translation_key",  # Hugo
    "category": "categories",
    "published": "published",
    "last_modified_at": "updated",
    # WordPress exports and themes
    "featured_image": "image",
    "featuredimage": "image",
    # keys generators use for their own layout: kept in `extra`, never warned about
    **dict.fromkeys((
        "layout", "type", "linktitle", "menu", "menus", "toc", "comments", "markup",
        "outputs", "sitemap", "build", "cascade", "resources",
        "iscjklanguage", "series", "version", "sidebar", "math", "share", "redirect_to",
        "subtitle", "header", "thumbnail", "wordpress_id", "guid", "status",
    ), "extra"),
}
# Fields a site can map its own keys to, besides sitegen's own (content.KNOWN_KEYS).
EXTRA_TARGETS = ("categories", "aliases", "permalink", "weight", "published", "hidden", "extra")
LIST_FIELDS = ("tags", "authors", "aliases")
# Keys whose values are never HTML text: left exactly as written.
NOT_TEXT = frozenset({"slug", "date", "updated", "expires"})


@dataclass(frozen=True)
class FrontMatter:
    """Front matter in sitegen's terms, with what the Article record takes apart from it."""

    meta: dict[str, Any]  # sitegen's keys, plus keys nobody knows (for `extra` and typos)
    origins: dict[str, str] = field(default_factory=dict)  # sitegen key -> key as written
    extras: dict[str, Any] = field(default_factory=dict)  # known keys kept for templates
    aliases: tuple[str, ...] = ()
    permalink: str = ""
    weight: int = 0
    problems: tuple[tuple[str, str], ...] = ()  # (key as written, message)


def normalize(meta: dict[str, Any], site_keys: Iterable[tuple[str, str]] = ()
              ) -> FrontMatter:
    """`meta` mapped to sitegen's fields; `site_keys`: the site's (key, field) pairs."""
    own: dict[str, Any] = {}
    foreign: list[tuple[str, str, Any]] = []  # (key as written, target, value)
    site = dict(site_keys)
    extras: dict[str, Any] = {}
    for key, value in meta.items():
        value = decode_entities(value) if key not in NOT_TEXT else value
        target = _target(key, site) if isinstance(key, str) else None
        if target is None:
            own[key] = value
        elif target == "extra":
            extras[key] = value
        else:
            foreign.append((key, target, value))
    return _apply(own, foreign, extras)


def _target(key: str, site: dict[str, str]) -> str | None:
    """The field a key means, or None for sitegen's own keys and keys nobody knows."""
    if key in site:
        return site[key]
    if key in OWN_KEYS:
        return None
    return FOREIGN_KEYS.get(key.lower())


def _apply(own: dict[str, Any], foreign: list[tuple[str, str, Any]],
           extras: dict[str, Any]) -> FrontMatter:
    meta, origins = dict(own), {}
    if isinstance(meta.get("image"), dict):  # jekyll-seo-tag's `image: {path, alt}`
        meta["image"] = _image(meta["image"], meta, origins, "image")
    problems: list[tuple[str, str]] = []
    aliases: list[str] = []
    permalink, weight = "", 0
    categories: list[tuple[str, list[str]]] = []
    hidden_by: str | None = None
    for key, target, value in foreign:
        if value is None:
            continue
        if target == "categories":
            categories.append((key, _categories(key, value)))
        elif target == "aliases":
            found = _strings(value)
            if found is None:
                problems.append((key, f"'{key}' must be a URL path or a list of them"))
            aliases += found or []
        elif target == "permalink":
            if isinstance(value, str) and value.strip():
                permalink = permalink or value.strip()
            else:
                problems.append((key, f"'{key}' must be a URL path, got {value!r}"))
        elif target == "weight":
            if isinstance(value, int) and not isinstance(value, bool):
                weight = value
            else:
                problems.append((key, f"'{key}' must be a whole number, got {value!r}"))
        elif target == "published":  # Jekyll: false hides it; Hugo: the publication date
            if value is False:
                hidden_by = key
            elif isinstance(value, (date, str)):
                _put(meta, origins, key, "date", value)
            elif value is not True:
                problems.append((key, f"'{key}' must be true, false or a date, got {value!r}"))
        elif target == "hidden":  # Hugo's headless bundle: no page of its own
            if value is True:
                hidden_by = key
            elif value is not False:
                problems.append((key, f"'{key}' must be true or false, got {value!r}"))
        elif target == "image":
            _put(meta, origins, key, "image", _image(value, meta, origins, key))
        elif target in LIST_FIELDS:
            _merge(meta, origins, key, target, value)
        else:
            _put(meta, origins, key, target, value)
    if hidden_by and not meta.get("draft"):
        meta["draft"], origins["draft"] = True, hidden_by
    _apply_categories(meta, origins, categories)
    return FrontMatter(meta, origins, extras, tuple(aliases), permalink, weight,
                       tuple(problems))


def _put(meta: dict[str, Any], origins: dict[str, str], key: str, target: str,
         value: Any) -> None:
    """A single-value field: sitegen's own key (or the first foreign one) wins."""
    if value is not None and meta.get(target) in (None, ""):
        meta[target], origins[target] = value, key


def _merge(meta: dict[str, Any], origins: dict[str, str], key: str, target: str,
           value: Any) -> None:
    """A list field: entries appended after those already there."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")] if "," in value else [value]
    current = meta.get(target)
    if current is None:
        meta[target], origins[target] = value, key
    elif isinstance(current, list) and isinstance(value, list):
        meta[target] = current + value
    elif isinstance(current, str) and isinstance(value, list):
        meta[target] = [current, *value]


def _categories(key: str, value: Any) -> list[str]:
    """Jekyll writes several categories as one string split by spaces; `category` is one."""
    if isinstance(value, str):
        if key.lower() == "category" or "," in value:
            return [part.strip() for part in value.split(",") if part.strip()]
        return value.split()
    if isinstance(value, list):
        return [str(v).strip() for v in value if isinstance(v, (str, int, float))
                and not isinstance(v, bool) and str(v).strip()]
    return []


def _apply_categories(meta: dict[str, Any], origins: dict[str, str],
                      categories: list[tuple[str, list[str]]]) -> None:
    """The first category is the section when none is given; the others are tags."""
    names = [name for _key, found in categories for name in found]
    if not names:
        return
    key = categories[0][0]
    if meta.get("section") in (None, ""):
        meta["section"], origins["section"] = names[0], key
        names = names[1:]
    if names:
        _merge(meta, origins, key, "tags", names)


def _image(value: Any, meta: dict[str, Any], origins: dict[str, str], key: str) -> Any:
    """The first of a list (Hugo's `images`); a mapping's path, and its alt when none is set
    (jekyll-seo-tag's `image: {path, alt}`)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        alt = value.get("alt")
        if isinstance(alt, str) and not meta.get("image_alt"):
            meta["image_alt"], origins["image_alt"] = alt, key
        value = next((value[k] for k in ("path", "src", "url") if k in value), None)
    return value


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return None


def decode_entities(value: Any) -> Any:
    """HTML entities decoded once in every string of a value (lists and mappings too)."""
    if isinstance(value, str):
        return html.unescape(value) if "&" in value else value
    if isinstance(value, list):
        return [decode_entities(v) for v in value]
    if isinstance(value, dict):
        return {k: decode_entities(v) for k, v in value.items()}
    return value


def complete(article: Article, front: FrontMatter) -> Article:
    """The parsed article with what its record keeps apart from sitegen's own fields."""
    if not (front.extras or front.aliases or front.permalink or front.weight):
        return article
    extra = dict(article.extra)
    extra.update(front.extras)
    return dataclasses.replace(article, extra=tuple(sorted(extra.items())),
                               aliases=front.aliases, permalink=front.permalink,
                               weight=front.weight)


# ---------------------------------------------------------------- typos

def likely_typo(key: str, fields: Iterable[str]) -> str | None:
    """The field `key` is most likely a misspelling of: at an edit distance of one, or of two
    for keys of five letters or more (so `source_url` is not a typo of `source`)."""
    if key.lower() in FOREIGN_KEYS:
        return None
    limit = min(2, (len(key) - 1) // 2)
    best: tuple[int, str] | None = None
    for name in fields:
        distance = _distance(key, name, limit)
        if 0 < distance <= limit and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours counts one), or limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = ca != cb
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[-1]


# ---------------------------------------------------------------- the site's mapping

def mapping_errors(mapping: Any, fields: Iterable[str]) -> Iterator[str]:
    """Problems of a site's `[front_matter]` table (`key = "field"`)."""
    if not isinstance(mapping, dict):
        yield f"'front_matter' must be a table of key = \"field\", got {mapping!r}"
        return
    allowed = (*fields, *EXTRA_TARGETS)
    for key, target in mapping.items():
        if target not in allowed:
            yield (f"front_matter: '{key}' maps to {target!r}, which is not a field; use one "
                   f"of: {', '.join(sorted(set(allowed)))}")


OWN_KEYS = frozenset({
    "title", "date", "slug", "section", "tags", "authors", "author", "summary", "updated",
    "draft", "expires", "dateline", "source", "link", "image", "image_alt", "story",
    "corrections", "lang", "image_caption", "image_credit", "featured",
    "translation_key", "translation_of",
})
