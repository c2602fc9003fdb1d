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

import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from functools import cache

from .records import Article, shared_term
from .sitedata import Person
from .sitedata import load_people as load_people
from .sitedata import people_file as people_file
from .slugs import slugify


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
