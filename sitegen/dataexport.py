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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .indexes import Indexes
from .records import Article, PageSpec
from .urls import Urls

FORMAT = 1


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
        yield PageSpec(index_url(urls), "data-index.json", {"years": tuple(years)},
                       kind="data", shows=indexes.articles)


def filters(urls: Urls) -> dict[str, Callable[..., str]]:
    """The layout filters that write the files: `ndjson` and `data_index`."""
    return {"ndjson": lambda articles, words: ndjson(articles, words, urls),
            "data_index": lambda years: data_index(years, urls)}


def ndjson(articles: Sequence[Article], words: Sequence[int], urls: Urls) -> str:
    return "".join(json.dumps(record(article, count, urls), ensure_ascii=False,
                              separators=(",", ":")) + "\n"
                   for article, count in zip(articles, words, strict=True))


def data_index(years: Sequence[tuple[int, str, Sequence[Article], Sequence[int]]],
               urls: Urls) -> str:
    files = []
    for year, url, articles, words in years:
        data = ndjson(articles, words, urls).encode("utf-8")
        files.append({"year": year, "url": urls.absolute(url), "articles": len(articles),
                      "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return json.dumps({"format": FORMAT, "files": files}, ensure_ascii=False, indent=1) + "\n"


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
