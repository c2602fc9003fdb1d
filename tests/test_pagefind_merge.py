"""Joining Pagefind bundles of consecutive pieces gives the bundle Pagefind writes for all."""

from __future__ import annotations

import gzip
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from sitegen.search import PagefindProcess, pagefind_executable
from sitegen.search.format import ENTRY, canonical_bundle
from sitegen.search.merge import (
    CHUNK_WEIGHT,
    Bundle,
    Piece,
    _name_fragments,
    _prefixes,
    merge_pieces,
    read_piece,
    runtime_files,
)

WORDS = ["harbor", "council", "budget", "ferry", "transit", "library", "science", "observatory",
         "election", "vote", "tariff", "market", "school", "teacher", "hospital", "river",
         "bridge", "storm", "flood", "mayor", "court", "résumé", "resumé", "café", "naïve",
         "zoë", "façade", "über", "coöperate", "jalapeño", "piñata"]
SECTIONS = ("World", "Science", "Business")


def _page(number: int, when: datetime, rng: random.Random) -> tuple[str, str]:
    """An article page as sitegen's theme marks it up: body, meta, filters and the date sort."""
    words = " ".join(rng.choice(WORDS) + ("" if rng.random() < 0.9 else str(rng.randint(0, 300)))
                     for _ in range(rng.randint(300, 700)))
    tags = "".join(f'<span data-pagefind-filter="tag">{rng.choice(WORDS).title()}</span>'
                   for _ in range(rng.randint(0, 3)))
    return (f"/{when:%Y/%m/%d}/story-{number}/",
            f'<html lang="en"><body><article data-pagefind-body>'
            f'<h1 data-pagefind-meta="title">Story {number} {rng.choice(WORDS)}</h1>'
            f'<p data-pagefind-filter="section">{SECTIONS[number % 3]}</p>{tags}'
            f'<time data-pagefind-meta="date" data-pagefind-sort="date:{when:%Y%m%dT%H%M%SZ}">'
            f'{when:%B %d, %Y}</time><p>{words}</p></article></body></html>')


@pytest.fixture(scope="module")
def indexed():
    """120 pages newest first, indexed whole and in four pieces of consecutive months."""
    rng = random.Random(7)
    start = datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    pages = [_page(n, start - timedelta(hours=61 * n), rng) for n in range(120)]
    executable = pagefind_executable()
    with PagefindProcess(executable) as service:
        _, whole = service.index(pages)
        cuts = [0, 17, 18, 70, 120]  # one piece of a single page
        pieces = [files for _, _, files in service.index_many(
            (str(i), pages[a:b]) for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)))]
    return canonical_bundle(whole), [canonical_bundle(files) for files in pieces]


def _data_files(files: dict[str, bytes | None]) -> dict[str, bytes | None]:
    return {path: data for path, data in files.items()
            if re.match(r"^(index|filter|fragment)/|^pagefind\..*\.pf_meta$", path)
            or path == ENTRY}


def _plain(path: str, data: bytes | None) -> bytes | None:
    return data if data is None or path == ENTRY else gzip.decompress(data)


@pytest.mark.compat  # fast path against stock: make test-compat
def test_joined_pieces_are_the_bundle_pagefind_writes_for_all_pages(indexed):
    whole, pieces = indexed
    joined = merge_pieces([read_piece(files) for files in pieces])
    expected = _data_files(whole)
    assert set(joined.files) == set(expected)
    for path, data in expected.items():
        assert _plain(path, joined.files[path]) == _plain(path, data), path
    chunks = [path for path in expected if path.startswith("index/")]
    assert len(chunks) >= 3  # the chunk cutting and the prefixes between chunks were exercised
    fragments = [path for path in expected if path.startswith("fragment/")]
    assert len(fragments) == 120 and all(joined.files[path] == whole[path] for path in fragments)


def test_the_test_pages_carry_diacritic_variants_and_several_filters(indexed):
    whole, _ = indexed
    plain = b"".join(gzip.decompress(data) for path, data in whole.items()
                     if path.startswith("index/"))
    assert "résumé".encode() in plain and "zoë".encode() in plain
    assert sum(1 for path in whole if path.startswith("filter/")) == 2  # section and tag


@pytest.mark.compat  # fast path against stock: make test-compat
def test_one_piece_joined_alone_is_unchanged(indexed):
    _, pieces = indexed
    joined = merge_pieces([read_piece(pieces[2])])
    for path, data in _data_files(pieces[2]).items():
        assert _plain(path, joined.files[path]) == _plain(path, data)


def test_unchanged_files_are_not_encoded_again(indexed):
    _, pieces = indexed
    read = [read_piece(files) for files in pieces]
    first = merge_pieces(read)
    again = merge_pieces(read, lambda path, digest: first.digests.get(path) == digest)
    assert again.digests == first.digests
    kept = {path for path, data in again.files.items() if data is None}
    assert kept == {path for path in first.files if path.startswith(("index/", "fragment/"))}
    read[3] = read_piece(pieces[2])  # a different last piece: its pages and words change
    changed = merge_pieces(read, lambda path, digest: first.digests.get(path) == digest)
    assert any(data is not None for path, data in changed.files.items()
               if path.startswith("index/"))


def test_runtime_files_are_the_script_worker_and_webassembly(indexed):
    _, pieces = indexed
    assert {"pagefind.js", "pagefind-worker.js", "wasm.en.pagefind"} <= set(
        runtime_files(pieces[0]))
    assert not any(path.startswith(("index/", "fragment/", "pagefind-ui"))
                   for path in runtime_files(pieces[0]))


def test_a_sort_key_other_than_the_date_is_refused(indexed):
    _, pieces = indexed
    piece = read_piece(pieces[0])
    language = piece.languages["en"]
    other = type(language)(**{**{f: getattr(language, f) for f in language.__slots__},
                              "sorts": {"title": (0,)}})
    with pytest.raises(ValueError, match="sort key.*title"):
        merge_pieces([Piece({"en": other}, piece.entry)])


def test_fragments_colliding_on_their_short_name_get_longer_names():
    bundle = Bundle({}, {})
    pages = [("en_abcdef1234", 3, b"a"), ("en_abcdef1299", 4, b"b"), ("en_abcdef1288", 5, b"c")]
    listed = _name_fragments("en", pages, bundle, lambda path, digest: False)
    assert listed == [["en_abcdef1", 3], ["en_abcdef12", 4], ["en_abcdef128", 5]]
    assert set(bundle.files) == {f"fragment/{name}.pf_fragment" for name, _ in listed}


def test_chunk_bounds_are_cut_past_the_common_prefix():
    assert _prefixes("apple", "apricot") == ("app", "apr")
    assert _prefixes("cath", "cathartic") == ("cath", "catha")
    assert _prefixes("c", "y") == ("c", "y")
    assert CHUNK_WEIGHT == 20_000


def test_an_unrecognised_word_index_is_a_value_error_naming_it(indexed):
    _, pieces = indexed
    files = dict(pieces[0])
    name = next(path for path in files if path.startswith("index/"))
    files[name] = gzip.compress(b"pagefind_dcd\xa1\x01\x02")  # a CBOR map
    with pytest.raises(ValueError, match=re.escape(name)):
        read_piece(files)
    del files[name]
    with pytest.raises(ValueError, match=re.escape(name)):
        read_piece(files)
