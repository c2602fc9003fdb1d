"""The names of the build state's files (state.BuildState keeps what is in them; its module
says what each holds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cache import database_path, output_key
from .config import Config

FORMAT_FILE = "format"
SEARCH_STATE = "search-index"
# What an older sitegen may have left in the folder: discarded when the format changes
# (nothing else: the folder may be one the user chose).
KNOWN = ("build-*.sqlite*", "skeleton-*.pickle", "shape-keys-*.bin", "data-years-*.json",
         f"{SEARCH_STATE}-*", "images", "history-edits.txt", "templates-*", ".*.tmp")


@dataclass(frozen=True)
class StateFiles:
    """Every file of the build state: the one place their names are made."""

    folder: Path
    output_dir: Path | None = None  # None: only the files any output folder shares

    @classmethod
    def of(cls, where: Config | Path, output_dir: Path | None = None) -> StateFiles:
        if isinstance(where, Config):
            return cls(where.cache_dir, output_dir or where.output_dir)
        return cls(where, output_dir)

    def _output(self) -> Path:
        if self.output_dir is None:
            raise ValueError("this build state was opened without its output folder")
        return self.output_dir

    def _own(self, name: str) -> Path:
        return self.folder / name.format(key=output_key(self._output()))

    @property
    def database(self) -> Path:
        return database_path(self.folder, self._output())

    @property
    def skeleton(self) -> Path:
        return self._own("skeleton-{key}.pickle")

    @property
    def shape_keys(self) -> Path:
        return self._own("shape-keys-{key}.bin")

    @property
    def data_years(self) -> Path:
        return self._own("data-years-{key}.json")

    @property
    def search_state(self) -> Path:
        return self._own(SEARCH_STATE + "-{key}.json")

    @property
    def search_pieces(self) -> Path:
        return self._own(SEARCH_STATE + "-{key}.pieces")

    @property
    def images(self) -> Path:
        return self.folder / "images"

    @property
    def image_uses(self) -> Path:
        return self.images / "uses.sqlite"

    @property
    def history_edits(self) -> Path:
        return self.folder / "history-edits.txt"

    @property
    def format(self) -> Path:
        return self.folder / FORMAT_FILE
