"""Joining by splicing (search/join.py's doc says when): each language's records changed in
place, byte for byte, where a word's postings changed or its pages moved."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from itertools import accumulate
from typing import Any

from .format import cbor_head, fast_decode, fast_encode, fast_records
from .joinstate import Chunk, Fallback, JoinStore, LanguageState, page_offsets, summary_of
from .joinwrite import BundleWriter, Chunker, finish_language, write_fragments
from .merge import Language, Piece, Segments, Word


def splice_language(code: str, known: LanguageState, edits: dict[str, tuple[Piece, Piece]],
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
        pieces[where[piece_id]] = (piece_id, summary_of(after))
        changes.append((where[piece_id], before, after))
    changes.sort(key=lambda change: change[0])
    summaries = [summary for _, summary in pieces]
    offsets = page_offsets(summaries)
    steps: list[Step] = []  # each change in turn, with the page numbers before and after it
    sizes = [len(summary.pages) for _, summary in known.pieces]
    numbering = page_offsets([summary for _, summary in known.pieces])
    for number, _, after in changes:
        sizes[number] = len(after.pages)
        steps.append((number, numbering, list(accumulate(sizes, initial=0))))
        numbering = steps[-1][2]
    fresh = {offsets[number] + page: raw for number, _, after in changes
             for page, (_, _, raw) in enumerate(after.pages)}
    pages = write_fragments(code, summaries, writer, fresh.get)
    chunker = Chunker(code, writer, store)
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
    moved = any(len(before.pages) != len(after.pages) or before.sorts != after.sorts
                for _, before, after in changes)
    written = finish_language(code, summaries, pages, chunker, writer,
                               known.filters if same else None,
                               None if moved else known.sorts)
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
                  steps: Sequence[Step], chunker: Chunker, variants: Variants) -> None:
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
