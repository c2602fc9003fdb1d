"""Pagefind's bundle format: the one CBOR codec, file naming, and byte-identical bundles (the
same pages give the same files, names and bytes).

Pagefind 1.5.2 keeps filters in hash maps (hashbrown, seeded at random in every process) and
writes them in iteration order. In `build_indexes` (pagefind/src/index/mod.rs, at the comment
"TODO: Change filter indexes to BTree to give them a stable hash.") each filter of
`filter_map: HashMap<String, HashMap<String, Vec<usize>>>` becomes one `filter/*.pf_filter` file
whose values are listed in hash-map order, and the filters are listed in that order in the
language's `pagefind.*.pf_meta`. The sort orders of the metadata come from another hash map
(`for (sort_key, sort_type) in sort_types`), and `pagefind-entry.json` lists the languages from a
third (`languages: HashMap<..>` in pagefind/src/output/entry.rs). Every data file is named after
a hash of its content, so the changing order also renames the filter files and the metadata and
changes `pagefind-entry.json`: two indexings of the same pages never give the same bundle.

`canonical_bundle` rewrites just those files. The filter values are sorted by value (with their
page numbers ascending, the order Pagefind collects them in), the metadata lists its filters and
its sorts by name, the entry lists its languages by code; the files are renamed the way Pagefind
names them (the SHA-1 of the CBOR without the signature, written by `full_hash` in
pagefind/src/utils.rs as unpadded hex bytes, `<language>_` and 7 characters, 8 + the length of
the language code for the metadata) and gzipped with fixed settings. The word index, the
fragments and the runtime are already deterministic (sorted words, pages in page order, JSON from
BTreeMaps) and are left as they are. The browser does not check a name against its content:
`pagefind.js` fetches `pagefind.<hash>.pf_meta` for the hash in the entry, then
`filter/<hash>.pf_filter`, `index/<hash>.pf_index` and `fragment/<hash>.pf_fragment` for the
hashes in the metadata, and the WebAssembly only decodes the bytes it is given (and keeps filter
values in maps, so their order never mattered).

Data files are gzip (`pagefind_dcd` signature, then CBOR as minicbor writes it: definite-length
arrays, text strings, shortest-form integers); this module carries a codec for that subset only.
A file of any other shape raises ValueError naming it, rather than being guessed at.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

ENTRY = "pagefind-entry.json"
SIGNATURE = b"pagefind_dcd"
# gzip header as flate2 writes it: no name, mtime 0, XFL 2 (best compression), OS 255 (unknown)
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"

# Shapes of the decoded CBOR: str / int (unsigned), [item] a list of items, (a, b) a fixed array.
FILTER_SHAPE = (str, [(str, [int])])  # name, [(value, [page number])]
META_SHAPE = (
    str,  # generator version
    [(str, int)],  # pages: fragment hash, word count
    [(str, str, str)],  # word index chunks: from, to, hash
    [(str, str)],  # filters: name, hash
    [(str, [int])],  # sorts: key, page numbers in order
    [str],  # meta fields
)
_META_FILE = re.compile(r"^pagefind\..+\.pf_meta$")
_FILTER_FILE = re.compile(r"^filter/.+\.pf_filter$")


def canonical_bundle(files: dict[str, bytes]) -> dict[str, bytes]:
    """The bundle (relative path -> bytes, as Pagefind's GetFiles returns it) with its filter
    files, metadata and entry in a canonical order and renamed by content; every other file as
    it was. Raises ValueError (naming the file) for a file this does not recognise."""
    entry = _read_entry(files)
    replaced: list[str] = []
    written: dict[str, bytes] = {}
    languages = {}
    for language in sorted(entry["languages"]):
        info = dict(entry["languages"][language])
        meta_path = f"pagefind.{info['hash']}.pf_meta"
        info["hash"], new_files, old_paths = _canonical_language(files, language, meta_path)
        written.update(new_files)
        replaced += old_paths
        languages[language] = info
    _check_replaced(files, replaced)
    gone = set(replaced)
    out = {path: data for path, data in files.items() if path not in gone}
    out.update(written)
    out[ENTRY] = json.dumps({**entry, "languages": languages}, ensure_ascii=False,
                            separators=(",", ":")).encode("utf-8")
    return dict(sorted(out.items()))


def _canonical_language(files: dict[str, bytes], language: str,
                        meta_path: str) -> tuple[str, dict[str, bytes], list[str]]:
    """One language's metadata and filter files in canonical form: the new metadata hash,
    the new files (path -> bytes) and the paths they replace."""
    meta = meta_file(files, meta_path)
    old_paths = [meta_path]
    values: dict[str, dict[str, list[int]]] = {}
    for name, old_hash in meta[3]:
        old_paths.append(f"filter/{old_hash}.pf_filter")
        filter_name, pairs = load(files, old_paths[-1], FILTER_SHAPE)
        if filter_name != name:
            raise ValueError(f"{old_paths[-1]}: holds filter {filter_name!r}, "
                             f"the metadata says {name!r}")
        values[name] = dict(pairs)
    filters = canonical_filter_files(language, values)
    new_files = {f"filter/{file_hash}.pf_filter": data for _, file_hash, data in filters}
    data = encode_cbor([*meta[:3], [[name, file_hash] for name, file_hash, _ in filters],
                        sorted(meta[4]), meta[5]])
    meta_hash = f"{language}_{pagefind_hash(data)[:len(language) + 8]}"
    new_files[f"pagefind.{meta_hash}.pf_meta"] = pack(data)
    return meta_hash, new_files, old_paths


def meta_file(files: dict[str, bytes], path: str) -> list[Any]:
    """A language's decoded `pagefind.*.pf_meta`: [version, pages, index chunks, filters,
    sorts, meta fields]."""
    meta = load(files, path, META_SHAPE)
    if len({name for name, _ in meta[3]}) != len(meta[3]) \
            or len({key for key, _ in meta[4]}) != len(meta[4]):
        raise ValueError(f"{path}: a filter or a sort is listed twice")
    return meta


def canonical_filter_files(language: str, filters: dict[str, dict[str, list[int]]]
                           ) -> list[tuple[str, str, bytes]]:
    """(filter name, file hash, file bytes) of each filter, by name: its values sorted, each
    with its pages ascending."""
    taken: set[str] = set()
    out = []
    for name in sorted(filters):
        data = encode_cbor([name, sorted([value, sorted(pages)]
                                         for value, pages in filters[name].items())])
        out.append((name, _short_hash(language, data, taken), pack(data)))
    return out


def _short_hash(language: str, data: bytes, taken: set[str]) -> str:
    """`<language>_` + 7 hex characters of the content hash, longer on a collision."""
    return f"{language}_{shortest_free_prefix(pagefind_hash(data), taken, 7, 2)}"


def shortest_free_prefix(name: str, taken: set[str], length: int, step: int) -> str:
    """The shortest prefix of `name`, from `length` characters on and `step` more at a time,
    that `taken` does not hold yet; added to `taken`. How Pagefind names its files after their
    hash: filters and word-index chunks 7 hex characters + 2 at a time, fragments
    `<language>_` + 7 + 1 at a time."""
    while name[:length] in taken:
        if length >= len(name):
            raise ValueError(f"two files of the same content ({name})")
        length += step
    prefix = name[:length]
    taken.add(prefix)
    return prefix


def _read_entry(files: dict[str, bytes]) -> dict[str, Any]:
    try:
        entry = json.loads(files[ENTRY])
    except KeyError:
        raise ValueError(f"{ENTRY}: missing from the Pagefind bundle") from None
    except ValueError as exc:
        raise ValueError(f"{ENTRY}: not JSON ({exc})") from None
    languages = entry.get("languages") if isinstance(entry, dict) else None
    if not isinstance(languages, dict) or not all(
            isinstance(info, dict) and isinstance(info.get("hash"), str)
            for info in languages.values()):
        raise ValueError(f"{ENTRY}: unrecognised layout (no languages with a hash)")
    return entry


def _check_replaced(files: dict[str, bytes], replaced: list[str]) -> None:
    """Every metadata and filter file must be reachable from the entry, once: one left behind
    would keep its random name."""
    if len(set(replaced)) != len(replaced):
        raise ValueError("a filter file is listed by two metadata files")
    for path in sorted(set(files) - set(replaced)):
        if _META_FILE.match(path) or _FILTER_FILE.match(path):
            raise ValueError(f"{path}: not referenced by {ENTRY} or any metadata")


# ---------------------------------------------------------------- file encoding


def pagefind_hash(data: bytes) -> str:
    """Pagefind's `full_hash`: SHA-1, each byte as hex without zero padding (`{:x?}`)."""
    return "".join(format(byte, "x") for byte in hashlib.sha1(data).digest())


# The metadata and filter files: level 9 (Pagefind's) took 0.83 s for the 1.9 MB metadata of
# 100,000 pages, written again by every edit (~8 s at a million); level 6 takes 0.11 s for a
# file 0.5% bigger.
DATA_COMPRESSION = 6


# Word-index chunks are most of a bundle's bytes, and an edit of one article changes many of
# them (its words sit in most chunks, and an edit near its top moves every word's position):
# 172 MB of chunks, 227 of 611, at 100,000 articles. Intel's ISA-L deflate (the `isal`
# package) compresses them 4.7x faster than zlib's level 1, to files 3.5% smaller (0.60 s
# against 2.83 s for those 227); without its wheel zlib's level 1 writes the same format.
# (zlib's level 1 had been 2.3x faster than level 5 and ~15x faster than Pagefind's 9, to
# files 12% and 16% bigger.)
CHUNK_COMPRESSION = 1
try:
    from isal import isal_zlib as _chunk_zlib
except ImportError:  # pragma: no cover - a platform without isal's wheel
    _chunk_zlib = zlib


def pack_chunk(data: bytes) -> bytes:
    """A word-index chunk, gzipped by the fastest deflate installed (the same bytes every
    time on one install; any deflate stream is read alike)."""
    return pack(data, CHUNK_COMPRESSION, _chunk_zlib)


def pack(data: bytes, level: int = DATA_COMPRESSION, deflater: Any = zlib) -> bytes:
    """A data file: the signature and `data`, gzipped the same way every time."""
    payload = SIGNATURE + data
    deflate = deflater.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(payload) + deflate.flush()
    return _GZIP_HEADER + body + struct.pack("<II", zlib.crc32(payload), len(payload) & 0xFFFFFFFF)


def payload(raw: bytes, name: str) -> bytes:
    """What a data file holds after its gzip and its signature."""
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{name}: not gzip data ({exc})") from None
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{name}: no Pagefind signature ({SIGNATURE.decode()})")
    return data[len(SIGNATURE):]


def unpack(raw: bytes, name: str) -> Any:
    """The decoded CBOR of a data file (gzip, signature, CBOR)."""
    data = payload(raw, name)
    try:
        return decode_cbor(data)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def load(files: dict[str, bytes], name: str, shape: Any) -> Any:
    """The decoded data file `name` of the bundle, checked against `shape`."""
    if name not in files:
        raise ValueError(f"{name}: referenced but missing from the Pagefind bundle")
    value = unpack(files[name], name)
    if not _fits(value, shape):
        raise ValueError(f"{name}: unrecognised Pagefind data layout")
    return value


def _fits(value: Any, shape: Any) -> bool:
    if shape is str:
        return isinstance(value, str)
    if shape is int:
        return isinstance(value, int) and value >= 0
    if not isinstance(value, list):
        return False
    if isinstance(shape, list):
        return all(_fits(item, shape[0]) for item in value)
    return len(value) == len(shape) and all(map(_fits, value, shape))


# ---------------------------------------------------------------- CBOR (the subset minicbor writes)


def decode_cbor(data: bytes) -> Any:
    """Integers, text strings and definite-length arrays; anything else is a ValueError."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError(f"{len(data) - end} bytes after the CBOR value")
    return value


def _decode(data: bytes, pos: int) -> tuple[Any, int]:
    if pos >= len(data):
        raise ValueError("truncated CBOR")
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        arg = info
    elif info <= 27:
        size = 1 << (info - 24)
        if pos + size > len(data):
            raise ValueError("truncated CBOR")
        arg, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
    else:
        raise ValueError(f"unsupported CBOR item 0x{data[pos - 1]:02x} at byte {pos - 1}")
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major == 3:
        if pos + arg > len(data):
            raise ValueError("truncated CBOR")
        return data[pos:pos + arg].decode("utf-8"), pos + arg
    if major == 4:
        items = []
        for _ in range(arg):
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos
    raise ValueError(f"unsupported CBOR major type {major} at byte {pos - 1}")


def encode_cbor(value: Any) -> bytes:
    """Canonical CBOR of ints, strs and lists, as minicbor encodes them (by cbor2, in C,
    where it is installed: a bundle's metadata lists every page)."""
    try:
        import cbor2
    except ImportError:
        out = bytearray()
        _encode(value, out)
        return bytes(out)
    return cbor2.dumps(value)


def _encode(value: Any, out: bytearray) -> None:
    if isinstance(value, bool) or not isinstance(value, int | str | list):
        raise TypeError(f"cannot encode {type(value).__name__} as Pagefind CBOR")
    if isinstance(value, int):
        cbor_head(0, value, out) if value >= 0 else cbor_head(1, -1 - value, out)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        cbor_head(3, len(data), out)
        out += data
    else:
        cbor_head(4, len(value), out)
        for item in value:
            _encode(item, out)


def head_size(arg: int) -> int:
    """The bytes of a CBOR head whose argument is `arg` (shortest form)."""
    for size, limit in ((1, 24), (2, 1 << 8), (3, 1 << 16), (5, 1 << 32)):
        if arg < limit:
            return size
    return 9


def array_head(data: bytes, pos: int, name: str) -> tuple[int, int]:
    """(length, position after the head) of the CBOR array whose head is at `pos`."""
    if pos >= len(data) or data[pos] >> 5 != 4:
        raise ValueError(f"{name}: expected a CBOR array at byte {pos}")
    info = data[pos] & 0x1F
    if info < 24:
        return info, pos + 1
    if info > 27:
        raise ValueError(f"{name}: unsupported CBOR array at byte {pos}")
    size = 1 << (info - 24)
    return int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size


def fast_records(data: bytes, pos: int, count: int) -> Iterator[tuple[int, Any, int]]:
    """(start, value, end) of `count` CBOR values one after another from `pos`, decoded in C
    (cbor2): a word index holds millions of postings. Raises ValueError on bad data. Only a
    build that indexes needs cbor2."""
    import cbor2

    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream)
    stream.seek(pos)
    for _ in range(count):
        start = stream.tell()
        try:
            value = decoder.decode()
        except cbor2.CBORDecodeError as exc:
            raise ValueError(str(exc)) from None
        yield start, value, stream.tell()


def fast_size(value: Any) -> int:
    """The length of `value`'s CBOR encoding (C encoder, see `fast_decoder`)."""
    import cbor2

    return len(cbor2.dumps(value))


def fast_encode(value: Any) -> bytes:
    import cbor2

    return cbor2.dumps(value)


def fast_decode(data: bytes) -> Any:
    """One CBOR value, decoded in C (see `fast_records`)."""
    import cbor2

    try:
        return cbor2.loads(data)
    except cbor2.CBORDecodeError as exc:
        raise ValueError(str(exc)) from None


def cbor_head(major: int, arg: int, out: bytearray) -> None:
    if arg < 24:
        out.append(major << 5 | arg)
        return
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            out.append(major << 5 | info)
            out += arg.to_bytes(size, "big")
            return
    raise ValueError(f"integer {arg} too large for CBOR")
