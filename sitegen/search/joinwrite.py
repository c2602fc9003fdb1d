"""Writing a joined bundle (search/join.py): `BundleWriter` writes or links its files,
`Chunker` cuts the words' records into chunks as Pagefind does, and the parts both ways of
joining share: fragments, filters, metadata and the entry file."""

from __future__ import annotations

import contextlib
import json
import os
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

from ..urls import safe_relative_path
from .format import (
    ENTRY,
    canonical_filter_files,
    cbor_head,
    encode_cbor,
    pack,
    pack_chunk,
    pagefind_hash,
    shortest_free_prefix,
)
from .joinstate import Chunk, Fallback, JoinStore, LanguageState, Summary, page_offsets
from .merge import (
    CHUNK_WEIGHT,
    Segments,
    _merged_filters,
    _merged_sorts,
    _prefixes,
)


class BundleWriter:
    """Writes a bundle into `new`; a chunk or fragment that `final` already holds under the
    same name with the same content is hard-linked from there."""

    def __init__(self, new: Path, final: Path, previous: dict[str, str]):
        self.new, self.final, self.previous = new, final, previous
        self.present = _listing(final) if previous else set()
        self.files: dict[str, str] = {}
        self._made: set[str] = set()
        self._pool = ThreadPoolExecutor(2)  # zlib lets go of the interpreter lock
        self._packing: list[Any] = []  # futures
        self.adopted: set[str] = set()
        # what `new` holds that `final` did not hold as it is: files written, and files of
        # adopted folders removed (everything else is linked, or left in its folder)
        self.written: set[str] = set()
        self.removed: set[str] = set()

    def adopt(self, folder: str) -> None:
        """Move `folder` of the bundle into the new one whole (~one fragment a page): its
        unchanged files then stay as they are rather than being linked one by one, and
        `close` removes the others."""
        source = self.final / folder
        if source.is_dir():
            self.new.mkdir(parents=True, exist_ok=True)
            os.rename(source, self.new / folder)
            self.adopted.add(folder)
            self._made.add(os.path.join(self.new, folder))

    def abandon(self) -> None:
        """Give back the folders `adopt` took (the join stopped)."""
        with contextlib.suppress(Exception):  # the join's own error is the one to report
            self._drain(0)
        for folder in self.adopted:
            if not (self.final / folder).exists():
                os.rename(self.new / folder, self.final / folder)
        self.adopted.clear()

    def can_link(self, rel: str, digest: str) -> bool:
        return self.previous.get(rel) == digest and rel in self.present

    def add(self, rel: str, digest: str, data: bytes) -> None:
        """A chunk or fragment: linked (or left in an adopted folder) when unchanged, else
        written."""
        self.files[rel] = digest
        if self.can_link(rel, digest):
            if rel.partition("/")[0] not in self.adopted:
                os.link(self.final / rel, self._path(rel))
        else:
            self.write(rel, data)

    def add_chunk(self, rel: str, digest: str, data: bytes) -> None:
        """A word-index chunk, compressed in the background when it must be written."""
        self.files[rel] = digest
        adopted = rel.partition("/")[0] in self.adopted
        if self.can_link(rel, digest):
            if not adopted:
                os.link(self.final / rel, self._path(rel))
        else:
            path = self._path(rel)
            if adopted:  # never write through a shared inode
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            self.written.add(rel)
            self.background(lambda: _write_new(path, pack_chunk(data)))

    def background(self, job: Callable[[], object]) -> None:
        """Run `job` in the writer's threads (compressing and writing let go of the
        interpreter lock); a few at a time, so that memory stays bounded."""
        self._packing.append(self._pool.submit(job))
        if len(self._packing) > 16:
            self._drain(8)

    def write(self, rel: str, data: bytes) -> None:
        self.written.add(rel)
        path = self._path(rel)
        if rel.partition("/")[0] in self.adopted:  # never write through a shared inode
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with open(path, "wb") as file:
            file.write(data)

    def close(self) -> None:
        self._drain(0)
        self._pool.shutdown()
        for folder in self.adopted:
            for name in os.listdir(self.new / folder):
                if f"{folder}/{name}" not in self.files:
                    os.unlink(self.new / folder / name)
                    self.removed.add(f"{folder}/{name}")

    def _drain(self, keep: int) -> None:
        while len(self._packing) > keep:
            self._packing.pop(0).result()

    def _path(self, rel: str) -> str:
        path = os.path.join(self.new, safe_relative_path(rel))
        folder = os.path.dirname(path)
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        return path


def _write_new(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


def _listing(folder: Path) -> set[str]:
    """The word-index chunks and fragments in the bundle folder, as relative paths."""
    present = set()
    for sub in ("index", "fragment"):
        with contextlib.suppress(OSError):
            present.update(f"{sub}/{name}" for name in os.listdir(folder / sub))
    return present


class Chunker:
    """Cuts records, in word order, into chunks as Pagefind does, writing each as it closes."""

    def __init__(self, code: str, writer: BundleWriter, store: JoinStore):
        self.code, self.writer, self.store = code, writer, store
        self.chunks: list[Chunk] = []
        self.names: list[str] = []
        self._taken: set[str] = set()
        self._words: list[str] = []
        self._records: list[bytes] = []
        self._weights: list[int] = []
        self._segments: list[Segments] = []
        self._weight = 0

    @property
    def empty(self) -> bool:
        return not self._records

    def add(self, word: str, record: bytes, weight: int, segments: Segments) -> None:
        self._words.append(word)
        self._records.append(record)
        self._weights.append(weight)
        self._segments.append(segments)
        self._weight += weight
        if self._weight >= CHUNK_WEIGHT:
            self.close()

    def close(self) -> None:
        if not self._records:
            return
        out = bytearray(b"\x81")
        cbor_head(4, len(self._records), out)
        data = bytes(out) + b"".join(self._records)
        digest = pagefind_hash(data)
        name = self._name(digest)
        self.writer.add_chunk(f"index/{name}.pf_index", digest, data)
        table = (tuple(self._words),
                 tuple(accumulate(map(len, self._records), initial=len(out))),
                 tuple(self._weights), tuple(self._segments), data)
        self.writer.background(partial(self.store.save_table, self.code, digest, table))
        self.chunks.append(Chunk(self._words[0], self._words[-1], digest))
        self._words, self._records, self._weights, self._segments = [], [], [], []
        self._weight = 0

    def reuse(self, chunk: Chunk) -> None:
        """An unchanged chunk, linked from the bundle as it is."""
        name = self._name(chunk.digest)
        rel = f"index/{name}.pf_index"
        if not self.writer.can_link(rel, chunk.digest):
            raise Fallback(f"{rel} is not in the bundle")
        self.writer.add(rel, chunk.digest, b"")
        self.chunks.append(chunk)

    def _name(self, digest: str) -> str:
        name = f"{self.code}_{shortest_free_prefix(digest, self._taken, 7, 2)}"
        self.names.append(name)
        return name

    def listed(self) -> list[list[str]]:
        """The metadata's chunk list: bounds cut past the common prefix of neighbours."""
        listed = [[chunk.first, chunk.last, name] for chunk, name in
                  zip(self.chunks, self.names, strict=True)]
        for left, right in zip(listed, listed[1:], strict=False):
            left[1], right[0] = _prefixes(left[1], right[0])
        return listed


def write_fragments(code: str, summaries: Sequence[Summary], writer: BundleWriter,
                     raw: Callable[[int], bytes | None]) -> list[list[Any]]:
    """Name every page's fragment in page order (the shortest free prefix of its hash) and
    write or link it; `raw(page)` gives a fragment's bytes when the bundle lacks it."""
    listed: list[list[Any]] = []
    taken: set[str] = set()
    page = 0
    length = len(code) + 8
    files, previous, present = writer.files, writer.previous, writer.present
    adopted = "fragment" in writer.adopted
    for summary in summaries:  # a loop over every page of the site: kept tight
        for full, count in summary.pages:
            short = full[:length]
            if short in taken:
                short = shortest_free_prefix(full, taken, length, 1)
            else:
                taken.add(short)
            rel = f"fragment/{short}.pf_fragment"
            if previous.get(rel) == full and rel in present:
                if adopted:  # in place already
                    files[rel] = full
                else:
                    writer.add(rel, full, b"")
            else:
                data = raw(page)
                if data is None:
                    raise Fallback(f"{rel} is not in the bundle")
                writer.add(rel, full, data)
            listed.append([short, count])
            page += 1
    return listed


def finish_language(code: str, summaries: Sequence[Summary], pages: list[list[Any]],
                     chunker: Chunker, writer: BundleWriter,
                     filters: Sequence[tuple[str, str, bytes]] | None = None,
                     sorts: Sequence[tuple[str, array[int]]] | None = None
                     ) -> LanguageState:
    """Write the language's filters and metadata (`filters` and `sorts` when known to be
    unchanged)."""
    versions = {summary.version for summary in summaries}
    if len(versions) != 1:
        raise ValueError(f"pieces from different Pagefind versions: {sorted(versions)}")
    offsets = page_offsets(summaries)
    if filters is None:
        filters = canonical_filter_files(code, _merged_filters(summaries, offsets))  # type: ignore[arg-type]
    if sorts is None:
        sorts = tuple((key, array("q", numbers)) for key, numbers in
                      _merged_sorts(summaries, offsets))  # type: ignore[arg-type]
    for _, file_hash, data in filters:
        writer.write(f"filter/{file_hash}.pf_filter", data)
    meta = [versions.pop(), pages, chunker.listed(),
            [[name, file_hash] for name, file_hash, _ in filters],
            [[key, numbers.tolist()] for key, numbers in sorts],
            sorted({f for summary in summaries for f in summary.meta_fields})]
    data = encode_cbor(meta)
    meta_hash = f"{code}_{pagefind_hash(data)[:len(code) + 8]}"
    writer.write(f"pagefind.{meta_hash}.pf_meta", pack(data))
    return LanguageState((), tuple(chunker.chunks), meta_hash, tuple(filters), tuple(sorts))


def write_entry(entry: dict[str, Any], languages: dict[str, LanguageState],
                 writer: BundleWriter) -> None:
    listed = {code: {"hash": state.meta_hash, "wasm": state.pieces[0][1].wasm,
                     "page_count": page_offsets([s for _, s in state.pieces])[-1]}
              for code, state in sorted(languages.items())}
    entry = {**entry}
    version = entry.pop("version", None)
    head = {"version": version} if version is not None else {}
    writer.write(ENTRY, json.dumps({**head, "languages": listed, **entry}, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8"))
