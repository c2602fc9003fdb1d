"""Canonical Pagefind bundles: the same pages indexed twice give byte-identical files."""

from __future__ import annotations

import gzip
import json
import re
import threading
from typing import Any

import pytest
from browser import conftest as browser_fixtures
from conftest import article, build_site

from sitegen import search
from sitegen.search import PagefindProcess, pagefind_executable
from sitegen.search.format import (
    ENTRY,
    META_SHAPE,
    canonical_bundle,
    decode_cbor,
    encode_cbor,
    load,
    pack,
    pack_chunk,
    pagefind_hash,
    unpack,
)

serve_folder = browser_fixtures.serve_folder  # a fixture, for the one browser test here

SECTIONS = ["World", "Science", "Business"]
TAGS = ["Harbor", "Transit", "Schools", "Space", "Zoo"]
AUTHORS = ["Ana Ruiz", "Ben Cole", "Cy Dorn", "Dee Fox"]
RUNS = 4  # indexings of the same pages: hash-map order differs between almost any two


def _page(n: int, lang: str = "en") -> tuple[str, str]:
    """An article page as sitegen trims it for Pagefind (see layouts/article.html)."""
    tags = "".join(f'<a rel="tag" data-pagefind-filter="tag">{TAGS[(n + k) % 5]}</a>'
                   for k in (0, 2))
    authors = "".join(f'<a rel="author" data-pagefind-filter="author">{AUTHORS[(n + k) % 4]}</a>'
                      for k in range(1 + n % 2))
    return (f"/2024/0{1 + n % 9}/1{n}/item-{n}/",
            f'<html lang="{lang}"><body><article class="story" data-pagefind-body>'
            f'<p class="kicker" data-pagefind-ignore><a data-pagefind-filter="section">'
            f'{SECTIONS[n % 3]}</a></p><h1 data-pagefind-meta="title">Council item {n}</h1>'
            f'<p class="byline" data-pagefind-ignore>By {authors}</p>'
            f'<span hidden data-pagefind-ignore data-pagefind-filter="year">{2022 + n % 3}</span>'
            f'<span hidden data-pagefind-ignore data-pagefind-sort="date:2024{n:02d}01T000000Z">'
            f'x</span><div class="story-body"><p>The council met again. Item {n} café.</p></div>'
            f'<p class="tags">Tags: {tags}</p></article></body></html>')


PAGES = [_page(n) for n in range(9)] + [_page(9, "fr"), _page(10, "fr"), _page(11, "de")]


@pytest.fixture(scope="module")
def bundles() -> list[dict[str, bytes]]:
    """The bundles of RUNS indexings of PAGES."""
    out = []
    for _ in range(RUNS):
        with PagefindProcess(pagefind_executable()) as service:
            count, files = service.index(iter(PAGES))
        assert count == len(PAGES)
        out.append(files)
    return out


def _languages(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files[ENTRY])["languages"]


def _meta(files: dict[str, bytes], language: str) -> list[Any]:
    return load(files, f"pagefind.{_languages(files)[language]['hash']}.pf_meta", META_SHAPE)


def _content(files: dict[str, bytes]) -> dict[str, Any]:
    """What a bundle says, whatever its order: per language, filter -> value -> pages,
    sort -> pages, and the rest of the metadata."""
    out = {}
    for language in _languages(files):
        meta = _meta(files, language)
        filters = {}
        for name, hash_ in meta[3]:
            filter_name, values = unpack(files[f"filter/{hash_}.pf_filter"], hash_)
            assert filter_name == name
            filters[name] = {value: pages for value, pages in values}
        out[language] = {"filters": filters, "sorts": dict(meta[4]),
                         "rest": [meta[0], meta[1], meta[2], meta[5]]}
    return out


def _data_files(files: dict[str, bytes]) -> set[str]:
    return {path for path in files
            if path.endswith((".pf_meta", ".pf_filter", ".pf_index", ".pf_fragment"))}


def _fragments(files: dict[str, bytes]) -> set[str]:
    return {path for path in files if path.endswith(".pf_fragment")}


def _payload(raw: bytes) -> bytes:
    """The bytes after the signature of a gzipped data file."""
    return gzip.decompress(raw)[len(b"pagefind_dcd"):]


# ---------------------------------------------------------------- determinism


@pytest.mark.compat  # fast path against stock: make test-compat
def test_the_same_pages_give_the_same_canonical_bundle(bundles):
    first = canonical_bundle(bundles[0])
    for files in bundles[1:]:
        assert canonical_bundle(files) == first
    assert canonical_bundle(first) == first  # already canonical: unchanged
    assert list(_languages(first)) == ["de", "en", "fr"]
    assert len(_meta(first, "en")[3]) == 4  # section, tag, author, year


def test_only_the_filters_the_metadata_and_the_entry_are_rewritten(bundles):
    raw = bundles[0]
    canonical = canonical_bundle(raw)
    changed = {path for path in set(raw) | set(canonical) if raw.get(path) != canonical.get(path)}
    assert ENTRY in changed
    assert all(re.fullmatch(r"filter/.+\.pf_filter|pagefind\..+\.pf_meta", path)
               for path in changed - {ENTRY})
    assert any(path.startswith("index/") for path in canonical)  # kept, byte for byte


# ---------------------------------------------------------------- the format


@pytest.mark.compat  # fast path against stock: make test-compat
def test_decoding_and_encoding_gives_back_every_data_file(bundles):
    for files in bundles:
        for path in _data_files(files) - _fragments(files):  # fragments are JSON
            cbor = _payload(files[path])
            assert encode_cbor(decode_cbor(cbor)) == cbor, path  # as minicbor wrote it
            assert unpack(pack(cbor), path) == decode_cbor(cbor)
        entry = files[ENTRY]  # serde_json's compact JSON, as json.dumps writes it
        assert json.dumps(json.loads(entry), ensure_ascii=False,
                          separators=(",", ":")).encode() == entry


@pytest.mark.compat  # fast path against stock: make test-compat
def test_the_canonical_bundle_says_the_same_as_the_original(bundles):
    for files in bundles:
        canonical = canonical_bundle(files)
        assert _content(canonical) == _content(files)
        for language, info in _languages(files).items():
            assert {**_languages(canonical)[language], "hash": info["hash"]} == info
        values = _content(canonical)["en"]["filters"]["tag"]
        assert list(values) == sorted(values) and values["Harbor"] == [0, 3, 5, 8]


def test_files_are_named_by_their_content_as_pagefind_names_them(bundles):
    for files in (bundles[0], canonical_bundle(bundles[0])):  # Pagefind's names check the hash
        for path in _data_files(files):
            language, name = re.fullmatch(r"(?:\w+/|pagefind\.)(\w+?)_(\w+)\.pf_\w+",
                                          path).groups()
            assert pagefind_hash(_payload(files[path])).startswith(name), path
            assert len(name) == (len(language) + 8 if path.endswith(".pf_meta") else 7)


# ---------------------------------------------------------------- references


def test_every_reference_names_a_file_and_no_data_file_is_orphaned(bundles):
    canonical = canonical_bundle(bundles[1])
    referenced = set()
    for language, info in _languages(canonical).items():
        referenced.add(f"pagefind.{info['hash']}.pf_meta")
        meta = _meta(canonical, language)
        referenced |= {f"fragment/{h}.pf_fragment" for h, _ in meta[1]}
        referenced |= {f"index/{h}.pf_index" for _, _, h in meta[2]}
        referenced |= {f"filter/{h}.pf_filter" for _, h in meta[3]}
        assert f"wasm.{info['wasm']}.pagefind" in canonical
    assert referenced == _data_files(canonical)
    assert "pagefind.js" in canonical and "wasm.unknown.pagefind" in canonical


# ---------------------------------------------------------------- unknown shapes


def _break(files: dict[str, bytes], kind: str) -> str:
    """Damage `files` in place; the name of the file the error must name."""
    meta = f"pagefind.{_languages(files)['en']['hash']}.pf_meta"
    name, hash_ = _meta(files, "en")[3][0]
    filter_ = f"filter/{hash_}.pf_filter"
    path, data = {
        "not gzip": (filter_, b"not gzip at all"),
        "no signature": (meta, gzip.compress(encode_cbor(["1.5.2"]), mtime=0)),
        "a CBOR map": (filter_, pack(b"\xa1aa\x01")),
        "a seventh metadata field": (meta, pack(encode_cbor([*_meta(files, "en"), []]))),
        "a page number that is text": (filter_, pack(encode_cbor([name, [["World", ["0"]]]]))),
        "an orphan filter file": ("filter/en_0000000.pf_filter", files[filter_]),
        "a missing filter file": (filter_, None),
    }[kind]
    if data is None:
        del files[path]
    else:
        files[path] = data
    return path


@pytest.mark.parametrize("kind", ["not gzip", "no signature", "a CBOR map",
                                  "a seventh metadata field", "a page number that is text",
                                  "an orphan filter file", "a missing filter file"])
def test_an_unrecognised_file_is_a_value_error_naming_it(bundles, kind):
    files = dict(bundles[0])
    name = _break(files, kind)
    with pytest.raises(ValueError, match=re.escape(name)):
        canonical_bundle(files)


def test_word_chunks_are_gzipped_by_isa_l_and_read_back_as_any_data_file():
    """ISA-L's deflate (4.7x zlib's level 1 on word chunks, measured): the same gzip format,
    the same bytes every time."""
    import zlib

    isal_zlib = pytest.importorskip("isal.isal_zlib")
    data = encode_cbor(["word", [[i, [i * 3, i * 5]] for i in range(5000)]])
    packed = pack_chunk(data)
    assert unpack(packed, "chunk") == decode_cbor(data) and gzip.decompress(packed).endswith(data)
    assert pack_chunk(data) == packed
    by_isal = pack(data, 1, isal_zlib)
    assert packed == by_isal != pack(data, 1, zlib)


def test_a_bundle_without_an_entry_is_a_value_error():
    with pytest.raises(ValueError, match=re.escape(ENTRY)):
        canonical_bundle({"pagefind.js": b""})


# ---------------------------------------------------------------- in the browser


@pytest.mark.browser
def test_a_filtered_search_finds_the_right_pages_in_a_canonical_bundle(make_site, monkeypatch,
                                                                       serve_folder):
    """The build joins canonical bundles of pieces (sitegen.search.merge): ~2 pages a piece
    here, so the filter and word indexes the browser reads are joined ones."""
    if browser_fixtures.browser_missing():
        pytest.skip(browser_fixtures.browser_missing())
    monkeypatch.setattr(search.plan_pieces, "__defaults__", (2,))
    site = make_site({f"content/c{n}.md": article(
        f"Council item {n}", f"2024-0{n + 1}-02", "The council met again.",
        section=SECTIONS[n % 3], tags=[TAGS[n % 5]], authors=[AUTHORS[n % 4]])
        for n in range(7)})
    build_site(site, search=True)
    seen: dict[str, Any] = {"errors": []}
    # Its own thread: the browser tests' session-long Playwright owns this thread's event loop.
    thread = threading.Thread(target=_search_in_chromium, args=(
        serve_folder(site / "output") + "search/?q=council&section=World", seen))
    thread.start()
    thread.join()
    assert seen.get("status", "").startswith("3 results for “council” in section World"), seen
    assert set(seen["titles"]) >= {"Council item 0", "Council item 3", "Council item 6"}
    assert not seen["errors"]


def _search_in_chromium(url: str, seen: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(browser_fixtures.CHROMIUM),
                                                 args=browser_fixtures.CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("pageerror", lambda error: seen["errors"].append(str(error)))
            page.goto(url)
            status = page.locator("#search-status")
            expect(status).to_have_text(re.compile("results? for"), timeout=15_000)
            seen["status"] = status.inner_text()
            seen["titles"] = page.locator("#search-results > li a").all_inner_texts()
            browser.close()
    except Exception as exc:  # reported by the test's asserts
        seen["errors"].append(repr(exc))
