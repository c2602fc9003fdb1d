"""Pagefind full-text search over the article pages: one site-wide index.

The bundle under `pagefind/` is the one Pagefind itself would write for all article pages at
once (its word index cut into chunks the browser fetches by the words it looks up), so a query
finds exactly what one Pagefind index finds, scored on the same page counts. It is not written
by one Pagefind run: Pagefind cannot update an index (Pagefind/pagefind#71) and its CLI needs
~23 GB for 100,000 pages. The search stage

1. plans *pieces* of at most 40 articles by calendar period (`plan`),
2. has `pagefind --service` processes index the pieces whose pages changed, each page trimmed
   to what Pagefind reads of it (`trim`, `service`), and keeps each piece's index in the build
   cache (`store`); on the Dask engine each worker indexes its share of them (`remote`),
3. joins all pieces into the site-wide bundle (`join`, the bytes `merge` gives, in the
   canonical form of `format`), written beside `pagefind/` and switched in whole.

An edit re-indexes the one piece holding the article; when no piece changed its number of
pages, that piece is spliced into the bundle (only the words it changed are encoded again),
else the bundle is joined in full from the cached pieces, one at a time. Either way it is the
same bytes a clean build writes. Files of the bundle whose content did not change are
hard-linked from the previous one rather than written again.

This module is the build step; the build calls `check_pagefind` before it writes anything,
`update_search_index` after the pages are written, `follow_generation` when search is off, and
`index_problem` to repair a damaged bundle on a build that changed nothing.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import SitegenError
from ..pagestates import OutputHashes
from ..records import Article
from ..urls import Urls
from .join import BundleWriter, Fallback, JoinStore, join_full, join_splice
from .merge import Piece
from .pagestore import PageStore, Signature
from .plan import MAX_PIECE_PAGES, PiecePlan, plan_pieces
from .remote import index_on_workers, keep_piece
from .service import (
    SUPPORTED_TEXT,
    PagefindProcess,
    check_pagefind,
    pagefind_executable,
    pagefind_version,
)
from .stale import Found, Pages, find_stale, signed
from .store import (
    RUNTIME_KEY,
    STATE_FILE,
    CacheMiss,
    PieceCache,
    follow_generation,
    indexed_nothing,
    load_state,
    pieces_dir,
    save_state,
    state_path,
)
from .trim import element_end, trim_page

__all__ = [
    "MAX_PIECE_PAGES", "STATE_FILE", "SUPPORTED_TEXT", "OutputHashes", "PagefindProcess",
    "PiecePlan", "SearchReport", "check_pagefind", "element_end", "follow_generation",
    "index_problem", "pagefind_executable", "pagefind_version", "pieces_dir", "plan_pieces",
    "state_path", "trim_page", "update_search_index",
]

MAX_SPLICED = 4  # more pieces re-indexed at once than this: the bundle is joined in full
FORMAT = 7  # bump when page trimming, the bundle layout or the pieces change
BUNDLE_DIR = "pagefind"
STAGING = ".pagefind.new"  # beside pagefind/ in the tree: the bundle being written
ASIDE = ".pagefind.old"  # the bundle it replaces, for a moment
# What the bundle keeps of Pagefind's output: its data and the runtime the browser loads
# (`pagefind.js`, its worker and WebAssembly); not Pagefind's own UIs.
KEPT_FILES = re.compile(r"^(pagefind-entry\.json|pagefind\.[^/]+\.pf_meta|index|filter|fragment"
                        r"|pagefind\.js|pagefind-worker\.js|wasm\.[^/]+\.pagefind)$")


@dataclass(frozen=True)
class SearchReport:
    pages: int  # article pages in the index
    pieces: tuple[str, ...]  # the pieces Pagefind (re)indexed
    pages_indexed: int
    joined: bool  # the bundle was written again
    seconds: float
    changed_folders: tuple[str, ...] = ()  # paths under the tree this build changed as a whole
    spliced: bool = False  # the bundle was joined by splicing the edited pieces into it
    changed_files: tuple[str, ...] = ()  # paths under the tree of the files a splice changed


@dataclass(frozen=True)
class _Where:
    tree: Path  # the site folder whose pages are indexed and whose pagefind/ is written
    generations: tuple[str | None, str] | None


def update_search_index(config: Config, articles: Sequence[Article], changed_urls: set[str],
                        page_hashes: Mapping[str, str] | None = None, tree: Path | None = None,
                        generations: tuple[str | None, str] | None = None) -> SearchReport:
    """Bring `pagefind/` of `tree` (default: the output folder) up to date with the article
    pages just written there.

    `generations`: (the site's generation the tree started from, the one it becomes): the
    state this stage keeps is trusted only for the generation it was saved for.

    `articles` are all published articles; `changed_urls` the article URLs whose page file this
    build (re)wrote. A piece is re-indexed when its list of pages changed, when what Pagefind
    reads of one of its pages changed, or when the cache lost it; the bundle is joined again
    when a piece was, when the list of pieces changed or when the bundle is damaged.
    `page_hashes`: the build's hash of each output file's bytes, by output path; without it a
    page's size and mtime stand for its bytes. A page whose file is unchanged is not read
    again; a rewritten page is read and trimmed, and counts as changed only when its trimmed
    bytes differ: adding an article rewrites the "next"/"related" links of others, which
    Pagefind never reads. Comparing files rather than trusting `changed_urls` alone also
    catches up on builds run with --no-search.
    """
    started = time.perf_counter()
    where = _Where(tree or config.output_dir, generations)
    try:
        return _update(config, articles, changed_urls, page_hashes, started, where, False)
    except CacheMiss:  # the cache lost a piece another build had left: index everything
        return _update(config, articles, changed_urls, page_hashes, started, where, True)


def _update(config: Config, articles: Sequence[Article], changed_urls: set[str],
            page_hashes: Mapping[str, str] | None, started: float, where: _Where,
            forget: bool) -> SearchReport:
    urls = Urls(config)
    for leftover in (STAGING, ASIDE):  # from a build killed while it switched the bundle
        _remove(where.tree / leftover)
    out = f"{where.tree}{os.sep}"

    def path(url: str) -> str:
        return out + urls.output_path(url)

    def token(url: str) -> str:
        rel = urls.output_path(url)
        known = page_hashes.get(rel) if page_hashes is not None else None
        if known:
            return f"h:{known}"
        size, mtime = _stat(out + rel, url)
        return f"s:{size}:{mtime}"

    executable, version = check_pagefind()
    settings = {"format": FORMAT, "pagefind": version, "base_path": config.base_path}
    before, after = where.generations or (None, None)
    state = {} if forget else load_state(config, settings, before)
    cache = PieceCache(pieces_dir(config.cache_dir, config.output_dir))
    store = PageStore(cache.folder)
    legacy = state.get("pieces") if state and "pages" not in state else None
    if not state or (legacy is None and store.version() != state.get("pages")):
        store.close()
        cache.clear()
        state = {}
    store.begin()
    if legacy is not None:  # the state of an older sitegen: its pages move into the table
        store.wipe()
    # the output is as the search build that saved the state left it, but for changed_urls
    trusted = bool(state) and before is not None and state.get("saved") == before
    pages = Pages(path, token, changed_urls, lambda url: trim_page(_read_page(path(url))))
    try:
        found = find_stale(store, pages, articles, state, trusted, cache.has, legacy or None,
                           plan_pieces)  # as this module has it: a benchmark replaces it
        report = _refresh(config, executable, found, pages, cache, store, where,
                          state.get("order") != found.order, started)
        version_now = store.commit()
    finally:
        store.close()
    save_state(config, settings, {"order": found.order, "pieces": {}, "pages": version_now,
                                  "count": len(articles), "saved": after}, after)
    return report


def _refresh(config: Config, executable: Path, found: Found, pages: Pages, cache: PieceCache,
             store: PageStore, where: _Where, reordered: bool, started: float
             ) -> SearchReport:
    """Index the stale pieces, keep their pages' rows, join the bundle when it changed."""
    bundle = where.tree / BUNDLE_DIR
    dirty = list(found.dirty)
    join = bool(found.order) and (bool(dirty) or reordered
                                  or bundle_problem(bundle) is not None)
    if join and not dirty and not cache.has(RUNTIME_KEY):
        dirty.append(found.first())  # only to get Pagefind's runtime files
    earlier = _earlier(cache, dirty) if join else None
    for piece in dirty:  # a build that fails part way leaves no stale piece behind
        cache.forget(piece.id)
    cut = len(config.base_path) - 1  # Pagefind keeps site URLs; the browser adds the base
    signatures: dict[str, dict[str, Signature]] = {piece.id: {} for piece in dirty}
    planned = {piece.id: piece for piece in dirty}

    def documents(piece: PiecePlan) -> Iterator[tuple[str, str]]:
        return signed(piece, pages, signatures[piece.id], cut)

    def indexed(piece_id: str) -> None:  # its rows, as soon as Pagefind has it
        piece, signed_now = planned[piece_id], signatures.pop(piece_id)
        if found.edit:  # the piece's list of pages is the stored one
            store.update_signatures(signed_now.items())
        else:
            store.put_pages(piece.id, piece.urls, piece.instants, signed_now)

    if config.engine == "dask" and len(dirty) > 1:  # each worker indexes its share
        indexed_pages = index_on_workers(config, where.tree, dirty, pages, cache, signatures,
                                         indexed)
    else:
        indexed_pages = _index(config, executable, dirty, documents, cache, indexed)
    for piece in found.changed_lists:
        store.drop_stray_pages(piece.id, piece.urls)
    store.drop_pieces(found.dropped)
    changed: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    spliced = False
    if join:
        spliced_files = _join_bundle(found.order, cache, where.tree, earlier)
        spliced = spliced_files is not None
        if spliced_files is None:
            changed = (BUNDLE_DIR,)
        else:
            changed_files = tuple(sorted(spliced_files))
    elif not found.order and bundle.exists():  # no articles: no bundle
        _remove(bundle)
        changed = (BUNDLE_DIR,)
    elif _prune(bundle):
        changed = (BUNDLE_DIR,)
    cache.keep(set(found.order) | {RUNTIME_KEY})
    return SearchReport(found.pages, tuple(p.id for p in dirty), indexed_pages, join,
                        time.perf_counter() - started, changed, spliced, changed_files)


def _index(config: Config, executable: Path, pieces: list[PiecePlan],
           documents: Callable[[PiecePlan], Iterator[tuple[str, str]]],
           cache: PieceCache, indexed: Callable[[str], None]) -> int:
    """Index `pieces` with Pagefind (`config.workers` services at once), each kept in the
    cache as it comes and then told to `indexed` (in this thread). The number of pages
    indexed."""
    if not pieces:
        return 0
    results: queue.Queue[tuple[str, int, BaseException | None]] = queue.Queue()
    jobs = max(1, min(config.workers, len(pieces)))
    lanes: list[list[PiecePlan]] = [[] for _ in range(jobs)]
    for number, piece in enumerate(pieces):
        lanes[number % jobs].append(piece)
    services = [PagefindProcess(executable) for _ in range(jobs)]

    def run(service: PagefindProcess, lane: list[PiecePlan]) -> None:
        try:
            with service:
                for piece_id, count, files in service.index_many(
                        (piece.id, documents(piece)) for piece in lane):
                    keep_piece(cache, piece_id, files)
                    results.put((piece_id, count, None))
        except BaseException as exc:  # re-raised by the calling thread
            results.put(("", 0, exc))

    threads = [threading.Thread(target=run, args=(service, lane), daemon=True)
               for service, lane in zip(services, lanes, strict=True)]
    for thread in threads:
        thread.start()
    total = 0
    try:
        for _ in range(len(pieces)):
            piece_id, count, error = results.get()
            if error is not None:
                raise error
            indexed(piece_id)
            total += count
    except BaseException:
        for service in services:
            service.kill()
        raise
    finally:
        for thread in threads:
            thread.join()
    return total


def _earlier(cache: PieceCache, dirty: Sequence[PiecePlan]
             ) -> dict[str, tuple[Piece, str]] | None:
    """The cached index of each piece about to be indexed again (and its digest), so the
    bundle can be spliced rather than joined in full; None when one is missing or there are
    too many."""
    if len(dirty) > MAX_SPLICED or not JoinStore(cache.folder).has_state():
        return None
    try:
        return {piece.id: cache.load_versioned(piece.id) for piece in dirty}
    except CacheMiss:
        return None


def _join_bundle(order: Sequence[str], cache: PieceCache, tree: Path,
                 earlier: dict[str, tuple[Piece, str]] | None = None) -> frozenset[str] | None:
    """Write the bundle of all pieces beside `pagefind/`, check it, then switch it in: spliced
    when `earlier` holds the previous index of every re-indexed piece (see `join`), else joined
    in full. Word-index chunks and fragments already in `pagefind/` with the same content are
    hard-linked rather than written again.

    Spliced, the files of `pagefind/` that are not as they were (written, removed, or outside
    the folders the splice keeps), by path under `tree`: the output tree's journal names them
    (outputtree.switch), so that the next build links a few hundred files again in its spare
    tree, not the bundle's fragment of every article; joined in full, None (the whole folder
    changed)."""
    final = tree / BUNDLE_DIR
    new, old = tree / STAGING, tree / ASIDE
    store = JoinStore(cache.folder)
    state = store.load()
    spliced = False
    writer: BundleWriter | None = None
    try:
        joined = None
        if state is not None and earlier is not None:
            writer = BundleWriter(new, final, state.files)
            try:
                edits = {key: (before, cache.load_versioned(key))
                         for key, before in earlier.items()}
                joined = join_splice(state, order, edits, writer, store, cache.load)
                spliced = True
            except Fallback:
                writer.abandon()
                writer.close()
                _remove(new)
        if joined is None:
            writer = BundleWriter(new, final, state.files if state else {})
            joined = join_full(order, cache.load_versioned, writer, store,
                               cache.folder / "scratch")
        for rel, data in cache.load_runtime().items():
            writer.write(rel, data)
        writer.close()
        problem = bundle_problem(new)
        if problem:
            raise SitegenError(f"search: the search index is incomplete: {problem}")
    except BaseException as exc:
        if writer is not None:
            writer.abandon()  # pagefind/ stays whole
        if isinstance(exc, ValueError):
            raise SitegenError(f"search: cannot join the search index: {exc}") from exc
        raise
    store.forget()  # the folder is about to change
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    changed = None
    if spliced and writer is not None:  # the old bundle's rest: all but the adopted folders
        changed = frozenset(f"{BUNDLE_DIR}/{rel}" for rel in
                            writer.written | writer.removed | _files_under(old))
    _remove(old)
    store.save(joined)
    return changed


def _files_under(folder: Path) -> set[str]:
    """Every file under `folder`, by its '/'-separated path there."""
    found = set()
    for root, _dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder).as_posix()
        found.update(name if rel == "." else f"{rel}/{name}" for name in files)
    return found


def _stat(path: str, url: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise SitegenError(f"search: the page of {url} is missing ({path})") from None
    return stat.st_size, stat.st_mtime_ns


def _read_page(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def index_problem(config: Config) -> str | None:
    """Why the site's search bundle cannot be served as it is (missing, damaged), or None:
    lets a build that changed nothing still repair a broken bundle. A site whose last build
    indexed no article has no bundle, and needs none."""
    bundle = config.output_dir / BUNDLE_DIR
    problem = bundle_problem(bundle)
    if problem and not bundle.exists() and indexed_nothing(config):
        return None
    return problem


def bundle_problem(folder: Path) -> str | None:
    """Why a bundle cannot be searched (no readable entry, missing metadata, an empty file,
    no runtime), or None."""
    try:
        entry = json.loads((folder / "pagefind-entry.json").read_text(encoding="utf-8"))
        languages = entry["languages"]
    except (OSError, ValueError, KeyError, TypeError):
        return "pagefind-entry.json is missing or unreadable"
    for info in languages.values():
        meta = folder / f"pagefind.{info.get('hash')}.pf_meta"
        if not meta.is_file() or meta.stat().st_size == 0:
            return f"{meta.name} is missing or empty"
        if not (folder / f"wasm.{info.get('wasm') or 'unknown'}.pagefind").is_file():
            return f"wasm.{info.get('wasm')}.pagefind is missing"
    if not (folder / "pagefind.js").is_file():
        return "pagefind.js is missing"
    return None


def _prune(folder: Path) -> bool:
    """Drop what the bundle folder should not hold (a file left there by hand, the index of an
    older layout). Whether anything was dropped."""
    if not folder.is_dir():
        return False
    dropped = False
    for entry in folder.iterdir():
        if not KEPT_FILES.match(entry.name):
            dropped = True
            _remove(entry)
    return dropped


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
