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
import pickle
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .format import ENTRY, shortest_free_prefix
from .joinstate import (
    Fallback,
    JoinState,
    JoinStore,
    LanguageState,
    Summary,
    page_offsets,
    summary_of,
)
from .joinwrite import BundleWriter, Chunker, finish_language, write_entry
from .merge import Language, Piece, Word, encode_word
from .splice import splice_language

__all__ = ["BundleWriter", "Fallback", "JoinState", "JoinStore", "join_full", "join_splice"]

PIECES_PER_BUCKET = 8  # a full join holds about this many pieces' words at once
MAX_BUCKETS = 512
FLUSH_WORDS = 40_000  # words buffered for the buckets before they are appended to disk


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
    write_entry(entry, states, writer)
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
        summary = summary_of(language)
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
        """Name (as `write_fragments`, continuing across pieces) and write this piece's."""
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
        offsets = page_offsets([summary for _, summary in self.pieces])
        chunker = Chunker(self.code, self.writer, self.store)
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
                chunker.add(word, *encode_word(word, parts, offsets))
            del by_word
        chunker.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        summaries = [summary for _, summary in self.pieces]
        written = finish_language(self.code, summaries, self.pages, chunker, self.writer)
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
    writer.adopt("index")
    for code, known in state.languages.items():
        languages[code] = splice_language(code, known, pieces, writer, store, load)
    write_entry(state.entry, languages, writer)
    return JoinState(state.order, state.entry, languages, writer.files, versions)


def _check_bundle(final: Path, state: JoinState) -> None:
    try:
        entry = json.loads((final / ENTRY).read_text(encoding="utf-8"))
        hashes = {code: info["hash"] for code, info in entry["languages"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise Fallback("the bundle has no readable entry") from None
    if hashes != {code: known.meta_hash for code, known in state.languages.items()}:
        raise Fallback("the bundle is not the one the state describes")

