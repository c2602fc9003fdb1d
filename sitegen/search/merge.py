"""One Pagefind bundle from the bundles of consecutive runs of its pages ("pieces").

Pagefind cannot update an index (Pagefind/pagefind#71): changing one page means indexing all
pages of its bundle again, ~2 ms a page. So the search stage has Pagefind index small pieces of
a shard (a month of articles, say) and joins them here into the shard's bundle. An edit then
re-indexes one piece and joins the shard again from the pieces kept in the cache.

Joining gives the bundle Pagefind itself writes for all the shard's pages at once, in the
canonical form of `pagefind_format` (tests compare the two byte for byte, after decompression):

- Pages are numbered in order across the pieces; the metadata lists them (fragment hash, word
  count) in that order, each fragment named by the shortest unused prefix of its hash.
- A word's postings are `[page delta, positions, meta positions]`: the page number is stored as
  the difference from the previous posting's, so a piece's postings are kept as encoded bytes and
  only the first posting of each piece is re-encoded when the pieces are put one after the other.
  Diacritic variants of a word (`additional_variants`) are joined the same way, in the order
  their forms first appear.
- Words are sorted and cut into chunks as Pagefind does: a chunk closes once the sum over its
  postings of (positions + meta positions + 1) reaches 20,000, and each chunk's first and last
  words are shortened against its neighbours' to the shortest distinguishing prefixes.
- Filters are joined value by value. Sort orders are joined by the pieces' calendar order: a
  piece holds an earlier, disjoint span of time than the piece before it, so ascending order is
  the pieces' own orders, oldest piece first. That is exact for the `date` sort (the UTC instant)
  and for no other key, so any other sort key is refused.

Everything in a piece is plain data (`Piece`), pickled into the build cache between builds.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from .format import (
    ENTRY,
    FILTER_SHAPE,
    array_head,
    canonical_filter_files,
    cbor_head,
    encode_cbor,
    fast_encode,
    fast_records,
    fast_size,
    head_size,
    load,
    meta_file,
    pack,
    pack_chunk,
    pagefind_hash,
    payload,
    shortest_free_prefix,
)

CHUNK_WEIGHT = 20_000  # Pagefind's word-index chunk size (`chunk_index(word_map, 20000)`)
CALENDAR_SORTS = frozenset({"date"})  # sort keys whose order follows the pieces' calendar order
RUNTIME_NAMES = ("pagefind.js", "pagefind-worker.js")  # plus wasm.*.pagefind

# Each piece's run of postings in a word's record, in order: [n, (piece number, bytes, last
# page) * n]; the last page numbered within its piece, so that pages added before the piece
# move it without changing this (the build's splice finds a piece's run by it: splice.py).
Segments = array

# One word's postings in one piece: (count, first page, last page, chunk weight,
# the first posting after its page number, the other postings) -- page numbers within the piece.
Postings = tuple[int, int, int, int, bytes, bytes]
_EMPTY: Postings = (0, 0, 0, 0, b"", b"")


class Word(NamedTuple):
    """A tuple, not a dataclass: a cached piece holds thousands, and a slots dataclass unpickles
    ~10x slower (dataclasses' `__setstate__` asks for the fields of every instance)."""

    postings: Postings
    variants: tuple[tuple[str, Postings], ...]  # (form, postings), in order of appearance


@dataclass(frozen=True, slots=True)
class Language:
    """One language's index within a piece."""

    version: str
    wasm: str | None
    pages: tuple[tuple[str, int, bytes], ...]  # (full fragment hash, word count, fragment file)
    words: dict[str, Word]
    filters: dict[str, dict[str, tuple[int, ...]]]  # filter -> value -> pages
    sorts: dict[str, tuple[int, ...]]  # sort key -> pages in ascending order
    meta_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Piece:
    languages: dict[str, Language]
    entry: dict[str, Any]  # pagefind-entry.json without its languages


# ---------------------------------------------------------------- reading a piece


def read_piece(files: dict[str, bytes]) -> Piece:
    """A piece from its canonical bundle (relative path -> bytes). Raises ValueError naming
    the file whose layout is not recognised."""
    try:
        entry = json.loads(files[ENTRY])
        languages = entry.pop("languages")
        return Piece({code: _read_language(files, code, info)
                      for code, info in sorted(languages.items())}, entry)
    except KeyError as exc:
        raise ValueError(f"missing from the Pagefind bundle: {exc}") from None
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"unrecognised Pagefind bundle ({exc})") from None


def _read_language(files: dict[str, bytes], code: str, info: dict[str, Any]) -> Language:
    meta = meta_file(files, f"pagefind.{info['hash']}.pf_meta")
    version, pages, chunks, filters, sorts, meta_fields = meta
    words: dict[str, Word] = {}
    for _, _, chunk_hash in chunks:
        words.update(_read_words(files, f"index/{chunk_hash}.pf_index"))
    return Language(
        version=version,
        wasm=info.get("wasm"),
        pages=tuple(_read_page(files, code, short, count) for short, count in pages),
        words=words,
        filters={name: {value: tuple(numbers) for value, numbers in
                        load(files, f"filter/{filter_hash}.pf_filter", FILTER_SHAPE)[1]}
                 for name, filter_hash in filters},
        sorts={key: tuple(numbers) for key, numbers in sorts},
        meta_fields=tuple(meta_fields),
    )


def _read_page(files: dict[str, bytes], code: str, short: str, count: int
               ) -> tuple[str, int, bytes]:
    name = f"fragment/{short}.pf_fragment"
    raw = files[name]
    return f"{code}_{pagefind_hash(payload(raw, name))}", count, raw


def _read_words(files: dict[str, bytes], name: str) -> dict[str, Word]:
    """A word-index chunk: `[[word, [posting], [[form, [posting]]]], ...]`, each word's
    postings kept as the bytes they were encoded in."""
    if name not in files:
        raise ValueError(f"{name}: referenced but missing from the Pagefind bundle")
    data = payload(files[name], name)
    if not data.startswith(b"\x81"):
        raise ValueError(f"{name}: unrecognised Pagefind word index")
    count, pos = array_head(data, 1, name)
    words: dict[str, Word] = {}
    end = pos
    try:
        for start, record, end in fast_records(data, pos, count):
            word, pages, variants = record
            text = word.encode("utf-8")
            entries = start + 1 + head_size(len(text)) + len(text)
            entries += head_size(len(pages))
            tail = 1 if not variants else fast_size(variants)
            if data[start] != 0x83 or data[entries - head_size(len(pages))] >> 5 != 4:
                raise ValueError("not a [word, postings, variants] record")
            words[word] = Word(
                _postings(pages, data[entries:end - tail]),
                tuple((form, _postings(vpages, _entries_of(fast_encode(vpages))))
                      for form, vpages in variants))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: unrecognised Pagefind word index ({exc})") from None
    if end != len(data):
        raise ValueError(f"{name}: {len(data) - end} bytes after the word index")
    return words


def _postings(pages: list[list[Any]], encoded: bytes) -> Postings:
    """`encoded` is the postings' own encoding (without the array head)."""
    if not pages:
        return _EMPTY
    first = pages[0]
    if len(first) != 3 or encoded[0] != 0x83:
        raise ValueError("a posting is not [page delta, positions, meta positions]")
    first_size = fast_size(first)
    weight = (sum(map(len, map(itemgetter(1), pages)))
              + sum(map(len, map(itemgetter(2), pages))) + len(pages))
    return (len(pages), first[0], sum(map(itemgetter(0), pages)), weight,
            encoded[1 + head_size(first[0]):first_size], encoded[first_size:])


def _entries_of(encoded_array: bytes) -> bytes:
    _, pos = array_head(encoded_array, 0, "postings")
    return encoded_array[pos:]


# ---------------------------------------------------------------- joining pieces


@dataclass(frozen=True, slots=True)
class Bundle:
    """A joined bundle: relative path -> bytes, or None for a word-index chunk or fragment
    that `unchanged` said is already written; and the content digest of each chunk and
    fragment, for the next join's `unchanged`."""

    files: dict[str, bytes | None]
    digests: dict[str, str]


Unchanged = Callable[[str, str], bool]  # (relative path, content digest) -> already written?


def merge_pieces(pieces: Sequence[Piece], unchanged: Unchanged = lambda path, digest: False
                 ) -> Bundle:
    """The canonical bundle of the pieces' pages, in order; data files only, no runtime."""
    if not pieces:
        raise ValueError("no pieces to merge")
    codes = sorted({code for piece in pieces for code in piece.languages})
    bundle = Bundle({}, {})
    languages: dict[str, dict[str, Any]] = {}
    for code in codes:
        parts = [piece.languages.get(code) for piece in pieces]
        meta_hash, pages = _merge_language(code, [p for p in parts if p], bundle, unchanged)
        wasm = next(p.wasm for p in parts if p)
        languages[code] = {"hash": meta_hash, "wasm": wasm, "page_count": pages}
    entry = {**pieces[0].entry}
    version = entry.pop("version", None)
    head = {"version": version} if version is not None else {}
    bundle.files[ENTRY] = json.dumps({**head, "languages": languages, **entry},
                                     ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return bundle


def _merge_language(code: str, parts: Sequence[Language], bundle: Bundle,
                    unchanged: Unchanged) -> tuple[str, int]:
    versions = {part.version for part in parts}
    if len(versions) != 1:
        raise ValueError(f"pieces from different Pagefind versions: {sorted(versions)}")
    offsets = [0]
    for part in parts:
        offsets.append(offsets[-1] + len(part.pages))
    files = bundle.files
    pages = _name_fragments(code, [page for part in parts for page in part.pages], bundle,
                            unchanged)
    chunks = _chunk_words(code, _merged_words(parts), offsets, bundle, unchanged)
    filters = canonical_filter_files(code, _merged_filters(parts, offsets))
    for _, file_hash, data in filters:
        files[f"filter/{file_hash}.pf_filter"] = data
    meta = [versions.pop(), pages, chunks, [[name, file_hash] for name, file_hash, _ in filters],
            _merged_sorts(parts, offsets), sorted({f for part in parts for f in part.meta_fields})]
    data = encode_cbor(meta)
    meta_hash = f"{code}_{pagefind_hash(data)[:len(code) + 8]}"
    files[f"pagefind.{meta_hash}.pf_meta"] = pack(data)
    return meta_hash, offsets[-1]


def _name_fragments(code: str, pages: list[tuple[str, int, bytes]], bundle: Bundle,
                    unchanged: Unchanged) -> list[list[Any]]:
    """Each page's fragment under the shortest free prefix of its hash, in page order (as
    Pagefind names them: `<code>_` and 7 characters, one more on each collision)."""
    listed: list[list[Any]] = []
    taken: set[str] = set()
    for full, count, raw in pages:
        short = shortest_free_prefix(full, taken, len(code) + 8, 1)
        path = f"fragment/{short}.pf_fragment"
        bundle.files[path] = None if unchanged(path, full) else raw
        bundle.digests[path] = full
        listed.append([short, count])
    return listed


def _merged_words(parts: Sequence[Language]) -> list[tuple[str, list[tuple[int, Word]]]]:
    """Each word with its postings in each part: (part number, postings), in part order."""
    by_word: dict[str, list[tuple[int, Word]]] = {}
    for number, part in enumerate(parts):
        for word, postings in part.words.items():
            found = by_word.get(word)
            if found is None:
                by_word[word] = [(number, postings)]
            else:
                found.append((number, postings))
    return sorted(by_word.items())


def _chunk_words(code: str, words: list[tuple[str, list[tuple[int, Word]]]],
                 offsets: Sequence[int], bundle: Bundle, unchanged: Unchanged
                 ) -> list[list[str]]:
    """Encode the words into index chunks (into `bundle`); the metadata's chunk list."""
    chunks: list[list[str]] = []
    taken: set[str] = set()
    records: list[bytes] = []
    first_word = ""
    weight = 0
    to_pack: list[tuple[str, bytes]] = []

    def close(last_word: str) -> None:
        nonlocal records, weight
        out = bytearray(b"\x81")
        cbor_head(4, len(records), out)
        data = bytes(out) + b"".join(records)
        digest = pagefind_hash(data)
        name = f"{code}_{shortest_free_prefix(digest, taken, 7, 2)}"
        path = f"index/{name}.pf_index"
        bundle.files[path] = None
        if not unchanged(path, digest):
            to_pack.append((path, data))
        bundle.digests[path] = digest
        chunks.append([first_word, last_word, name])
        records, weight = [], 0

    for word, parts in words:
        if not records:
            first_word = word
        record, word_weight, _ = encode_word(word, parts, offsets)
        records.append(record)
        weight += word_weight
        if weight >= CHUNK_WEIGHT:
            close(word)
    if records:
        close(words[-1][0])
    for left, right in zip(chunks, chunks[1:], strict=False):
        left[1], right[0] = _prefixes(left[1], right[0])
    packed = _pack_all(data for _, data in to_pack)
    bundle.files.update(zip((path for path, _ in to_pack), packed, strict=True))
    return chunks


def _pack_all(chunks: Iterable[bytes]) -> list[bytes]:
    """Compressed chunks, two at a time: the deflate (ISA-L's or zlib's) lets go of the
    interpreter lock while it works (measured: 89 MB of chunks in 0.15 s on two threads, 0.25 s
    on one), and compressing is most of a join's time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(pack_chunk, chunks))


def encode_word(word: str, parts: Sequence[tuple[int, Word]], offsets: Sequence[int]
                ) -> tuple[bytes, int, Segments]:
    """A word's record from its postings in each piece ((piece number, postings), in piece
    order; `offsets[piece]`: the piece's first page number): the record, its chunk weight, and
    its segments (where each piece's run of postings lies in it). The one encoder of both
    joins: merge_pieces and the build's (join.py)."""
    out = bytearray(b"\x83")
    text = word.encode("utf-8")
    cbor_head(3, len(text), out)
    out += text
    segments = array("q", [0])
    weight = _join_postings([(piece, w.postings) for piece, w in parts], offsets, out, segments)
    forms: dict[str, list[tuple[int, Postings]]] = {}
    for piece, w in parts:
        for form, postings in w.variants:
            forms.setdefault(form, []).append((piece, postings))
    cbor_head(4, len(forms), out)
    for form, form_parts in forms.items():
        out.append(0x82)
        text = form.encode("utf-8")
        cbor_head(3, len(text), out)
        out += text
        _join_postings(form_parts, offsets, out)
    return bytes(out), weight, segments


def _join_postings(parts: Sequence[tuple[int, Postings]], offsets: Sequence[int],
                   out: bytearray, segments: Segments | None = None) -> int:
    """Append the postings of consecutive pieces ((piece number, postings); `offsets[piece]`
    its first page number) as one array; their chunk weight. `segments`, when given, gets
    each piece's run: (piece number, bytes, last page within the piece)."""
    cbor_head(4, sum(p[0] for _, p in parts), out)
    previous = 0  # the last page number written
    weight = 0
    for piece, (count, first, last, part_weight, first_rest, rest) in parts:
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
        if segments is not None:
            segments[0] += 1
            segments.extend((piece, len(out) - start, last))
    return weight


def _prefixes(left: str, right: str) -> tuple[str, str]:
    """The chunk bounds Pagefind writes between two neighbouring chunks: both words cut one
    character past their common prefix."""
    common = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        common += 1
    return left[:common + 1], right[:common + 1]


def _merged_filters(parts: Sequence[Language], offsets: Sequence[int]
                    ) -> dict[str, dict[str, list[int]]]:
    merged: dict[str, dict[str, list[int]]] = {}
    for part, offset in zip(parts, offsets, strict=False):
        for name, values in part.filters.items():
            target = merged.setdefault(name, {})
            for value, numbers in values.items():
                target.setdefault(value, []).extend(n + offset for n in numbers)
    return merged


def _merged_sorts(parts: Sequence[Language], offsets: Sequence[int]) -> list[list[Any]]:
    keys = sorted({key for part in parts for key in part.sorts})
    unknown = [key for key in keys if key not in CALENDAR_SORTS]
    if unknown:
        raise ValueError(f"sort key(s) {', '.join(unknown)}: only "
                         f"{', '.join(sorted(CALENDAR_SORTS))} can be joined across pieces")
    merged = []
    for key in keys:
        numbers: list[int] = []
        for part, offset in reversed(list(zip(parts, offsets, strict=False))):
            numbers.extend(n + offset for n in part.sorts.get(key, ()))
        merged.append([key, numbers])
    return merged


def runtime_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files the browser loads once for all shards: pagefind.js, its worker, WebAssembly."""
    return {path: data for path, data in files.items()
            if path in RUNTIME_NAMES or (path.startswith("wasm.") and path.endswith(".pagefind"))}

