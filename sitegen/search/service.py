"""The Pagefind service client: finding the binary, checking its version, and indexing pages
through `pagefind --service`.

Pagefind's Python API waits 100 ms between two replies of its service (`asyncio.sleep(0.1)` in
`PagefindService._wait_for_responses`), ~100 ms per page. `PagefindProcess` speaks the same
stdin/stdout protocol (base64 JSON messages ended by ','), writes every request from a thread
while it reads the replies as they arrive, so the service never waits for us. The bundle comes
back in the reply to GetFiles: the service's own WriteFiles can leave empty files.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .. import compat
from ..errors import SitegenError

# The Pagefind versions whose bundle format `format` and `merge` know (compat.PAGEFIND, the
# range pyproject.toml pins): a bundle of another version is not read.
SUPPORTED_TEXT = compat.PAGEFIND.text


@cache
def pagefind_executable() -> Path:
    """The Pagefind binary, found the way Pagefind's Python package finds it
    (`pagefind.service.get_executable`, whose module imports asyncio: ~25 ms an edit):
    $PAGEFIND_BINARY_PATH, then the `pagefind_bin_extended` and `pagefind_bin` packages, then
    `pagefind_extended` or `pagefind` on the PATH."""
    if os.environ.get("PAGEFIND_BINARY_PATH") is not None:
        return Path(os.environ["PAGEFIND_BINARY_PATH"])
    for package in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        return Path(module.get_executable())
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    if found is None:
        raise SitegenError("search: no Pagefind binary; install the `pagefind[bin]` package "
                           "or build with --no-search")
    return Path(found)


def check_pagefind() -> tuple[Path, str]:
    """The Pagefind binary and its version; a SitegenError naming both and the supported range
    when it is not a version whose bundles this package reads. Run before a build writes
    anything, so an unsupported Pagefind stops the build rather than leave it half done."""
    executable = pagefind_executable()
    version = pagefind_version(executable)
    if not version_supported(version):
        raise SitegenError(
            f"search: Pagefind {version} ({executable}) is not supported: sitegen reads the "
            f"bundles of Pagefind {compat.PAGEFIND.text}. Install a supported one "
            f"(pip install 'pagefind-bin{compat.PAGEFIND.text}') or build with --no-search.")
    return executable, version


def version_supported(version: str) -> bool:
    return compat.PAGEFIND.contains(version)


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


# Indexes sent ahead of the last one whose files came back. The service reads every request
# into memory as it arrives and queues every reply until it is read (unbounded channels, both
# ways): without a window, a sender faster than the indexing filled each service with the
# pages of a whole lane (~1 GB a service within minutes at a million articles, growing).
INDEXES_AHEAD = 2


@dataclass
class _Exchange:
    """What the request thread and the reply loop share."""

    urls: dict[int, str] = field(default_factory=dict)  # AddFile message id -> page URL
    indexes: dict[int, str] = field(default_factory=dict)  # GetFiles message id -> index name
    error: BaseException | None = None
    window: threading.Semaphore = field(
        default_factory=lambda: threading.Semaphore(INDEXES_AHEAD))
    stopped: bool = False  # the reply loop has ended: send nothing more

    def stop(self, waiting: int) -> None:
        self.stopped = True
        self.window.release(max(1, waiting))  # a sender waiting for the window goes on, and ends


class PagefindProcess:
    """One `pagefind --service` process, indexing one index after another.

    The service answers requests in order, one at a time, each reply a base64 JSON message
    ended by ','. Requests are written from a thread, so the service always has the next page
    waiting (but never more than INDEXES_AHEAD indexes), and replies are read here as they
    arrive. Each index is deleted from the service once its files are read, so the service
    holds one index at a time.
    """

    def __init__(self, executable: Path, index_config: dict[str, Any] | None = None):
        self.executable = executable
        self.index_config = index_config or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: list[bytes] = []
        self._stderr_reader: threading.Thread | None = None
        self._indexes = 0  # the service numbers its indexes 0, 1, 2... and never reuses one
        self._messages = 0  # the last message id sent

    def __enter__(self) -> PagefindProcess:
        try:
            self.proc = subprocess.Popen([str(self.executable), "--service"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, bufsize=1 << 16)
        except OSError as exc:
            raise SitegenError(f"search: cannot start {self.executable}: {exc}") from None
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
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

    def kill(self) -> None:
        """Stop the service at once (another thread's build failed)."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _failure(self, message: str) -> SitegenError:
        if self.proc is not None and self.proc.poll() is not None and self._stderr_reader:
            # The service has ended: its last words may still be in the pipe, not yet read.
            self._stderr_reader.join(timeout=5)
        detail = b"".join(self._stderr[-20:]).decode("utf-8", "replace").strip()
        return SitegenError(f"search: {message}" + (f"\n{detail}" if detail else ""))

    def index(self, documents: Iterable[tuple[str, str]]) -> tuple[int, dict[str, bytes]]:
        """Index (url, html) pairs; the page count and the bundle's files (path -> bytes)."""
        [(_, count, files)] = list(self.index_many([("index", documents)]))
        return count, files

    def index_many(self, indexes: Iterable[tuple[str, Iterable[tuple[str, str]]]]
                   ) -> Iterator[tuple[str, int, dict[str, bytes]]]:
        """Index each (name, (url, html) pairs) in turn; yield (name, page count, the bundle's
        files) as each is done."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        indexes = list(indexes)
        if not indexes:
            return
        shared = _Exchange()
        next_id = self._indexes
        self._indexes += len(indexes)
        sender = threading.Thread(target=self._send, args=(indexes, next_id, shared),
                                  daemon=True)
        sender.start()
        indexed, failed, done = 0, [], 0
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
                elif kind == "NewIndex":
                    if payload.get("index_id") != next_id:
                        raise self._failure(f"unexpected index id {payload.get('index_id')}")
                    next_id += 1
                elif kind == "GetFiles" and message_id in shared.indexes:
                    if failed:
                        raise self._failure(f"Pagefind could not index {len(failed)} page(s): "
                                            + "; ".join(failed[:5]))
                    files = {item["path"]: base64.b64decode(item["content"])
                             for item in payload.get("files") or ()}
                    shared.window.release()
                    yield shared.indexes.pop(message_id), indexed, files
                    indexed, done = 0, done + 1
                    if done == len(indexes):
                        break
            else:
                sender.join(timeout=5)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)  # its output ended: it is exiting
                if shared.error is not None:
                    raise self._failure(f"cannot send pages to Pagefind: {shared.error}")
                raise self._failure("Pagefind stopped before it wrote the index")
        except BaseException:
            self.proc.kill()  # the sender thread then fails at once and ends
            raise
        finally:
            shared.stop(len(indexes))
            sender.join()
        if shared.error is not None:
            raise self._failure(f"cannot send pages to Pagefind: {shared.error}")

    def _send(self, indexes: list[tuple[str, Iterable[tuple[str, str]]]], first_id: int,
              shared: _Exchange) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        out = self.proc.stdin
        message_id = self._messages  # ids unique across calls (the service reads a u32)
        try:
            for index_id, (name, documents) in enumerate(indexes, first_id):
                shared.window.acquire()
                if shared.stopped:
                    return
                message_id += 1
                out.write(_encode(message_id, {"type": "NewIndex", "config": self.index_config}))
                for url, html in documents:
                    message_id += 1
                    shared.urls[message_id] = url
                    out.write(_encode(message_id, {"type": "AddFile", "index_id": index_id,
                                                   "url": url, "file_path": None,
                                                   "file_contents": html}))
                message_id += 1
                shared.indexes[message_id] = name
                out.write(_encode(message_id, {"type": "GetFiles", "index_id": index_id}))
                message_id += 1
                out.write(_encode(message_id, {"type": "DeleteIndex", "index_id": index_id}))
                out.flush()
                self._messages = message_id
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


