"""The last build's page states (output path -> records.PageState) read from the build
state's database as they are asked for, never loaded whole: at a million articles they are
~1.8 million rows, which a build that finds nothing changed never needs in memory.

`StoredPageStates` is a read-only Mapping over the `pages` table. A forked process (a
Background, a render worker) reads through a connection of its own: a SQLite connection
must not cross a fork. Pickled (Dask's workers), it travels as a plain dict.
`save_page_states` makes the table hold a build's states, writing only the rows that differ.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import (
    Callable,
    Collection,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from typing import Any

from .records import PageState

ROWS_A_FETCH = 4096  # rows read a fetchmany: streams without holding the table


class StoredPageStates(Mapping[str, PageState]):
    """The `pages` table as a Mapping. It reads the table as it is (its length and whether it
    has any row, as first seen): the build saves its own states only as its last step
    (writer.remember_pages), after its last use of these.

    `home` is the connection of the process and thread that made this mapping; `connect`
    opens another where that one must not be used (another process or thread)."""

    def __init__(self, home: Callable[[], sqlite3.Connection],
                 connect: Callable[[], sqlite3.Connection], table: str = "pages"):
        self.table = table
        self._home = home
        self._connect = connect
        self._where = (os.getpid(), threading.get_ident())
        self._others: dict[tuple[int, int], sqlite3.Connection] = {}
        self._count: int | None = None  # the table as first seen: the build saves its
        self._any: bool | None = None  # states after its last use of these

    def _db(self) -> sqlite3.Connection:
        where = (os.getpid(), threading.get_ident())
        if where == self._where:
            return self._home()
        db = self._others.get(where)
        if db is None:
            db = self._others[where] = self._connect()
        return db

    def _rows(self, sql: str, args: tuple = ()) -> Iterator[tuple]:
        cursor = self._db().execute(sql, args)
        try:
            while rows := cursor.fetchmany(ROWS_A_FETCH):
                yield from rows
        finally:  # also when abandoned part way (a build stopped), maybe after its database
            with contextlib.suppress(sqlite3.ProgrammingError):
                cursor.close()

    def __getitem__(self, rel: str) -> PageState:
        state = self.get(rel)
        if state is None:
            raise KeyError(rel)
        return state

    def get(self, rel: str, default: Any = None) -> Any:
        if not self:  # a first build asks for every page: no query each
            return default
        row = self._db().execute(f"SELECT fingerprint, out_hash FROM {self.table} WHERE url = ?",
                                 (rel,)).fetchone()
        return PageState(*row) if row else default

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and self.get(rel) is not None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self._db().execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]
        return self._count

    def __bool__(self) -> bool:
        if self._any is None:
            row = self._db().execute(f"SELECT 1 FROM {self.table} LIMIT 1").fetchone()
            self._any = row is not None
        return self._any

    def __iter__(self) -> Iterator[str]:
        return (url for (url,) in self._rows(f"SELECT url FROM {self.table} ORDER BY url"))

    def keys(self) -> KeysView[str]:
        return _Keys(self)

    def items(self) -> ItemsView[str, PageState]:
        return _Items(self)

    def values(self) -> ValuesView[PageState]:
        return _Values(self)

    def sizes(self, first: str = "", last: str | None = None) -> Iterator[tuple[str, int]]:
        """(output path, size recorded in its output hash) of the rows from `first` up to,
        not including, `last` (None: to the end), in path order."""
        # the size is what follows the hash's last ':' (writer.content_hash): its first here
        sql, args = ("SELECT url, CASE WHEN instr(out_hash, ':') THEN CAST(substr(out_hash, "
                     f"instr(out_hash, ':') + 1) AS INTEGER) ELSE -1 END FROM {self.table} "
                     "WHERE url >= ?"), (first,)
        if last is not None:
            sql, args = sql + " AND url < ?", (first, last)
        return self._rows(sql + " ORDER BY url", args)

    def split_points(self, parts: int) -> list[str]:
        """Output paths that cut the rows into `parts` runs of about the same length."""
        total = len(self)
        if parts < 2 or total < parts * 1000:
            return []
        return [row[0] for n in range(1, parts) for row in self._db().execute(
            f"SELECT url FROM {self.table} ORDER BY url LIMIT 1 OFFSET ?", (total * n // parts,))]

    def __reduce__(self) -> tuple:
        return dict, (list(self.items()),)

    def beside(self, table: str) -> StoredPageStates:
        """A mapping of the same kind over another table of the same database."""
        return StoredPageStates(self._home, self._connect, table)

    def staged(self) -> Iterator[tuple[str, str]]:
        """(output path, output hash) of the pages of a `NEW_TABLE` waiting in the staging
        folder, in path order."""
        return self._rows(f"SELECT url, out_hash FROM {self.table} WHERE staged ORDER BY url")

    def staged_count(self) -> int:
        sql = f"SELECT count(*) FROM {self.table} WHERE staged"
        return self._db().execute(sql).fetchone()[0]

    def close_others(self) -> None:
        """Close the connections opened for other threads of this process."""
        for where in [w for w in self._others if w[0] == os.getpid()]:
            self._others.pop(where).close()


class _Keys(KeysView[str]):
    _mapping: StoredPageStates

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping)


class _Items(ItemsView[str, PageState]):
    _mapping: StoredPageStates

    def __iter__(self) -> Iterator[tuple[str, PageState]]:
        return ((url, PageState(fp, out)) for url, fp, out in self._mapping._rows(
            f"SELECT url, fingerprint, out_hash FROM {self._mapping.table} ORDER BY url"))


class _Values(ValuesView[PageState]):
    _mapping: StoredPageStates

    def __iter__(self) -> Iterator[PageState]:
        return (state for _url, state in self._mapping.items())


class Overlay(Mapping[str, PageState]):
    """`base` without the paths in `hidden`, plus `added`: a view, so that none is copied
    whole (`base` may be every page of the site, read from SQLite as asked for)."""

    def __init__(self, base: Mapping[str, PageState], hidden: Collection[str],
                 added: Mapping[str, PageState]):
        self.base, self.hidden, self.added = base, hidden, added

    def get(self, rel: str, default: Any = None) -> Any:
        if rel in self.added:
            return self.added[rel]
        return default if rel in self.hidden else self.base.get(rel, default)

    def __getitem__(self, rel: str) -> PageState:
        state = self.get(rel)
        if state is None:
            raise KeyError(rel)
        return state

    def __contains__(self, rel: object) -> bool:
        return rel in self.added or (rel not in self.hidden and rel in self.base)

    def __iter__(self) -> Iterator[str]:
        yield from (rel for rel in self.base if rel not in self.hidden)
        yield from self.added

    def __len__(self) -> int:
        return len(self.base) - sum(rel in self.base for rel in self.hidden) + len(self.added)

    def items(self) -> ItemsView[str, PageState]:
        return _OverlayItems(self)


class _OverlayItems(ItemsView[str, PageState]):
    _mapping: Overlay

    def __iter__(self) -> Iterator[tuple[str, PageState]]:
        view = self._mapping
        yield from ((rel, state) for rel, state in view.base.items() if rel not in view.hidden)
        yield from view.added.items()


class WithExtra(Overlay):
    """The rendered pages' states with the extra files' (`extra_files`), which take the
    place of a page of the same path."""

    def __init__(self, pages: Mapping[str, PageState], extra: dict[str, PageState]):
        super().__init__(pages, extra, extra)


# The states of the pages a build planned (rendered, or found unchanged), written as its
# batches render: the build holds none of them. Only the `pages` table is the last build's
# states: a build saves this one's into it as its last step (save_page_states), and the next
# build's render stage empties this one first, so a build killed on the way changes nothing.
NEW_TABLE = "new_pages"


def start_new_states(db: sqlite3.Connection) -> None:
    """An empty `NEW_TABLE`."""
    with db:
        db.execute(f"CREATE TABLE IF NOT EXISTS {NEW_TABLE} (url TEXT PRIMARY KEY, "
                   "fingerprint TEXT NOT NULL, out_hash TEXT NOT NULL, staged INTEGER NOT NULL)")
        db.execute(f"DELETE FROM {NEW_TABLE}")


def add_new_states(db: sqlite3.Connection, rows: Iterable[tuple[str, str, str, bool]]) -> None:
    """(output path, fingerprint, output hash, staged: waiting in the staging folder) rows
    into `NEW_TABLE`, one transaction."""
    with db:
        db.executemany(f"INSERT OR REPLACE INTO {NEW_TABLE} VALUES (?, ?, ?, ?)", rows)


class KeptStates(Overlay):
    """The last build's states of the pages an edit build keeps without planning them again:
    every state of `previous` but those of `left_out` (a set as small as the edit)."""

    def __init__(self, previous: Mapping[str, PageState], left_out: frozenset[str]):
        super().__init__(previous, left_out, {})


class NewStates(Mapping[str, PageState]):
    """A build's page states: those of the pages it planned (`planned`, over `NEW_TABLE`)
    and those it kept without planning them (`kept`: none planned, or a KeptStates of
    `previous`, the last build's)."""

    def __init__(self, planned: StoredPageStates, kept: Mapping[str, PageState],
                 previous: Mapping[str, PageState]):
        self.planned, self.kept, self.previous = planned, kept, previous

    def get(self, rel: str, default: Any = None) -> Any:
        state = self.planned.get(rel)
        return state if state is not None else self.kept.get(rel, default)

    def __getitem__(self, rel: str) -> PageState:
        state = self.get(rel)
        if state is None:
            raise KeyError(rel)
        return state

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and self.get(rel) is not None

    def __iter__(self) -> Iterator[str]:
        yield from self.planned
        yield from (rel for rel, _state in self._kept_items())

    def __len__(self) -> int:
        if self._disjoint():
            return len(self.planned) + len(self.kept)
        return len(self.planned) + sum(1 for _ in self._kept_items())

    def _disjoint(self) -> bool:
        """Whether no path is both planned and kept: none is kept, or replan left out of
        `kept` every page it planned again (then no kept page needs a query)."""
        return not self.kept or isinstance(self.kept, KeptStates)

    def _kept_items(self) -> Iterator[tuple[str, PageState]]:
        if self._disjoint():
            return iter(self.kept.items())
        return ((rel, state) for rel, state in self.kept.items() if rel not in self.planned)

    def items(self) -> ItemsView[str, PageState]:
        return _NewItems(self)

    def dropped(self) -> list[str]:
        """The last build's paths that are not among these states, in path order."""
        kept, previous = self.kept, self.previous
        if isinstance(kept, KeptStates):
            return sorted(rel for rel in kept.hidden
                          if rel in previous and rel not in self.planned)
        if not kept and isinstance(previous, StoredPageStates) and previous:
            return [rel for (rel,) in previous._rows(
                f"SELECT url FROM {previous.table} WHERE url NOT IN "
                f"(SELECT url FROM {self.planned.table}) ORDER BY url")]
        return sorted(rel for rel in previous if rel not in self)


class _NewItems(ItemsView[str, PageState]):
    _mapping: NewStates

    def __iter__(self) -> Iterator[tuple[str, PageState]]:
        yield from self._mapping.planned.items()
        yield from self._mapping._kept_items()


def save_page_states(db: sqlite3.Connection, states: Mapping[str, PageState]) -> int:
    """Make the `pages` table hold exactly `states`, writing only the rows that differ (an
    edit changes a few of a million); one transaction. Returns how many rows changed.

    One pass over the stored rows finds those changed or gone; only when `states` has paths
    the table lacks are they inserted (INSERT OR IGNORE: the others are left as they are).
    `states` may read this table itself (`WithExtra` over the stored states): every row it
    yields from the table is there already. A build's `NewStates` (with the extra files')
    are saved in SQL from `NEW_TABLE`, which is emptied then."""
    if isinstance(states, WithExtra) and isinstance(states.base, NewStates):
        return _save_new(db, states.base, states.added)
    changed: list[tuple[str, str, str]] = []
    gone: list[tuple[str]] = []
    matched = 0
    for url, fingerprint, out_hash in db.execute(
            "SELECT url, fingerprint, out_hash FROM pages"):
        state = states.get(url)
        if state is None:
            gone.append((url,))
            continue
        matched += 1
        if state != (fingerprint, out_hash):
            changed.append((url, *state))
    count = len(gone) + len(changed)
    with db:
        db.executemany("DELETE FROM pages WHERE url = ?", gone)
        db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", changed)
        if matched < len(states):
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO pages VALUES (?, ?, ?)",
                           ((url, *state) for url, state in states.items()))
            count += db.total_changes - before
    return count


def _save_new(db: sqlite3.Connection, states: NewStates, extra: Mapping[str, PageState]) -> int:
    """save_page_states of a build's `NewStates` and extra files: the rows of its table that
    differ, the last build's rows it dropped, the extra files' that changed."""
    previous, table = states.previous, states.planned.table
    gone = [(rel,) for rel in states.dropped() if rel not in extra]
    extras = [(rel, *state) for rel, state in extra.items() if previous.get(rel) != state]
    with db:
        before = db.total_changes
        db.executemany("DELETE FROM pages WHERE url = ?", gone)
        db.execute(f"INSERT OR REPLACE INTO pages SELECT n.url, n.fingerprint, n.out_hash "
                   f"FROM {table} AS n LEFT JOIN pages AS p ON p.url = n.url WHERE p.url IS "
                   "NULL OR p.fingerprint != n.fingerprint OR p.out_hash != n.out_hash")
        db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", extras)
        count = db.total_changes - before
        db.execute(f"DELETE FROM {table}")
    return count


class OutputHashes(Mapping[str, str]):
    """The output hash recorded for each path of `states`, read from them as asked for (the
    writer's comparison of files, the search stage's `page_hashes`): an edit asks for a few
    paths, not the whole site's."""

    def __init__(self, states: Mapping[str, PageState]):
        self._states = states

    def get(self, rel: str, default: Any = None) -> Any:
        state = self._states.get(rel)
        return default if state is None else state.output_hash

    def __getitem__(self, rel: str) -> str:
        return self._states[rel].output_hash

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)
