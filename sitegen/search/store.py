"""The piece store: what the last build indexed (the state file) and each piece's index (the
piece cache), both under the build cache folder, one of each per output folder.

The state is trusted only for the generation of the site it was saved for: a build killed
before its site was switched in cannot leave a state describing a bundle that never reached
the output folder.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

from ..cache import output_key, report_damage
from ..config import Config
from ..writer import write_atomic
from .merge import Piece

STATE_FILE = "search-index"
RUNTIME_KEY = "runtime"  # Pagefind's runtime files in the piece cache


def state_path(cache_dir: Path, output_dir: Path) -> Path:
    """One state per output folder (as the build cache): what was indexed where is only
    true for that one."""
    return cache_dir / f"{STATE_FILE}-{output_key(output_dir)}.json"


def load_state(config: Config, settings: dict[str, Any], generation: str | None = None
               ) -> dict[str, Any]:
    """What the last build indexed: {"order": [piece ids], "pieces": {piece: {URL:
    Signature}}}; empty when the settings changed, or when it was saved for another
    generation of the site than `generation` (when given)."""
    path = state_path(config.cache_dir, config.output_dir)
    try:
        text = path.read_bytes()
    except OSError:  # none yet
        return {}
    try:
        data = json.loads(text)
    except ValueError:  # also a UnicodeDecodeError
        data = None
    if not isinstance(data, dict):
        report_damage(path, "not a JSON object")
        return {}
    if data.get("settings") != settings:
        return {}
    if generation is not None and data.get("generation") != generation:
        return {}
    state = data.get("state")
    if not (isinstance(state, dict) and isinstance(state.get("order"), list)
            and isinstance(state.get("pieces"), dict)):
        report_damage(path, "no index state in it")
        return {}
    return state


def save_state(config: Config, settings: dict[str, Any], state: dict[str, Any],
                generation: str | None = None) -> None:
    text = json.dumps({"settings": settings, "state": state, "generation": generation},
                      separators=(",", ":"))
    write_atomic(state_path(config.cache_dir, config.output_dir), text.encode("utf-8"))


def follow_generation(config: Config, before: str | None, after: str) -> None:
    """A build without search carried `pagefind/` unchanged from generation `before` of the
    site into `after`: the state that described it describes it still."""
    path = state_path(config.cache_dir, config.output_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and before is not None and data.get("generation") == before:
        data["generation"] = after
        write_atomic(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))


def pieces_dir(cache_dir: Path, output_dir: Path) -> Path:
    return cache_dir / f"{STATE_FILE}-{output_key(output_dir)}.pieces"


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
            for path in self.folder.iterdir():
                if path.suffix == ".pickle" and path.stem not in pieces:
                    path.unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class CacheMiss(Exception):
    """A piece (or the runtime) the build expected in the cache is missing or unreadable."""
