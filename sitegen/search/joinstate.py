"""The join's state (`JoinState`: what the bundle folder holds, as the last join wrote it)
and its store in the piece cache folder (`JoinStore`), with each chunk's word table; and the
summary of a piece's language a join keeps (search/join.py)."""

from __future__ import annotations

import contextlib
import os
import pickle
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

from ..writer import write_atomic
from .merge import Language

LAYOUT = 6  # of the state and the word tables: bump when either changes
STATE = "joined.state"  # in the piece cache folder: the JoinState of the bundle written
WORDS = "joined.words"  # in the piece cache folder: each chunk's word table



class PageList:
    """A piece's pages as (full fragment hash, word count) pairs, kept as one string and one
    array: the join's state holds every page of the site, loaded and saved on every join."""

    __slots__ = ("_counts", "_fulls")

    def __init__(self, fulls: str, counts: array[int]):
        self._fulls, self._counts = fulls, counts

    @classmethod
    def of(cls, pages: Iterable[tuple[str, int]]) -> PageList:
        listed = list(pages)
        return cls("\n".join(full for full, _ in listed), array("q", [n for _, n in listed]))

    def __iter__(self) -> Iterator[tuple[str, int]]:
        if not self._counts:
            return iter(())
        return zip(self._fulls.split("\n"), self._counts, strict=True)

    def __len__(self) -> int:
        return len(self._counts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PageList) and (self._fulls, self._counts) == (
            other._fulls, other._counts)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return PageList, (self._fulls, self._counts)


class Summary(NamedTuple):
    """One language of one piece without its words: what a join needs of it beyond them. A
    tuple, as `merge.Word`: the join's state holds one a piece, and a slots dataclass
    unpickles ~10x slower. Filters and sorts stay pickled until a join asks for them (the
    filters only when an edit changed some, the sorts only when pages moved)."""

    version: str
    wasm: str | None
    pages: PageList  # (full fragment hash, word count) of each page
    extras: bytes  # the pickled (filters, sorts)
    meta_fields: tuple[str, ...]

    @property
    def filters(self) -> dict[str, dict[str, tuple[int, ...]]]:
        return pickle.loads(self.extras)[0]

    @property
    def sorts(self) -> dict[str, tuple[int, ...]]:
        return pickle.loads(self.extras)[1]


class Chunk(NamedTuple):
    first: str  # its first and last word, whole
    last: str
    digest: str  # of its CBOR; names it and its word table


@dataclass(frozen=True)
class LanguageState:
    pieces: tuple[tuple[str, Summary], ...]  # the pieces holding the language, in page order
    chunks: tuple[Chunk, ...]
    meta_hash: str
    filters: tuple[tuple[str, str, bytes], ...]  # (filter, file hash, file) of each filter
    # the metadata's sorts (all pieces'), None when not known
    sorts: tuple[tuple[str, array[int]], ...] | None = None


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
        keep = {table_name(code, chunk.digest) for code, language in state.languages.items()
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
        path = self.words / table_name(code, digest)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)

    def load_table(self, code: str, digest: str) -> tuple[Any, ...]:
        try:
            table = pickle.loads((self.words / table_name(code, digest)).read_bytes())
        except Exception as exc:
            raise Fallback(f"word table of chunk {digest}: {exc!r}") from None
        if not (isinstance(table, tuple) and len(table) == 5):
            raise Fallback(f"word table of chunk {digest}: unrecognised")
        return table


def table_name(code: str, digest: str) -> str:
    return f"{code}_{digest}"


def summary_of(language: Language) -> Summary:
    return Summary(language.version, language.wasm,
                   PageList.of((full, count) for full, count, _ in language.pages),
                   pickle.dumps((language.filters, language.sorts),
                                protocol=pickle.HIGHEST_PROTOCOL), language.meta_fields)


def page_offsets(summaries: Sequence[Summary]) -> list[int]:
    """The first page number of each piece, and the number of pages."""
    return list(accumulate((len(s.pages) for s in summaries), initial=0))
