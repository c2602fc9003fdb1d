"""`sitegen check`: no published URL disappears in the commit being made.

The articles the git index changes (`git diff --cached --name-status -M`: edits, renames,
deletions) are read twice, as `HEAD` holds them and as the index does (one `git cat-file
--batch`), and their URLs computed from their front matter as a build would. A published URL
that changes or goes away is an error naming the article file, the old URL and the new one,
unless the article (or, for a deleted or unpublished one, any article) lists the old path among
its aliases. It reads the index, not the working tree, so it checks exactly what a pre-commit
hook is about to commit.

`--fix` adds the old path to the article's front matter, as text: one line `aliases: [/old/]`,
or one more entry in the list it already has; every other byte of the file stays as it was.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import Config
from .content import ArticleError, parse_source
from .errors import Problem
from .records import Article, SourceFile
from .sources import ARTICLE_EXTENSIONS, INTRO_NAMES
from .urls import Urls

ALIAS_KEYS = ("aliases", "redirect_from")
_PLAIN = re.compile(r"^[A-Za-z0-9/._~%+-]+$")  # an alias YAML reads as plain text, unquoted
_FENCE = re.compile(r"^---[ \t]*\r?$")


@dataclass(frozen=True)
class Change:
    """One article file the index changes: its path at HEAD and in the index ("" when none)."""

    old: str  # relative to the repository
    new: str


@dataclass(frozen=True)
class Moved:
    """A published URL that the commit would lose."""

    source: str  # the article file at HEAD, relative to the content folder
    new_source: str  # the article file in the index ("" when deleted)
    old_url: str
    new_url: str  # "" when the article is deleted or no longer published


def check_urls(config: Config, articles: Sequence[Article] = (), fix: bool = False
               ) -> tuple[list[Problem], list[str]]:
    """Problems (with `fix`, the mended ones with severity "fixed") and notes to print (such
    as why the check was skipped). `articles`: the site's parsed articles, whose aliases keep
    the URL of a deleted article alive."""
    repo = _repository(config.content_dir)
    if repo is None:
        return [], [f"URL check skipped: {config.content_dir.name}/ is not in a git "
                    "repository with a commit"]
    moved = lost_urls(config, repo, articles)
    folder = Path(config.content_dir.name)
    problems = []
    for item in moved:
        where = folder / (item.new_source or item.source)
        if fix and item.new_url:
            problem = _fix(config, item, where)
            if problem:
                problems.append(problem)
                continue
        problems.append(Problem(where, None, _message(item, folder)))
    return problems, []


def _message(item: Moved, folder: Path) -> str:
    if item.new_url:
        return (f"its URL would change from {item.old_url} to {item.new_url} with no redirect: "
                f"add the old path to its aliases (`sitegen check --fix` does)")
    return (f"the published URL {item.old_url} of {folder / item.source} would disappear (the "
            "article is deleted or no longer published): list it in the aliases of the article "
            "that replaces it")


def _fix(config: Config, item: Moved, where: Path) -> Problem | None:
    """Add the alias to the working file; a Problem: "fixed", or an error when it cannot."""
    path = config.content_dir / item.new_source
    alias = "/" + item.old_url[len(config.base_path):]
    try:
        data = path.read_bytes()
        mended = add_alias(data, alias)
    except (OSError, ValueError) as exc:
        return Problem(where, None, f"URL {item.old_url} changed to {item.new_url}, and the "
                                    f"alias could not be added ({exc}): add "
                                    f"`aliases: [{alias}]`")
    path.write_bytes(mended)
    return Problem(where, None, f"added the alias {alias} (the old URL {item.old_url}): "
                               "stage the file (git add) and commit again", "fixed")


# ---------------------------------------------------------------- what the commit changes

def lost_urls(config: Config, repo: Path, articles: Sequence[Article] = ()) -> list[Moved]:
    """The published URLs at HEAD that the index would lose without an alias."""
    content = _relative(config.content_dir, repo)
    changes = staged_changes(repo, content)
    if not changes:
        return []
    blobs = _blobs(repo, [f"HEAD:{c.old}" for c in changes if c.old] +
                   [f":{c.new}" for c in changes if c.new])
    urls = Urls(config)
    before = {c.old: _article(config, urls, c.old, content, blobs.get(f"HEAD:{c.old}"))
              for c in changes if c.old}
    after = {c.new: _article(config, urls, c.new, content, blobs.get(f":{c.new}"))
             for c in changes if c.new}
    kept = _alias_urls(urls, [*articles, *(a for a in after.values() if a is not None)])
    moved = []
    for change in changes:
        old = before.get(change.old) if change.old else None
        if old is None:
            continue
        new = after.get(change.new) if change.new else None
        new_url = new.url if new is not None else ""
        if new_url == old.url or old.url in kept:
            continue
        if new is not None and old.url in _alias_urls(urls, [new]):
            continue
        moved.append(Moved(_inside(change.old, content), _inside(change.new, content)
                           if new is not None else "", old.url, new_url))
    return moved


def staged_changes(repo: Path, content: str) -> list[Change]:
    """Article files under `content` (relative to the repository) that the index changes."""
    out = _git(repo, "diff", "--cached", "--name-status", "-M", "-z", "--", content or ".")
    fields = out.split("\0")
    changes = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old = new = fields[i + 1]
            i += 2
        old = old if status[0] not in "AC" and _is_article_path(old, content) else ""
        new = new if status[0] != "D" and _is_article_path(new, content) else ""
        if old:  # an added file loses no URL
            changes.append(Change(old, new))
    return changes


def _is_article_path(path: str, content: str) -> bool:
    rel = _inside(path, content)
    parts = rel.split("/")
    return (rel.endswith(ARTICLE_EXTENSIONS) and parts[-1] not in INTRO_NAMES
            and not any(part.startswith(".") for part in parts))


def _article(config: Config, urls: Urls, path: str, content: str, data: bytes | None
             ) -> Article | None:
    """The published article a blob holds, or None (not an article, unpublished, invalid:
    check reports the invalid ones of the working tree on its own)."""
    if data is None:
        return None
    try:
        article = parse_source(SourceFile(_inside(path, content), data, ""), config, urls).article
    except ArticleError:
        return None
    return article if article.url and config.publishes(article) else None


def _alias_urls(urls: Urls, articles: Iterable[Article]) -> set[str]:
    return {urls.fixed(alias) for article in articles for alias in article.aliases}


# ---------------------------------------------------------------- git

def _repository(folder: Path) -> Path | None:
    """The top of the git work tree holding `folder`, when it has a commit; else None."""
    try:
        top = _git(folder, "rev-parse", "--show-toplevel").strip()
        _git(folder, "rev-parse", "--verify", "--quiet", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(top) if top else None


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, encoding="utf-8", errors="surrogateescape").stdout


def _blobs(repo: Path, names: list[str]) -> dict[str, bytes]:
    """The blobs of `HEAD:path` and `:path` (the index) names, in one `git cat-file --batch`."""
    if not names:
        return {}
    request = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=request, check=True,
                         capture_output=True).stdout
    blobs: dict[str, bytes] = {}
    at = 0
    for name in names:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) < 3 or header[-1] == b"missing":
            continue
        size = int(header[2])
        blobs[name] = out[at:at + size]
        at += size + 1
    return blobs


def _relative(folder: Path, repo: Path) -> str:
    rel = folder.resolve().relative_to(repo.resolve()).as_posix()
    return "" if rel == "." else rel


def _inside(path: str, content: str) -> str:
    """A repository path relative to the content folder."""
    return path[len(content) + 1:] if content else path


# ---------------------------------------------------------------- --fix

def add_alias(data: bytes, alias: str) -> bytes:
    """The file with `alias` added to its front matter's aliases, every other byte as it was:
    appended to an `aliases` (or `redirect_from`) list, or a new line `aliases: [alias]`
    before the closing `---`. ValueError when the front matter is not one this can edit."""
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip("\ufeff \t\r\n")), None)
    if start is None or not _FENCE.match(lines[start].lstrip("\ufeff")):
        raise ValueError("no front matter")
    end = next((i for i in range(start + 1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        raise ValueError("front matter not closed")
    newline = "\r\n" if lines[start].endswith("\r\n") else "\n"
    entry = alias if _PLAIN.match(alias) else json.dumps(alias)
    mended = _append(lines, start + 1, end, entry, newline)
    result = "".join(mended)
    if alias not in _aliases_in(result):
        raise ValueError("its aliases are written in a way this cannot extend")
    return result.encode("utf-8")


def _append(lines: list[str], first: int, end: int, entry: str, newline: str) -> list[str]:
    for key in ALIAS_KEYS:
        for i in range(first, end):
            match = re.match(rf"^{key}[ \t]*:[ \t]*(.*?)(\r?\n)?$", lines[i])
            if match:
                return _extend(lines, i, end, match.group(1), entry, newline)
    return [*lines[:end], f"aliases: [{entry}]{newline}", *lines[end:]]


def _extend(lines: list[str], at: int, end: int, value: str, entry: str, newline: str
            ) -> list[str]:
    """One more entry in the list (or scalar) at line `at`."""
    line = lines[at]
    body, ending = (line[:-len(newline)], newline) if line.endswith(newline) else (line, "")
    head = body[: len(body) - len(value)]
    text, comment = _split_comment(value)
    if not text:  # a block list follows: `- item` lines
        items = [i for i in range(at + 1, end) if re.match(r"^[ \t]*-[ \t]", lines[i])]
        block = _block_end(lines, at + 1, end)
        items = [i for i in items if i < block]
        if not items:
            return [*lines[:at], f"{head}[{entry}]{comment}{ending}", *lines[at + 1:]]
        last = items[-1]
        dash = re.match(r"^[ \t]*-[ \t]+", lines[last]).group(0)
        return [*lines[:last + 1], f"{dash}{entry}{newline}", *lines[last + 1:]]
    stripped = text.rstrip()
    if stripped.startswith("[") and stripped.endswith("]"):
        inner = stripped[1:-1].strip()
        joined = f"[{stripped[1:-1].rstrip()}, {entry}]" if inner else f"[{entry}]"
        return [*lines[:at], f"{head}{joined}{text[len(stripped):]}{comment}{ending}",
                *lines[at + 1:]]
    return [*lines[:at], f"{head}[{stripped}, {entry}]{text[len(stripped):]}{comment}{ending}",
            *lines[at + 1:]]


def _block_end(lines: list[str], first: int, end: int) -> int:
    """Where the block under a key ends: the next line starting at column 0 that is not a
    list item or a comment."""
    for i in range(first, end):
        line = lines[i]
        if line.strip() and not line[0].isspace() and not line.startswith(("-", "#")):
            return i
    return end


def _split_comment(value: str) -> tuple[str, str]:
    """A value and its trailing comment (` # ...`), outside quotes."""
    quote = ""
    for i, char in enumerate(value):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or value[i - 1] in " \t"):
            cut = len(value[:i].rstrip())
            return value[:cut], value[cut:]
    return value, ""


def _aliases_in(text: str) -> list[str]:
    """The aliases front matter lists (for the check that the edit says what it means)."""
    match = re.match(r"^\ufeff?\s*---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", text, re.S | re.M)
    if not match:
        return []
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return []
    found: list[str] = []
    for key in ALIAS_KEYS:
        value = meta.get(key) if isinstance(meta, dict) else None
        found += [value] if isinstance(value, str) else \
            [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    return found
