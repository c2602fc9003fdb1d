"""The parse stage's outcome kept by content folder, so that an edit makes anew only the
outcome of the folder it touched (issue #20: an edit at a million articles spent 32 s
loading, collecting and compacting every cached article again).

A folder's outcome (`FolderOutcome`) is what the parse stage makes of its sources: its
published articles as the build holds them (parse.compact), their body keys, its warnings
and errors, and when the passing of time alone changes it. It is kept (cache.BuildCache's
`parsed_folders` table) with the digest of its sources (path, digest, bundle files) and the
`basis` of everything else it depends on: sitegen's code, the settings that shape articles,
`--strict` and `--keep-going`. It stands for as long as those are unchanged, `now` is not
before it was made, and `now` has not reached its `valid_until`. What joins the folders
(duplicate URLs, clashing cases, the site's next date change) is computed over all of them
in every build (parse.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .codeid import code_digest
from .config import Config
from .errors import Problem
from .outputdigest import output_digest
from .records import Article, SourceFile
from .scan import folder_of

# The meta entry: how many parsed records the cache held when the outcomes were last kept.
PARSED_ROWS = "parsed_rows"


@dataclass(frozen=True, slots=True)
class FolderOutcome:
    """What the parse stage made of one folder's sources, in their order."""

    articles: tuple[Article, ...]  # the published ones
    body_keys: tuple[bytes, ...]  # the parse key of each article's body (16 bytes)
    warnings: tuple[Problem, ...]
    errors: tuple[Problem, ...]
    valid_until: datetime | None  # when the passing of time alone changes this outcome


def by_folder(sources: Iterable[SourceFile]) -> dict[str, list[SourceFile]]:
    """The sources of each folder, in the order the folders and their sources come."""
    folders: dict[str, list[SourceFile]] = {}
    for src in sources:
        folders.setdefault(folder_of(src.path), []).append(src)
    return folders


def basis(config: Config) -> str:
    """Everything but the sources that a folder's outcome depends on."""
    parts = (code_digest(), output_digest(config), str(config.strict),
             str(config.keep_going), config.content_dir.name)
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def stands(kept: tuple[str, str, str] | None, sources: str | None, now: datetime) -> bool:
    """Whether a kept outcome (`cache.parsed_folders`: digest, made, valid until) is the one
    the folder's sources (their digest, scan.folder_digests: None while one is not hashed)
    would make now."""
    if kept is None or sources is None:
        return False
    digest, made, until = kept
    if digest != sources:
        return False
    return datetime.fromisoformat(made) <= now and \
        (not until or now < datetime.fromisoformat(until))


def outcome_of(sources: Sequence[SourceFile], results: Mapping[str, tuple[Article, tuple] |
               list[Problem]], keys: Mapping[str, str], config: Config) -> FolderOutcome:
    """What the sources of one folder (or of the whole build) come to, from what the parse
    cache and the workers gave for each (by source path: the article and its warnings, or
    the problems that stopped it) and its parse key: the published articles, their
    warnings, the errors that left articles out."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    articles: list[Article] = []
    for src in sources:
        outcome = results[src.path]
        if isinstance(outcome, list):
            errors.extend(outcome)
            continue
        article, article_warnings = outcome
        failed = [w for w in article_warnings if w.severity == "error"]
        if failed and not config.keep_going:  # shortcode calls that could not be rendered
            errors.extend(failed)
            continue
        warnings.extend(article_warnings)
        if config.strict and article_warnings:
            errors.extend(dataclasses.replace(w, severity="error") for w in article_warnings)
            continue
        if config.publishes(article):
            articles.append(article)
    every = [results[src.path] for src in sources]
    valid_until = next_date_change([r[0] for r in every if isinstance(r, tuple)],
                                    articles, config)
    body_keys = tuple(bytes.fromhex(keys[a.source]) for a in articles)
    return FolderOutcome(tuple(articles), body_keys, tuple(warnings),
                                       tuple(errors), valid_until)


def next_date_change(parsed: Sequence[Article], published: Sequence[Article],
                      config: Config) -> datetime | None:
    """The first moment at which the passing of time alone changes the site."""
    now = config.now
    window = timedelta(days=config.news_sitemap_days)
    moments = [] if config.future else [a.date for a in parsed if a.date > now]
    moments += [a.expires for a in published if a.expires and a.expires > now]
    since = now - window  # in the news window: `date <= now < date + window`, one sum fewer
    moments += [a.date + window for a in published if since < a.date <= now]
    featured = timedelta(days=config.featured_days)  # a featured lead leaves the home page
    moments += [a.date + featured for a in published
                if a.featured and now - featured < a.date <= now]
    return min(moments, default=None)


def pack(outcome: FolderOutcome) -> bytes:
    return pickle.dumps(outcome, protocol=5)


def unpack(blob: bytes) -> FolderOutcome | None:
    """A `pack`ed outcome; None when the bytes are not one (damaged: made again)."""
    try:
        outcome = pickle.loads(blob)
    except Exception:  # damaged bytes can fail in any way the unpickler can
        return None
    return outcome if type(outcome) is FolderOutcome else None


def moment(when: datetime | None) -> str:
    """A kept date: ISO 8601, '' for none."""
    return when.isoformat() if when else ""
