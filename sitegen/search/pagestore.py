"""What the search stage knows of each article page it indexed, kept in SQLite beside the
piece cache rather than rebuilt in memory each build: the page's piece and place in it, its
article's UTC instant (`plan.instant`), the token saying its file is as it was and the digest
of its trimmed bytes; and a digest of each piece's list of pages.

An edit reads and writes the rows of the pages it rewrote; a build that cannot trust the output
to be as the last search build left it (one with --no-search came between) checks the pages a
piece at a time. Writes go into one transaction, committed with a new version that the search
state (a small JSON file, `store.save_state`) names: a build killed between the two leaves a
version that state does not name, and the next build indexes everything again.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..damage import report_damage

DATABASE = "pages.sqlite"
LAYOUT = "1"  # of the tables: another is dropped and everything indexed again
SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, piece TEXT NOT NULL,
    pos INTEGER NOT NULL, instant INTEGER, token TEXT NOT NULL, digest TEXT NOT NULL)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pages_piece ON pages (piece, pos);
CREATE TABLE IF NOT EXISTS pieces (id TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
BATCH = 500  # URLs per `IN (...)` query (SQLite's default limit is 32,766 parameters)

# An article page's [token, digest of the trimmed page]. The token says the file is as it was:
# "h:" and the build's hash of its bytes (`page_hashes`), else "s:" and its size and mtime.
Signature = list[Any]
Row = tuple[str, int, int | None, str, str]  # piece, position, instant, token, digest


def urls_digest(urls: Sequence[str]) -> str:
    """Names a piece's list of pages: a piece whose list changed is indexed again."""
    return hashlib.blake2b("\n".join(urls).encode("utf-8"), digest_size=12).hexdigest()


class PageStore:
    """The pages table of one output folder's search state (see the module's doc)."""

    def __init__(self, folder: Path):
        self.path = folder / DATABASE
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            if self._db.in_transaction:
                self._db.rollback()
            self._db.close()
            self._db = None

    def version(self) -> str | None:
        """The version the last committed build wrote, None when there is none (or the file
        cannot be read: the search state then starts again)."""
        if not self.path.is_file():
            return None
        try:
            found = dict(self._open().execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            report_damage(self.path, str(exc))
            self.clear()
            return None
        return found.get("version") if found.get("layout") == LAYOUT else None

    def clear(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()

    # ------------------------------------------------------------ reading
    def rows(self, urls: Iterable[str]) -> dict[str, Row]:
        """The stored row of each of `urls` the table holds."""
        wanted = list(urls)
        found: dict[str, Row] = {}
        db = self._open()
        for start in range(0, len(wanted), BATCH):
            part = wanted[start:start + BATCH]
            found.update((url, (piece, pos, instant, token, digest))
                         for url, piece, pos, instant, token, digest in db.execute(
                             "SELECT url, piece, pos, instant, token, digest FROM pages "
                             f"WHERE url IN ({','.join('?' * len(part))})", part))
        return found

    def piece_urls(self, piece: str) -> tuple[str, ...]:
        return tuple(url for (url,) in self._open().execute(
            "SELECT url FROM pages WHERE piece = ? ORDER BY pos", (piece,)))

    def signatures(self, piece: str) -> dict[str, Signature]:
        """The piece's pages as stored under its id, in order."""
        return {url: [token, digest] for url, token, digest in self._open().execute(
            "SELECT url, token, digest FROM pages WHERE piece = ? ORDER BY pos", (piece,))}

    def piece_digests(self) -> dict[str, str]:
        return dict(self._open().execute("SELECT id, digest FROM pieces"))

    # ------------------------------------------------------------ writing
    def begin(self) -> None:
        """Start the build's transaction; everything written until `commit` is one change."""
        db = self._open()
        if not db.in_transaction:
            db.execute("BEGIN")

    def put_pages(self, piece: str, urls: Sequence[str], instants: Sequence[int | None],
                  signatures: dict[str, Signature]) -> None:
        """The piece's pages as planned now (and its list's digest)."""
        db = self._open()
        db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                       ((url, piece, pos, instant, *signatures[url])
                        for pos, (url, instant) in enumerate(zip(
                            urls, instants or [None] * len(urls), strict=True))))
        db.execute("INSERT OR REPLACE INTO pieces VALUES (?, ?)", (piece, urls_digest(urls)))

    def update_signatures(self, signatures: Iterable[tuple[str, Signature]]) -> None:
        self._open().executemany("UPDATE pages SET token = ?, digest = ? WHERE url = ?",
                                 ((token, digest, url) for url, (token, digest) in signatures))

    def drop_stray_pages(self, piece: str, urls: Sequence[str]) -> None:
        """Forget the rows filed under `piece` that its pages are no more."""
        keep = set(urls)
        gone = [url for url in self.piece_urls(piece) if url not in keep]
        self._open().executemany("DELETE FROM pages WHERE url = ? AND piece = ?",
                                 ((url, piece) for url in gone))

    def drop_pieces(self, pieces: Iterable[str]) -> None:
        db = self._open()
        for piece in pieces:
            db.execute("DELETE FROM pages WHERE piece = ?", (piece,))
            db.execute("DELETE FROM pieces WHERE id = ?", (piece,))

    def wipe(self) -> None:
        """Empty the tables (in the transaction): everything is about to be written again."""
        db = self._open()
        db.execute("DELETE FROM pages")
        db.execute("DELETE FROM pieces")

    def commit(self) -> str:
        """Commit the build's changes under a new version, which is returned."""
        version = uuid.uuid4().hex
        db = self._open()
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                       (("version", version), ("layout", LAYOUT)))
        db.execute("COMMIT")
        return version

    def rollback(self) -> None:
        if self._db is not None and self._db.in_transaction:
            self._db.rollback()
