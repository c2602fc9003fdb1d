"""Git history of the articles: for each file, the commits that touched it, newest first.

One `git log` for the whole content folder, parsed in one pass, so the cost grows with the
number of commits and changed paths, not with one process per article (Hugo's gitinfo does
the same). The date of a revision is the commit's *author* date in the offset it was written
in (Hugo's `:git` lastmod uses it too): a rebase or a cherry-pick keeps it, so it stays the
moment the change was made.

Nothing here raises: without git, outside a repository, in a repository with no commits or
in a shallow clone (whose oldest commits would give wrong dates) the answer is `{}`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from .records import Revision

# Settings a user's git config could set that would change the output parsed below.
_GIT_CONFIG = (
    "-c", "core.quotepath=off", "-c", "diff.renames=false", "-c", "diff.relative=false",
    "-c", "log.showSignature=false", "-c", "color.ui=false",
)
_HEADER = b"\x1e"  # starts each commit: \x1e<author date>\x1f<subject>\0
_SUBJECT = b"\x1f"


def git_history(content_dir: Path, rel_paths: Iterable[str]) -> dict[str, tuple[Revision, ...]]:
    """Map each article path (relative to `content_dir`, '/'-separated) to its commits.

    Only paths with at least one commit are keys; each value is newest first (by date;
    git's order breaks ties). Renames are not followed: a moved file's history starts at
    its move.
    """
    wanted = set(rel_paths)
    if not wanted or shutil.which("git") is None or not Path(content_dir).is_dir():
        return {}
    info = _git(content_dir, "rev-parse", "--is-shallow-repository", "--show-prefix")
    if info is None:
        return {}
    lines = os.fsdecode(info).split("\n")
    if lines[0].strip() != "false" or len(lines) < 2:
        return {}  # a shallow clone, or a git too old to say
    prefix = lines[1]
    log = _git(content_dir, "log", "-z", "--no-merges", "--no-renames", "--name-only",
               "--no-color", f"--format={_HEADER.decode()}%aI{_SUBJECT.decode()}%s", "--", ".")
    if log is None:
        return {}
    return _parse_log(log, prefix, wanted)


def _git(cwd: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", *_GIT_CONFIG, "-C", str(cwd), *args],
                              capture_output=True, check=False,
                              env={**os.environ, "LC_ALL": "C"})
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _parse_log(log: bytes, prefix: str, wanted: set[str]) -> dict[str, tuple[Revision, ...]]:
    found: dict[str, list[Revision]] = {}
    current: Revision | None = None
    after_header = False
    for token in log.split(b"\0"):
        if token.startswith(_HEADER):
            current = _revision(token[1:])
            after_header = True
            continue
        if after_header and token.startswith(b"\n"):
            token = token[1:]  # the newline between a commit's header and its file names
        after_header = False
        if not token or current is None:
            continue
        name = os.fsdecode(token)
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix):]
        if rel in wanted:
            found.setdefault(rel, []).append(current)
    return {rel: tuple(sorted(revs, key=lambda r: r.date, reverse=True))
            for rel, revs in found.items()}


def _revision(header: bytes) -> Revision | None:
    date_text, _, subject = header.partition(_SUBJECT)
    try:
        date = datetime.fromisoformat(date_text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return Revision(date, subject.decode("utf-8", "replace"))


def head_commit(content_dir: Path) -> str:
    """The commit checked out for `content_dir` ('' outside git): a history-changing event."""
    if shutil.which("git") is None or not Path(content_dir).is_dir():
        return ""
    head = _git(content_dir, "rev-parse", "HEAD")
    return head.decode().strip() if head else ""
