"""Pagefind full-text search over the article pages: one index per year, merged in the browser.

Pagefind cannot update an index in place (Pagefind/pagefind#71) and one index costs ~226 KB of
memory per page while it builds, so the archive is split into *shards*: one Pagefind bundle per
UTC year of publication under `output/pagefind/<year>/` (a year with more than
`MAX_SHARD_PAGES` articles is split into quarters, a quarter into months, a month into days).
`manifest.json` lists the shards newest first; `assets/search.js` opens the newest with
`pagefind.js` and merges the others with Pagefind's multisite `mergeIndex`. A build re-indexes
only the shards whose pages changed, removes the shards of years that no longer have articles,
and indexes up to `config.workers` shards at once, each in its own `pagefind --service` process.

Shards follow UTC years and the sort key is the UTC instant, so the newest-first order of the
merged results is exact: each shard returns its pages in date order, and the browser puts the
shards one after the other (see search.js).

Pagefind's Python API waits 100 ms between two replies of its service (`asyncio.sleep(0.1)` in
`PagefindService._wait_for_responses`), ~100 ms per page. `PagefindProcess` speaks the same
stdin/stdout protocol (base64 JSON messages ended by ','), writes every request of a shard from
a thread while it reads the replies as they arrive, so the service never waits for us. The
bundle comes back in the reply to GetFiles and is written here, checked, then swapped in:
the service's own WriteFiles can leave empty files (see `_index_shard`).

Pages come from `output/`: a shard is always re-indexed whole, including the articles this build
did not render, and the rendered bytes of the others stay in the render workers. They were just
written, so they are read from the page cache. Each page is trimmed to its `<html>` tag and its
`data-pagefind-body` element before it goes to Pagefind (when nothing outside that element
carries a `data-pagefind-*` attribute, which is all Pagefind reads there).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from .cache import output_key
from .config import Config
from .errors import SitegenError
from .pagefind_format import canonical_bundle
from .records import Article
from .urls import Urls, safe_relative_path
from .writer import write_atomic

FORMAT = 3  # bump when page trimming, the bundle layout or the manifest changes
MAX_SHARD_PAGES = 3000  # one Pagefind process holds ~230 KB per page: ~0.7 GB at most
BUNDLE_DIR = "pagefind"
MANIFEST = "manifest.json"
STATE_FILE = "search-index"
STAGING = ".staging"
# What a shard keeps of the bundle Pagefind writes. The newest shard also keeps the runtime
# (`pagefind.js`, its worker and WebAssembly), which the browser loads once for all shards.
DATA_FILES = re.compile(r"^(pagefind-entry\.json|pagefind\.[^/]+\.pf_meta|index|filter|fragment)$")
RUNTIME_FILES = re.compile(r"^(pagefind\.js|pagefind-worker\.js|wasm\.[^/]+\.pagefind)$")


Signature = list[Any]  # [size, mtime_ns, digest of the trimmed page] of an article page


@dataclass(frozen=True)
class SearchReport:
    shards: tuple[str, ...]  # every shard, newest first
    indexed: tuple[str, ...]  # the shards this build (re)indexed
    removed: tuple[str, ...]  # shards (or other leftovers) removed from output/pagefind/
    pages_indexed: int
    seconds: float


@dataclass(frozen=True)
class Shard:
    id: str  # "2019", or "2019-03" / "2019-03-14" when a year or month is too big
    urls: tuple[str, ...]  # article URLs (with the base path), newest first


# ---------------------------------------------------------------- the build step

def update_search_index(config: Config, articles: Sequence[Article], changed_urls: set[str]
                        ) -> SearchReport:
    """Bring `output/pagefind/` up to date with the article pages just written.

    `articles` are all published articles; `changed_urls` the article URLs whose page file this
    build (re)wrote. A shard is re-indexed when its list of pages changed, when what Pagefind
    reads of one of its pages changed, or when its bundle is missing. A page whose file is
    unchanged (size and mtime) is not read again; a rewritten page is read and trimmed, and
    counts as changed only when its trimmed bytes differ: adding an article rewrites the
    "next"/"related" links of others, which Pagefind never reads. Comparing files rather than
    trusting `changed_urls` alone also catches up on builds run with --no-search.
    """
    started = time.perf_counter()
    urls = Urls(config)
    bundle = config.output_dir / BUNDLE_DIR
    shards = plan_shards(articles)
    files = {url: config.output_dir / urls.output_path(url)
             for shard in shards for url in shard.urls}
    executable = pagefind_executable()
    settings = {"format": FORMAT, "pagefind": pagefind_version(executable),
                "base_path": config.base_path}
    state = _load_state(config, settings)
    primary = shards[0].id if shards else None

    new_state: dict[str, dict[str, Signature]] = {}
    trimmed: dict[str, bytes] = {}  # pages read for the comparison: not read again to index
    dirty: list[Shard] = []
    for shard in shards:
        old = state.get(shard.id, {})
        folder = bundle / shard.id
        pages: dict[str, Signature] = {}
        stale = (set(old) != set(shard.urls)
                 or bundle_problem(folder, runtime=shard.id == primary) is not None)
        for url in shard.urls:
            size, mtime = _stat(files[url], url)
            known = old.get(url)
            if not (isinstance(known, list) and len(known) == 3):
                known = None
            if known and known[:2] == [size, mtime] and url not in changed_urls:
                pages[url] = known
            elif stale:
                pages[url] = [size, mtime, ""]  # read once, while it is indexed
            else:
                trimmed[url] = trim_page(files[url].read_bytes())
                pages[url] = [size, mtime, _digest(trimmed[url])]
                stale = not known or known[2] != pages[url][2]
        new_state[shard.id] = pages
        if stale:
            dirty.append(shard)

    staging = bundle / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    indexed_pages = 0
    if dirty:
        staging.mkdir(parents=True)
        jobs = max(1, min(config.workers, len(dirty)))
        cut = len(config.base_path) - 1  # Pagefind keeps site URLs; the browser adds the base

        def index(shard: Shard) -> int:
            pages = new_state[shard.id]

            def documents() -> Iterator[tuple[str, str]]:
                for url in shard.urls:
                    data = trimmed.pop(url, None)
                    if data is None:
                        data = trim_page(files[url].read_bytes())
                        pages[url] = [*pages[url][:2], _digest(data)]
                    yield url[cut:], data.decode("utf-8", "replace")

            return _index_shard(executable, shard.id, documents(), bundle,
                                keep_runtime=shard.id == primary)

        from concurrent.futures import ThreadPoolExecutor  # not on a no-change build

        try:  # biggest shards first, so no worker is left with a big one at the end
            with ThreadPoolExecutor(jobs) as pool:
                indexed_pages = sum(pool.map(index, sorted(dirty, key=lambda s: -len(s.urls))))
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    for shard in shards[1:]:  # a former newest shard keeps no runtime
        _prune(bundle / shard.id, keep_runtime=False)
    removed = _remove_unplanned(bundle, {s.id for s in shards} | {MANIFEST})
    _write_manifest(bundle, shards, settings["pagefind"])
    _save_state(config, settings, new_state)
    return SearchReport(tuple(s.id for s in shards), tuple(s.id for s in dirty), removed,
                        indexed_pages, time.perf_counter() - started)


SHARD_PERIODS = (  # the calendar periods a shard covers, coarsest first
    lambda when: f"{when:%Y}",
    lambda when: f"{when:%Y}-q{(when.month - 1) // 3 + 1}",
    lambda when: f"{when:%Y-%m}",
    lambda when: f"{when:%Y-%m-%d}",
)


def plan_shards(articles: Iterable[Article], max_pages: int = MAX_SHARD_PAGES) -> list[Shard]:
    """Articles grouped by UTC year of publication, newest first; a year with more than
    `max_pages` articles split into quarters, such a quarter into months, a month into days.

    Calendar boundaries keep the other shards as they are when one article is added or removed.
    Every shard the browser merges costs it requests on each query (132 month shards of a
    10,000-article archive: 3.7 s to a first result, against 0.95 s for 10 year shards), so
    shards are as big as indexing memory allows.
    """
    dated = sorted(((a.date.astimezone(UTC), a.url) for a in articles), reverse=True)
    groups: dict[str, list[tuple[datetime, str]]] = {}

    def split(members: list[tuple[datetime, str]], level: int) -> None:
        parts: dict[str, list[tuple[datetime, str]]] = {}
        for when, url in members:
            parts.setdefault(SHARD_PERIODS[level](when), []).append((when, url))
        for key, part in parts.items():
            if len(part) > max_pages and level + 1 < len(SHARD_PERIODS):
                split(part, level + 1)
            else:
                groups[key] = part

    split(dated, 0)
    newest_first = sorted(groups, key=lambda key: groups[key][0][0], reverse=True)
    return [Shard(key, tuple(url for _, url in groups[key])) for key in newest_first]


def _stat(path: Path, url: str) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SitegenError(f"search: the page of {url} is missing ({path})") from None
    return stat.st_size, stat.st_mtime_ns


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


# ---------------------------------------------------------------- one shard

def _index_shard(executable: Path, shard_id: str, documents: Iterable[tuple[str, str]],
                 bundle: Path, keep_runtime: bool) -> int:
    """Index one shard's (url, html) pages, write its bundle into the staging folder, check it,
    then swap it into `output/pagefind/<id>/`.

    The bundle comes back in the service's reply (GetFiles) and is written here: Pagefind's
    WriteFiles answers before its (tokio) file writes are done, and the service exits at the end
    of its input with writes pending, which left zero-byte files in some builds.
    """
    new = bundle / STAGING / shard_id
    old = bundle / STAGING / f"{shard_id}.old"
    with PagefindProcess(executable) as service:
        count, files = service.index(documents)
    try:
        files = canonical_bundle(files)  # Pagefind writes filters in hash-map order
    except ValueError as exc:
        raise SitegenError(f"search: cannot read Pagefind's index of {shard_id}: {exc}") from exc
    made: set[Path] = set()
    for rel, data in files.items():
        name = rel.split("/", 1)[0]
        if DATA_FILES.match(name) or (keep_runtime and RUNTIME_FILES.match(name)):
            path = new / safe_relative_path(rel)
            if path.parent not in made:  # ~one fragment file a page: one mkdir a folder
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(data)
    problem = bundle_problem(new, keep_runtime)
    if problem:
        raise SitegenError(f"search: the index of {shard_id} is incomplete: {problem}")
    final = bundle / shard_id
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)
    return count


def index_problem(config: Config) -> str | None:
    """Why the site's search bundle cannot be served as it is (missing manifest, a damaged
    shard), or None: lets a build that changed nothing still repair a broken bundle."""
    bundle = config.output_dir / BUNDLE_DIR
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
        shards = [(entry["path"], entry["path"] == manifest["runtime"])
                  for entry in manifest["shards"]]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{MANIFEST} is missing or unreadable"
    for path, runtime in shards:
        problem = bundle_problem(bundle / path, runtime=runtime)
        if problem:
            return f"{path}: {problem}"
    return None


def bundle_problem(folder: Path, runtime: bool = False) -> str | None:
    """Why a shard's bundle cannot be searched (no readable entry, missing metadata, an empty
    file), or None."""
    try:
        entry = json.loads((folder / "pagefind-entry.json").read_text(encoding="utf-8"))
        languages = entry["languages"]
    except (OSError, ValueError, KeyError, TypeError):
        return "pagefind-entry.json is missing or unreadable"
    for info in languages.values():
        meta = folder / f"pagefind.{info.get('hash')}.pf_meta"
        if not meta.is_file() or meta.stat().st_size == 0:
            return f"{meta.name} is missing or empty"
        if runtime and not (folder / f"wasm.{info.get('wasm') or 'unknown'}.pagefind").is_file():
            return f"wasm.{info.get('wasm')}.pagefind is missing"
    if runtime and not (folder / "pagefind.js").is_file():
        return "pagefind.js is missing"
    return None


def _prune(folder: Path, keep_runtime: bool) -> None:
    """Drop what the browser never loads from a shard: Pagefind's UIs, and the runtime
    everywhere but in the newest shard."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if DATA_FILES.match(entry.name) or (keep_runtime and RUNTIME_FILES.match(entry.name)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _remove_unplanned(bundle: Path, keep: set[str]) -> tuple[str, ...]:
    """Remove shards of years without articles and anything else output/pagefind/ held
    (an index from an older layout, a staging folder left by a crash)."""
    removed = []
    if bundle.is_dir():
        for entry in sorted(bundle.iterdir()):
            if entry.name not in keep:
                removed.append(entry.name)
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    return tuple(removed)


def _write_manifest(bundle: Path, shards: Sequence[Shard], version: str) -> None:
    manifest = {
        "format": FORMAT,
        "pagefind": version,
        "runtime": f"{shards[0].id}/" if shards else None,
        "shards": [{"id": s.id, "path": f"{s.id}/", "pages": len(s.urls)} for s in shards],
    }
    text = json.dumps(manifest, indent=1) + "\n"
    with contextlib.suppress(OSError):
        if (bundle / MANIFEST).read_text(encoding="utf-8") == text:
            return  # unchanged: no new mtime for servers and deploys to notice
    write_atomic(bundle / MANIFEST, text.encode("utf-8"))


# ---------------------------------------------------------------- page trimming

_BODY_TAG = re.compile(rb"<([a-zA-Z][\w-]*)\s[^>]*?\bdata-pagefind-body\b[^>]*>")
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)


def trim_page(html: bytes) -> bytes:
    """The part of a page Pagefind uses: its `<html>` tag (the language) and its
    `data-pagefind-body` element.

    Pagefind indexes text only inside `data-pagefind-body` but reads `data-pagefind-*`
    attributes anywhere, so the page is kept whole when one stands outside that element.
    Trimming halves what the service parses (head, masthead, related links, footer).
    """
    start = _BODY_TAG.search(html)
    if start is None:
        return html
    end = element_end(html, start.group(1), start.start())
    if end is None or b"data-pagefind-" in html[:start.start()] \
            or b"data-pagefind-" in html[end:]:
        return html
    opening = _HTML_TAG.search(html, 0, start.start())
    return b"".join((opening.group(0) if opening else b"<html>", b"<body>",
                     html[start.start():end], b"</body></html>"))


@cache
def _tag_pattern(tag: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"<!--.*?-->|<(/?)" + re.escape(tag) + rb"(?=[\s/>])[^>]*>",
                      re.DOTALL | re.IGNORECASE)


def element_end(html: bytes, tag: bytes, start: int) -> int | None:
    """The offset just past the end tag that closes the `tag` element opening at `start`."""
    depth = 0
    for match in _tag_pattern(tag).finditer(html, start):
        if match.group(0).startswith(b"<!--"):
            continue
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return match.end()
    return None


# ---------------------------------------------------------------- the Pagefind service

@cache
def pagefind_executable() -> Path:
    from pagefind.service import get_executable  # honours PAGEFIND_BINARY_PATH

    executable = get_executable()
    if executable is None:
        raise SitegenError("search: no Pagefind binary; install the `pagefind[bin]` package "
                           "or build with --no-search")
    return executable


@cache
def pagefind_version(executable: Path) -> str:
    try:
        out = subprocess.run([str(executable), "--version"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SitegenError(f"search: cannot run {executable}: {exc}") from None
    return out.split()[-1] if out.split() else "unknown"


def _encode(message_id: int, payload: dict[str, Any]) -> bytes:
    data = json.dumps({"message_id": message_id, "payload": payload}, ensure_ascii=False)
    return base64.b64encode(data.encode("utf-8")) + b","


@dataclass
class _Exchange:
    """What the request thread and the reply loop share."""

    urls: dict[int, str] = field(default_factory=dict)  # AddFile message id -> page URL
    write_id: int | None = None  # the id of the GetFiles request, once sent
    error: BaseException | None = None


class PagefindProcess:
    """One `pagefind --service` process holding one index.

    The service answers requests in order, one at a time, each reply a base64 JSON message
    ended by ','. Requests are written from a thread, so the service always has the next page
    waiting, and replies are read here as they arrive.
    """

    def __init__(self, executable: Path, index_config: dict[str, Any] | None = None):
        self.executable = executable
        self.index_config = index_config or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: list[bytes] = []

    def __enter__(self) -> PagefindProcess:
        try:
            self.proc = subprocess.Popen([str(self.executable), "--service"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, bufsize=1 << 16)
        except OSError as exc:
            raise SitegenError(f"search: cannot start {self.executable}: {exc}") from None
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()  # at end of input the service exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _failure(self, message: str) -> SitegenError:
        detail = b"".join(self._stderr[-20:]).decode("utf-8", "replace").strip()
        return SitegenError(f"search: {message}" + (f"\n{detail}" if detail else ""))

    def index(self, documents: Iterable[tuple[str, str]]) -> tuple[int, dict[str, bytes]]:
        """Index (url, html) pairs; the page count and the bundle's files (path -> bytes)."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        shared = _Exchange()
        sender = threading.Thread(target=self._send, args=(documents, shared), daemon=True)
        sender.start()
        indexed, failed = 0, []
        files: dict[str, bytes] = {}
        try:
            for message_id, payload in self._replies():
                kind = payload.get("type")
                if kind == "Error":
                    if message_id in shared.urls:
                        failed.append(f"{shared.urls[message_id]}: {payload.get('message')}")
                        continue
                    raise self._failure(f"Pagefind failed: {payload.get('message')}")
                if kind == "IndexedFile":
                    indexed += 1
                elif kind == "NewIndex" and payload.get("index_id") != 0:
                    raise self._failure(f"unexpected index id {payload.get('index_id')}")
                elif kind == "GetFiles" and message_id == shared.write_id:
                    for item in payload.get("files") or ():
                        files[item["path"]] = base64.b64decode(item["content"])
                    break
            else:
                sender.join(timeout=5)
                if shared.error is not None:
                    raise self._failure(f"cannot send pages to Pagefind: {shared.error}")
                raise self._failure("Pagefind stopped before it wrote the index")
        except BaseException:
            self.proc.kill()  # the sender thread then fails at once and ends
            raise
        finally:
            sender.join()
        if shared.error is not None:
            raise self._failure(f"cannot send pages to Pagefind: {shared.error}")
        if failed:
            raise self._failure(f"Pagefind could not index {len(failed)} page(s): "
                                + "; ".join(failed[:5]))
        return indexed, files

    def _send(self, documents: Iterable[tuple[str, str]], shared: _Exchange) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        out = self.proc.stdin
        try:
            out.write(_encode(1, {"type": "NewIndex", "config": self.index_config}))
            message_id = 1
            for url, html in documents:
                message_id += 1
                shared.urls[message_id] = url
                out.write(_encode(message_id, {"type": "AddFile", "index_id": 0, "url": url,
                                               "file_path": None, "file_contents": html}))
            shared.write_id = message_id + 1
            out.write(_encode(message_id + 1, {"type": "GetFiles", "index_id": 0}))
            out.flush()
        except BaseException as exc:  # reported by the reply loop
            shared.error = exc
            with contextlib.suppress(OSError):
                out.close()  # the service exits, the reply loop sees the end of its output

    def _replies(self) -> Iterator[tuple[int | None, dict[str, Any]]]:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        pending = bytearray()  # the bundle arrives as one reply of megabytes
        while True:
            chunk = stream.read1(1 << 20)
            if not chunk:
                return
            start = len(pending)
            pending += chunk
            while (end := pending.find(b",", start)) >= 0:
                raw = bytes(pending[:end])
                del pending[:end + 1]
                start = 0
                if not raw.strip():
                    continue
                try:
                    reply = json.loads(base64.b64decode(raw))
                except ValueError:
                    raise self._failure(f"unreadable reply from Pagefind: {raw[:80]!r}") from None
                yield reply.get("message_id"), reply.get("payload") or {}


# ---------------------------------------------------------------- state

def _state_path(cache_dir: Path, output_dir: Path) -> Path:
    """One state per output folder (as the build cache): what was indexed where is only
    true for that one."""
    return cache_dir / f"{STATE_FILE}-{output_key(output_dir)}.json"


def _load_state(config: Config, settings: dict[str, Any]) -> dict[str, dict[str, Signature]]:
    """The pages (URL -> [size, mtime_ns, digest]) each shard was last indexed from."""
    try:
        path = _state_path(config.cache_dir, config.output_dir)
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("settings") != settings:
        return {}
    shards = data.get("shards")
    return shards if isinstance(shards, dict) else {}


def _save_state(config: Config, settings: dict[str, Any],
                shards: dict[str, dict[str, Signature]]) -> None:
    text = json.dumps({"settings": settings, "shards": shards}, separators=(",", ":"))
    write_atomic(_state_path(config.cache_dir, config.output_dir), text.encode("utf-8"))
