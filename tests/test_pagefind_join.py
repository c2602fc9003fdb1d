"""The build's join (sitegen.search.join) writes the bytes merge_pieces gives: in full, one
piece at a time through word buckets on disk, and spliced, when an edited piece keeps its
number of pages."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_pagefind_merge import WORDS, _data_files, _page, _plain

from sitegen.search import PagefindProcess, pagefind_executable
from sitegen.search import join as join_module
from sitegen.search.format import canonical_bundle
from sitegen.search.join import BundleWriter, Fallback, JoinStore, join_full, join_splice
from sitegen.search.merge import merge_pieces, read_piece

CUTS = [0, 17, 18, 70, 95, 120]  # five pieces, one of a single page


def _pages(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    start = datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    return [_page(n, start - timedelta(hours=61 * n), rng) for n in range(120)]


def _rewritten(pages: list[tuple[str, str]], numbers: range, seed: int
               ) -> list[tuple[str, str]]:
    """The same pages (URLs, dates) with other words in those `numbers`: words, positions and
    diacritic variants come and go."""
    rng = random.Random(seed)
    out = list(pages)
    for number in numbers:
        url, html = out[number]
        head = html.partition("<p>")[0]
        words = " ".join(rng.choice(WORDS + ["quasarscope", "zenith"])
                         for _ in range(rng.randint(50, 900)))
        out[number] = (url, f"{head}<p>{words}</p></article></body></html>")
    return out


@pytest.fixture(scope="module")
def indexed():
    """Pieces of 120 pages; the same pieces with pages of piece 2 and 3 rewritten; and
    piece 1 with two pages more, piece 3 with five pages fewer."""
    pages = _pages(7)
    edited = _rewritten(pages, range(20, 30), 11)
    edited = _rewritten(edited, range(75, 77), 12)
    extra = _pages(8)[:2]
    extra = [(url.replace("story-", "extra-"), html) for url, html in extra]

    def pieces(of: list[tuple[str, str]], cuts: list[int] = CUTS) -> list:
        with PagefindProcess(pagefind_executable()) as service:
            return [read_piece(canonical_bundle(files)) for _, _, files in service.index_many(
                (str(i), of[a:b]) for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)))]

    grown = pieces([*pages[:17], *extra, *pages[17:18]], [0, 17, 20])[1]
    shrunk = pieces(pages[70:90], [0, 20])[0]
    return pieces(pages), pieces(edited), grown, shrunk


def _join(tmp: Path, pieces, state=None, edits=None) -> tuple[Path, object]:
    """Join into tmp/new (linking from tmp/final), switch it in; the folder and the state."""
    final, new = tmp / "final", tmp / "new"
    store = JoinStore(tmp / "cache")
    writer = BundleWriter(new, final, state.files if state else {})
    order = [str(i) for i in range(len(pieces))]
    by_id = dict(zip(order, pieces, strict=True))
    if edits is None:
        joined = join_full(order, lambda key: (by_id[key], _version(by_id[key])), writer,
                           store, tmp / "scratch")
    else:
        joined = join_splice(state, order, {key: ((old, _version(old)), (new, _version(new)))
                                            for key, (old, new) in edits.items()},
                             writer, store, by_id.__getitem__)
    writer.close()
    if final.exists():
        shutil.rmtree(tmp / "old", ignore_errors=True)
        final.rename(tmp / "old")
    new.rename(final)
    store.save(joined)
    return final, joined


def _version(piece) -> str:
    return hashlib.blake2b(pickle.dumps(piece)).hexdigest()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in folder.rglob("*") if path.is_file()}


def _expected(pieces) -> dict[str, bytes]:
    return {path: _plain(path, data)
            for path, data in _data_files(merge_pieces(pieces).files).items()}


def _plain_tree(folder: Path) -> dict[str, bytes]:
    return {path: _plain(path, data) for path, data in _tree(folder).items()}


def test_a_full_join_in_word_buckets_is_merge_pieces(indexed, tmp_path, monkeypatch):
    before = indexed[0]
    monkeypatch.setattr(join_module, "PIECES_PER_BUCKET", 1)  # five buckets,
    monkeypatch.setattr(join_module, "FLUSH_WORDS", 50)  # each appended to several times
    final, state = _join(tmp_path, before)
    assert _plain_tree(final) == _expected(before)
    assert len(state.languages["en"].chunks) >= 3


def test_a_spliced_edit_is_the_bundle_of_the_edited_pieces(indexed, tmp_path, monkeypatch):
    before, after = indexed[:2]
    monkeypatch.setattr(join_module, "PIECES_PER_BUCKET", 2)
    final, state = _join(tmp_path, before)
    first = _tree(final)
    edits = {"2": (before[2], after[2])}
    final, state = _join(tmp_path, [*before[:2], after[2], *before[3:]], state, edits)
    assert _plain_tree(final) == _expected([*before[:2], after[2], *before[3:]])
    now = _tree(final)
    assert any(path.startswith("index/") and path not in first for path in now)
    inodes = {path: (final / path).stat().st_ino for path in now if path in first}
    edits = {"3": (before[3], after[3]), "2": (after[2], before[2])}  # two at once, one back
    final, state = _join(tmp_path, [*before[:3], after[3], before[4]], state, edits)
    assert _plain_tree(final) == _expected([*before[:3], after[3], before[4]])
    linked = [path for path, inode in inodes.items() if path.startswith("fragment/")
              and (final / path).exists() and (final / path).stat().st_ino == inode]
    assert len(linked) >= 100  # the pages of the pieces not edited


def test_pieces_that_gain_or_lose_pages_are_spliced_and_later_pages_renumbered(indexed,
                                                                                tmp_path):
    before, after, grown, shrunk = indexed
    final, state = _join(tmp_path, before)
    now = [before[0], grown, *before[2:]]
    final, state = _join(tmp_path, now, state, {"1": (before[1], grown)})
    assert _plain_tree(final) == _expected(now)
    assert tuple(state.languages["en"].pieces[1][1].pages) == tuple(
        (full, count) for full, count, _ in grown.languages["en"].pages)
    then = [before[0], before[1], after[2], shrunk, before[4]]  # one back, two others at once
    final, state = _join(tmp_path, then, state, {"1": (grown, before[1]),
                                                 "2": (before[2], after[2]),
                                                 "3": (before[3], shrunk)})
    assert _plain_tree(final) == _expected(then)


def test_a_splice_refuses_other_pieces(indexed, tmp_path):
    before = indexed[0]
    _, state = _join(tmp_path, before)
    with pytest.raises(Fallback, match="pieces changed"):
        join_splice(state, ["0", "1"], {}, BundleWriter(tmp_path / "x", tmp_path / "final",
                                                        state.files), JoinStore(tmp_path / "c"),
                    before.__getitem__)


def test_a_splice_refuses_an_index_the_bundle_was_not_joined_from(indexed, tmp_path):
    """A build that failed after re-indexing a piece leaves the cache ahead of the bundle:
    the next edit of that piece must not take the cached index for the bundle's."""
    before, after = indexed[:2]
    _, state = _join(tmp_path, before)
    with pytest.raises(Fallback, match="not joined from this index of piece 2"):
        _join(tmp_path, [*before[:2], after[2], *before[3:]], state,
              {"2": (after[2], after[2])})


def test_a_splice_refuses_a_bundle_the_state_does_not_describe(indexed, tmp_path):
    before, after = indexed[:2]
    final, state = _join(tmp_path, before)
    (final / "pagefind-entry.json").write_text('{"languages": {}}')
    with pytest.raises(Fallback, match="not the one"):
        _join(tmp_path, [*before[:2], after[2], *before[3:]], state,
              {"2": (before[2], after[2])})


def test_unchanged_chunks_are_linked_not_written(indexed, tmp_path):
    before = indexed[0]
    final, state = _join(tmp_path, before)
    inodes = {path: (final / path).stat().st_ino for path in _tree(final)
              if path.startswith("index/")}
    final, _ = _join(tmp_path, before, state, {})
    assert {path: (final / path).stat().st_ino for path in inodes} == inodes
    assert gzip.decompress((final / next(iter(inodes))).read_bytes())[:12] == b"pagefind_dcd"
