"""The build state: everything sitegen keeps between builds, in the cache folder (`cache_dir`,
`.sitegen-cache/` by default), owned by `BuildState`.

What it holds (`StateFiles` names each file, all but Jinja's; `<out>` stands for the output
folder, since what was written where is only true for that one):

- `build-<out>.sqlite` (cache.BuildCache): parsed articles and their bodies, each page's
  fingerprint and output hash, the sources' and copied files' signatures, and typed entries
  of its `meta` table: the last build's inputs and report, template digests, related ranks,
  the site's shape;
- `skeleton-<out>.pickle`: which pages show which articles, and `shape-keys-<out>.bin`, the
  key of each article when the skeleton's shape was last built (shape.py);
- `data-years-<out>.json`: each /data/ year file's size and checksum (dataexport.py);
- `search-index-<out>.json` and `search-index-<out>.pieces/`: what the search stage indexed
  and each piece's index (search/store.py, search/join.py);
- `images/`: derived photos by key, and `images/uses.sqlite`, which images each parsed
  article uses (images.py); `history-edits.txt`: which git edits changed an article's text
  (history.py); `templates-*/`: Jinja's compiled templates (render.py and
  shortcodes/engine.py name those folders: Jinja keys them by template source, so they
  only ever need discarding);
- `format`: FORMAT_VERSION, the one version of all of it. A build that finds another (or
  none, beside an older sitegen's files) discards the state, says so once and rebuilds
  everything; `check` (read-only) reads such a state as empty.

Every file is replaced whole (`replace_file`) or written in a SQLite transaction: a
killed build leaves the state of the last build or of this one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import re
import shutil
import sqlite3
import sys
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from .cache import (
    BuildCache,
    ReadThroughCache,
    cache_folder,
    empty_database,
)
from .config import Config
from .damage import report_damage
from .errors import SitegenError
from .records import BuildReport, LastBuild
from .statefiles import KNOWN, StateFiles

FORMAT_VERSION = 14  # bump when anything kept in the cache folder changes shape
_HASH = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")  # a git blob id
log = logging.getLogger("sitegen.state")


class BuildState(BuildCache):
    """The cache folder of one output folder (or, without one, what all share). Its database
    (BuildCache's methods) is opened on first use; parse and render workers open their own
    connection to it (workers.py) once the build has opened the state."""

    def __init__(self, where: Config | Path, output_dir: Path | None = None,
                 read_only: bool = False):
        self.files = StateFiles.of(where, output_dir)
        self.read_only = read_only
        if not read_only and self.files.output_dir is None:  # else BuildCache makes it
            cache_folder(self.files.folder)
        # a read-only state of another format reads as empty: nothing of it is trusted
        self.current = not read_only or self._stamp() == _stamp()
        if self.files.output_dir is not None:
            super().__init__(self.files.folder, self.files.output_dir, read_only)

    @classmethod
    @contextmanager
    def open(cls, where: Config | Path, output_dir: Path | None = None,
             read_only: bool = False) -> Iterator[BuildState]:
        """The state, closed on leaving. A writable state of another format is discarded
        first (once, here: the build opens it before any stage or worker)."""
        state = cls(where, output_dir, read_only)
        if not read_only:
            state.settle_format()
        try:
            yield state
        finally:
            state.close()

    def _stamp(self) -> bytes | None:
        try:
            return self.files.format.read_bytes()
        except OSError:
            return None

    def settle_format(self) -> None:
        """Discard a state of another format (an older sitegen's has no stamp), saying so
        once; the stamp is written last, so that a discard cut short is done again."""
        if self._stamp() == _stamp():
            return
        old = sorted({path for pattern in KNOWN for path in self.files.folder.glob(pattern)})
        if "db" in self.__dict__:  # opened before: closed before its file goes
            self.__dict__.pop("db").close()
        if old:
            log.warning("note: the build state in %s is from another version of sitegen: "
                        "rebuilding everything", self.files.folder)
        for path in old:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        replace_file(self.files.format, _stamp())

    def _open_read_only(self) -> sqlite3.Connection:
        if self.current:
            return super()._open_read_only()
        return empty_database()

    def close(self) -> None:
        """Closed with every commit in the database file itself (workers may keep their
        connections, and so the write-ahead log, open): a read-only state reads that file
        alone, as it is."""
        if not self.read_only and "db" in self.__dict__:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        super().close()

    def freeze_for_readers(self) -> str:
        """Every commit moved into the database file itself (the write-ahead log emptied),
        for readers that open that file alone, read-only and immutable: Dask's render
        workers, on any machine of a shared filesystem. Returns the file's signature, which
        they check: it holds while nothing writes to the database."""
        self._writable()
        busy, _frames, _moved = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise SitegenError(f"{self.path}: another process is using the build state; "
                               "stop it and run the build again")
        return self.database_signature()

    def database_signature(self) -> str:
        """The database file's size and modification time ("" when there is none)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return ""
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"{self.files.folder}: the build state is open read-only")

    def read_through(self, work: Config) -> ReadThroughCache:
        """A parse cache in `work.cache_dir` (a temporary folder) that also reads this state's
        parsed articles: `check` parses only what the last build did not."""
        return ReadThroughCache(work.cache_dir, work.output_dir, self)

    # ------------------------------------------------------------ the last build
    def last_build(self) -> LastBuild | None:
        inputs = self.get_meta("inputs")
        if not inputs:
            return None
        until = self.get_meta("valid_until")
        try:
            counts = json.loads(self.get_meta("report") or "{}")
        except ValueError:
            counts = {}
        return LastBuild(inputs, datetime.fromisoformat(until) if until else None,
                         counts.get("articles", 0), tuple(counts.get("warnings", ())),
                         tuple(counts.get("unused", ())), counts.get("redirects", 0))

    def remember_build(self, inputs: str, valid_until: datetime | None,
                       report: BuildReport) -> None:
        self._writable()
        self.set_meta("inputs", inputs)
        self.set_meta("valid_until", valid_until.isoformat() if valid_until else "")
        self.set_meta("report", json.dumps({"articles": report.articles,
                                            "warnings": list(report.warnings),
                                            "unused": list(report.unused),
                                            "redirects": report.redirects}))

    # ------------------------------------------------------------ plan: templates, related, shape
    def _keyed(self, name: str, key: str) -> str | None:
        """A meta entry kept as '<key>\\n<value>': its value while `key` is the same."""
        value = self.get_meta(name)
        return value[len(key) + 1:] if value and value.startswith(key + "\n") else None

    def template_digests(self, key: str) -> dict[str, str] | None:
        """render.template_digests as kept while the layouts' signatures were `key`."""
        value = self._keyed("template_digests", key)
        return json.loads(value) if value is not None else None

    def keep_template_digests(self, key: str, digests: dict[str, str]) -> None:
        self._writable()
        self.set_meta("template_digests", key + "\n" + json.dumps(digests))

    def get_related(self, key: str) -> array | None:
        """The related ranks (indexes.RelatedMap.ranks) kept under indexes.related_key."""
        value = self._keyed("related", key)
        if value is None:
            return None
        ranks = array("i")
        ranks.frombytes(bytes.fromhex(value))
        return ranks

    def put_related(self, key: str, ranks: array) -> None:
        self._writable()
        self.set_meta("related", key + "\n" + ranks.tobytes().hex())

    def shape_keys(self, shape: str) -> array | None:
        """Each article's key (shape.article_key, by its position in the shape's order) as
        the last build of this shape recorded them; None after a build of another shape."""
        if not self.current:
            return None
        try:
            data = self.files.shape_keys.read_bytes()
        except OSError:
            return None
        head = shape.encode() + b"\n"
        if not data.startswith(head) or (len(data) - len(head)) % 8:
            return None
        keys = array("Q")
        keys.frombytes(data[len(head):])
        if sys.byteorder == "big":  # kept little-endian
            keys.byteswap()
        return keys

    def keep_shape_keys(self, shape: str, keys: array) -> None:
        """A file of 8 bytes an article (~8 MB at a million): kept as JSON by URL in the
        database before, 130 MB written again by every edit."""
        self._writable()
        if sys.byteorder == "big":
            keys = array("Q", keys)
            keys.byteswap()
        replace_file(self.files.shape_keys, shape.encode() + b"\n" + keys.tobytes())
        self.forget_meta("shape")  # where an earlier sitegen kept them

    def skeleton(self) -> Any:
        """The plan's skeleton as shape.remember kept it (its type is shape.py's to check),
        or None."""
        if not self.current:
            return None
        try:
            return pickle.loads(self.files.skeleton.read_bytes())
        except Exception:  # lost or damaged: plan every page  # noqa: BLE001
            return None

    def keep_skeleton(self, skeleton: object) -> None:
        self._writable()
        replace_file(self.files.skeleton,  # pickled straight into the file: no copy in memory
                     lambda file: pickle.dump(skeleton, file, pickle.HIGHEST_PROTOCOL))

    # ------------------------------------------------------------ search
    def search_state(self, settings: dict[str, Any], generation: str | None = None
                     ) -> dict[str, Any]:
        """What the last build indexed: {"order": [piece ids], "pieces": {piece: {URL:
        Signature}}}; empty when the settings changed, or when it was saved for another
        generation of the site than `generation` (when given): a build killed before its
        site was switched in leaves no state of a bundle that never reached the output."""
        data = self._search_file(report=True)
        if data is None or data.get("settings") != settings:
            return {}
        if generation is not None and data.get("generation") != generation:
            return {}
        state = data.get("state")
        if not (isinstance(state, dict) and isinstance(state.get("order"), list)
                and isinstance(state.get("pieces"), dict)):
            report_damage(self.files.search_state, "no index state in it")
            return {}
        return state

    def _search_file(self, report: bool = False) -> dict[str, Any] | None:
        if not self.current:
            return None
        path = self.files.search_state
        try:
            data = json.loads(path.read_bytes())
        except OSError:  # none yet
            return None
        except ValueError:  # also a UnicodeDecodeError
            data = None
        if not isinstance(data, dict):
            if report:
                report_damage(path, "not a JSON object")
            return None
        return data

    def keep_search_state(self, settings: dict[str, Any], state: dict[str, Any],
                          generation: str | None = None) -> None:
        self._writable()
        self._write_search({"settings": settings, "state": state, "generation": generation})

    def _write_search(self, data: dict[str, Any]) -> None:
        replace_file(self.files.search_state,
                     json.dumps(data, separators=(",", ":")).encode("utf-8"))

    def follow_search_generation(self, before: str | None, after: str) -> None:
        """A build without search carried `pagefind/` unchanged from generation `before` of
        the site into `after`: the state that described it describes it still."""
        self._writable()
        data = self._search_file()
        if data is not None and before is not None and data.get("generation") == before:
            self._write_search({**data, "generation": after})

    def search_indexed_nothing(self) -> bool:
        """Whether the last build's search stage indexed no article."""
        state = (self._search_file() or {}).get("state")
        return isinstance(state, dict) and state.get("order") == []

    # ------------------------------------------------------------ images
    def _uses_db(self) -> sqlite3.Connection:
        self.files.images.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.files.image_uses, timeout=60)
        db.execute("CREATE TABLE IF NOT EXISTS uses (key TEXT, path TEXT, signature TEXT, "
                   "digest TEXT, derived TEXT, stem TEXT, ext TEXT, width INT, height INT, "
                   "display TEXT, line INT)")
        db.execute("CREATE INDEX IF NOT EXISTS uses_key ON uses (key)")
        return db

    def image_uses(self, keys: Sequence[str] | set[str] | None) -> dict[str, list[tuple]]:
        """The images each of these parsed articles (by parse key; None: every one recorded)
        uses: images.Use's fields."""
        if not self.current or not self.files.image_uses.is_file():
            return {}
        wanted = None if keys is None else set(keys)
        out: dict[str, list[tuple]] = {}
        if self.read_only:
            db = sqlite3.connect(f"{self.files.image_uses.resolve().as_uri()}?mode=ro&"
                                 "immutable=1", uri=True)
        else:
            db = self._uses_db()
        try:
            for key, *fields in db.execute("SELECT * FROM uses ORDER BY rowid"):
                if wanted is None or key in wanted:
                    out.setdefault(key, []).append(tuple(fields))
        finally:
            db.close()
        return out

    def keep_image_uses(self, rows: Sequence[tuple[str, Sequence[tuple]]]) -> None:
        """The images of each parsed article (by parse key), replacing what was known."""
        self._writable()
        if not rows or not (any(uses for _key, uses in rows) or
                            self.files.image_uses.is_file()):
            return
        db = self._uses_db()
        try:
            with db:
                db.executemany("DELETE FROM uses WHERE key = ?", ((key,) for key, _ in rows))
                db.executemany("INSERT INTO uses VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                               ((key, *use) for key, uses in rows for use in uses))
        finally:
            db.close()

    # ------------------------------------------------------------ git history
    def history_edits(self) -> dict[tuple[str, str], bool]:
        """Whether each (old blob, new blob) edit changed an article's text: '<old> <new>
        <1|0>' a line; a damaged line is skipped (that edit is told again)."""
        if not self.current:
            return {}
        try:
            text = self.files.history_edits.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return {}
        known = {}
        for line in text.splitlines():
            parts = line.split(" ")
            if len(parts) == 3 and parts[2] in ("0", "1") and _HASH.match(parts[0]) \
                    and _HASH.match(parts[1]):
                known[(parts[0], parts[1])] = parts[2] == "1"
        return known

    def keep_history_edits(self, known: dict[tuple[str, str], bool]) -> None:
        self._writable()
        text = "".join(f"{old} {new} {int(changed)}\n"
                       for (old, new), changed in sorted(known.items()))
        with contextlib.suppress(OSError):  # only slower next time
            replace_file(self.files.history_edits, text.encode("ascii"))


def _stamp() -> bytes:
    return f"sitegen build state {FORMAT_VERSION}\n".encode()


def replace_file(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """`path` written whole (`data`, or what it writes to the open file): a reader, or the
    next build after one killed meanwhile, finds the old bytes or the new ones, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spare = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(spare, "wb") as file:
        file.write(data) if isinstance(data, bytes) else data(file)
    os.replace(spare, path)
