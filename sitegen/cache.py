"""The build state's database (state.BuildState owns it, with the rest of the cache folder):
parsed articles by content hash, what each page was rendered from (its fingerprint), the
sources' and copied files' signatures, so a rebuild renders only pages whose inputs changed.
Cards, outlines and page fingerprints are computed in fingerprint.py."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from .damage import DamagedRecord, report_damage
from .pagestates import StoredPageStates, save_page_states
from .parsedrecords import ParsedRecords
from .records import Article, PageState

SCHEMA = """
CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, record BLOB NOT NULL,
                                   body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
                                  out_hash TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (path TEXT PRIMARY KEY, signature TEXT NOT NULL,
                                    digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parsed_groups (grp INTEGER PRIMARY KEY, keys TEXT NOT NULL,
                                          records BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS parsed_folders (folder TEXT PRIMARY KEY, basis TEXT NOT NULL,
                                           sources TEXT NOT NULL, made TEXT NOT NULL,
                                           valid_until TEXT NOT NULL, keys TEXT NOT NULL,
                                           outcome BLOB NOT NULL);
"""
# Stamped into a database this sitegen made or checked (PRAGMA user_version): there a missing
# table is damage, while an older sitegen's database just lacks the tables added since.
SCHEMA_STAMP = int.from_bytes(hashlib.blake2b(SCHEMA.encode(), digest_size=3).digest()) + 1


T = TypeVar("T")
log = logging.getLogger("sitegen.cache")


def output_key(output_dir: Path) -> str:
    """Names the state kept for one output folder: what was written where is only true there."""
    return hashlib.blake2b(str(output_dir.resolve()).encode(), digest_size=6).hexdigest()


def database_path(cache_dir: Path, output_dir: Path) -> Path:
    """One database per output folder: what was written where is only true for that one."""
    return cache_dir / f"build-{output_key(output_dir)}.sqlite"


def is_damage(exc: BaseException) -> bool:
    """Whether an error reading the cache means its bytes are damaged: SQLite's "database disk
    image is malformed" and "file is not a database" are plain DatabaseErrors (also once
    pickled back from a worker process); a locked or unwritable database is not damage."""
    return type(exc) is sqlite3.DatabaseError or isinstance(exc, DamagedRecord)


def healing(run: Callable[[], T], cache_dir: Path, output_dir: Path) -> T:
    """run(); once more with a fresh database when it found the cache damaged on its way.
    Damage shows where a query reads it (a check of every page on every open would cost a
    read of the whole cache), possibly after the run has used other rows: only a run from
    the start is sure to use nothing of the damaged database."""
    try:
        return run()
    except (sqlite3.DatabaseError, DamagedRecord) as exc:
        if not is_damage(exc):
            raise
        path = database_path(cache_dir, output_dir)
        report_damage(path, str(exc))
        discard_database(path)
    return run()


def discard_database(path: Path) -> None:
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)


def cache_folder(cache_dir: Path) -> None:
    """The cache folder, made (a file in its place is damage: replaced)."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where the folder should be
        report_damage(cache_dir, "a file, not a folder")
        cache_dir.unlink()
        cache_dir.mkdir(parents=True)


@functools.cache
def _expected_schema() -> dict[str, tuple[str, str | None]]:
    """Each table and index SCHEMA makes: name -> (table, SQL), as sqlite_master lists them."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        return _schema(db)
    finally:
        db.close()


def _schema(db: sqlite3.Connection) -> dict[str, tuple[str, str | None]]:
    return {name: (table, sql) for name, table, sql in
            db.execute("SELECT name, tbl_name, sql FROM sqlite_master")}


def _schema_problem(db: sqlite3.Connection, repair: bool = True) -> str | None:
    """What is wrong with the database's tables, if anything; with `repair`, creates those an
    older sitegen (or none) made, and stamps the database as checked (without, a missing
    table is a problem). One read of the schema: cheap."""
    # the stamp first: a sitegen opening the database meanwhile stamps it after its tables
    stamp = db.execute("PRAGMA user_version").fetchone()[0]
    found, expected = _schema(db), _expected_schema()
    for name, (table, sql) in expected.items():
        if name in found and found[name] != (table, sql):
            return f"table {table} has another layout"
    missing = expected.keys() - found.keys()
    if missing and (stamp == SCHEMA_STAMP or not repair):
        return f"table {expected[min(missing)][0]} is missing"
    if missing:
        db.executescript(SCHEMA)
    if stamp != SCHEMA_STAMP:
        db.execute(f"PRAGMA user_version = {SCHEMA_STAMP}")
    return None


def empty_database() -> sqlite3.Connection:
    """A database with every table and no row (a read-only state that has none)."""
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    return db


class BuildCache(ParsedRecords):
    def __init__(self, cache_dir: Path, output_dir: Path, read_only: bool = False):
        """One database per output folder: what was written where is only true for that one.
        `read_only`: nothing in the folder is created or changed (an absent or unreadable
        database reads as an empty one)."""
        self.read_only = read_only
        if not read_only:
            cache_folder(cache_dir)
        self.path = database_path(cache_dir, output_dir)

    @functools.cached_property
    def db(self) -> sqlite3.Connection:
        """Opened on first use (a state opened for its other files needs none)."""
        return self._open_read_only() if self.read_only else self._open()

    def _open_read_only(self) -> sqlite3.Connection:
        """The database as it is on disk, `immutable` so that SQLite creates no -wal or -shm
        file beside it (a running build's last commits may be missed: only slower)."""
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1",
                                 uri=True)
            if _schema_problem(db, repair=False) is None:
                return db
            db.close()
        except sqlite3.Error:
            pass  # not there, or not a database of this layout: read as an empty one
        return empty_database()

    def _open(self) -> sqlite3.Connection:
        """The database, checked for damage that shows at once (not one of SQLite's files,
        tables missing or of another layout): a damaged one is discarded for a fresh one."""
        db = sqlite3.connect(self.path, timeout=30)
        try:
            problem = _schema_problem(db)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                db.close()
                raise
            problem = str(exc)
        if problem:
            db.close()
            report_damage(self.path, problem)
            discard_database(self.path)
            db = sqlite3.connect(self.path, timeout=30)
            _schema_problem(db)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    # pages (pagestates.py): read as asked for, never loaded whole
    def page_states(self) -> StoredPageStates:
        return StoredPageStates(lambda: self.db, self._open_reader)

    def save_pages(self, states: Mapping[str, PageState]) -> int:
        """Make the pages table hold `states`, writing only the rows that differ."""
        return save_page_states(self.db, states)

    def _open_reader(self) -> sqlite3.Connection:
        """Another connection that reads the database (in a forked process, another thread)."""
        if self.read_only:
            return self._open_read_only()
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)

    # source files: a stat signature saves reading and hashing a file that did not change
    def source_digests(self) -> dict[str, tuple[str, str]]:
        return {p: (sig, d) for p, sig, d in
                self.db.execute("SELECT path, signature, digest FROM sources")}

    def save_sources(self, rows: dict[str, tuple[str, str]],
                     known: dict[str, tuple[str, str]] | None = None) -> None:
        """Store `rows` as the sources table; `known`, what it holds now: then only the rows
        that differ are written (an edit changes one of 10,000)."""
        if known is None:
            self.db.execute("DELETE FROM sources")
            known = {}
        self.db.executemany("DELETE FROM sources WHERE path = ?",
                            ((p,) for p in known.keys() - rows.keys()))
        self.db.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?, ?)",
                            ((p, sig, d) for p, (sig, d) in rows.items()
                             if known.get(p) != (sig, d)))
        self.db.commit()

    # whole-build state (typed by state.BuildState, but for this flag the writer sets)
    def committing(self) -> bool:
        """Whether a build switched its site in and was stopped before recording it."""
        return self.get_meta("committing") == "1"

    def set_committing(self, committing: bool) -> None:
        self.set_meta("committing", "1" if committing else "0")

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        if self.read_only:
            raise PermissionError(f"{self.path}: the build state is open read-only")
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self.db.commit()

    def forget_meta(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        self.db.commit()

    # copied files
    def file_signatures(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, signature FROM files"))

    def save_files(self, signatures: dict[str, str]) -> None:
        self.db.execute("DELETE FROM files")
        self.db.executemany("INSERT INTO files VALUES (?, ?)", signatures.items())
        self.db.commit()


class ReadThroughCache(BuildCache):
    """A parse cache of its own that also reads another's parsed articles and bodies, never
    writing them (`check`: state.BuildState.read_through). What the other cannot give (lost,
    damaged, being rewritten) is parsed again."""

    def __init__(self, cache_dir: Path, output_dir: Path, other: BuildCache):
        super().__init__(cache_dir, output_dir)
        self.other = other

    def parsed_keys(self) -> set[str]:
        keys = super().parsed_keys()
        try:
            return keys | self.other.parsed_keys()
        except sqlite3.Error:
            return keys

    def get_parsed(self, keys: Iterable[str]) -> dict[str, tuple[Article, tuple]]:
        keys = list(keys)
        found = super().get_parsed(keys)
        with contextlib.suppress(sqlite3.Error, DamagedRecord):
            found.update(self.other.get_parsed([key for key in keys if key not in found]))
        return found

    def bodies(self, keys: list[str]) -> dict[str, str]:
        found = super().bodies(keys)
        with contextlib.suppress(sqlite3.Error):
            found.update(self.other.bodies([key for key in keys if key not in found]))
        return found
