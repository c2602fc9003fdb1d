"""Pagefind full-text search over the article pages: one index per year, merged in the browser.

The archive is split into *shards*: one Pagefind bundle per UTC year of publication under
`output/pagefind/<year>/` (a year with more than `MAX_SHARD_PAGES` articles is split into
quarters, a quarter into months, a month into days). `manifest.json` lists the shards newest
first; `assets/search.js` opens the newest with `pagefind.js` and merges the others with
Pagefind's multisite `mergeIndex`. Every shard the browser merges costs it requests on each query,
so shards are big.

Pagefind cannot update an index in place (Pagefind/pagefind#71) and indexes ~2 ms a page, so a
shard is not indexed whole: it is cut the same calendar way (with thirds of a month between
months and days) into *pieces* of at most `MAX_PIECE_PAGES` articles (~27 at ~80 articles a
month; ~2.5 ms a page to index, plus ~3 ms a piece), Pagefind indexes each piece, and
`pagefind_merge` joins a shard's pieces into the bundle Pagefind would have written for the whole
shard. Each piece's index is kept in the build cache (`.sitegen-cache/search-index-*.pieces/`), so
an edit re-indexes the edited article's piece alone and joins its shard again; the bundle is the
same bytes whichever pieces were indexed when. A build removes the shards of years that no longer
have articles, and runs up to `config.workers` `pagefind --service` processes at once, each
indexing one piece after another.

Shards and pieces follow UTC periods and the sort key is the UTC instant, so the newest-first
order of the merged results is exact: each shard returns its pages in date order, and the browser
puts the shards one after the other (see search.js).

Pagefind's Python API waits 100 ms between two replies of its service (`asyncio.sleep(0.1)` in
`PagefindService._wait_for_responses`), ~100 ms per page. `PagefindProcess` speaks the same
stdin/stdout protocol (base64 JSON messages ended by ','), writes every request from a thread
while it reads the replies as they arrive, so the service never waits for us. The bundle comes
back in the reply to GetFiles: the service's own WriteFiles can leave empty files.

Pages come from `output/`: a piece is always re-indexed whole, including the articles this build
did not render. They were just written, so they are read from the page cache. Each page is
trimmed to its `<html>` tag and its `data-pagefind-body` element before it goes to Pagefind (when
nothing outside that element carries a `data-pagefind-*` attribute, which is all Pagefind reads
there).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import json
import os
import pickle
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from .cache import output_key, report_damage
from .config import Config
from .errors import SitegenError
from .pagefind_format import canonical_bundle
from .pagefind_merge import Piece, merge_pieces, read_piece, runtime_files
from .records import Article
from .urls import Urls, safe_relative_path
from .writer import write_atomic

FORMAT = 6  # bump when page trimming, the bundle layout, the pieces or the manifest change
MAX_SHARD_PAGES = 3000  # what the browser merges: fewer, bigger shards search faster
MAX_PIECE_PAGES = 40  # what Pagefind indexes at once: an edit re-indexes this many pages
BUNDLE_DIR = "pagefind"
MANIFEST = "manifest.json"
STATE_FILE = "search-index"
STAGING = ".staging"
# What a shard keeps of the bundle Pagefind writes. The newest shard also keeps the runtime
# (`pagefind.js`, its worker and WebAssembly), which the browser loads once for all shards.
DATA_FILES = re.compile(r"^(pagefind-entry\.json|pagefind\.[^/]+\.pf_meta|index|filter|fragment)$")
RUNTIME_FILES = re.compile(r"^(pagefind\.js|pagefind-worker\.js|wasm\.[^/]+\.pagefind)$")
RUNTIME_KEY = "runtime"  # the runtime's file in the piece cache


# An article page's [token, digest of the trimmed page]. The token says the file is as it was:
# "h:" and the build's hash of its bytes (`page_hashes`), else "s:" and its size and mtime.
Signature = list[Any]


@dataclass(frozen=True)
class SearchReport:
    shards: tuple[str, ...]  # every shard, newest first
    indexed: tuple[str, ...]  # the shards this build (re)wrote
    removed: tuple[str, ...]  # shards (or other leftovers) removed from output/pagefind/
    pages_indexed: int
    seconds: float
    pieces: tuple[str, ...] = ()  # the pieces Pagefind (re)indexed
    changed_folders: tuple[str, ...] = ()  # paths under the tree this build changed as a whole


@dataclass(frozen=True)
class Shard:
    id: str  # "2019", or "2019-q1" / "2019-03" / "2019-03-14" when a period is too big
    urls: tuple[str, ...]  # article URLs (with the base path), newest first
    pieces: tuple[Shard, ...] = ()  # consecutive runs of `urls` Pagefind indexes one at a time

    def parts(self) -> tuple[Shard, ...]:
        return self.pieces or (self,)


# ---------------------------------------------------------------- the build step

def update_search_index(config: Config, articles: Sequence[Article], changed_urls: set[str],
                        page_hashes: Mapping[str, str] | None = None, tree: Path | None = None,
                        generations: tuple[str | None, str] | None = None) -> SearchReport:
    """Bring `pagefind/` of `tree` (default: the output folder) up to date with the article
    pages just written there.

    `generations`: (the site's generation the tree started from, the one it becomes): the
    state this stage keeps is trusted only for the generation it was saved for, so a build
    killed before its site was switched in cannot leave a state that describes a bundle
    that never reached the output folder.

    `articles` are all published articles; `changed_urls` the article URLs whose page file this
    build (re)wrote. A piece is re-indexed when its list of pages changed, when what Pagefind
    reads of one of its pages changed, or when the cache lost it; a shard is joined again from
    its pieces when one of them was, when its list of pieces changed or when its bundle is
    damaged. `page_hashes`: the build's hash of each output file's bytes, by output path; without
    it a page's size and mtime stand for its bytes. A page whose file is unchanged is not read
    again; a rewritten page
    is read and trimmed, and counts as changed only when its trimmed bytes differ: adding an
    article rewrites the "next"/"related" links of others, which Pagefind never reads. Comparing
    files rather than trusting `changed_urls` alone also catches up on builds run with
    --no-search.
    """
    started = time.perf_counter()
    where = _Where(tree or config.output_dir, generations)
    try:
        return _update(config, articles, changed_urls, page_hashes, started, where, False)
    except CacheMiss:  # the cache lost a piece another build had left: index everything
        return _update(config, articles, changed_urls, page_hashes, started, where, True)


@dataclass(frozen=True)
class _Where:
    tree: Path  # the site folder whose pages are indexed and whose pagefind/ is written
    generations: tuple[str | None, str] | None


def _update(config: Config, articles: Sequence[Article], changed_urls: set[str],
            page_hashes: Mapping[str, str] | None, started: float, where: _Where,
            forget: bool) -> SearchReport:
    urls = Urls(config)
    bundle = where.tree / BUNDLE_DIR
    shards = plan_shards(articles)
    out = f"{where.tree}{os.sep}"
    files = {url: out + urls.output_path(url) for shard in shards for url in shard.urls}

    def token(url: str) -> str:
        known = page_hashes.get(files[url][len(out):]) if page_hashes is not None else None
        if known:
            return f"h:{known}"
        size, mtime = _stat(files[url], url)
        return f"s:{size}:{mtime}"

    executable = pagefind_executable()
    settings = {"format": FORMAT, "pagefind": pagefind_version(executable),
                "base_path": config.base_path}
    before, after = where.generations or (None, None)
    state = {} if forget else _load_state(config, settings, before)
    cache = PieceCache(_pieces_dir(config.cache_dir, config.output_dir))
    if not state:
        cache.clear()
    primary = shards[0].id if shards else None
    old_pieces: dict[str, dict[str, Signature]] = state.get("pieces", {})
    old_shards: dict[str, list[str]] = state.get("shards", {})

    new_pieces: dict[str, dict[str, Signature]] = {}
    trimmed: dict[str, bytes] = {}  # pages read for the comparison: not read again to index
    dirty_pieces: list[Shard] = []
    for shard in shards:
        for piece in shard.parts():
            signatures, stale = _check_piece(piece, old_pieces.get(piece.id, {}), files, token,
                                             changed_urls, trimmed, cache.has(piece.id))
            new_pieces[piece.id] = signatures
            if stale:
                dirty_pieces.append(piece)
    dirty_ids = {piece.id for piece in dirty_pieces}
    dirty = [shard for shard in shards
             if old_shards.get(shard.id) != [p.id for p in shard.parts()]
             or any(p.id in dirty_ids for p in shard.parts())
             or bundle_problem(bundle / shard.id, runtime=shard.id == primary) is not None]
    if primary and any(s.id == primary for s in dirty) and not cache.has(RUNTIME_KEY) \
            and not dirty_pieces:
        dirty_pieces.append(shards[0].parts()[0])  # only to get Pagefind's runtime files

    for piece in dirty_pieces:  # a build that fails part way leaves no stale piece behind
        cache.forget(piece.id)
    staging = bundle / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    cut = len(config.base_path) - 1  # Pagefind keeps site URLs; the browser adds the base

    def documents(piece: Shard) -> Iterator[tuple[str, str]]:
        pages = new_pieces[piece.id]
        for url in piece.urls:
            data = trimmed.pop(url, None)
            if data is None:
                data = trim_page(_read_page(files[url]))
                pages[url] = [pages[url][0], _digest(data)]
            yield url[cut:], data.decode("utf-8", "replace")

    try:
        if dirty:
            staging.mkdir(parents=True)
        indexed_pages = _index_and_join(config, executable, dirty_pieces, dirty, documents,
                                        cache, bundle, primary)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    pruned = [shard.id for shard in shards[1:]  # a former newest shard keeps no runtime
              if _prune(bundle / shard.id, keep_runtime=False)]
    removed = _remove_unplanned(bundle, {s.id for s in shards} | {MANIFEST})
    cache.keep({piece.id for shard in shards for piece in shard.parts()} | {RUNTIME_KEY},
               {shard.id for shard in shards})
    _write_manifest(bundle, shards, settings["pagefind"])
    _save_state(config, settings, {"shards": {s.id: [p.id for p in s.parts()] for s in shards},
                                   "pieces": new_pieces}, after)
    changed = {s.id for s in dirty} | set(removed) | set(pruned) | {MANIFEST}
    return SearchReport(tuple(s.id for s in shards), tuple(s.id for s in dirty), removed,
                        indexed_pages, time.perf_counter() - started,
                        tuple(p.id for p in dirty_pieces),
                        tuple(f"{BUNDLE_DIR}/{name}" for name in sorted(changed)))


def _check_piece(piece: Shard, old: dict[str, Signature], files: dict[str, str],
                 token: Callable[[str], str], changed_urls: set[str],
                 trimmed: dict[str, bytes], cached: bool
                 ) -> tuple[dict[str, Signature], bool]:
    """The piece's page signatures, and whether Pagefind must index it again."""
    pages: dict[str, Signature] = {}
    stale = not cached or set(old) != set(piece.urls)
    for url in piece.urls:
        now = token(url)
        known = old.get(url)
        if not (isinstance(known, list) and len(known) == 2):
            known = None
        if known and known[0] == now and url not in changed_urls:
            pages[url] = known
        elif stale:
            pages[url] = [now, ""]  # read once, while it is indexed
        else:
            trimmed[url] = trim_page(_read_page(files[url]))
            pages[url] = [now, _digest(trimmed[url])]
            stale = not known or known[1] != pages[url][1]
    return pages, stale


def _index_and_join(config: Config, executable: Path, pieces: list[Shard], shards: list[Shard],
                    documents: Callable[[Shard], Iterator[tuple[str, str]]], cache: PieceCache,
                    bundle: Path, primary: str | None) -> int:
    """Index `pieces` with Pagefind (`config.workers` services at once) and write each of
    `shards` as soon as all of its pieces are at hand. The number of pages indexed."""
    piece_ids = {p.id for p in pieces}
    waiting = {shard.id: {p.id for p in shard.parts()} & piece_ids for shard in shards}
    ready: dict[str, Piece] = {}
    results: queue.Queue[tuple[str, Piece | None, int, BaseException | None]] = queue.Queue()
    jobs = max(1, min(config.workers, len(pieces)))
    lanes: list[list[Shard]] = [[] for _ in range(jobs)]
    for number, piece in enumerate(pieces):  # a shard's pieces side by side in all lanes
        lanes[number % jobs].append(piece)
    services = [PagefindProcess(executable) for _ in range(jobs)]
    indexed = 0

    def run(service: PagefindProcess, lane: list[Shard]) -> None:
        try:
            with service:
                for piece_id, count, files in service.index_many(
                        (piece.id, documents(piece)) for piece in lane):
                    results.put((piece_id, _read(cache, piece_id, files), count, None))
        except BaseException as exc:  # re-raised by the joining thread
            results.put(("", None, 0, exc))

    threads = [threading.Thread(target=run, args=(service, lane), daemon=True)
               for service, lane in zip(services, lanes, strict=True) if lane]
    for thread in threads:
        thread.start()
    try:
        pending = [s for s in shards if waiting[s.id]]
        if len(pending) == 1:  # an edit: read the shard's other pieces while Pagefind works
            for part in pending[0].parts():
                if part.id not in piece_ids:
                    ready[part.id] = cache.load(part.id)
        for _ in range(len(pieces)):
            piece_id, piece, count, error = results.get()
            if error is not None:
                raise error
            assert piece is not None
            ready[piece_id] = piece
            indexed += count
            for shard in list(pending):
                waiting[shard.id].discard(piece_id)
                if not waiting[shard.id]:
                    pending.remove(shard)
                    _join_shard(shard, ready, cache, bundle, shard.id == primary)
                    for part in shard.parts():
                        ready.pop(part.id, None)
        for shard in shards:  # last: the runtime may come from a piece indexed above
            if not any(part.id in piece_ids for part in shard.parts()):
                _join_shard(shard, ready, cache, bundle, shard.id == primary)
    except BaseException:
        for service in services:
            service.kill()
        raise
    finally:
        for thread in threads:
            thread.join()
    return indexed


def _read(cache: PieceCache, piece_id: str, files: dict[str, bytes]) -> Piece:
    """The piece Pagefind just indexed, kept in the cache (and its runtime, once a build)."""
    try:
        piece = read_piece(canonical_bundle(files))
    except ValueError as exc:
        raise SitegenError(f"search: cannot read Pagefind's index of {piece_id}: {exc}") from exc
    cache.save(piece_id, piece)
    cache.save_runtime(runtime_files(files))
    return piece


def _join_shard(shard: Shard, ready: dict[str, Piece], cache: PieceCache, bundle: Path,
                keep_runtime: bool) -> None:
    """Write the shard's bundle from its pieces into the staging folder, check it, then swap it
    into `output/pagefind/<id>/`. Word-index chunks and fragments already in the shard's folder
    with the same content are hard-linked rather than compressed and written again."""
    pieces = [ready.get(part.id) or cache.load(part.id) for part in shard.parts()]
    final = bundle / shard.id
    written = cache.load_digests(shard.id)
    present = _listing(final) if written else set()
    try:
        joined = merge_pieces(pieces, lambda path, digest: written.get(path) == digest
                              and path in present)
    except ValueError as exc:
        raise SitegenError(f"search: cannot join the index of {shard.id}: {exc}") from exc
    files: dict[str, bytes | None] = dict(joined.files)
    if keep_runtime:
        files.update(cache.load_runtime())
    new = bundle / STAGING / shard.id
    old = bundle / STAGING / f"{shard.id}.old"
    made: set[str] = set()
    for rel, data in files.items():
        path = os.path.join(new, safe_relative_path(rel))
        folder = os.path.dirname(path)
        if folder not in made:  # ~one fragment file a page: one mkdir a folder
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        if data is None:
            os.link(final / rel, path)
        else:
            with open(path, "wb") as file:
                file.write(data)
    problem = bundle_problem(new, keep_runtime)
    if problem:
        raise SitegenError(f"search: the index of {shard.id} is incomplete: {problem}")
    cache.forget_digests(shard.id)  # the folder is about to change
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)
    cache.save_digests(shard.id, joined.digests)


def _listing(folder: Path) -> set[str]:
    """The word-index chunks and fragments in a shard's folder, as relative paths."""
    present = set()
    for sub in ("index", "fragment"):
        with contextlib.suppress(OSError):
            present.update(f"{sub}/{name}" for name in os.listdir(folder / sub))
    return present


DayKey = tuple[int, int, int]  # a UTC day: year, month, day
Day = tuple[DayKey, list[str]]  # a day's article URLs, newest first


def _year(day: DayKey) -> str:
    return f"{day[0]:04}"


def _quarter(day: DayKey) -> str:
    return f"{day[0]:04}-q{(day[1] - 1) // 3 + 1}"


def _month(day: DayKey) -> str:
    return f"{day[0]:04}-{day[1]:02}"


def _third(day: DayKey) -> str:
    """Days 1-10, 11-20 and 21 to the end of a month."""
    return f"{day[0]:04}-{day[1]:02}-t{min(3, (day[2] + 9) // 10)}"


def _day(day: DayKey) -> str:
    return f"{day[0]:04}-{day[1]:02}-{day[2]:02}"


SHARD_PERIODS = (_year, _quarter, _month, _day)  # what a shard covers, coarsest first
PIECE_PERIODS = (_year, _quarter, _month, _third, _day)  # what a piece of a shard covers


def plan_shards(articles: Iterable[Article], max_pages: int = MAX_SHARD_PAGES,
                max_piece_pages: int = MAX_PIECE_PAGES) -> list[Shard]:
    """Articles grouped by UTC year of publication, newest first; a year with more than
    `max_pages` articles split into quarters, such a quarter into months, a month into days.
    Each shard is cut the same way into pieces of at most `max_piece_pages` articles.

    Calendar boundaries keep the other shards as they are when one article is added or removed.
    Every shard the browser merges costs it requests on each query (132 month shards of a
    10,000-article archive: 3.7 s to a first result, against 0.95 s for 10 year shards), so
    shards are as big as indexing memory allows; pieces are as small as keeps Pagefind's
    per-index overhead low.
    """
    days: list[Day] = []  # the periods group whole days: ~3 articles a day at 10,000
    for when, url in sorted(((_utc(a.date), a.url) for a in articles), reverse=True):
        key = (when.year, when.month, when.day)
        if days and days[-1][0] == key:
            days[-1][1].append(url)
        else:
            days.append((key, [url]))
    shards = []
    for key, level, members in _periods(days, SHARD_PERIODS, 0, max_pages):
        urls = tuple(url for _, day_urls in members for url in day_urls)
        finer = PIECE_PERIODS.index(SHARD_PERIODS[level]) + 1
        pieces = [Shard(piece_key, tuple(url for _, day_urls in part for url in day_urls))
                  for piece_key, _, part in _periods(members, PIECE_PERIODS, finer,
                                                     max_piece_pages)
                  ] if len(urls) > max_piece_pages else []
        shards.append(Shard(key, urls, tuple(pieces) if len(pieces) > 1 else ()))
    return shards


def _utc(when: datetime) -> datetime:
    """The UTC instant as a naive datetime: comparing aware ones asks both for their offsets."""
    offset = when.utcoffset()
    return when.replace(tzinfo=None) - offset if offset else when.replace(tzinfo=None)


def _periods(members: list[Day], periods: Sequence[Callable[[DayKey], str]], level: int,
             max_pages: int) -> list[tuple[str, int, list[Day]]]:
    """(key, level, days) of the calendar periods, newest first, that split `members` (days,
    newest first) from `periods[level]` down into runs of at most `max_pages` articles (the
    last period is never split)."""
    if level >= len(periods):
        return [("", level - 1, members)]
    groups: list[tuple[str, int, list[Day]]] = []
    parts: dict[str, list[Day]] = {}
    sizes: dict[str, int] = {}
    for day in members:
        key = periods[level](day[0])
        parts.setdefault(key, []).append(day)
        sizes[key] = sizes.get(key, 0) + len(day[1])
    for key, part in parts.items():
        if sizes[key] > max_pages and level + 1 < len(periods):
            groups.extend(_periods(part, periods, level + 1, max_pages))
        else:
            groups.append((key, level, part))
    return groups


def _stat(path: str, url: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise SitegenError(f"search: the page of {url} is missing ({path})") from None
    return stat.st_size, stat.st_mtime_ns


def _read_page(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def index_problem(config: Config) -> str | None:
    """Why the site's search bundle cannot be served as it is (missing manifest, a damaged
    shard), or None: lets a build that changed nothing still repair a broken bundle."""
    bundle = config.output_dir / BUNDLE_DIR
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
        shards = [(entry["path"], entry["path"] == manifest["runtime"])
                  for entry in manifest["shards"]]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{MANIFEST} is missing or unreadable"
    for path, runtime in shards:
        problem = bundle_problem(bundle / path, runtime=runtime)
        if problem:
            return f"{path}: {problem}"
    return None


def bundle_problem(folder: Path, runtime: bool = False) -> str | None:
    """Why a shard's bundle cannot be searched (no readable entry, missing metadata, an empty
    file), or None."""
    try:
        entry = json.loads((folder / "pagefind-entry.json").read_text(encoding="utf-8"))
        languages = entry["languages"]
    except (OSError, ValueError, KeyError, TypeError):
        return "pagefind-entry.json is missing or unreadable"
    for info in languages.values():
        meta = folder / f"pagefind.{info.get('hash')}.pf_meta"
        if not meta.is_file() or meta.stat().st_size == 0:
            return f"{meta.name} is missing or empty"
        if runtime and not (folder / f"wasm.{info.get('wasm') or 'unknown'}.pagefind").is_file():
            return f"wasm.{info.get('wasm')}.pagefind is missing"
    if runtime and not (folder / "pagefind.js").is_file():
        return "pagefind.js is missing"
    return None


def _prune(folder: Path, keep_runtime: bool) -> bool:
    """Drop what the browser never loads from a shard: Pagefind's UIs, and the runtime
    everywhere but in the newest shard. Whether anything was dropped."""
    if not folder.is_dir():
        return False
    dropped = False
    for entry in folder.iterdir():
        if DATA_FILES.match(entry.name) or (keep_runtime and RUNTIME_FILES.match(entry.name)):
            continue
        dropped = True
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return dropped


def _remove_unplanned(bundle: Path, keep: set[str]) -> tuple[str, ...]:
    """Remove shards of years without articles and anything else output/pagefind/ held
    (an index from an older layout, a staging folder left by a crash)."""
    removed = []
    if bundle.is_dir():
        for entry in sorted(bundle.iterdir()):
            if entry.name not in keep:
                removed.append(entry.name)
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    return tuple(removed)


def _write_manifest(bundle: Path, shards: Sequence[Shard], version: str) -> None:
    manifest = {
        "format": FORMAT,
        "pagefind": version,
        "runtime": f"{shards[0].id}/" if shards else None,
        "shards": [{"id": s.id, "path": f"{s.id}/", "pages": len(s.urls)} for s in shards],
    }
    text = json.dumps(manifest, indent=1) + "\n"
    with contextlib.suppress(OSError):
        if (bundle / MANIFEST).read_text(encoding="utf-8") == text:
            return  # unchanged: no new mtime for servers and deploys to notice
    write_atomic(bundle / MANIFEST, text.encode("utf-8"))


# ---------------------------------------------------------------- page trimming

_BODY_TAG = re.compile(rb"<([a-zA-Z][\w-]*)\s[^>]*?\bdata-pagefind-body\b[^>]*>")
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)


def trim_page(html: bytes) -> bytes:
    """The part of a page Pagefind uses: its `<html>` tag (the language) and its
    `data-pagefind-body` element.

    Pagefind indexes text only inside `data-pagefind-body` but reads `data-pagefind-*`
    attributes anywhere, so the page is kept whole when one stands outside that element.
    Trimming halves what the service parses (head, masthead, related links, footer).
    """
    start = _BODY_TAG.search(html)
    if start is None:
        return html
    end = element_end(html, start.group(1), start.start())
    if end is None or b"data-pagefind-" in html[:start.start()] \
            or b"data-pagefind-" in html[end:]:
        return html
    opening = _HTML_TAG.search(html, 0, start.start())
    return b"".join((opening.group(0) if opening else b"<html>", b"<body>",
                     html[start.start():end], b"</body></html>"))


@cache
def _tag_pattern(tag: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"<!--.*?-->|<(/?)" + re.escape(tag) + rb"(?=[\s/>])[^>]*>",
                      re.DOTALL | re.IGNORECASE)


def element_end(html: bytes, tag: bytes, start: int) -> int | None:
    """The offset just past the end tag that closes the `tag` element opening at `start`."""
    depth = 0
    for match in _tag_pattern(tag).finditer(html, start):
        if match.group(0).startswith(b"<!--"):
            continue
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return match.end()
    return None


# ---------------------------------------------------------------- the Pagefind service

@cache
def pagefind_executable() -> Path:
    """The Pagefind binary, found the way Pagefind's Python package finds it
    (`pagefind.service.get_executable`, whose module imports asyncio: ~25 ms an edit):
    $PAGEFIND_BINARY_PATH, then the `pagefind_bin_extended` and `pagefind_bin` packages, then
    `pagefind_extended` or `pagefind` on the PATH."""
    if os.environ.get("PAGEFIND_BINARY_PATH") is not None:
        return Path(os.environ["PAGEFIND_BINARY_PATH"])
    for package in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        return Path(module.get_executable())
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    if found is None:
        raise SitegenError("search: no Pagefind binary; install the `pagefind[bin]` package "
                           "or build with --no-search")
    return Path(found)


@cache
def pagefind_version(executable: Path) -> str:
    try:
        out = subprocess.run([str(executable), "--version"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SitegenError(f"search: cannot run {executable}: {exc}") from None
    return out.split()[-1] if out.split() else "unknown"


def _encode(message_id: int, payload: dict[str, Any]) -> bytes:
    data = json.dumps({"message_id": message_id, "payload": payload}, ensure_ascii=False)
    return base64.b64encode(data.encode("utf-8")) + b","


@dataclass
class _Exchange:
    """What the request thread and the reply loop share."""

    urls: dict[int, str] = field(default_factory=dict)  # AddFile message id -> page URL
    indexes: dict[int, str] = field(default_factory=dict)  # GetFiles message id -> index name
    error: BaseException | None = None


class PagefindProcess:
    """One `pagefind --service` process, indexing one index after another.

    The service answers requests in order, one at a time, each reply a base64 JSON message
    ended by ','. Requests are written from a thread, so the service always has the next page
    waiting, and replies are read here as they arrive. Each index is deleted from the service
    once its files are read, so the service holds one index at a time.
    """

    def __init__(self, executable: Path, index_config: dict[str, Any] | None = None):
        self.executable = executable
        self.index_config = index_config or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: list[bytes] = []
        self._stderr_reader: threading.Thread | None = None
        self._indexes = 0  # the service numbers its indexes 0, 1, 2... and never reuses one

    def __enter__(self) -> PagefindProcess:
        try:
            self.proc = subprocess.Popen([str(self.executable), "--service"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, bufsize=1 << 16)
        except OSError as exc:
            raise SitegenError(f"search: cannot start {self.executable}: {exc}") from None
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()  # at end of input the service exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def kill(self) -> None:
        """Stop the service at once (another thread's build failed)."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _failure(self, message: str) -> SitegenError:
        if self.proc is not None and self.proc.poll() is not None and self._stderr_reader:
            # The service has ended: its last words may still be in the pipe, not yet read.
            self._stderr_reader.join(timeout=5)
        detail = b"".join(self._stderr[-20:]).decode("utf-8", "replace").strip()
        return SitegenError(f"search: {message}" + (f"\n{detail}" if detail else ""))

    def index(self, documents: Iterable[tuple[str, str]]) -> tuple[int, dict[str, bytes]]:
        """Index (url, html) pairs; the page count and the bundle's files (path -> bytes)."""
        [(_, count, files)] = list(self.index_many([("index", documents)]))
        return count, files

    def index_many(self, indexes: Iterable[tuple[str, Iterable[tuple[str, str]]]]
                   ) -> Iterator[tuple[str, int, dict[str, bytes]]]:
        """Index each (name, (url, html) pairs) in turn; yield (name, page count, the bundle's
        files) as each is done."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        indexes = list(indexes)
        if not indexes:
            return
        shared = _Exchange()
        next_id = self._indexes
        self._indexes += len(indexes)
        sender = threading.Thread(target=self._send, args=(indexes, next_id, shared),
                                  daemon=True)
        sender.start()
        indexed, failed, done = 0, [], 0
        try:
            for message_id, payload in self._replies():
                kind = payload.get("type")
                if kind == "Error":
                    if message_id in shared.urls:
                        failed.append(f"{shared.urls[message_id]}: {payload.get('message')}")
                        continue
                    raise self._failure(f"Pagefind failed: {payload.get('message')}")
                if kind == "IndexedFile":
                    indexed += 1
                elif kind == "NewIndex":
                    if payload.get("index_id") != next_id:
                        raise self._failure(f"unexpected index id {payload.get('index_id')}")
                    next_id += 1
                elif kind == "GetFiles" and message_id in shared.indexes:
                    if failed:
                        raise self._failure(f"Pagefind could not index {len(failed)} page(s): "
                                            + "; ".join(failed[:5]))
                    files = {item["path"]: base64.b64decode(item["content"])
                             for item in payload.get("files") or ()}
                    yield shared.indexes.pop(message_id), indexed, files
                    indexed, done = 0, done + 1
                    if done == len(indexes):
                        break
            else:
                sender.join(timeout=5)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)  # its output ended: it is exiting
                if shared.error is not None:
                    raise self._failure(f"cannot send pages to Pagefind: {shared.error}")
                raise self._failure("Pagefind stopped before it wrote the index")
        except BaseException:
            self.proc.kill()  # the sender thread then fails at once and ends
            raise
        finally:
            sender.join()
        if shared.error is not None:
            raise self._failure(f"cannot send pages to Pagefind: {shared.error}")

    def _send(self, indexes: list[tuple[str, Iterable[tuple[str, str]]]], first_id: int,
              shared: _Exchange) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        out = self.proc.stdin
        message_id = first_id * 1_000_000_000  # ids unique across calls
        try:
            for index_id, (name, documents) in enumerate(indexes, first_id):
                message_id += 1
                out.write(_encode(message_id, {"type": "NewIndex", "config": self.index_config}))
                for url, html in documents:
                    message_id += 1
                    shared.urls[message_id] = url
                    out.write(_encode(message_id, {"type": "AddFile", "index_id": index_id,
                                                   "url": url, "file_path": None,
                                                   "file_contents": html}))
                message_id += 1
                shared.indexes[message_id] = name
                out.write(_encode(message_id, {"type": "GetFiles", "index_id": index_id}))
                message_id += 1
                out.write(_encode(message_id, {"type": "DeleteIndex", "index_id": index_id}))
                out.flush()
        except BaseException as exc:  # reported by the reply loop
            shared.error = exc
            with contextlib.suppress(OSError):
                out.close()  # the service exits, the reply loop sees the end of its output

    def _replies(self) -> Iterator[tuple[int | None, dict[str, Any]]]:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        pending = bytearray()  # the bundle arrives as one reply of megabytes
        while True:
            chunk = stream.read1(1 << 20)
            if not chunk:
                return
            start = len(pending)
            pending += chunk
            while (end := pending.find(b",", start)) >= 0:
                raw = bytes(pending[:end])
                del pending[:end + 1]
                start = 0
                if not raw.strip():
                    continue
                try:
                    reply = json.loads(base64.b64decode(raw))
                except ValueError:
                    raise self._failure(f"unreadable reply from Pagefind: {raw[:80]!r}") from None
                yield reply.get("message_id"), reply.get("payload") or {}


# ---------------------------------------------------------------- state

def _state_path(cache_dir: Path, output_dir: Path) -> Path:
    """One state per output folder (as the build cache): what was indexed where is only
    true for that one."""
    return cache_dir / f"{STATE_FILE}-{output_key(output_dir)}.json"


def _load_state(config: Config, settings: dict[str, Any], generation: str | None = None
                ) -> dict[str, Any]:
    """What the last build indexed: {"shards": {shard: [piece ids]}, "pieces": {piece: {URL:
    Signature}}}; empty when the settings changed, or when it was saved for another
    generation of the site than `generation` (when given)."""
    path = _state_path(config.cache_dir, config.output_dir)
    try:
        text = path.read_bytes()
    except OSError:  # none yet
        return {}
    try:
        data = json.loads(text)
    except ValueError:  # also a UnicodeDecodeError
        data = None
    if not isinstance(data, dict):
        report_damage(path, "not a JSON object")
        return {}
    if data.get("settings") != settings:
        return {}
    if generation is not None and data.get("generation") != generation:
        return {}
    state = data.get("state")
    if not (isinstance(state, dict) and isinstance(state.get("shards"), dict)
            and isinstance(state.get("pieces"), dict)):
        report_damage(path, "no index state in it")
        return {}
    return state


def _save_state(config: Config, settings: dict[str, Any], state: dict[str, Any],
                generation: str | None = None) -> None:
    text = json.dumps({"settings": settings, "state": state, "generation": generation},
                      separators=(",", ":"))
    write_atomic(_state_path(config.cache_dir, config.output_dir), text.encode("utf-8"))


def follow_generation(config: Config, before: str | None, after: str) -> None:
    """A build without search carried `pagefind/` unchanged from generation `before` of the
    site into `after`: the state that described it describes it still."""
    path = _state_path(config.cache_dir, config.output_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and before is not None and data.get("generation") == before:
        data["generation"] = after
        write_atomic(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))


def _pieces_dir(cache_dir: Path, output_dir: Path) -> Path:
    return cache_dir / f"{STATE_FILE}-{output_key(output_dir)}.pieces"


class PieceCache:
    """Each piece's index as read from Pagefind (`pagefind_merge.Piece`), one pickle a piece,
    and Pagefind's runtime files, so a shard can be joined again without indexing its pieces."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._damage_reported = False  # one warning a build: the first damage ends its use
        self._runtime_saved = False
        self._runtime_lock = threading.Lock()  # each Pagefind service's thread offers it

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.pickle"

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def save(self, key: str, piece: Piece) -> None:
        write_atomic(self._path(key), pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL))

    def load(self, key: str) -> Piece:
        piece = self._load(key)
        if not isinstance(piece, Piece):
            self._damaged(self._path(key), f"holds a {type(piece).__name__}")
            raise CacheMiss(key)
        return piece

    def save_runtime(self, files: dict[str, bytes]) -> None:
        with self._runtime_lock:
            if not self._runtime_saved:
                write_atomic(self._path(RUNTIME_KEY), pickle.dumps(files))
                self._runtime_saved = True

    def load_runtime(self) -> dict[str, bytes]:
        files = self._load(RUNTIME_KEY)
        if not (isinstance(files, dict) and files):
            self._damaged(self._path(RUNTIME_KEY), "no runtime files in it")
            raise CacheMiss(RUNTIME_KEY)
        return files

    def _load(self, key: str) -> Any:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError as exc:  # lost, not damaged
            raise CacheMiss(key) from exc
        try:
            return pickle.loads(data)
        except Exception as exc:  # damaged bytes can fail in any way the unpickler can
            self._damaged(path, f"does not unpickle: {exc!r}")
            raise CacheMiss(key) from exc

    def _damaged(self, path: Path, detail: str) -> None:
        if not self._damage_reported:
            self._damage_reported = True
            report_damage(path, detail)

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _digests_path(self, shard_id: str) -> Path:
        return self.folder / f"{shard_id}.written"

    def load_digests(self, shard_id: str) -> dict[str, str]:
        """The content digest of each chunk and fragment the shard's folder holds (empty when
        unknown)."""
        path = self._digests_path(shard_id)
        try:
            data = path.read_bytes()
        except OSError:
            return {}
        try:
            digests = pickle.loads(data)
        except Exception:  # damaged bytes can fail in any way the unpickler can
            digests = None
        if not isinstance(digests, dict):
            self._damaged(path, "not a mapping of digests")
            return {}
        return digests

    def save_digests(self, shard_id: str, digests: dict[str, str]) -> None:
        write_atomic(self._digests_path(shard_id), pickle.dumps(digests))

    def forget_digests(self, shard_id: str) -> None:
        self._digests_path(shard_id).unlink(missing_ok=True)

    def keep(self, pieces: set[str], shards: set[str]) -> None:
        """Remove what the cache holds of pieces and shards that are no more."""
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.stem not in (pieces if path.suffix == ".pickle" else shards):
                    path.unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class CacheMiss(Exception):
    """A piece (or the runtime) the build expected in the cache is missing or unreadable."""
