"""The archive as data: `/data/articles-YYYY.ndjson` and `/data/index.json` (format 1).

Each year's file holds one JSON object a line (UTF-8, "\\n" after every line), one per
published article of that year (by the date as written), oldest first:

    url, headline, date_published, date_modified (or null), authors [names],
    section (or null), tags [names], story (or null), summary, word_count,
    corrections [{date (or null), text}], revisions [update dates, oldest first]

Dates are RFC 3339 with the offset they were written in; URLs are absolute. `index.json`
lists every year's file: {"format": 1, "files": [{year, url, articles, bytes, sha256}]}.
New keys may be added to a format; none is renamed or removed without a new format number.

Both are planned as pages (feeds.py) whose context is their articles (and their word counts,
which an article's card leaves out), so the render fingerprint writes again only the file of
a year whose articles changed; the index follows every year's bytes. The bytes come from
here, not from a layout, so that the index's sizes and checksums are those of the files.

The index's entries (each year's size and checksum) are made by the planner, in the build's
own process, from a memo kept in the build state (`StateFiles.data_years`: by each year file's
URL, a digest of what it lists and its size and checksum): an edit serializes its year again,
not the archive (a million articles: ~40 s), and no render worker walks every article of the
archive (each would copy the memory of all of them). The memo's digests include this module's
own code, so a stale entry is never used; a lost memo only costs the time.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .codeid import code_digest
from .fingerprint import Fingerprinter
from .indexes import Indexes
from .records import Article, PageSpec
from .state import replace_file
from .urls import Urls

FORMAT = 1
YearFile = tuple[int, str, Sequence[Article], Sequence[int]]  # year, URL, articles, words


def year_url(urls: Urls, year: int) -> str:
    return urls.page(f"data/articles-{year:04d}.ndjson")


def index_url(urls: Urls) -> str:
    return urls.page("data/index.json")


def plan_data(indexes: Indexes, urls: Urls, want: Callable[[str], bool],
              memo: Path | None = None) -> Iterator[PageSpec]:
    """A spec per year's file, and the index of them (with `want`, only those asked for).
    `memo`: the file of each year's size and checksum (read, and kept when any changed)."""
    years = []
    for year in sorted(indexes.years):
        articles = tuple(reversed(indexes.years[year]))  # oldest first
        years.append((year, year_url(urls, year), articles, tuple(a.words for a in articles)))
    for _year, url, articles, words in years:
        if want(url):
            yield PageSpec(url, "articles.ndjson", {"articles": articles, "words": words},
                           kind="data", shows=articles)
    if want(index_url(urls)):
        yield PageSpec(index_url(urls), "data-index.json",
                       {"files": index_entries(years, urls, memo)},
                       kind="data", shows=indexes.articles)


def index_entries(years: Sequence[YearFile], urls: Urls, memo: Path | None = None
                  ) -> tuple[dict[str, Any], ...]:
    """Each year file's entry of the index: its size and checksum from `memo` where what it
    lists is as it was, else from its bytes made again."""
    known = _read_memo(memo)
    entries, changed = [], False
    for year, url, articles, words in years:
        address, digest = urls.absolute(url), year_digest(articles, words, urls)
        kept = known.get(address)
        if kept is None or kept[0] != digest:
            data = ndjson(articles, words, urls).encode("utf-8")
            kept = known[address] = (digest, len(data), hashlib.sha256(data).hexdigest())
            changed = True
        entries.append({"year": year, "url": address, "articles": len(articles),
                        "bytes": kept[1], "sha256": kept[2]})
    if memo is not None and changed:
        _keep_memo(memo, known)
    return tuple(entries)


def year_digest(articles: Sequence[Article], words: Sequence[int], urls: Urls) -> str:
    """A digest of all that shapes a year's file besides its URL: each article's card (its
    record as lists show it) and word count, the site's address and the code that writes it."""
    card = Fingerprinter().article_id
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{code_digest()}\0{urls.absolute('/')}\0".encode())
    digest.update("".join(map(card, articles)).encode())
    digest.update(array.array("q", words).tobytes())
    return digest.hexdigest()


def _read_memo(memo: Path | None) -> dict[str, tuple[str, int, str]]:
    if memo is None:
        return {}
    try:
        data = json.loads(memo.read_bytes())
        return {str(url): (str(digest), int(size), str(sha))
                for url, (digest, size, sha) in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):  # none yet, or damaged: made again
        return {}


def _keep_memo(memo: Path, known: dict[str, tuple[str, int, str]]) -> None:
    with contextlib.suppress(OSError):  # a read-only cache folder: made again next time
        replace_file(memo, json.dumps(known, sort_keys=True).encode())


def filters(urls: Urls) -> dict[str, Callable[..., str]]:
    """The layout filters that write the files: `ndjson` and `data_index`."""
    return {"ndjson": lambda articles, words: ndjson(articles, words, urls),
            "data_index": data_index}


def ndjson(articles: Sequence[Article], words: Sequence[int], urls: Urls) -> str:
    return "".join(json.dumps(record(article, count, urls), ensure_ascii=False,
                              separators=(",", ":")) + "\n"
                   for article, count in zip(articles, words, strict=True))


def data_index(files: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"format": FORMAT, "files": list(files)}, ensure_ascii=False,
                      indent=1) + "\n"


def record(article: Article, words: int, urls: Urls) -> dict[str, Any]:
    """One article's line of its year's file."""
    return {
        "url": urls.absolute(article.url),
        "headline": article.title,
        "date_published": _date(article.date),
        "date_modified": _date(article.updated) if article.updated else None,
        "authors": [author.name for author in article.authors],
        "section": article.section.name if article.section else None,
        "tags": [tag.name for tag in article.tags],
        "story": article.story or None,
        "summary": article.summary,
        "word_count": words,
        "corrections": [{"date": _date(c.date) if c.date else None, "text": c.text}
                        for c in article.corrections],
        "revisions": [_date(r.date) for r in reversed(article.revisions)],
    }


def _date(value: Any) -> str:
    return value.isoformat(timespec="seconds")
