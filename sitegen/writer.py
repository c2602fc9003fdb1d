"""Move rendered files into `output/`: atomically per file, only when the bytes differ,
and remove every file the build no longer plans."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .urls import safe_relative_path

PRESERVED_DIRS = ("pagefind",)  # written by the search stage, not by the page writer


@dataclass(frozen=True)
class Staged:
    """A rendered page waiting in the staging folder."""

    rel_path: str
    out_hash: str


@dataclass(frozen=True)
class CopyJob:
    """A file copied as is (static/, theme assets, page-bundle files)."""

    source: Path
    rel_path: str


@dataclass(frozen=True)
class WriteResult:
    written: int
    unchanged: int
    removed: int
    written_paths: tuple[str, ...]


def staging_dir_for(output: Path) -> Path:
    """A sibling of `output/`, so a rename into it stays on one file system."""
    return output.parent / f".{output.name}.staging"


def content_hash(data: bytes) -> str:
    """Digest and size: the size lets a rebuild notice a file changed behind its back."""
    return f"{hashlib.blake2b(data, digest_size=16).hexdigest()}:{len(data)}"


def size_of(out_hash: str) -> int:
    return int(out_hash.rsplit(":", 1)[-1]) if ":" in out_hash else -1


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def file_size(path: Path | str) -> int:
    """The size of a regular file; -2 when there is none (so no recorded size matches)."""
    try:
        st = os.stat(path)
    except OSError:
        return -2
    return st.st_size if stat.S_ISREG(st.st_mode) else -2


def files_not_as_left(output: Path, states: Mapping[str, tuple[str, str]]) -> frozenset[str]:
    """The output paths among `states` (path -> (fingerprint, output hash)) whose file is
    missing or not of the recorded size: not as the build that recorded them left them."""
    prefix = f"{output}{os.sep}"
    return frozenset(rel for rel, (_fp, out) in states.items()
                     if file_size(prefix + rel) != size_of(out))


class Writer:
    def __init__(self, output: Path):
        self.output = output
        self.staging = staging_dir_for(output)
        self._made: set[str] = set()

    def _parent(self, path: str) -> None:
        """mkdir -p of a file's folder, once per folder (mkdir calls dominate small writes)."""
        folder = os.path.dirname(path)
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)

    def stage(self, rel_path: str, data: bytes) -> Staged:
        """Write a rendered page into the staging folder. String paths and a bare file
        descriptor: pathlib and buffered files cost more than the kernel's work here."""
        rel_path = safe_relative_path(rel_path)
        target = os.path.join(self.staging, rel_path)
        self._parent(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        return Staged(rel_path, content_hash(data))

    def discard_staging(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def commit(self, staged: Iterable[Staged], previous: dict[str, str],
               copies: Iterable[CopyJob], copy_signatures: dict[str, str],
               planned: set[str], known: set[str] | None = None
               ) -> tuple[WriteResult, dict[str, str]]:
        """Rename staged files into place where they differ, copy files, remove stale ones.

        `previous` maps a relative path to the hash of the bytes last written there;
        `known` is every file the last build wrote: when given, only those are candidates for
        removal (no walk over output/). Returns the result and the new copy signatures.
        """
        written: list[str] = []
        unchanged = 0
        staged = list(staged)
        fresh = self._output_is_new()
        if fresh:
            # A first build: the staging folder becomes output/ in one rename.
            self.staging.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging, self.output)
            written = [item.rel_path for item in staged]
            staged = []
        for item in staged:
            target = self.output / item.rel_path
            if previous.get(item.rel_path) == item.out_hash and \
                    file_size(target) == size_of(item.out_hash):
                unchanged += 1
                continue
            self._parent(str(target))
            os.replace(self.staging / item.rel_path, target)
            written.append(item.rel_path)
        signatures = {}
        for job in copies:
            signature, changed = self._copy(job, copy_signatures.get(job.rel_path))
            signatures[job.rel_path] = signature
            if changed:
                written.append(job.rel_path)
            else:
                unchanged += 1
        if fresh:
            removed = 0
        elif known:
            removed = self.remove_files(known - planned)
        else:
            removed = self.remove_stale(planned)
        self.discard_staging()
        return WriteResult(len(written), unchanged, removed, tuple(written)), signatures

    def _output_is_new(self) -> bool:
        if not self.output.exists():
            return True
        if self.output.is_dir() and not any(self.output.iterdir()):
            self.output.rmdir()
            return True
        return False

    def _copy(self, job: CopyJob, old_signature: str | None) -> tuple[str, bool]:
        source = job.source.stat()
        signature = f"{source.st_size}:{source.st_mtime_ns}"
        target = self.output / safe_relative_path(job.rel_path)
        size = file_size(target)
        if old_signature == signature and size == source.st_size:
            return signature, False
        data = job.source.read_bytes()
        if size == len(data) and target.read_bytes() == data:
            return signature, False
        write_atomic(target, data)
        return signature, True

    def remove_files(self, rel_paths: Iterable[str]) -> int:
        """Delete these files, then every folder they leave empty."""
        removed = 0
        folders = set()
        for rel in rel_paths:
            path = self.output / safe_relative_path(rel)
            if path.is_file():
                path.unlink()
                removed += 1
            folders.update(path.parents)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            if folder != self.output and self.output in folder.parents and folder.is_dir() \
                    and not any(folder.iterdir()):
                folder.rmdir()
        return removed

    def remove_stale(self, planned: set[str]) -> int:
        """Delete files under `output/` that this build did not plan; then empty folders."""
        removed = 0
        for folder, dirs, files in os.walk(self.output, topdown=True):
            rel_folder = Path(folder).relative_to(self.output).as_posix()
            if rel_folder == ".":
                dirs[:] = [d for d in dirs if d not in PRESERVED_DIRS]
            for name in files:
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                if rel not in planned:
                    os.unlink(os.path.join(folder, name))
                    removed += 1
        for folder, _dirs, _files in os.walk(self.output, topdown=False):
            if folder != str(self.output) and not os.listdir(folder):
                os.rmdir(folder)
        return removed
