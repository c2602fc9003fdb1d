"""The build state's database (state.BuildState owns it, with the rest of the cache folder):
parsed articles by content hash, what each page was rendered from (its fingerprint), the
sources' and copied files' signatures, so a rebuild renders only pages whose inputs changed.
Cards, outlines and page fingerprints are computed in fingerprint.py."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .codeid import code_digest
from .pagestates import StoredPageStates, save_page_states
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
"""
# Stamped into a database this sitegen made or checked (PRAGMA user_version): there a missing
# table is damage, while an older sitegen's database just lacks the tables added since.
SCHEMA_STAMP = int.from_bytes(hashlib.blake2b(SCHEMA.encode(), digest_size=3).digest()) + 1
# The parsed records of the last build, also kept in PARSED_GROUPS pickles by key: loading
# 10,000 articles row by row cost 0.15 s (a pickle.loads each), from the groups 0.06 s; an
# edit rewrites the one or two groups whose keys changed.
PARSED_GROUPS = 64


T = TypeVar("T")
log = logging.getLogger("sitegen.cache")


def report_damage(what: Path | str, detail: str) -> None:
    """The one warning for a damaged part of the cache folder, which is discarded: the build
    goes on without it (only slower)."""
    log.warning("warning: discarded a damaged part of the build cache: %s (%s)", what, detail)


class DamagedRecord(pickle.UnpicklingError):
    """A parsed record in the cache that does not unpickle to one (an UnpicklingError, so
    that readers of another build's cache, such as `check`, skip it as before)."""


def parse_key(rel_path: str, digest: str, config_digest: str,
              bundle_files: tuple[str, ...]) -> str:
    """Parsed articles depend on their bytes, their path, the output-affecting config and,
    for a page bundle, its listing (the record carries it: the files its page publishes).
    The state's own format is not in it: a folder of another (state.FORMAT_VERSION) is
    discarded whole."""
    bundle = "\0".join(bundle_files)
    raw = f"{code_digest()}|{config_digest}|{rel_path}|{digest}|{bundle}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def parsed_group(key: str) -> int:
    """The group of a parse key (a hex digest: the groups fill evenly)."""
    return int(key[:4], 16) % PARSED_GROUPS


def pack_parsed(article: Article, warnings: tuple) -> bytes:
    """A parsed article as the parse cache stores it and a parse worker sends it: pickled
    once, for both."""
    return pickle.dumps((article, warnings), protocol=5)


def unpack_parsed(blob: bytes) -> tuple[Article, tuple]:
    """A `pack_parsed` record; DamagedRecord when the bytes are not one."""
    try:
        parsed = pickle.loads(blob)
    except Exception as exc:  # damaged bytes can fail in any way the unpickler can
        raise DamagedRecord(f"a parsed record does not unpickle: {exc!r}") from exc
    if not _is_parsed(parsed):
        raise DamagedRecord(f"a parsed record holds a {type(parsed).__name__}")
    return parsed


def _is_parsed(value: Any) -> bool:
    return type(value) is tuple and len(value) == 2 and type(value[0]) is Article \
        and type(value[1]) is tuple


def _unpack_group(blob: bytes) -> dict[str, tuple[Article, tuple]] | None:
    """A group of parsed records by key (`keep_parsed_groups`); None when damaged."""
    try:
        members = pickle.loads(blob)
    except Exception:  # damaged bytes can fail in any way the unpickler can
        return None
    # Its first record stands for the rest (checking each cost 2 ms for 10,000 articles):
    # bytes damaged by chance do not unpickle at all; a pickle of another shape is another
    # program's whole group.
    if type(members) is not dict or members and not _is_parsed(next(iter(members.values()))):
        return None
    return members


def output_key(output_dir: Path) -> str:
    """Names the state kept for one output folder: what was written where is only true there."""
    return hashlib.blake2b(str(output_dir.resolve()).encode(), digest_size=6).hexdigest()


def select_parsed(db: sqlite3.Connection, column: str, keys: list[str]) -> dict[str, Any]:
    """The `column` ("record" or "body") of the parse cache's rows with these keys, by key,
    900 keys a query (SQLite's limit on parameters is 999)."""
    out: dict[str, Any] = {}
    for chunk in iter_chunks(keys, 900):
        marks = ",".join("?" * len(chunk))
        out.update(db.execute(f"SELECT key, {column} FROM parsed WHERE key IN ({marks})", chunk))
    return out


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


class BuildCache:
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

    # parsed articles
    def get_parsed(self, keys: Iterable[str]) -> dict[str, tuple[Article, tuple]]:
        """The parsed records of these keys, which `parsed_keys` listed (so each has its row and
        body): from the groups, then row by row for the keys the groups lack. Another sitegen
        sharing the cache may have pruned rows knowing nothing of the groups: a group's record
        counts only because its key is listed."""
        wanted = list(keys)
        grouped: dict[str, tuple[Article, tuple]] = {}
        damaged = []  # read row by row below, written again after the parse
        for grp, blob in self.db.execute("SELECT grp, records FROM parsed_groups"):
            members = _unpack_group(blob)
            if members is None:
                damaged.append((grp,))
            else:
                grouped.update(members)
        found = {key: grouped[key] for key in wanted if key in grouped}
        rest = [key for key in wanted if key not in found]
        lost = []  # parsed again: the caller treats them as rows gone since it listed them
        for key, blob in self.get_parsed_blobs(rest).items() if rest else ():
            try:
                found[key] = unpack_parsed(blob)
            except DamagedRecord:
                lost.append((key,))
        if (damaged or lost) and not self.read_only:
            self.db.executemany("DELETE FROM parsed_groups WHERE grp = ?", damaged)
            self.db.executemany("DELETE FROM parsed WHERE key = ?", lost)
            self.db.commit()
            report_damage(self.path, f"{len(damaged)} parsed groups and {len(lost)} parsed "
                                     "records do not unpickle")
        return found

    def parsed_keys(self) -> set[str]:
        """The keys of every parsed record the cache holds (each with its body)."""
        return {key for (key,) in self.db.execute("SELECT key FROM parsed")}

    def keep_parsed_groups(self, parsed: dict[str, tuple[Article, tuple]]) -> int:
        """Make the groups hold exactly `parsed` (by key), rewriting only the groups whose
        records changed; returns how many were written."""
        groups: dict[int, dict[str, tuple[Article, tuple]]] = {}
        for key in sorted(parsed):
            groups.setdefault(parsed_group(key), {})[key] = parsed[key]
        known = dict(self.db.execute("SELECT grp, keys FROM parsed_groups"))
        stale = [(grp,) for grp in known if grp not in groups]
        rows = []
        for grp, members in groups.items():
            keys = _group_digest(members)
            if known.get(grp) != keys:
                rows.append((grp, keys, pickle.dumps(members, protocol=5)))
        self.db.executemany("DELETE FROM parsed_groups WHERE grp = ?", stale)
        self.db.executemany("INSERT OR REPLACE INTO parsed_groups VALUES (?, ?, ?)", rows)
        self.db.commit()
        return len(rows)

    def get_parsed_blobs(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The parsed records as stored (`pack_parsed`), for passing on without unpickling."""
        return select_parsed(self.db, "record", list(keys))

    def put_parsed(self, rows: Iterable[tuple[str, bytes, str]]) -> None:
        """(key, `pack_parsed` record, body HTML) rows."""
        self.db.executemany(
            "INSERT OR REPLACE INTO parsed (key, record, body) VALUES (?, ?, ?)", rows)
        self.db.commit()

    def forget_parsed_except(self, keep: set[str]) -> None:
        stale = [k for (k,) in self.db.execute("SELECT key FROM parsed") if k not in keep]
        self.db.executemany("DELETE FROM parsed WHERE key = ?", ((k,) for k in stale))
        self.db.commit()

    def body(self, key: str) -> str:
        return self.bodies([key]).get(key, "")

    def bodies(self, keys: list[str]) -> dict[str, str]:
        """Body HTML by parse key, one query per 900 keys (a render worker's chunk at once)."""
        return select_parsed(self.db, "body", keys)

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


def _group_digest(members: dict[str, tuple[Article, tuple]]) -> str:
    """Which records a group holds: each key with its article's card and digest. An article
    is parsed again under the same key when one of its images changed (images.stale_keys):
    its new record must replace the group's."""
    line = "\0".join(f"{key}:{article.card}:{article.digest}"
                     for key, (article, _warnings) in members.items())
    return hashlib.blake2b(line.encode(), digest_size=16).hexdigest()


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start: start + size]


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
