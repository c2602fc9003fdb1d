"""Joining the cached pieces into the site-wide bundle: flat in memory, and incremental.

`merge.merge_pieces` joins pieces held in memory all at once; the build joins them here into
the same bytes (tests compare the two), in one of two ways:

- **By splicing**, when the re-indexed pieces are the pieces the bundle was joined from, in
  the same order (an edit, an article added to or removed from a piece). The join's state in
  the cache (`JoinState`) holds every piece's pages, filters and sorts and every chunk's bounds
  and digest; each chunk's *word table* holds its CBOR, where each word's record lies in it, and
  each record's *segments*: the byte run of each piece's postings. A record is changed in
  place, byte for byte: the edited piece's run replaced by its new postings, the page delta
  that starts the next run encoded again (the page numbers of the pieces after one that gained
  or lost pages move). Records with diacritic variants are decoded and encoded again. Chunks
  whose words did not change are linked as they are; the others are cut again, greedily from
  the first word as Pagefind cuts them.
- **In full** (a first build, a new piece, a piece cut in two, a state that does not describe
  the bundle): one piece is loaded at a time. Its fragments are named and written as it loads
  and its words are sorted into word-range buckets on disk; then each bucket in turn is merged
  and cut into chunks, written as they fill. Memory holds about `PIECES_PER_BUCKET` pieces'
  words and the list of pages, whatever the size of the archive.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import pickle
import shutil
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

from ..urls import safe_relative_path
from ..writer import write_atomic
from .format import (
    ENTRY,
    canonical_filter_files,
    cbor_head,
    encode_cbor,
    fast_decode,
    fast_encode,
    fast_records,
    pack,
    pagefind_hash,
    shortest_free_prefix,
)
from .merge import (
    CHUNK_COMPRESSION,
    CHUNK_WEIGHT,
    Language,
    Piece,
    Postings,
    Word,
    _join_postings,
    _merged_filters,
    _merged_sorts,
    _prefixes,
)

PIECES_PER_BUCKET = 8  # a full join holds about this many pieces' words at once
MAX_BUCKETS = 512
FLUSH_WORDS = 40_000  # words buffered for the buckets before they are appended to disk
LAYOUT = 4  # of the state and the word tables: bump when either changes
STATE = "joined.state"  # in the piece cache folder: the JoinState of the bundle written
WORDS = "joined.words"  # in the piece cache folder: each chunk's word table


@dataclass(frozen=True, slots=True)
class Summary:
    """One language of one piece without its words: what a join needs of it beyond them."""

    version: str
    wasm: str | None
    pages: tuple[tuple[str, int], ...]  # (full fragment hash, word count)
    filters: dict[str, dict[str, tuple[int, ...]]]
    sorts: dict[str, tuple[int, ...]]
    meta_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chunk:
    first: str  # its first and last word, whole
    last: str
    digest: str  # of its CBOR; names it and its word table


@dataclass(frozen=True)
class LanguageState:
    pieces: tuple[tuple[str, Summary], ...]  # the pieces holding the language, in page order
    chunks: tuple[Chunk, ...]
    meta_hash: str
    filters: tuple[tuple[str, str, bytes], ...]  # (filter, file hash, file) of each filter


@dataclass(frozen=True)
class JoinState:
    """What the bundle folder holds, as the last join wrote it."""

    order: tuple[str, ...]
    entry: dict[str, Any]
    languages: dict[str, LanguageState]
    files: dict[str, str]  # word-index chunk or fragment path -> content digest
    versions: dict[str, str]  # piece -> the digest of the cached index it was joined from
    layout: int = LAYOUT


class Fallback(Exception):
    """The bundle cannot be spliced (other pieces, a state that does not describe it, ...):
    join it in full."""


# ---------------------------------------------------------------- the store


class JoinStore:
    """The join's state and the chunks' word tables, in the piece cache folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.words = folder / WORDS
        self._made = False

    def load(self) -> JoinState | None:
        try:
            state = pickle.loads((self.folder / STATE).read_bytes())
        except Exception:  # none, or damaged: a full join writes it again
            return None
        if isinstance(state, JoinState) and getattr(state, "layout", None) == LAYOUT:
            return state
        return None

    def save(self, state: JoinState) -> None:
        write_atomic(self.folder / STATE, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        keep = {_table_name(code, chunk.digest) for code, language in state.languages.items()
                for chunk in language.chunks}
        with contextlib.suppress(OSError):
            for name in os.listdir(self.words):
                if name not in keep:
                    (self.words / name).unlink(missing_ok=True)

    def has_state(self) -> bool:
        return (self.folder / STATE).is_file()

    def forget(self) -> None:
        (self.folder / STATE).unlink(missing_ok=True)

    def save_table(self, code: str, digest: str, table: tuple[Any, ...]) -> None:
        """A chunk's (words, record starts, weights, segments, CBOR); named by its content,
        so written without a sync: a torn one fails to load and the bundle is joined in
        full."""
        if not self._made:
            self.words.mkdir(parents=True, exist_ok=True)
            self._made = True
        path = self.words / _table_name(code, digest)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)

    def load_table(self, code: str, digest: str) -> tuple[Any, ...]:
        try:
            table = pickle.loads((self.words / _table_name(code, digest)).read_bytes())
        except Exception as exc:
            raise Fallback(f"word table of chunk {digest}: {exc!r}") from None
        if not (isinstance(table, tuple) and len(table) == 5):
            raise Fallback(f"word table of chunk {digest}: unrecognised")
        return table


def _table_name(code: str, digest: str) -> str:
    return f"{code}_{digest}"


# ---------------------------------------------------------------- writing the bundle


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
        self._adopted: set[str] = set()

    def adopt(self, folder: str) -> None:
        """Move `folder` of the bundle into the new one whole (~one fragment a page): its
        unchanged files then stay as they are rather than being linked one by one, and
        `close` removes the others."""
        source = self.final / folder
        if source.is_dir():
            self.new.mkdir(parents=True, exist_ok=True)
            os.rename(source, self.new / folder)
            self._adopted.add(folder)
            self._made.add(os.path.join(self.new, folder))

    def abandon(self) -> None:
        """Give back the folders `adopt` took (the join stopped)."""
        with contextlib.suppress(Exception):  # the join's own error is the one to report
            self._drain(0)
        for folder in self._adopted:
            if not (self.final / folder).exists():
                os.rename(self.new / folder, self.final / folder)
        self._adopted.clear()

    def can_link(self, rel: str, digest: str) -> bool:
        return self.previous.get(rel) == digest and rel in self.present

    def add(self, rel: str, digest: str, data: bytes) -> None:
        """A chunk or fragment: linked (or left in an adopted folder) when unchanged, else
        written."""
        self.files[rel] = digest
        if self.can_link(rel, digest):
            if rel.partition("/")[0] not in self._adopted:
                os.link(self.final / rel, self._path(rel))
        else:
            self.write(rel, data)

    def add_chunk(self, rel: str, digest: str, data: bytes) -> None:
        """A word-index chunk, compressed in the background when it must be written."""
        self.files[rel] = digest
        if self.can_link(rel, digest):
            os.link(self.final / rel, self._path(rel))
        else:
            path = self._path(rel)
            self.background(lambda: _write_new(path, pack(data, CHUNK_COMPRESSION)))

    def background(self, job: Callable[[], object]) -> None:
        """Run `job` in the writer's threads (compressing and writing let go of the
        interpreter lock); a few at a time, so that memory stays bounded."""
        self._packing.append(self._pool.submit(job))
        if len(self._packing) > 16:
            self._drain(8)

    def write(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        if rel.partition("/")[0] in self._adopted:  # never write through a shared inode
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with open(path, "wb") as file:
            file.write(data)

    def close(self) -> None:
        self._drain(0)
        self._pool.shutdown()
        for folder in self._adopted:
            for name in os.listdir(self.new / folder):
                if f"{folder}/{name}" not in self.files:
                    os.unlink(self.new / folder / name)

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


# Each piece's run of postings in a word's record, in order: [n, (piece number, bytes, last
# page) * n]; the last page numbered within its piece, so that pages added before the piece
# move it without changing this.
Segments = array


class _Chunker:
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


# ---------------------------------------------------------------- the parts both joins share


def _summary(language: Language) -> Summary:
    return Summary(language.version, language.wasm,
                   tuple((full, count) for full, count, _ in language.pages),
                   language.filters, language.sorts, language.meta_fields)


def _offsets(summaries: Sequence[Summary]) -> list[int]:
    return list(accumulate((len(s.pages) for s in summaries), initial=0))


def _write_fragments(code: str, summaries: Sequence[Summary], writer: BundleWriter,
                     raw: Callable[[int], bytes | None]) -> list[list[Any]]:
    """Name every page's fragment in page order (the shortest free prefix of its hash) and
    write or link it; `raw(page)` gives a fragment's bytes when the bundle lacks it."""
    listed: list[list[Any]] = []
    taken: set[str] = set()
    page = 0
    for summary in summaries:
        for full, count in summary.pages:
            short = shortest_free_prefix(full, taken, len(code) + 8, 1)
            rel = f"fragment/{short}.pf_fragment"
            if writer.can_link(rel, full):
                writer.add(rel, full, b"")
            else:
                data = raw(page)
                if data is None:
                    raise Fallback(f"{rel} is not in the bundle")
                writer.add(rel, full, data)
            listed.append([short, count])
            page += 1
    return listed


def _finish_language(code: str, summaries: Sequence[Summary], pages: list[list[Any]],
                     chunker: _Chunker, writer: BundleWriter,
                     filters: Sequence[tuple[str, str, bytes]] | None = None
                     ) -> LanguageState:
    """Write the language's filters (`filters` when known to be unchanged) and metadata."""
    versions = {summary.version for summary in summaries}
    if len(versions) != 1:
        raise ValueError(f"pieces from different Pagefind versions: {sorted(versions)}")
    offsets = _offsets(summaries)
    if filters is None:
        filters = canonical_filter_files(code, _merged_filters(summaries, offsets))  # type: ignore[arg-type]
    for _, file_hash, data in filters:
        writer.write(f"filter/{file_hash}.pf_filter", data)
    meta = [versions.pop(), pages, chunker.listed(),
            [[name, file_hash] for name, file_hash, _ in filters],
            _merged_sorts(summaries, offsets),  # type: ignore[arg-type]
            sorted({f for summary in summaries for f in summary.meta_fields})]
    data = encode_cbor(meta)
    meta_hash = f"{code}_{pagefind_hash(data)[:len(code) + 8]}"
    writer.write(f"pagefind.{meta_hash}.pf_meta", pack(data))
    return LanguageState((), tuple(chunker.chunks), meta_hash, tuple(filters))


def _write_entry(entry: dict[str, Any], languages: dict[str, LanguageState],
                 writer: BundleWriter) -> None:
    listed = {code: {"hash": state.meta_hash, "wasm": state.pieces[0][1].wasm,
                     "page_count": _offsets([s for _, s in state.pieces])[-1]}
              for code, state in sorted(languages.items())}
    entry = {**entry}
    version = entry.pop("version", None)
    head = {"version": version} if version is not None else {}
    writer.write(ENTRY, json.dumps({**head, "languages": listed, **entry}, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8"))


def _encode_word(word: str, parts: Sequence[tuple[int, Word]], offsets: Sequence[int]
                 ) -> tuple[bytes, int, Segments]:
    """A word's record from its postings in each piece (piece number, postings), as
    `merge._encode_word` encodes it; its chunk weight and segments."""
    out = bytearray(b"\x83")
    text = word.encode("utf-8")
    cbor_head(3, len(text), out)
    out += text
    cbor_head(4, sum(w.postings[0] for _, w in parts), out)
    segments = array("q", [0])
    previous = weight = 0
    for piece, w in parts:
        count, first, last, part_weight, first_rest, rest = w.postings
        if not count:
            continue
        offset = offsets[piece]
        start = len(out)
        out.append(0x83)
        cbor_head(0, first + offset - previous, out)
        out += first_rest
        out += rest
        previous = last + offset
        weight += part_weight
        segments[0] += 1
        segments.extend((piece, len(out) - start, last))
    forms: dict[str, list[tuple[int, Postings]]] = {}
    for piece, w in parts:
        for form, postings in w.variants:
            forms.setdefault(form, []).append((offsets[piece], postings))
    cbor_head(4, len(forms), out)
    for form, form_parts in forms.items():
        out.append(0x82)
        text = form.encode("utf-8")
        cbor_head(3, len(text), out)
        out += text
        _join_postings(form_parts, out)
    return bytes(out), weight, segments


# ---------------------------------------------------------------- joining in full


def join_full(order: Sequence[str], load: Callable[[str], tuple[Piece, str]],
              writer: BundleWriter, store: JoinStore, scratch: Path) -> JoinState:
    """The bundle of the pieces `order` names, loaded one at a time by `load` (with the
    digest of the index loaded)."""
    if not order:
        raise ValueError("no pieces to merge")
    languages: dict[str, _FullLanguage] = {}
    entry: dict[str, Any] | None = None
    versions: dict[str, str] = {}
    for piece_id in order:
        piece, versions[piece_id] = load(piece_id)
        if entry is None:
            entry = piece.entry
        for code, language in sorted(piece.languages.items()):
            if code not in languages:
                languages[code] = _FullLanguage(code, writer, store, scratch / code, len(order))
            languages[code].add(piece_id, language)
        del piece
    states = {code: languages[code].finish() for code in sorted(languages)}
    shutil.rmtree(scratch, ignore_errors=True)
    assert entry is not None
    _write_entry(entry, states, writer)
    return JoinState(tuple(order), entry, states, writer.files, versions)


class _FullLanguage:
    """One language of a full join: pieces in, buckets of words on disk, chunks out."""

    def __init__(self, code: str, writer: BundleWriter, store: JoinStore, scratch: Path,
                 pieces: int):
        self.code, self.writer, self.store, self.scratch = code, writer, store, scratch
        self.buckets = max(1, min(MAX_BUCKETS, pieces // PIECES_PER_BUCKET))
        self.bounds: list[str] | None = None
        self.pieces: list[tuple[str, Summary]] = []
        self.pages: list[list[Any]] = []
        self.taken: set[str] = set()
        self.buffers: list[list[tuple[str, int, Word]]] = [[] for _ in range(self.buckets)]
        self.buffered = 0
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)

    def add(self, piece_id: str, language: Language) -> None:
        number = len(self.pieces)
        summary = _summary(language)
        self.pieces.append((piece_id, summary))
        self._name_fragments(language)
        if self.bounds is None:  # cut the words where the first piece's words fall evenly
            words = sorted(language.words)
            step = len(words) / self.buckets
            self.bounds = [words[int(step * i)] for i in range(1, self.buckets)] if words else []
        bounds, buffers = self.bounds, self.buffers
        for word, postings in language.words.items():
            buffers[bisect.bisect_right(bounds, word)].append((word, number, postings))
        self.buffered += len(language.words)
        if self.buffered >= FLUSH_WORDS:
            self._flush()

    def _name_fragments(self, language: Language) -> None:
        """Name (as `_write_fragments`, continuing across pieces) and write this piece's."""
        for full, count, raw in language.pages:
            short = shortest_free_prefix(full, self.taken, len(self.code) + 8, 1)
            self.writer.add(f"fragment/{short}.pf_fragment", full, raw)
            self.pages.append([short, count])

    def _flush(self) -> None:
        for number, buffer in enumerate(self.buffers):
            if buffer:
                with open(self.scratch / str(number), "ab") as file:
                    pickle.dump(buffer, file, protocol=pickle.HIGHEST_PROTOCOL)
                buffer.clear()
        self.buffered = 0

    def _bucket(self, number: int) -> Iterator[tuple[str, int, Word]]:
        with contextlib.suppress(FileNotFoundError), open(self.scratch / str(number),
                                                          "rb") as file:
            while True:
                try:
                    yield from pickle.load(file)
                except EOFError:
                    break
        yield from self.buffers[number]  # the pieces after the last flush

    def finish(self) -> LanguageState:
        offsets = _offsets([summary for _, summary in self.pieces])
        chunker = _Chunker(self.code, self.writer, self.store)
        for number in range(self.buckets):
            by_word: dict[str, list[tuple[int, Word]]] = {}
            for word, piece, postings in self._bucket(number):  # pieces in order
                found = by_word.get(word)
                if found is None:
                    by_word[word] = [(piece, postings)]
                else:
                    found.append((piece, postings))
            self.buffers[number] = []
            for word, parts in sorted(by_word.items()):
                chunker.add(word, *_encode_word(word, parts, offsets))
            del by_word
        chunker.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        summaries = [summary for _, summary in self.pieces]
        written = _finish_language(self.code, summaries, self.pages, chunker, self.writer)
        return replace(written, pieces=tuple(self.pieces))


# ---------------------------------------------------------------- joining by splicing


# A piece as the bundle holds it and as it was indexed again, each with the digest of its index
Edit = tuple[tuple[Piece, str], tuple[Piece, str]]


def join_splice(state: JoinState, order: Sequence[str], edits: dict[str, Edit],
                writer: BundleWriter, store: JoinStore, load: Callable[[str], Piece]
                ) -> JoinState:
    """The bundle `state` describes (in `writer.final`) with the edited pieces' new index;
    `load` reads another piece, should a diacritic variant's order depend on it. Raises
    Fallback when that is not a splice: see the module's doc."""
    if tuple(order) != state.order:
        raise Fallback("the pieces changed")
    _check_bundle(writer.final, state)
    languages: dict[str, LanguageState] = {}
    versions = dict(state.versions)
    pieces: dict[str, tuple[Piece, Piece]] = {}
    for piece_id, ((old, was), (new, now)) in edits.items():
        if state.versions.get(piece_id) != was:
            raise Fallback(f"the bundle was not joined from this index of piece {piece_id}")
        if set(old.languages) != set(new.languages) or new.entry != state.entry:
            raise Fallback(f"piece {piece_id} changed its languages")
        versions[piece_id] = now
        pieces[piece_id] = old, new
    if any(rel.startswith("fragment/") and rel not in writer.present for rel in state.files):
        raise Fallback("a fragment is missing from the bundle")
    writer.adopt("fragment")
    for code, known in state.languages.items():
        languages[code] = _splice_language(code, known, pieces, writer, store, load)
    _write_entry(state.entry, languages, writer)
    return JoinState(state.order, state.entry, languages, writer.files, versions)


def _check_bundle(final: Path, state: JoinState) -> None:
    try:
        entry = json.loads((final / ENTRY).read_text(encoding="utf-8"))
        hashes = {code: info["hash"] for code, info in entry["languages"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise Fallback("the bundle has no readable entry") from None
    if hashes != {code: known.meta_hash for code, known in state.languages.items()}:
        raise Fallback("the bundle is not the one the state describes")


def _splice_language(code: str, known: LanguageState, edits: dict[str, tuple[Piece, Piece]],
                     writer: BundleWriter, store: JoinStore, load: Callable[[str], Piece]
                     ) -> LanguageState:
    pieces = list(known.pieces)
    where = {piece_id: number for number, (piece_id, _) in enumerate(pieces)}
    changes: list[tuple[int, Language, Language]] = []
    for piece_id, (old, new) in edits.items():
        if code not in new.languages:
            continue
        if piece_id not in where:
            raise Fallback(f"piece {piece_id} is new to language {code}")
        before, after = old.languages[code], new.languages[code]
        pieces[where[piece_id]] = (piece_id, _summary(after))
        changes.append((where[piece_id], before, after))
    changes.sort(key=lambda change: change[0])
    summaries = [summary for _, summary in pieces]
    offsets = _offsets(summaries)
    steps: list[Step] = []  # each change in turn, with the page numbers before and after it
    sizes = [len(summary.pages) for _, summary in known.pieces]
    numbering = _offsets([summary for _, summary in known.pieces])
    for number, _, after in changes:
        sizes[number] = len(after.pages)
        steps.append((number, numbering, list(accumulate(sizes, initial=0))))
        numbering = steps[-1][2]
    fresh = {offsets[number] + page: raw for number, _, after in changes
             for page, (_, _, raw) in enumerate(after.pages)}
    pages = _write_fragments(code, summaries, writer, fresh.get)
    chunker = _Chunker(code, writer, store)
    # A form can only move on to a later piece, not yet changed by the steps before: its
    # index before the edit.
    loaded: dict[int, Language] = {number: before for number, before, _ in changes}

    def variants(number: int, word: str) -> list[str]:
        """The forms of `word` in piece `number` (as the bundle holds it), in its order."""
        if number not in loaded:
            loaded[number] = load(pieces[number][0]).languages[code]
        found = loaded[number].words.get(word)
        return [form for form, _ in found.variants] if found else []

    _splice_words(code, known.chunks, _touched(changes), steps, chunker, variants)
    same = all(before.filters == after.filters for _, before, after in changes)
    written = _finish_language(code, summaries, pages, chunker, writer,
                               known.filters if same else None)
    return replace(written, pieces=tuple(pieces))


Touch = dict[int, tuple[Word | None, Word | None]]  # piece number -> (postings before, now)
Step = tuple[int, list[int], list[int]]  # (piece number, page offsets before, after)


def _touched(changes: Sequence[tuple[int, Language, Language]]) -> dict[str, Touch]:
    """The words whose postings an edited piece changed."""
    touched: dict[str, Touch] = {}
    for number, before, after in changes:
        old, new = before.words, after.words
        for word in old.keys() | new.keys():
            was, now = old.get(word), new.get(word)
            if was != now:
                touched.setdefault(word, {})[number] = was, now
    return touched


def _splice_words(code: str, chunks: Sequence[Chunk], touched: dict[str, Touch],
                  steps: Sequence[Step], chunker: _Chunker, variants: Variants) -> None:
    firsts = [chunk.first for chunk in chunks]
    by_chunk: dict[int, list[str]] = {}
    for word in touched:
        by_chunk.setdefault(max(0, bisect.bisect_right(firsts, word) - 1), []).append(word)
    moved = [number for number, old, new in steps if old[-1] != new[-1]]
    after = min(moved) if moved else None  # the pages of later pieces are numbered anew
    for number, chunk in enumerate(chunks):
        mine = sorted(by_chunk.get(number, ()))
        if not mine and chunker.empty and after is None:
            chunker.reuse(chunk)
            continue
        words, ends, weights, segments, data = chunker.store.load_table(code, chunk.digest)
        for word, at in _interleave(words, mine):
            if at < 0:
                spliced = _splice(word, None, 0, _EMPTY_SEGMENTS, touched[word], steps,
                                  variants)
                if spliced is not None:
                    chunker.add(word, *spliced)
                continue
            record, runs = data[ends[at]:ends[at + 1]], segments[at]
            if word in touched or (after is not None and _moves(record, runs, after)):
                spliced = _splice(word, record, weights[at], runs, touched.get(word, {}),
                                  steps, variants)
            else:
                spliced = record, weights[at], runs
            if spliced is not None:
                chunker.add(word, *spliced)
    chunker.close()


_EMPTY_SEGMENTS = array("q", [0])


def _moves(record: bytes, segments: Segments, after: int) -> bool:
    """Whether the record holds a page of a piece after piece `after` (or variants, whose
    pages are not in `segments`)."""
    return (segments[0] > 0 and segments[-3] > after) or _has_variants(record, segments)


def _has_variants(record: bytes, segments: Segments) -> bool:
    if record[-1] != 0x80:
        return True
    _, body = _uint_at(record, _postings_head(record))
    return record[body + sum(segments[2::3])] != 0x80


def _interleave(words: Sequence[str], mine: list[str]) -> Iterator[tuple[str, int]]:
    """(word, its number in the chunk) of the chunk's words, and (word, -1) of the touched
    words it lacks, in word order."""
    extra = iter(w for w in mine if not _holds(words, w))
    pending = next(extra, None)
    for number, word in enumerate(words):
        while pending is not None and pending < word:
            yield pending, -1
            pending = next(extra, None)
        yield word, number
    while pending is not None:
        yield pending, -1
        pending = next(extra, None)


def _holds(words: Sequence[str], word: str) -> bool:
    at = bisect.bisect_left(words, word)
    return at < len(words) and words[at] == word


Spliced = tuple[bytes, int, Segments]
Variants = Callable[[int, str], list[str]]  # (piece number, word) -> its forms there, in order


def _splice(word: str, record: bytes | None, weight: int, segments: Segments, touch: Touch,
            steps: Sequence[Step], variants: Variants) -> Spliced | None:
    """The word's record with each touched piece's postings replaced and the pages of the
    pieces after a piece that gained or lost pages numbered anew; its chunk weight and
    segments. None when no page holds the word any more."""
    if record is None:
        text = word.encode("utf-8")
        head = bytearray(b"\x83")
        cbor_head(3, len(text), head)
        record = bytes(head + text) + b"\x80\x80"
        segments = _EMPTY_SEGMENTS
    if _has_variants(record, segments) or any(
            w is not None and w.variants for pair in touch.values() for w in pair):
        return _splice_decoded(word, record, touch, steps, variants)
    for number, old, new in steps:
        pair = touch.get(number)
        if pair is None and not (old[-1] != new[-1] and segments[0]
                                 and segments[-3] > number):
            continue
        record, weight, segments = _splice_piece(record, weight, segments, number, pair,
                                                 old, new)
    if not segments[0]:
        return None
    return record, weight, segments


def _splice_piece(record: bytes, weight: int, segments: Segments, number: int,
                  pair: tuple[Word | None, Word | None] | None, old: Sequence[int],
                  new: Sequence[int]) -> Spliced:
    """One step of `_splice` for a record without variants, byte for byte: the piece's run
    of postings replaced by its new one (unless `pair` is None), the postings' count, and
    the page delta that starts the next run, whose pages `old` and `new` number."""
    n = segments[0]
    pieces, sizes, lasts = segments[1::3], segments[2::3], segments[3::3]
    at = bisect.bisect_left(pieces, number)
    present = at < n and pieces[at] == number
    head_at = _postings_head(record)
    count, body = _uint_at(record, head_at)
    start = body + sum(sizes[:at])
    previous = old[pieces[at - 1]] + lasts[at - 1] if at else 0  # not moved by this step
    spliced = segments[:1 + 3 * at]
    run = bytearray()
    last = previous
    if pair is None:  # the piece's postings stay as they are
        if present:
            run += record[start:start + sizes[at]]
            spliced.extend((number, sizes[at], lasts[at]))
            last = new[number] + lasts[at]
    else:
        was, now = pair
        if present != bool(was and was.postings[0]):
            raise Fallback("a record does not hold the piece's postings it should")
        if present and was:
            count -= was.postings[0]
            weight -= was.postings[3]
        if now is not None and now.postings[0]:
            more, first, piece_last, more_weight, first_rest, rest = now.postings
            run.append(0x83)
            cbor_head(0, first + new[number] - previous, run)
            run += first_rest
            run += rest
            last = new[number] + piece_last
            count += more
            weight += more_weight
            spliced.extend((number, len(run), piece_last))
    cut_to = start + (sizes[at] if present else 0)
    after = at + 1 if present else at  # the first run after this piece's
    out = bytearray(record[:head_at])
    cbor_head(4, count, out)
    out += record[body:start]
    out += run
    tail_from = cut_to
    if after < n:  # the next run's first page number counts from the last one before it
        delta, tail_from = _uint_at(record, cut_to + 1)
        before = old[pieces[after - 1]] + lasts[after - 1] if after else 0
        first_page = delta + before - old[pieces[after]] + new[pieces[after]]
        fix = bytearray(b"\x83")
        cbor_head(0, first_page - last, fix)
        out += fix
        spliced.extend((pieces[after], sizes[after] - (tail_from - cut_to) + len(fix),
                        lasts[after]))
        spliced += segments[1 + 3 * (after + 1):]
    out += record[tail_from:]
    spliced[0] = (len(spliced) - 1) // 3
    return bytes(out), weight, spliced


def _postings_head(record: bytes) -> int:
    """Where the postings' array head is in a record (after its word)."""
    length, at = _uint_at(record, 1)
    return at + length


def _uint_at(data: bytes, at: int) -> tuple[int, int]:
    """The argument of the CBOR head at `at`, and the position after the head."""
    info = data[at] & 0x1F
    if info < 24:
        return info, at + 1
    size = 1 << (info - 24)
    return int.from_bytes(data[at + 1:at + 1 + size], "big"), at + 1 + size


Pages = list[list[Any]]  # postings with absolute page numbers: [page, positions, meta]


def _splice_decoded(word: str, record: bytes, touch: Touch, steps: Sequence[Step],
                    variants: Variants) -> Spliced | None:
    """`_splice` for a word with diacritic variants: decoded, spliced, encoded again."""
    _, postings, listed = fast_decode(record)
    main = _absolute(postings, 0)
    forms = [(form, _absolute(pages, 0)) for form, pages in listed]
    offsets = steps[-1][2] if steps else []
    for number, old, new in steps:
        low, high, moved = old[number], old[number + 1], new[number + 1] - old[number + 1]
        pair = touch.get(number)
        if pair is None:
            main = _replace(main, high, high, [], moved)
            forms = [(form, _replace(pages, high, high, [], moved)) for form, pages in forms]
            continue
        now = pair[1]
        main = _replace(main, low, high, _piece_pages(now.postings, new[number]) if now else [],
                        moved)
        new_forms = {form: _piece_pages(postings, new[number])
                     for form, postings in (now.variants if now else ())}
        forms = _spliced_forms(forms, new_forms, number, old, new, moved,
                               partial(variants, word=word))
    if not main and not forms:
        return None
    weight = sum(len(positions) + len(meta) + 1 for _, positions, meta in main)
    record = fast_encode([word, _relative(main),
                          [[form, _relative(pages)] for form, pages in forms]])
    return record, weight, _segments_of(record, main, offsets)


def _segments_of(record: bytes, main: Pages, offsets: Sequence[int]) -> Segments:
    """The segments of a record whose postings (absolute pages) are `main`."""
    count, at = _uint_at(record, _postings_head(record))
    segments = array("q", [0])
    previous_piece = -1
    for (page, _, _), (start, _, end) in zip(main, fast_records(record, at, count),
                                             strict=True):
        piece = bisect.bisect_right(offsets, page) - 1
        if piece != previous_piece:
            segments[0] += 1
            segments.extend((piece, 0, 0))
            previous_piece = piece
        segments[-2] += end - start
        segments[-1] = page - offsets[piece]
    return segments


def _spliced_forms(forms: list[tuple[str, Pages]], new_forms: dict[str, Pages], number: int,
                   old: Sequence[int], new: Sequence[int], moved: int,
                   order_in: Callable[[int], list[str]]) -> list[tuple[str, Pages]]:
    """A word's diacritic variants with piece `number`'s replaced, in the order a join gives
    them: by the piece where each first appears, then by their order in that piece (the
    record's order, unless a form now first appears in another piece than before: then that
    piece's own order, from `order_in`)."""
    low, high = old[number], old[number + 1]
    kept: list[tuple[int, int, str, Pages]] = []  # (first piece, rank in the record, ...)
    regrouped: set[int] = set()
    for rank, (form, pages) in enumerate(forms):
        if not pages:
            raise Fallback(f"variant {form} without pages")
        first_before = bisect.bisect_right(old, pages[0][0]) - 1
        pages = _replace(pages, low, high, new_forms.get(form, []), moved)
        if not pages and form not in new_forms:
            continue
        first = bisect.bisect_right(new, pages[0][0]) - 1 if pages else number
        if first != first_before:
            regrouped.add(first)
        kept.append((first, rank, form, pages))
    known = {form for form, _ in forms}
    kept += [(number, 0, form, pages) for form, pages in new_forms.items() if form not in known]
    orders = {piece: order_in(piece) for piece in regrouped - {number}}
    orders[number] = list(new_forms)

    def key(item: tuple[int, int, str, Pages]) -> tuple[int, int]:
        first, rank, form, _ = item
        if first in orders:
            if form not in orders[first]:
                raise Fallback(f"variant {form} is not in the piece it first appears in")
            return first, orders[first].index(form)
        return first, rank

    kept.sort(key=key)
    return [(form, pages) for _, _, form, pages in kept]


def _replace(pages: Pages, low: int, high: int, new: Pages, moved: int) -> Pages:
    """`pages` with those in [low, high) replaced by `new` and those after moved by `moved`."""
    start = bisect.bisect_left(pages, low, key=lambda posting: posting[0])
    end = bisect.bisect_left(pages, high, key=lambda posting: posting[0])
    tail = pages[end:]
    if moved:
        tail = [[page + moved, positions, meta] for page, positions, meta in tail]
    return pages[:start] + new + tail


def _absolute(postings: list[list[Any]], offset: int) -> Pages:
    page = offset
    out = []
    for delta, positions, meta in postings:
        page += delta
        out.append([page, positions, meta])
    return out


def _piece_pages(postings: tuple[int, int, int, int, bytes, bytes], offset: int) -> Pages:
    count, first, _, _, first_rest, rest = postings
    if not count:
        return []
    out = bytearray()
    cbor_head(4, count, out)
    out.append(0x83)
    cbor_head(0, first, out)
    return _absolute(fast_decode(bytes(out) + first_rest + rest), offset)


def _relative(pages: Pages) -> list[list[Any]]:
    previous = 0
    out = []
    for page, positions, meta in pages:
        out.append([page - previous, positions, meta])
        previous = page
    return out
