"""The parsed articles the build database keeps (`ParsedRecords`, a part of
cache.BuildCache): their parse keys, how a record is packed, and its groups."""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .codeid import code_digest
from .damage import DamagedRecord, report_damage
from .records import Article

# The parsed records of the last build, also kept in PARSED_GROUPS pickles by key: loading
# 10,000 articles row by row cost 0.15 s (a pickle.loads each), from the groups 0.06 s; an
# edit rewrites the one or two groups whose keys changed.
PARSED_GROUPS = 64


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


def select_parsed(db: sqlite3.Connection, column: str, keys: list[str]) -> dict[str, Any]:
    """The `column` ("record" or "body") of the parse cache's rows with these keys, by key,
    900 keys a query (SQLite's limit on parameters is 999)."""
    out: dict[str, Any] = {}
    for chunk in iter_chunks(keys, 900):
        marks = ",".join("?" * len(chunk))
        out.update(db.execute(f"SELECT key, {column} FROM parsed WHERE key IN ({marks})", chunk))
    return out


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


class ParsedRecords:
    """The build database's parsed records (cache.BuildCache): each article's row (record
    and body) by parse key, the rows also kept in groups, and the parse stage's outcome by
    content folder (parsedfolders.py)."""

    db: sqlite3.Connection
    read_only: bool
    path: Path

    def get_parsed(self, keys: Iterable[str]) -> dict[str, tuple[Article, tuple]]:
        """The parsed records of these keys, which `parsed_keys` listed (so each has its row and
        body): from the groups, then row by row for the keys the groups lack. Another sitegen
        sharing the cache may have pruned rows knowing nothing of the groups: a group's record
        counts only because its key is listed."""
        wanted = list(keys)
        grouped: dict[str, tuple[Article, tuple]] = {}
        damaged = []  # their records are read row by row; the groups are written again later
        for grp, blob in self.db.execute("SELECT grp, records FROM parsed_groups"):
            members = _unpack_group(blob)
            if members is None:
                damaged.append((grp,))
            else:
                grouped.update(members)
        found = {key: grouped[key] for key in wanted if key in grouped}
        found.update(self.get_parsed_rows([key for key in wanted if key not in found]))
        if damaged and not self.read_only:
            self.db.executemany("DELETE FROM parsed_groups WHERE grp = ?", damaged)
            self.db.commit()
            report_damage(self.path, f"{len(damaged)} parsed groups do not unpickle")
        return found

    def get_parsed_rows(self, keys: Iterable[str]) -> dict[str, tuple[Article, tuple]]:
        """`get_parsed` row by row, none from the groups: for a few keys (an edited folder),
        where unpickling every group would read the whole archive. A record that does not
        unpickle is left out (parsed again: the caller treats it as a row gone since it listed
        the keys) and its row deleted."""
        found, lost = {}, []
        for key, blob in self.get_parsed_blobs(keys).items():
            try:
                found[key] = unpack_parsed(blob)
            except DamagedRecord:
                lost.append(key)
        if lost:
            self.forget_parsed(lost)
            report_damage(self.path, f"{len(lost)} parsed records do not unpickle")
        return found

    def parsed_keys(self) -> set[str]:
        """The keys of every parsed record the cache holds (each with its body)."""
        return {key for (key,) in self.db.execute("SELECT key FROM parsed")}

    def parsed_count(self) -> int:
        """How many parsed records the cache holds."""
        return self.db.execute("SELECT count(*) FROM parsed").fetchone()[0]

    def parsed_among(self, keys: Iterable[str]) -> set[str]:
        """Those of these keys whose parsed record the cache holds (`parsed_keys`, asked of a
        few)."""
        found: set[str] = set()
        for chunk in iter_chunks(list(keys), 900):
            marks = ",".join("?" * len(chunk))
            found.update(key for (key,) in self.db.execute(
                f"SELECT key FROM parsed WHERE key IN ({marks})", chunk))
        return found

    def forget_parsed(self, keys: Iterable[str]) -> None:
        """These parsed records gone. A group may still hold one: it counts only while its key
        is listed (`get_parsed`), and a key parsed again drops its group."""
        if not self.read_only:
            self.db.executemany("DELETE FROM parsed WHERE key = ?", ((key,) for key in keys))
            self.db.commit()

    def drop_parsed_groups(self, keys: Iterable[str]) -> None:
        """The groups of these keys gone, for they were parsed anew (a new version, an image
        that changed, a row that was lost) and a group would give an older record. The next
        build that reads every record (`get_parsed`) reads their rows one by one and writes
        the groups again (`keep_parsed_groups`)."""
        groups = {(parsed_group(key),) for key in keys}
        if groups and not self.read_only:
            self.db.executemany("DELETE FROM parsed_groups WHERE grp = ?", groups)
            self.db.commit()

    # the parse stage's outcome by content folder (parsedfolders.py)
    def parsed_folders(self, basis: str) -> dict[str, tuple[str, str, str]]:
        """folder -> (its sources' digest, made, valid until) of the folders kept on `basis`."""
        rows = self.db.execute(
            "SELECT folder, sources, made, valid_until FROM parsed_folders WHERE basis = ?",
            (basis,))
        return {folder: (sources, made, until) for folder, sources, made, until in rows}

    def folder_outcomes(self, folders: Iterable[str]) -> dict[str, bytes]:
        """The stored outcome of each of these folders, as kept."""
        return self._folder_column("outcome", folders)

    def folder_keys(self, folders: Iterable[str]) -> dict[str, list[str]]:
        """The parse keys of each of these folders' sources."""
        return {folder: keys.split() for folder, keys
                in self._folder_column("keys", folders).items()}

    def _folder_column(self, column: str, folders: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for chunk in iter_chunks(list(folders), 900):
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(
                f"SELECT folder, {column} FROM parsed_folders WHERE folder IN ({marks})", chunk))
        return out

    def keep_folders(self, basis: str, rows: Iterable[tuple[str, str, str, str, str, bytes]],
                     keep: set[str]) -> None:
        """(folder, sources' digest, made, valid until, parse keys, outcome) rows written; of
        the others, only the folders in `keep` kept on `basis` stay."""
        if self.read_only:
            return
        gone = [(folder,) for folder, kept_on in
                self.db.execute("SELECT folder, basis FROM parsed_folders")
                if kept_on != basis or folder not in keep]
        self.db.executemany("DELETE FROM parsed_folders WHERE folder = ?", gone)
        self.db.executemany("INSERT OR REPLACE INTO parsed_folders VALUES (?, ?, ?, ?, ?, ?, ?)",
                            ((folder, basis, *rest) for folder, *rest in rows))
        self.db.commit()

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
