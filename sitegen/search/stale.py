"""Which pieces Pagefind must index again, found from the stored page rows (`pagestore`) at a
cost that follows what changed rather than the size of the archive.

Three ways, the cheapest that is sound:

- **An edit** (`trusted` and the plan unchanged): the output is as the last search build left
  it (the state was saved for the generation this build started from, by a build with search)
  but for the article pages this build wrote, `changed_urls`. When each of those is a page the
  table holds, with its article at the same UTC instant, and the number of articles is the
  same, no piece changed its pages: only the pieces holding a changed page are looked at.
- **Planned again** (`trusted`): articles were added, removed or moved in time; the pieces are
  planned from the articles and a piece is looked at when its list of pages changed (the
  stored digest of the list) or it holds a changed page.
- **Checked** (not `trusted`: a build with --no-search came between, or the caller gave no
  generations): every piece is looked at, each page's token against the stored one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..records import Article
from .pagestore import PageStore, Signature, urls_digest
from .plan import PiecePlan, instant, plan_pieces


@dataclass
class Found:
    order: list[str]  # every piece id, in bundle order
    dirty: list[PiecePlan]  # the pieces to index again
    pages: int  # article pages in the index
    first: Callable[[], PiecePlan]  # the first piece (for Pagefind's runtime files)
    changed_lists: list[PiecePlan] = field(default_factory=list)  # their list of pages changed
    dropped: list[str] = field(default_factory=list)  # pieces that are no more
    edit: bool = False  # the pieces' lists of pages are the stored ones


@dataclass
class Pages:
    """How the stage reaches an article page: its file, its token, what this build wrote."""

    path: Callable[[str], str]
    token: Callable[[str], str]
    changed: set[str]
    read: Callable[[str], bytes]  # a page trimmed to what Pagefind reads of it
    trimmed: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # token, page: read
    # while checked


def find_stale(store: PageStore, pages: Pages, articles: Sequence[Article],
               state: Mapping[str, Any], trusted: bool, cached: Callable[[str], bool],
               legacy: Mapping[str, dict[str, Signature]] | None = None,
               plan: Callable[[Sequence[Article]], list[PiecePlan]] = plan_pieces) -> Found:
    """The pieces to index again; rows of pieces looked at and found unchanged are written
    to `store` (in its open transaction) as they are checked."""
    if trusted and legacy is None and state.get("count") == len(articles):
        found = _edit(store, pages, articles, state, cached)
        if found is not None:
            return found
    return _planned(store, pages, plan(articles), trusted and legacy is None, cached,
                    legacy)


def _edit(store: PageStore, pages: Pages, articles: Sequence[Article],
          state: Mapping[str, Any], cached: Callable[[str], bool]) -> Found | None:
    """The pieces of an edit, or None when the plan may have changed."""
    order = state.get("order")
    if not (isinstance(order, list) and order):
        return None
    rows = store.rows(pages.changed)
    for article in articles:
        if article.url in pages.changed:
            row = rows.get(article.url)
            if row is None or row[2] != instant(article.date):
                return None
    dirty: list[PiecePlan] = []
    for piece_id in sorted({row[0] for row in rows.values()}, key=order.index):
        old = store.signatures(piece_id)
        piece = PiecePlan(piece_id, tuple(old))
        signatures, stale = check_piece(piece, old, pages, cached(piece_id))
        if stale:
            dirty.append(piece)
        else:
            store.update_signatures((url, sig) for url, sig in signatures.items()
                                    if sig != old[url])
    first = order[0]
    return Found(list(order), dirty, len(articles),
                 lambda: PiecePlan(first, store.piece_urls(first)), edit=True)


def _planned(store: PageStore, pages: Pages, pieces: list[PiecePlan], trusted: bool,
             cached: Callable[[str], bool],
             legacy: Mapping[str, dict[str, Signature]] | None) -> Found:
    digests = store.piece_digests() if legacy is None else {}
    dirty: list[PiecePlan] = []
    changed_lists: list[PiecePlan] = []
    for piece in pieces:
        same_list = digests.get(piece.id) == urls_digest(piece.urls)
        if not same_list and piece.id in digests:
            changed_lists.append(piece)
        elif same_list and trusted and not any(url in pages.changed for url in piece.urls):
            # (a piece new to the plan, as a year cut into quarters makes, is always checked)
            continue
        old = store.signatures(piece.id) if legacy is None else legacy.get(piece.id, {})
        signatures, stale = check_piece(piece, old, pages, cached(piece.id))
        if stale:
            dirty.append(piece)
        elif not same_list or signatures != old or list(signatures) != list(old):
            store.put_pages(piece.id, piece.urls, piece.instants, signatures)
    order = [piece.id for piece in pieces]
    dropped = sorted(set(digests) - set(order))
    return Found(order, dirty, sum(len(piece.urls) for piece in pieces),
                 lambda: pieces[0], changed_lists, dropped)


def check_piece(piece: PiecePlan, old: dict[str, Signature], pages: Pages, cached: bool
                ) -> tuple[dict[str, Signature], bool]:
    """The piece's page signatures, and whether Pagefind must index it again; a piece to be
    indexed again has its signatures taken while it is (`signed`), none here."""
    if not cached or len(old) != len(piece.urls) or set(old) != set(piece.urls):
        return {}, True
    signatures: dict[str, Signature] = {}
    for url in piece.urls:
        now = pages.token(url)
        known = old[url]
        if not (isinstance(known, list) and len(known) == 2):
            return {}, True
        if known[0] == now and url not in pages.changed:
            signatures[url] = known
            continue
        data = pages.read(url)
        pages.trimmed[url] = now, data  # not read again should the piece be indexed
        signatures[url] = [now, page_digest(data)]
        if known[1] != signatures[url][1]:
            return {}, True
    for url in piece.urls:
        pages.trimmed.pop(url, None)
    return signatures, False


def signed(piece: PiecePlan, pages: Pages, signatures: dict[str, Signature], cut: int
           ) -> Iterator[tuple[str, str]]:
    """The piece's documents for Pagefind (URL without the base path, trimmed page), each
    page's signature taken into `signatures` as it is read."""
    for url in piece.urls:
        now, data = pages.trimmed.pop(url, None) or (pages.token(url), None)
        if data is None:
            data = pages.read(url)
        signatures[url] = [now, page_digest(data)]
        yield url[cut:], data.decode("utf-8", "replace")


def page_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()
