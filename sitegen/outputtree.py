"""The output folder as a whole: whose it is, who builds into it, and the one switch that
puts a complete new site in place.

Beside `output/`, on the same file system (so that every move is a rename), sitegen keeps
one folder of its own, `.output.sitegen/`:

    lock          held (flock) by the build writing into output/; holds its pid
    staging/      pages the running build rendered
    spare/        the site being prepared: the last site, unchanged files hard-linked (same
                  inode, same mtime), changed ones replaced, the search bundle updated
    journal.json  which paths differ between spare/ and output/, by the generations of both
    discarded/    what a build set aside to delete while it goes on (a stale spare/, a killed
                  build's staging/)

A build brings spare/ to the state of output/ (relinking only what the journal names, or
cloning output/ with hard links when it cannot trust spare/), applies its changes to spare/,
then exchanges spare/ and output/ with one renameat2(RENAME_EXCHANGE): a reader, or a kill at
any moment, finds the old site or the new one, whole. Files are never written in place in
spare/: a new file is renamed over the link, so output/ never changes through a shared inode.

Where output/ is a mount point (it cannot be renamed) the files are moved into output/ one by
one, as the only possible way; where the kernel lacks RENAME_EXCHANGE, two renames leave
output/ missing for an instant, and the next build puts the old one back if it was killed
in between.

Every output folder sitegen writes holds the marker `.sitegen-output` (with the generation
of the site in it): a folder with files but no marker, and no build record either, is not
sitegen's, and is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import SitegenError

MARKER = ".sitegen-output"
LOCK_WAIT_SECONDS = 600.0  # a second build waits this long for the first, then gives up
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(SitegenError):
    """The output folder cannot be used: not sitegen's, locked, full or read-only."""


def work_dir_for(output: Path) -> Path:
    """sitegen's own folder beside `output/` (inside it when it is a mount point)."""
    if os.path.ismount(output):
        return output / ".sitegen"
    return output.parent / f".{output.name}.sitegen"


def read_generation(tree: Path) -> str | None:
    """The generation the marker of a tree names, or None (no marker, not readable)."""
    try:
        text = (tree / MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        if line.startswith("generation: "):
            return line.removeprefix("generation: ").strip() or None
    return None


def marker_text(generation: str) -> bytes:
    return (f"This folder is written by sitegen; it replaces what is here on each build.\n"
            f"generation: {generation}\n").encode()


def new_generation() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------- whose folder is it

def refuse_foreign(output: Path, has_records: bool, force: bool) -> None:
    """An existing output folder must be sitegen's: empty, marked, or recorded in the build
    cache (folders written before the marker existed). `force` takes any folder."""
    if not output.exists() or force:
        return
    if not output.is_dir():
        raise OutputError(f"{output}: the output folder is a file; remove it or choose "
                          "another --output")
    if (output / MARKER).is_file() or has_records:
        return
    with os.scandir(output) as entries:
        names = sorted(entry.name for entry in entries if entry.name != ".sitegen")
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise OutputError(f"{output}: the output folder holds files sitegen did not write "
                          f"({shown}); a build replaces everything in it. Choose an empty or "
                          "new folder, or pass --force to replace its contents")


# ---------------------------------------------------------------- one build at a time

@contextlib.contextmanager
def locked(output: Path, wait: float | None = None,
           say: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the output folder's lock for a build; wait for another build holding it, up to
    `wait` seconds. Yields sitegen's work folder beside the output folder."""
    work = work_dir_for(output)
    try:
        work.mkdir(parents=True, exist_ok=True)
        fd = os.open(work / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"{work}: cannot write beside the output folder: "
                          f"{exc.strerror}") from exc
    try:
        _acquire(fd, work, LOCK_WAIT_SECONDS if wait is None else wait, say)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        recover(output, work)
        yield work
    finally:
        os.close(fd)  # closing releases the lock


def _acquire(fd: int, work: Path, wait: float, say: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            if time.monotonic() >= deadline:
                raise OutputError(f"another sitegen (pid {holder}) is building into this "
                                  f"output folder ({work / 'lock'}); try again when it is "
                                  "done") from None
            if say and not told:
                say(f"waiting for another sitegen (pid {holder}) building into this output "
                    "folder")
                told = True
            time.sleep(0.1)


def recover(output: Path, work: Path) -> None:
    """Undo what a killed build can leave: staging files, and (where two renames stand in
    for an exchange) an output folder moved aside but not yet replaced. What is left over is
    set aside, for `delete_discarded`."""
    set_aside(work / "staging", work)
    aside = work / "previous"
    if aside.exists():
        if not output.exists():
            os.replace(aside, output)
        else:
            set_aside(aside, work)


DISCARDED = "discarded"  # sitegen's folders set aside to be deleted, in the work folder


def set_aside(folder: Path, work: Path) -> None:
    """Move a folder of sitegen's own (if it is there) into work/discarded/, where
    `delete_discarded` removes it while the build goes on: deleting a spare tree of a
    million-article site took five minutes before anything else could start."""
    if os.path.lexists(folder):
        (work / DISCARDED).mkdir(exist_ok=True)
        os.replace(folder, work / DISCARDED / uuid.uuid4().hex)


def delete_discarded(work: Path) -> None:
    """Delete what was set aside (also what a build killed while deleting it left)."""
    shutil.rmtree(work / DISCARDED, ignore_errors=True)


def has_discarded(work: Path) -> bool:
    return (work / DISCARDED).exists()


# ---------------------------------------------------------------- the spare tree

@dataclass(frozen=True)
class Journal:
    """spare/ and output/ differ at these paths (files, or folders as a whole), and hold the
    sites of generations `a` and `b` (either way round)."""

    a: str
    b: str
    files: tuple[str, ...]  # written or removed by the build of `b`
    folders: tuple[str, ...]
    kept: tuple[str, ...] = ()  # files sitegen did not write, carried into `b` as they were

    def pairs(self, one: str | None, other: str | None) -> bool:
        return one is not None and other is not None and {one, other} == {self.a, self.b}


def load_journal(work: Path) -> Journal | None:
    try:
        data = json.loads((work / "journal.json").read_text(encoding="utf-8"))
        return Journal(str(data["a"]), str(data["b"]), tuple(map(str, data["files"])),
                       tuple(map(str, data["folders"])), tuple(map(str, data.get("kept", ()))))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_journal(work: Path, journal: Journal) -> None:
    text = json.dumps({"a": journal.a, "b": journal.b, "files": list(journal.files),
                       "folders": list(journal.folders), "kept": list(journal.kept)})
    write_new(work / "journal.json", text.encode())


def write_new(path: Path, data: bytes) -> None:
    """Write a file as a new inode, renamed over any old one (never through a hard link)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def prepare_spare(output: Path, work: Path, start_empty: bool = False) -> Path:
    """spare/ made equal to output/, file for file (hard links), and marked as being
    changed: a build killed while it changes spare/ leaves one that is cloned again.
    `start_empty`: an empty spare/ instead (a build that rewrites the whole site)."""
    spare = work / "spare"
    if stale_spare(output, work, start_empty):  # a build sets it aside first (Writer)
        shutil.rmtree(spare, ignore_errors=True)
    if start_empty:
        pass
    elif not spare.exists():
        if output.is_dir():
            clone_tree(output, spare)
    elif read_generation(spare) != read_generation(output):
        journal = load_journal(work)  # it pairs them (or spare/ was stale)
        if journal is not None:
            _relink(output, spare, journal.files + journal.kept, journal.folders)
    (spare / MARKER).unlink(missing_ok=True)
    spare.mkdir(parents=True, exist_ok=True)
    return spare


def stale_spare(output: Path, work: Path, start_empty: bool = False) -> bool:
    """Whether spare/ is there to be deleted by `prepare_spare`: for a build that rewrites
    every file, or when it neither holds output/'s site nor pairs with it in the journal
    (a build was killed while it changed spare/)."""
    spare = work / "spare"
    if not spare.exists():
        return False
    if start_empty:
        return True
    out_gen, spare_gen = read_generation(output), read_generation(spare)
    if out_gen is not None and spare_gen == out_gen:
        return False
    journal = load_journal(work)
    return journal is None or not journal.pairs(out_gen, spare_gen)


def _relink(output: Path, spare: Path, files: Iterable[str], folders: Iterable[str]) -> None:
    for rel in folders:
        shutil.rmtree(spare / rel, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (spare / rel).unlink()
        if (output / rel).is_dir():
            clone_tree(output / rel, spare / rel)
    emptied = set()
    for rel in files:
        source, target = output / rel, spare / rel
        if source.is_file():
            link_over(source, target)
        else:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                target.unlink()
            emptied.add(target.parent)
    remove_empty_folders(emptied, spare)


def link_over(source: Path, target: Path) -> None:
    """Make `target` a hard link of `source`, replacing whatever is there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.link(source, tmp)
    os.replace(tmp, target)


def clone_tree(source: Path, target: Path) -> None:
    """A copy of `source` made of hard links (copies where links are refused): one mkdir a
    folder and one link a file, without shutil.copytree's stat and copystat of each."""
    stack = [(os.fspath(source), os.fspath(target))]
    while stack:
        src, dst = stack.pop()
        os.makedirs(dst, exist_ok=True)
        with os.scandir(src) as entries:
            for entry in entries:
                path = os.path.join(dst, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, path))
                else:
                    _link_or_copy(entry.path, path)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def remove_empty_folders(folders: Iterable[Path], root: Path) -> None:
    """Remove these folders and their parents up to `root` while they are empty."""
    for folder in sorted(set(folders), key=lambda p: len(p.parts), reverse=True):
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


def switch(spare: Path, output: Path, work: Path, generation: str,
           changed_files: Iterable[str], changed_folders: Iterable[str],
           kept: Iterable[str] = ()) -> None:
    """Put spare/ in place of output/ in one step. The journal is written first: whatever
    moment a kill comes at, the next build knows how the two trees differ."""
    save_journal(work, Journal(read_generation(output) or "", generation,
                               tuple(sorted(set(changed_files))),
                               tuple(sorted(set(changed_folders))), tuple(sorted(set(kept)))))
    write_new(spare / MARKER, marker_text(generation))
    if not output.exists():
        os.replace(spare, output)
        return
    try:
        _exchange(spare, output)
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise
        aside = work / "previous"
        os.replace(output, aside)  # output/ is missing until the next line; see recover()
        os.replace(spare, output)
        os.replace(aside, spare)


def _exchange(a: Path, b: Path) -> None:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:
        raise OSError(errno.ENOSYS, "renameat2 is not available") from None
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(b))


def mirror(output: Path, work: Path) -> None:
    """spare/ made a hard-link copy of output/ (marker included): after a first build, so
    that the next one starts from an equal spare/ without cloning on its own time."""
    spare = work / "spare"
    shutil.rmtree(spare, ignore_errors=True)
    clone_tree(output, spare)


def is_mount_point(output: Path) -> bool:
    return output.is_dir() and os.path.ismount(output)


def carry_over(output: Path, spare: Path, files: Iterable[str]) -> list[str]:
    """Link into spare/ the files of output/ that sitegen did not write (so a build never
    drops them); those that are gone meanwhile are skipped. Returns the files carried."""
    carried = []
    for rel in files:
        source = output / rel
        if source.is_file() and not source.is_symlink():
            link_over(source, spare / rel)
            carried.append(rel)
    return carried


def journal_files(work: Path) -> tuple[str, ...]:
    """The files the last switch changed (empty when there is no journal)."""
    journal = load_journal(work)
    return journal.files if journal else ()
