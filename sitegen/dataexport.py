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

The index counts each year by a digest of what its file lists (`Digested`), and finds each
year's size and checksum in a memo kept in the build state (`StateFiles.data_years`) by that
digest: an edit serializes the edited year again, not the archive (a million articles:
~40 s). The memo is a pure function of its keys (they include this module's own code), so
any build may use it, and a lost one only costs the time.
"""

from __future__ import annotations

import array
import contextlib
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .fingerprint import Fingerprinter
from .indexes import Indexes
from .records import Article, Digested, PageSpec
from .state import replace_file
from .urls import Urls

FORMAT = 1
YearFile = tuple[int, str, Sequence[Article], Sequence[int]]  # year, URL, articles, words


def year_url(urls: Urls, year: int) -> str:
    return urls.page(f"data/articles-{year:04d}.ndjson")


def index_url(urls: Urls) -> str:
    return urls.page("data/index.json")


def plan_data(indexes: Indexes, urls: Urls, want: Callable[[str], bool]
              ) -> Iterator[PageSpec]:
    """A spec per year's file, and the index of them (with `want`, only those asked for)."""
    years = []
    for year in sorted(indexes.years):
        articles = tuple(reversed(indexes.years[year]))  # oldest first
        years.append((year, year_url(urls, year), articles, tuple(a.words for a in articles)))
    for _year, url, articles, words in years:
        if want(url):
            yield PageSpec(url, "articles.ndjson", {"articles": articles, "words": words},
                           kind="data", shows=articles)
    if want(index_url(urls)):
        listed = tuple(Digested(year_digest(year, urls), year) for year in years)
        yield PageSpec(index_url(urls), "data-index.json", {"years": listed},
                       kind="data", shows=indexes.articles)


def year_digest(year: YearFile, urls: Urls) -> str:
    """A digest of all that shapes a year's file: its URL (the site's address too), each
    article's card and word count, and the code that writes it."""
    _year, url, articles, words = year
    card = Fingerprinter().article_id
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{_code_digest()}\0{urls.absolute(url)}\0".encode())
    digest.update("".join(map(card, articles)).encode())
    digest.update(array.array("q", words).tobytes())
    return digest.hexdigest()


@functools.cache
def _code_digest() -> str:
    return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()


def filters(urls: Urls, memo: Path | None = None) -> dict[str, Callable[..., str]]:
    """The layout filters that write the files: `ndjson` and `data_index` (`memo`: the file
    of each year's size and checksum by its digest, StateFiles.data_years)."""
    return {"ndjson": lambda articles, words: ndjson(articles, words, urls),
            "data_index": lambda years: data_index(years, urls, memo)}


def ndjson(articles: Sequence[Article], words: Sequence[int], urls: Urls) -> str:
    return "".join(json.dumps(record(article, count, urls), ensure_ascii=False,
                              separators=(",", ":")) + "\n"
                   for article, count in zip(articles, words, strict=True))


def data_index(years: Sequence[Digested], urls: Urls, memo: Path | None = None) -> str:
    """The index of the year files (each a `Digested` YearFile): each year's size and
    checksum from `memo` when its digest is there, else from its bytes made again."""
    known = _read_memo(memo)
    sizes: dict[str, tuple[int, str]] = {}
    files = []
    for item in years:
        year, url, articles, words = item.value
        size = known.get(item.digest)
        if size is None:
            data = ndjson(articles, words, urls).encode("utf-8")
            size = (len(data), hashlib.sha256(data).hexdigest())
        sizes[item.digest] = size
        files.append({"year": year, "url": urls.absolute(url), "articles": len(articles),
                      "bytes": size[0], "sha256": size[1]})
    if memo is not None and sizes != known:
        _keep_memo(memo, sizes)
    return json.dumps({"format": FORMAT, "files": files}, ensure_ascii=False, indent=1) + "\n"


def _read_memo(memo: Path | None) -> dict[str, tuple[int, str]]:
    if memo is None:
        return {}
    try:
        data = json.loads(memo.read_bytes())
        return {str(key): (int(size), str(sha)) for key, (size, sha) in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):  # none yet, or damaged: made again
        return {}


def _keep_memo(memo: Path, sizes: dict[str, tuple[int, str]]) -> None:
    with contextlib.suppress(OSError):  # a read-only cache folder: made again next time
        replace_file(memo, json.dumps(sizes, sort_keys=True).encode())


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
