"""The load stage: every article file with its digest, a digest of everything a build reads,
and whether anything changed since the last build (then the last report stands)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import search
from .cache import BuildCache
from .codeid import code_digest
from .config import Config
from .errors import ContentError, Problem, SitegenError
from .history import head_commit
from .intros import signature as intros_signature
from .outputdigest import output_digest
from .outputtree import MARKER
from .records import BuildReport, SourceFile
from .run import Run
from .sources import (
    Walked,
    layout_dirs,
    read_source,
    refuse_links_out,
    signatures_digest,
    stat_signature,
    walk_articles,
)

if TYPE_CHECKING:
    from .processes import Background

HASHED_IN_PARENT = 500  # past this many new or touched files, the parse workers hash them


class Listing(NamedTuple):
    """What `scan_sources` finds: the article files, the other files of content/ that no
    build uses, and each folder's sources digest (`folder_digests`)."""

    sources: list[SourceFile]
    unused: tuple[str, ...]
    folders: dict[str, str]


class Scanned:
    """The article files (`sources`), the other files of content/ no build uses (`unused`),
    the intros' signature, and the digest of every input (`inputs`, None while some
    source's digest is not known yet).

    Made by `quick_scan`, it holds only `inputs` (when nothing changed since the sources
    table was kept, see `unchanged_sources`) and lists the files when first asked for them:
    a build that finds nothing changed makes no SourceFile."""

    def __init__(self, run: Run, intros: str, inputs: str | None,
                 unused: tuple[str, ...] | None = None, walked: Walked | None = None):
        self._run = run
        self.intros = intros
        self._inputs = inputs
        self._sources: tuple[SourceFile, ...] | None = None
        self._folders: dict[str, str] = {}
        self._unused = unused
        self._walked = walked  # the load stage's walk, listed from once

    def _listing(self) -> tuple[tuple[SourceFile, ...], tuple[str, ...]]:
        if self._sources is None or self._unused is None:
            walked, self._walked = self._walked, None
            sources, unused, folders = scan_sources(self._run.config, self._run.cache, walked)
            self._sources, self._unused, self._folders = tuple(sources), unused, folders
            if self._inputs is None:
                hashed = all(s.digest for s in sources)  # else the parse workers hash them
                self._inputs = inputs_key(self._run.config, sources, self.intros, folders) \
                    if hashed else None
        return self._sources, self._unused

    @property
    def folder_digests(self) -> dict[str, str]:
        """Each content folder's sources digest, of the folders whose sources are all hashed."""
        self._listing()
        return self._folders

    @property
    def sources(self) -> tuple[SourceFile, ...]:
        return self._listing()[0]

    @property
    def unused(self) -> tuple[str, ...]:
        return self._unused if self._unused is not None else self._listing()[1]

    @property
    def inputs(self) -> str | None:
        return self._inputs


def scan(run: Run) -> Scanned:
    """The inputs of this run: their digest (`inputs_key`) found from the articles' stat
    signatures alone when none changed (`unchanged_sources`); else every source listed
    (`scan_sources`), from the same walk of the content folder."""
    intros = intros_signature(run.config.content_dir)
    walked = walk_articles(run.config.content_dir) if run.config.content_dir.is_dir() \
        else None
    known = unchanged_sources(run, walked) if walked else None
    if known is not None:
        digest, bundled = known
        return Scanned(run, intros, _inputs_key(run.config, intros, digest, bundled))
    scanned = Scanned(run, intros, None, walked=walked)
    scanned.sources  # noqa: B018  (lists them now: a changed file is read and hashed here)
    return scanned


def with_digests(run: Run, scanned: Scanned, digests: dict[str, str]) -> Scanned:
    """`scanned` after the parse stage: with the digests the parse workers computed (when
    there were too many new files to hash here), remembered for the next build; without its
    listing of the sources, which no later stage reads (~300 bytes an article, see issue #20:
    asked for again, they are listed again)."""
    if scanned.inputs is None:
        sources = [dataclasses.replace(s, digest=digests[s.path]) for s in scanned.sources]
        folders = folder_digests(sources)
        remember_sources(run.cache, sources, folders)
        inputs = inputs_key(run.config, sources, scanned.intros, folders)
    else:
        inputs = scanned.inputs
    return Scanned(run, scanned.intros, inputs, unused=scanned.unused)


def load_sources(config: Config, cache: BuildCache | None = None) -> list[SourceFile]:
    """Every article file (see `scan_sources`)."""
    return scan_sources(config, cache).sources


def scan_sources(config: Config, cache: BuildCache | None = None,
                 walked: Walked | None = None) -> Listing:
    """Every article file, the other files of content/ that no build uses (neither an
    article, an intro nor a bundle file) and each folder's sources digest; from `walked` when
    the content folder was walked already. An article whose stat signature is unchanged is not
    read again.

    When more than HASHED_IN_PARENT files are new (a first build, a fresh clone), they are
    not read here: the parse workers read them anyway, so they hash them too, in parallel,
    and their digest stays "" until then (see `remember_sources`).
    """
    if not config.content_dir.is_dir():
        raise SitegenError(f"{config.content_dir}: no content folder")
    if walked is None:
        walked = walk_articles(config.content_dir)
    scanned = walked.found
    refuse_links_out(config.content_dir, scanned)
    known = cache.source_digests() if cache else {}
    found, problems = [], []
    for (rel, path, bundle), signature in zip(scanned.articles, walked.signatures, strict=True):
        try:
            signature = signature or stat_signature(path)  # its stat failed in the walk
        except OSError as exc:
            problems.append(Problem(path, None, f"cannot read: {exc.strerror}"))
            continue
        old = known.get(rel)
        found.append(SourceFile(rel, b"", old[1] if old and old[0] == signature else "",
                                bundle, signature))
    new = [i for i, src in enumerate(found) if not src.digest]
    defer = cache is not None and len(new) > HASHED_IN_PARENT
    for i in [] if defer else new:  # hash now; the worker that parses it reads it again
        src = found[i]
        try:
            digest = read_source(src.path, config.content_dir / src.path, ()).digest
        except OSError as exc:
            problems.append(Problem(config.content_dir / src.path, None,
                                    f"cannot read: {exc.strerror}"))
            continue
        found[i] = dataclasses.replace(src, digest=digest)
    if problems:
        raise ContentError(problems)
    folders = folder_digests(found)
    if cache and not defer:
        remember_sources(cache, found, folders, known, walked.digest)
    return Listing(found, tuple(sorted(scanned.unused)), folders)


def remember_sources(cache: BuildCache, sources: Sequence[SourceFile], folders: dict[str, str],
                     known: dict[str, tuple[str, str]] | None = None,
                     signatures: str | None = None) -> None:
    """Keep each file's signature and digest, so that the next build reads only what changed;
    and, when every digest is known, the digest of all signatures with the sources' digest
    (`unchanged_sources`; `folders`: `folder_digests`; `signatures`: the signatures' digest
    when the walk the sources were listed from made it)."""
    rows = {s.path: (s.signature, s.digest) for s in sources if s.digest}
    if rows != known:
        cache.save_sources(rows, known)
    seen = ""
    if len(rows) == len(sources):
        signatures = signatures or signatures_digest(
            (s.path, s.signature, s.bundle_files) for s in sources)
        seen = f"{signatures} {sources_digest(folders)}"
    if cache.get_meta(SOURCES_SEEN) != seen:
        cache.set_meta(SOURCES_SEEN, seen)


# The meta entry '<signatures_digest> <sources_digest>' of the sources table as last kept.
SOURCES_SEEN = "sources_seen"


def unchanged_sources(run: Run, walked: Walked) -> tuple[str, list[str]] | None:
    """When every article file of the content folder's walk is where it was and has the stat
    signature it had when the sources table was last kept (SOURCES_SEEN): the sources'
    digest then (`sources_digest`), and the articles that are page bundles; else None. No
    SourceFile made, no row of the table read."""
    seen = (run.cache.get_meta(SOURCES_SEEN) or "").split(" ")
    if len(seen) != 2 or walked.digest != seen[0]:  # a failed stat: the full scan says why
        return None
    return seen[1], [rel for rel, _path, bundle in walked.found.articles if bundle]


def folder_of(path: str) -> str:
    """The content folder of a source path ('' for the top of content/)."""
    return path.rpartition("/")[0]


def folder_digests(sources: Iterable[SourceFile]) -> dict[str, str]:
    """Each content folder's sources digest: (relative path, digest, bundle files) of each of
    its articles, in their order. A folder with an article not hashed yet has none. Made once a
    build: the parse stage keeps each folder's outcome by it (parsedfolders.stands) and the
    digest of all sources is made of them (`sources_digest`)."""
    hashes: dict[str, Any] = {}
    unhashed = set()
    for src in sources:
        folder = folder_of(src.path)
        digest = hashes.get(folder)
        if digest is None:
            digest = hashes[folder] = hashlib.blake2b(digest_size=16)
        if not src.digest:
            unhashed.add(folder)
        digest.update(f"{src.path}\0{src.digest}\0{src.bundle_files}\0".encode())
    return {folder: digest.hexdigest() for folder, digest in hashes.items()
            if folder not in unhashed}


def sources_digest(folders: Mapping[str, str]) -> str:
    """A digest of (relative path, digest, bundle files) of every article: of each folder's
    sources digest (`folder_digests`)."""
    digest = hashlib.blake2b(digest_size=16)
    for folder, folder_digest in folders.items():
        digest.update(f"{folder}\0{folder_digest}\0".encode())
    return digest.hexdigest()


# ---------------------------------------------------------------- nothing changed?

def inputs_key(config: Config, sources: Sequence[SourceFile], intros: str = "",
               folders: dict[str, str] | None = None) -> str:
    """A digest of everything a build reads: sources, intros, layouts, static files, config,
    git, and sitegen's code (codeid: new code may render the same inputs differently).
    `folders`: the sources' `folder_digests`, when made already."""
    folders = folder_digests(sources) if folders is None else folders
    return _inputs_key(config, intros, sources_digest(folders),
                       [s.path for s in sources if s.bundle_files])


def _inputs_key(config: Config, intros: str, sources: str, bundled: Sequence[str]) -> str:
    """`inputs_key` of the sources' digest (`sources_digest`) and the page bundles' paths."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(intros.encode() + b"\0")
    for part in (code_digest(), output_digest(config), str(config.search),
                 str(config.strict), str(config.keep_going), sources):
        digest.update(part.encode() + b"\0")
    bundle_dirs = [config.content_dir / Path(rel).parent for rel in bundled]
    for root in [*layout_dirs(config), config.static_dir, *bundle_dirs]:
        digest.update(file_signatures(root))
    if config.git_history:
        digest.update(head_commit(config.content_dir).encode())
    return digest.hexdigest()


def file_signatures(root: Path) -> bytes:
    """Each file under `root`: its relative path and stat signature, in path order."""
    return "".join(f"{rel}\0{stat_signature(path)}\0"
                   for rel, path in sorted(files_under(root, "").items())).encode()


def files_under(root: Path, prefix: str) -> dict[str, Path]:
    """The files under `root` but hidden ones, by `prefix` + their '/'-separated path."""
    found = {}
    if root.is_dir():
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if not name.startswith("."):
                    path = Path(folder, name)
                    found[prefix + path.relative_to(root).as_posix()] = path
    return found


def unchanged_since_last_build(run: Run, inputs: str | None,
                               disturbed: Background[frozenset[str]]) -> BuildReport | None:
    """The last report when no input changed, no date-driven change is due and every file
    the last build wrote is still in place (none is `disturbed`); else None (also when
    `inputs` is not known)."""
    config, cache, states = run.config, run.cache, run.previous
    last = cache.last_build()
    if config.clean or inputs is None or last is None or last.inputs != inputs or \
            cache.committing():
        return None
    if last.valid_until and config.now >= last.valid_until:
        return None
    if config.search and search.index_problem(config):
        return None
    if not states or disturbed.result() or not (config.output_dir / MARKER).is_file():
        return None
    return BuildReport(articles=last.articles, pages_planned=len(states),
                       pages_rendered=0, files_written=0, files_unchanged=len(states),
                       files_removed=0, seconds=0.0, warnings=last.warnings,
                       unused=last.unused, redirects=last.redirects)


def remember_build(run: Run, inputs: str, valid_until: datetime | None, report: BuildReport
                   ) -> None:
    """What the next build needs to find that nothing changed (`unchanged_since_last_build`)."""
    run.cache.remember_build(inputs, valid_until, report)
