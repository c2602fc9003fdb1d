"""The piece store: what the last build indexed (the state) and each piece's index (the
piece cache). Both are part of the build state (state.BuildState names them and keeps the
state); the functions here are the search stage's view of them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

from ..config import Config
from ..damage import report_damage
from ..state import BuildState
from ..statefiles import SEARCH_STATE, StateFiles
from ..writer import write_atomic
from .merge import Piece

STATE_FILE = SEARCH_STATE
RUNTIME_KEY = "runtime"  # Pagefind's runtime files in the piece cache


def state_path(cache_dir: Path, output_dir: Path) -> Path:
    return StateFiles(cache_dir, output_dir).search_state


def load_state(config: Config, settings: dict[str, Any], generation: str | None = None
               ) -> dict[str, Any]:
    """BuildState.search_state."""
    return BuildState(config).search_state(settings, generation)


def save_state(config: Config, settings: dict[str, Any], state: dict[str, Any],
               generation: str | None = None) -> None:
    BuildState(config).keep_search_state(settings, state, generation)


def follow_generation(config: Config, before: str | None, after: str) -> None:
    """BuildState.follow_search_generation."""
    BuildState(config).follow_search_generation(before, after)


def indexed_nothing(config: Config) -> bool:
    return BuildState(config, read_only=True).search_indexed_nothing()


def pieces_dir(cache_dir: Path, output_dir: Path) -> Path:
    return StateFiles(cache_dir, output_dir).search_pieces


class PieceCache:
    """Each piece's index as read from Pagefind (`merge.Piece`), one pickle a piece, and
    Pagefind's runtime files, so the bundle can be joined again without indexing its pieces."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._damage_reported = False  # one warning a build: the first damage ends its use
        self._runtime_saved = False
        self._runtime_lock = threading.Lock()  # each Pagefind service's thread offers it

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.pickle"

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    def save(self, key: str, piece: Piece) -> None:
        write_atomic(self._path(key), pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL))

    def load(self, key: str) -> Piece:
        return self.load_versioned(key)[0]

    def load_versioned(self, key: str) -> tuple[Piece, str]:
        """The piece and a digest of what the cache holds of it: which index of the piece
        a bundle was joined from."""
        piece, digest = self._load(key)
        if not isinstance(piece, Piece):
            self._damaged(self._path(key), f"holds a {type(piece).__name__}")
            raise CacheMiss(key)
        return piece, digest

    def save_runtime(self, files: dict[str, bytes]) -> None:
        with self._runtime_lock:
            if not self._runtime_saved:
                write_atomic(self._path(RUNTIME_KEY), pickle.dumps(files))
                self._runtime_saved = True

    def load_runtime(self) -> dict[str, bytes]:
        files, _ = self._load(RUNTIME_KEY)
        if not (isinstance(files, dict) and files):
            self._damaged(self._path(RUNTIME_KEY), "no runtime files in it")
            raise CacheMiss(RUNTIME_KEY)
        return files

    def _load(self, key: str) -> tuple[Any, str]:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError as exc:  # lost, not damaged
            raise CacheMiss(key) from exc
        try:
            return pickle.loads(data), hashlib.blake2b(data, digest_size=12).hexdigest()
        except Exception as exc:  # damaged bytes can fail in any way the unpickler can
            self._damaged(path, f"does not unpickle: {exc!r}")
            raise CacheMiss(key) from exc

    def _damaged(self, path: Path, detail: str) -> None:
        if not self._damage_reported:
            self._damage_reported = True
            report_damage(path, detail)

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keep(self, pieces: set[str]) -> None:
        """Remove what the cache holds of pieces that are no more."""
        if self.folder.is_dir():
            for name in os.listdir(self.folder):
                if name.endswith(".pickle") and name[:-7] not in pieces:
                    (self.folder / name).unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class CacheMiss(Exception):
    """A piece (or the runtime) the build expected in the cache is missing or unreadable."""
