"""Git history of the articles: for each file, the commits that updated it, newest first.

One `git log` for the whole content folder, parsed in one pass, so the cost grows with the
number of commits and changed paths, not with one process per article (Hugo's gitinfo does
the same). The date of a revision is the commit's *author* date in the offset it was written
in (Hugo's `:git` lastmod uses it too): a rebase or a cherry-pick keeps it, so it stays the
moment the change was made.

What counts as an update, told honestly to readers:
- the commit that adds a file is its publication, never an update;
- commits listed in `.git-blame-ignore-revs` at the repository root (GitHub's format: one
  full hash a line, `#` comments) do not count;
- a commit that changes neither the headline, the summary nor the body (a tag, another
  front-matter key) is not an update. Whether it did is told by the blobs before and after,
  read with one `git cat-file --batch` for all such commits (only when the body is the same
  are the front matters parsed).
A revision carries its date and the commit's `Revision-Note:` trailer (if any), never the
commit's own message, which is written for the newsroom.

Nothing here raises: without git, outside a repository, in a repository with no commits or
in a shallow clone (whose oldest commits would give wrong dates) the answer is `{}`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .records import Revision
from .state import BuildState

# Settings a user's git config could set that would change the output parsed below.
_GIT_CONFIG = (
    "-c", "core.quotepath=off", "-c", "diff.renames=false", "-c", "diff.relative=false",
    "-c", "log.showSignature=false", "-c", "color.ui=false",
)
_HEADER = b"\x1e"  # starts each commit: \x1e<hash>\x1f<author date>\x1f<notes>\0
_FIELD = b"\x1f"
_NOTES = b"\x1d"  # between the values of several Revision-Note trailers
_FORMAT = "%x1e%H%x1f%aI%x1f%(trailers:key=Revision-Note,valueonly,unfold,separator=%x1d)"
IGNORE_REVS_FILE = ".git-blame-ignore-revs"
_HASH = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_NULL_BLOB = "0" * 40


@dataclass(frozen=True, slots=True)
class _Change:
    """One commit's change of one wanted file, as `git log --raw` tells it."""

    commit: str
    date: datetime
    note: str
    status: str  # A(dded), M(odified), D(eleted), T(ype changed)
    old_blob: str
    new_blob: str


def git_history(content_dir: Path, rel_paths: Iterable[str], cache_dir: Path | None = None
                ) -> dict[str, tuple[Revision, ...]]:
    """Map each article path (relative to `content_dir`, '/'-separated) to its updates.
    `cache_dir`: where what each edit changed is remembered (it never changes), so that a
    build reads only the blobs of new commits.

    Only paths with at least one update are keys; each value is newest first (by date;
    git's order breaks ties). Renames are not followed: a moved file's history starts at
    its move, which is then its publication.
    """
    wanted = set(rel_paths)
    if not wanted or shutil.which("git") is None or not Path(content_dir).is_dir():
        return {}
    info = _git(content_dir, "rev-parse", "--is-shallow-repository", "--show-prefix",
                "--show-toplevel")
    if info is None:
        return {}
    lines = os.fsdecode(info).split("\n")
    if lines[0].strip() != "false" or len(lines) < 3:
        return {}  # a shallow clone, or a git too old to say
    prefix, toplevel = lines[1], lines[2]
    log = _git(content_dir, "log", "-z", "--no-merges", "--no-renames", "--raw", "--no-abbrev",
               "--no-color", f"--format={_FORMAT}", "--", ".")
    if log is None:
        return {}
    ignored = ignored_revisions(Path(toplevel))
    changes = {rel: [c for c in found if c.commit not in ignored]
               for rel, found in _parse_log(log, prefix, wanted).items()}
    edits = {(c.old_blob, c.new_blob) for found in changes.values() for c in found
             if c.status in "MT"}
    textual = _textual_edits(content_dir, edits, cache_dir)
    out = {}
    for rel, found in changes.items():
        revisions = [Revision(c.date, c.note) for c in found
                     if c.status in "MT" and (c.old_blob, c.new_blob) in textual]
        if revisions:
            out[rel] = tuple(sorted(revisions, key=lambda r: r.date, reverse=True))
    return out


def ignored_revisions(toplevel: Path) -> frozenset[str]:
    """The full commit hashes `.git-blame-ignore-revs` lists (GitHub's format: a hash a
    line, '#' starts a comment); an abbreviated or malformed line is not a hash, so skipped."""
    try:
        text = (toplevel / IGNORE_REVS_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    found = set()
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip().lower()
        if _HASH.match(word):
            found.add(word)
    return frozenset(found)


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(["git", *_GIT_CONFIG, "-C", str(cwd), *args],
                              capture_output=True, check=False, input=stdin,
                              env={**os.environ, "LC_ALL": "C"})
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _parse_log(log: bytes, prefix: str, wanted: set[str]) -> dict[str, list[_Change]]:
    """Each wanted path's changes, in git's order (newest first)."""
    found: dict[str, list[_Change]] = {}
    header: tuple[str, datetime, str] | None = None
    raw: list[str] | None = None  # the raw line ahead of its path
    for token in log.split(b"\0"):
        if token.startswith(_HEADER):
            header, raw = _header(token[1:]), None
            continue
        token = token.lstrip(b"\n")  # the newline between a commit's header and its changes
        if not token or header is None:
            continue
        if raw is None and token.startswith(b":"):
            raw = token.decode("ascii", "replace").split()
            continue
        if raw is None or len(raw) < 5:
            raw = None
            continue
        name = os.fsdecode(token)
        rel = name[len(prefix):]
        if rel in wanted and name.startswith(prefix):
            commit, date, note = header
            found.setdefault(rel, []).append(
                _Change(commit, date, note, raw[4][:1], raw[2], raw[3]))
        raw = None
    return found


def _header(header: bytes) -> tuple[str, datetime, str] | None:
    parts = header.split(_FIELD)
    if len(parts) < 3:
        return None
    try:
        date = datetime.fromisoformat(parts[1].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    notes = [n.strip() for n in parts[2].decode("utf-8", "replace").split(_NOTES.decode())]
    return parts[0].decode("ascii", "replace"), date, " ".join(n for n in notes if n)


# ---------------------------------------------------------------- what a change changed

def _textual_edits(cwd: Path, edits: set[tuple[str, str]], cache_dir: Path | None
                   ) -> set[tuple[str, str]]:
    """The (old blob, new blob) pairs that change the headline, the summary or the body."""
    known = _read_memo(cache_dir)
    pairs = [p for p in edits if _NULL_BLOB not in p and p not in known]
    if pairs:
        blobs = _blobs(cwd, {b for pair in pairs for b in pair})
        if blobs is None:  # cat-file failed: every edit counts, as before this was told apart
            return {p for p in edits if known.get(p, True)}
        found = {(old, new): old not in blobs or new not in blobs or
                 _changes_text(blobs[old], blobs[new]) for old, new in pairs}
        known.update(found)
        _write_memo(cache_dir, known)
    return {p for p in edits if known.get(p, True)}


def _read_memo(cache_dir: Path | None) -> dict[tuple[str, str], bool]:
    return BuildState(cache_dir).history_edits() if cache_dir is not None else {}


def _write_memo(cache_dir: Path | None, known: dict[tuple[str, str], bool]) -> None:
    if cache_dir is not None:
        BuildState(cache_dir).keep_history_edits(known)


def _blobs(cwd: Path, ids: set[str]) -> dict[str, bytes] | None:
    """The contents of these blobs, from one `git cat-file --batch`."""
    ordered = sorted(ids)
    out = _git(cwd, "cat-file", "--batch", stdin="".join(f"{i}\n" for i in ordered).encode())
    if out is None:
        return None
    blobs: dict[str, bytes] = {}
    at = 0
    while at < len(out):
        end = out.find(b"\n", at)
        if end < 0:
            break
        fields = out[at:end].split()
        at = end + 1
        if len(fields) != 3 or fields[1] != b"blob":  # "<id> missing"
            continue
        size = int(fields[2])
        blobs[fields[0].decode("ascii")] = out[at:at + size]
        at += size + 1  # the contents, then a newline
    return blobs


def _changes_text(old: bytes, new: bytes) -> bool:
    old_front, old_body = _split(old)
    new_front, new_body = _split(new)
    if old_body != new_body or old_front is None or new_front is None:
        return True
    if old_front == new_front:
        return False
    old_text, new_text = old_front.decode("utf-8", "replace"), new_front.decode("utf-8", "replace")
    if _text_keys(old_text) == _text_keys(new_text):
        return False
    return _headline_and_summary(old_text) != _headline_and_summary(new_text)


_CLOSING = re.compile(rb"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)


def _split(data: bytes) -> tuple[bytes | None, bytes]:
    """(front matter or None when there is none, the body without leading blank lines), as
    bytes: most edits change the body, which is then told without decoding anything."""
    stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n \t")
    first = stripped.find(b"\n")
    if not stripped.startswith(b"---") or first < 0:
        return None, data
    closing = _CLOSING.search(stripped, first + 1)
    if closing is None:
        return None, data
    return stripped[first + 1: closing.start()], stripped[closing.end():].lstrip(b"\r\n")


_TEXT_KEYS = frozenset(("title", "summary", "description", "excerpt"))
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:")


def _text_keys(front: str) -> dict[str, str]:
    """The lines of the headline and summary keys as written (a key's line and the indented
    ones under it): when they are the same, so are their values, and YAML is not needed."""
    blocks: dict[str, str] = {}
    key = None
    for line in front.split("\n"):
        top = _TOP_KEY.match(line)
        if top or (line[:1] not in (" ", "\t", "") and not line.startswith("- ")):
            key = top.group(1).lower() if top else None
            if key in _TEXT_KEYS:
                blocks[key] = blocks.get(key, "") + line + "\n"
        elif key in _TEXT_KEYS:
            blocks[key] += line + "\n"
    return blocks


def _headline_and_summary(front: str) -> tuple[Any, Any] | None:
    """The title and summary as the front matter gives them (sitegen's keys win over the
    foreign ones that mean them, as in frontkeys.normalize); None when it is not a mapping
    YAML can read (then any change of it counts)."""
    import yaml  # only when a body stayed the same

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        meta = yaml.load(front, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        return None
    if not isinstance(meta, dict):
        return None
    keys = {str(k).lower(): v for k, v in meta.items()}
    summary = next((keys[k] for k in ("summary", "description", "excerpt") if k in keys), None)
    return keys.get("title"), summary


def head_commit(content_dir: Path) -> str:
    """The commit checked out for `content_dir` and the ignored revisions ('' outside git):
    a history-changing event."""
    if shutil.which("git") is None or not Path(content_dir).is_dir():
        return ""
    head = _git(content_dir, "rev-parse", "HEAD", "--show-toplevel")
    if not head:
        return ""
    lines = os.fsdecode(head).split("\n")
    ignored = sorted(ignored_revisions(Path(lines[1]))) if len(lines) > 1 else []
    return lines[0].strip() + ":" + hashlib.blake2b("\n".join(ignored).encode(),
                                                    digest_size=8).hexdigest()
