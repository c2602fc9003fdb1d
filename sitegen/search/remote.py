"""Indexing the stale pieces on the build's Dask workers (`engine = "dask"`).

Each work item is one piece: its id and its pages' URLs. A worker reads each page from the
tree being built (a shared filesystem: the same path on every machine), trims it, has its own
`pagefind --service` index it, and writes the piece's index (and Pagefind's runtime, once)
into the piece cache folder, which is shared too. What comes back is small: the piece id, its
page count and the digest of each trimmed page; this process pairs the digests with the pages'
tokens, writes the rows and joins the bundle from the cache as it would after indexing here.

A worker's Pagefind service starts with its first piece and serves every later one of the
build; the Dask engine stops it when the build ends (dask_engine: a worker's `close`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import SitegenError
from ..urls import Urls
from .format import canonical_bundle
from .merge import read_piece, runtime_files
from .pagestore import Signature
from .plan import PiecePlan
from .service import PagefindProcess, check_pagefind
from .stale import Pages, page_digest
from .store import PieceCache
from .trim import trim_page

Item = tuple[str, tuple[str, ...]]  # a piece: its id, its pages' URLs
Indexed = tuple[str, int, tuple[str, ...]]  # a piece's id, page count, each page's digest


@dataclass(frozen=True)
class SearchJob:
    """What every piece's task shares."""

    tree: str  # the site folder being built, whose pages are read
    pieces: str  # the piece cache folder, where each piece's index is written
    cut: int  # characters of the base path Pagefind's URLs leave out
    version: str  # the parent's Pagefind version: the pieces must be of the same
    run: str  # this indexing's own name: each saves Pagefind's runtime into the cache anew


def index_on_workers(config: Config, tree: Path, pieces: list[PiecePlan], pages: Pages,
                     cache: PieceCache, signatures: dict[str, dict[str, Signature]],
                     indexed: Callable[[str], None]) -> int:
    """Index `pieces` on the Dask workers; each piece's signatures are put in `signatures`
    and then told to `indexed`, as it comes. The number of pages indexed."""
    from ..processes import Work, run_parallel

    job = SearchJob(str(tree), str(cache.folder), len(config.base_path) - 1,
                    check_pagefind()[1], uuid.uuid4().hex)
    planned = {piece.id: piece for piece in pieces}
    total = 0
    work = Work(index_pieces, [(piece.id, piece.urls) for piece in pieces], SearchWorker,
                "search", job, costly=True)
    for piece_id, count, digests in run_parallel(work, config):
        urls = planned[piece_id].urls
        if len(digests) != len(urls):
            raise SitegenError(f"search: a worker indexed {len(digests)} of the "
                               f"{len(urls)} pages of {piece_id}")
        for url in urls:
            pages.trimmed.pop(url, None)  # read while checked: the worker read it again
        signatures[piece_id] = {url: [pages.token(url), digest]
                                for url, digest in zip(urls, digests, strict=True)}
        indexed(piece_id)
        total += count
    return total


class SearchWorker:
    """A worker process's search state for one build: its Pagefind service, started on
    first use, and the piece cache it writes into."""

    def __init__(self, config: Config) -> None:
        self.urls = Urls(config)
        self._service: PagefindProcess | None = None
        self._caches: dict[tuple[str, str], PieceCache] = {}

    def service(self, version: str) -> PagefindProcess:
        if self._service is None:
            executable, found = check_pagefind()
            if found != version:
                raise SitegenError(f"search: this worker runs Pagefind {found} "
                                   f"({executable}), the build Pagefind {version}: install "
                                   "the same version on every worker")
            self._service = PagefindProcess(executable).__enter__()
        return self._service

    def cache(self, job: SearchJob) -> PieceCache:
        """The piece cache of this indexing (a retry after a cache miss is another)."""
        key = (job.pieces, job.run)
        if key not in self._caches:
            self._caches = {key: PieceCache(Path(job.pieces))}
        return self._caches[key]

    def close(self) -> None:
        """Stop the Pagefind service (the build ended, or it failed)."""
        service, self._service = self._service, None
        if service is not None:
            service.__exit__(None, None, None)


def index_pieces(worker: SearchWorker, job: SearchJob, chunk: list[Item]) -> list[Indexed]:
    """On a worker: index each piece of `chunk` and keep it in the piece cache."""
    service = worker.service(job.version)
    cache = worker.cache(job)
    out = f"{job.tree}{os.sep}"
    digests: dict[str, list[str]] = {}

    def documents(piece_id: str, urls: tuple[str, ...]) -> Iterator[tuple[str, str]]:
        taken = digests[piece_id] = []
        for url in urls:
            data = trim_page(_read(out + worker.urls.output_path(url), url))
            taken.append(page_digest(data))
            yield url[job.cut:], data.decode("utf-8", "replace")

    results: list[Indexed] = []
    try:
        for piece_id, count, files in service.index_many(
                (piece_id, documents(piece_id, urls)) for piece_id, urls in chunk):
            keep_piece(cache, piece_id, files)
            results.append((piece_id, count, tuple(digests.pop(piece_id))))
    except BaseException:
        worker.close()  # the service was killed: the next chunk starts another
        raise
    return results


def keep_piece(cache: PieceCache, piece_id: str, files: dict[str, bytes]) -> None:
    """Keep the piece Pagefind just indexed in the cache (and its runtime, once a build)."""
    try:
        piece = read_piece(canonical_bundle(files))
    except ValueError as exc:
        raise SitegenError(f"search: cannot read Pagefind's index of {piece_id}: {exc}") from exc
    cache.save(piece_id, piece)
    cache.save_runtime(runtime_files(files))


def _read(path: str, url: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise SitegenError(f"search: the page of {url} is missing ({path})") from None
