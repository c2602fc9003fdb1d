"""Write the site: rendered pages into a staging folder, then the whole new site into place
at once (outputtree.py), rewriting only the files whose bytes differ and removing only files
an earlier build recorded writing."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import sqlite3
import stat
import threading
from collections.abc import Collection, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .outputtree import (
    MARKER,
    Journal,
    carry_over,
    is_mount_point,
    journal_files,
    marker_text,
    mirror,
    new_generation,
    prepare_spare,
    read_generation,
    refuse_foreign,
    remove_empty_folders,
    save_journal,
    set_aside,
    stale_spare,
    switch,
    write_new,
)
from .pagestates import NewStates, OutputHashes, StoredPageStates, WithExtra
from .processes import Background
from .records import PageState
from .run import Run
from .state import BuildState
from .urls import safe_relative_path


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
    removed_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class StagedPages(Iterable[Staged]):
    """The `count` pages waiting in the staging folder, read from the new states as asked."""

    states: StoredPageStates
    count: int

    def __iter__(self) -> Iterator[Staged]:
        return (Staged(rel, out_hash) for rel, out_hash in self.states.staged())

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True)
class Rendered:
    """The render stage's outcome: the pages waiting in the staging folder, and the state of
    every page of the plan (rendered, unchanged, or kept), read from the build state."""

    staged: Collection[Staged] | StagedPages
    states: Mapping[str, PageState]


@dataclass(frozen=True)
class Written:
    """What a build wrote: the counts, the state of every file it generated (pages and the
    extra files), and the copies' signatures (recorded once the tree is in place)."""

    result: WriteResult
    states: Mapping[str, PageState]
    signatures: dict[str, str]


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


def files_not_as_left(output: Path, states: Mapping[str, PageState]) -> frozenset[str]:
    """The output paths among `states` (path -> PageState) whose file is
    missing or not of the recorded size: not as the build that recorded them left them (a
    same-sized change goes unseen). States kept in the database are read as a stream, in
    slices stat'ed by forked processes of their own, one a core (run itself in one)."""
    if not isinstance(states, StoredPageStates):
        return _not_as_left(output, ((rel, size_of(state.output_hash))
                                     for rel, state in states.items()))
    cuts = states.split_points(min(os.cpu_count() or 1, MAX_STAT_SLICES))
    slices = list(zip(["", *cuts], [*cuts, None], strict=True))
    helpers = [Background(_not_as_left, output, states.sizes(first, last))
               for first, last in slices[1:]]
    found = _not_as_left(output, states.sizes(*slices[0]))
    for helper in helpers:
        found |= helper.result()
    return found


MAX_STAT_SLICES = 4


def _not_as_left(output: Path, sizes: Iterable[tuple[str, int]]) -> frozenset[str]:
    prefix = f"{output}{os.sep}"
    found = []
    for rel, size in sizes:  # file_size, inline: a million calls
        try:
            st = os.stat(prefix + rel)
        except OSError:
            found.append(rel)
            continue
        if st.st_size != size or not stat.S_ISREG(st.st_mode):
            found.append(rel)
    return frozenset(found)


STRAY_SKIPS = frozenset({"pagefind", ".sitegen", MARKER})  # the search stage's, sitegen's own


def find_strays(output: Path, recorded: Collection[str],
                copies: Collection[str] = ()) -> tuple[str, ...]:
    """The files in output/ that no build recorded writing (neither in `recorded`, the last
    build's page states, nor in `copies`): somebody else's, which a build carries into the
    new site. A walk of output/, run in a forked process (background.Background) while the
    build renders; stored states are read as a stream, in path order."""
    if not recorded and not copies:
        return ()
    found = []
    stack = [(str(output), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            path = rel + entry.name
            if not rel and entry.name in STRAY_SKIPS:
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, path + "/"))
            elif path not in copies:
                found.append(path)
    found.sort()
    if not isinstance(recorded, StoredPageStates):
        return tuple(path for path in found if path not in recorded)
    strays = []
    known = iter(recorded)  # in path order, as `found` is: merged
    key = next(known, None)
    for path in found:
        while key is not None and key < path:
            key = next(known, None)
        if key != path:
            strays.append(path)
    return tuple(strays)


class Stager:
    """Writes rendered pages into the staging folder (in the parent and in render workers)."""

    def __init__(self, staging: Path):
        self.staging = staging
        self._made: set[str] = set()

    def make_parent(self, path: str) -> None:
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
        self.make_parent(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        return Staged(rel_path, content_hash(data))


class Writer:
    """Stages pages, applies a build's changes to the tree being prepared (`tree`: spare/
    beside output/, or output/ itself when it is a mount point) and puts it in place."""

    def __init__(self, output: Path, work: Path):
        self.output = output
        self.work = work
        self.staging = work / "staging"
        self.stager = Stager(self.staging)
        self.in_place = is_mount_point(output)
        self.tree = output if self.in_place else work / "spare"
        self.generation_before = read_generation(output)
        self.generation = new_generation()
        self._changed: list[str] = []
        self._kept: list[str] = []

    def stage(self, rel_path: str, data: bytes) -> Staged:
        return self.stager.stage(rel_path, data)

    def set_aside_stale_spare(self, start_empty: bool) -> None:
        """Set spare/ aside (outputtree.set_aside) now when `begin` would have to delete it:
        a build that rewrites every file, or a spare a killed build left half changed."""
        if not self.in_place and stale_spare(self.output, self.work, start_empty):
            set_aside(self.work / "spare", self.work)

    def discard_staging(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def begin(self, start_empty: bool, strays: Iterable[str] = ()) -> Path:
        """Make the tree to change: spare/ equal to output/ (or empty, for a build that
        rewrites every file), with the `strays` of output/ (files sitegen did not write) in
        it. In place, output/ itself."""
        if not self.in_place:
            prepare_spare(self.output, self.work, start_empty)
            self._kept = carry_over(self.output, self.tree, strays)
        return self.tree

    def commit(self, staged: Iterable[Staged], previous: Mapping[str, str],
               copies: Iterable[CopyJob], copy_signatures: dict[str, str],
               planned: Collection[str] | Planned, known: Iterable[str]
               ) -> tuple[WriteResult, dict[str, str]]:
        """Rename staged files into the tree where they differ, copy files, and remove the
        `known` files (those earlier builds recorded writing) that are no longer `planned`.

        `previous` maps a relative path to the hash of the bytes last written there.
        Returns the result and the new copy signatures.
        """
        written: list[str] = []
        unchanged = 0
        copies = list(copies)
        if self.in_place:  # a kill part way leaves new files unrecorded: the journal names them
            save_journal(self.work, Journal(self.generation_before or "", self.generation,
                                            tuple(sorted(planned)), ()))
        elif self._tree_is_empty():  # staging becomes the tree: one rename
            self.staging.mkdir(parents=True, exist_ok=True)
            self.tree.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging, self.tree)
            written = [item.rel_path for item in staged]
            staged = []
        tree = self.tree
        for item in staged:
            target = tree / item.rel_path
            if previous.get(item.rel_path) == item.out_hash and \
                    file_size(target) == size_of(item.out_hash):
                unchanged += 1
                continue
            self.stager.make_parent(str(target))
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
        removed = self.remove_files({rel for rel in known if rel not in planned})
        self.discard_staging()
        self._changed += written + removed
        return WriteResult(len(written), unchanged, len(removed), tuple(written),
                           tuple(removed)), signatures

    def finish(self, changed_folders: Iterable[str] = (), changed_files: Iterable[str] = ()
               ) -> None:
        """Put the prepared tree in place of output/, whole (see outputtree.switch).
        `changed_folders`: folders changed as a whole besides the files (the search bundle);
        `changed_files`: other files changed besides the pages and copies (a spliced
        bundle's)."""
        if self.in_place:
            write_new(self.output / MARKER, marker_text(self.generation))
            return
        first = not self.output.exists()
        switch(self.tree, self.output, self.work, self.generation,
               [*self._changed, *changed_files], changed_folders, self._kept)
        if first:
            mirror(self.output, self.work)

    def _tree_is_empty(self) -> bool:
        try:
            with os.scandir(self.tree) as entries:
                return not any(True for _ in entries)
        except FileNotFoundError:
            return True

    def _copy(self, job: CopyJob, old_signature: str | None) -> tuple[str, bool]:
        source = job.source.stat()
        signature = f"{source.st_size}:{source.st_mtime_ns}"
        target = self.tree / safe_relative_path(job.rel_path)
        size = file_size(target)
        if old_signature == signature and size == source.st_size:
            return signature, False
        data = job.source.read_bytes()
        if size == len(data) and target.read_bytes() == data:
            return signature, False
        write_atomic(target, data)
        return signature, True

    def remove_files(self, rel_paths: Iterable[str]) -> list[str]:
        """Delete these files from the tree, then every folder they leave empty."""
        removed = []
        folders = set()
        for rel in rel_paths:
            path = self.tree / safe_relative_path(rel)
            if path.is_file():
                path.unlink()
                removed.append(rel)
            folders.add(path.parent)
        remove_empty_folders(folders, self.tree)
        return removed


# ---------------------------------------------------------------- the write and commit stages

def extra_files(config: Config) -> dict[str, bytes]:
    """Files of every site besides its pages: `.nojekyll` (GitHub Pages serves folders
    starting with `_` then), and `CNAME` when the site has its own domain."""
    extra = {".nojekyll": b""}
    if config.cname:
        extra["CNAME"] = config.cname.strip().encode() + b"\n"
    return extra


def write_output(run: Run, writer: Writer, rendered: Rendered, copies: Sequence[CopyJob],
                 strays: Sequence[str] = ()) -> Written:
    """Apply the build to the tree being prepared: staged pages, the extra files, copied
    files, removals; `strays` (files in output/ sitegen did not write) are kept as they are."""
    cache, previous = run.cache, run.previous
    old_signatures = cache.file_signatures()
    extra_staged = [writer.stage(rel, data) for rel, data in extra_files(run.config).items()]
    extra = {item.rel_path: PageState("", item.out_hash) for item in extra_staged}
    staged = itertools.chain(rendered.staged, extra_staged)
    states = WithExtra(rendered.states, extra)
    planned = Planned(states, frozenset(c.rel_path for c in copies))
    # of the last build's pages, only those not among the new states may go
    dropped = rendered.states.dropped() if isinstance(rendered.states, NewStates) else previous
    known: Iterable[str] = itertools.chain(dropped, old_signatures)
    if cache.committing():
        # a build killed after its switch, before it recorded its files: the journal lists them
        known = itertools.chain(known, journal_files(writer.work))
    cache.set_committing(True)  # until the records match the site in place
    writer.begin(start_empty=not previous, strays=[rel for rel in strays if rel not in planned])
    result, signatures = writer.commit(staged, OutputHashes(previous), copies, old_signatures,
                                       planned, known=known)
    return Written(result, states, signatures)


@dataclass(frozen=True)
class Planned(Container[str]):
    """The output paths a build writes: its pages' and extra files', and its copies."""

    states: Mapping[str, PageState]
    copies: frozenset[str]

    def __contains__(self, rel: object) -> bool:
        return rel in self.copies or rel in self.states

    def __iter__(self) -> Iterator[str]:
        yield from self.states
        yield from (rel for rel in self.copies if rel not in self.states)


def remember_pages(run: Run, written: Written) -> None:
    """Record what the site now in place holds (after the switch: a build killed before it
    leaves the records of the old site, which is still the one in place): only the rows
    that changed are written."""
    cache = run.cache
    cache.save_pages(written.states)
    if written.signatures != cache.file_signatures():
        cache.save_files(written.signatures)
    cache.set_committing(False)


def refuse_foreign_output(config: Config) -> None:
    """An existing output folder must be one sitegen wrote (see outputtree.refuse_foreign)."""
    output = config.output_dir
    if config.force or not output.is_dir() or (output / MARKER).is_file():
        refuse_foreign(output, True, config.force)
        return
    try:
        with closing(BuildState(config)) as cache:  # of any format: what it recorded
            recorded = bool(cache.page_states())
    except sqlite3.DatabaseError:  # a damaged cache records nothing (the build heals it)
        recorded = False
    refuse_foreign(output, recorded, config.force)
