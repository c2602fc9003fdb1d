"""`sitegen serve`: build, serve `output/`, rebuild on every save, reload open pages.

The pieces, each testable on its own:

- `resolve_request` maps a request path to a file inside `output/` (or a redirect, 400, 404);
- `inject_script` adds the live-reload `<script>` to HTML responses (never to `output/`);
- `BuildState` holds the build epoch and the last error; pages see it through server-sent
  events at `/__sitegen__/events` (JSON at `/__sitegen__/state`) and reload only after a
  completed build, as MkDocs does;
- `Rebuilder` debounces file events into one build at a time on one worker thread;
- `ChangeFilter` and `start_observer` watch the sources with watchdog (polling when inotify
  runs out of watches);
- `Preview` ties them to a `ThreadingHTTPServer`; `serve` runs it until Ctrl-C.

`Limits` bounds what one client can take of the server (slow requests, threads, event streams,
request-line length); `allowed_hosts` and `host_allowed` refuse requests whose `Host` header
names another site (DNS rebinding).
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import io
import json
import mimetypes
import os
import re
import shutil
import signal
import socket
import socketserver
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from rich.console import Console
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .build import build as build_site
from .config import Config, load_config
from .errors import SitegenError
from .outputtree import work_dir_for

PREFIX = "/__sitegen__/"
SCRIPT_URL = PREFIX + "livereload.js"
EVENTS_URL = PREFIX + "events"
STATE_URL = PREFIX + "state"
QUIET_SECONDS = 0.2  # a build starts once no event came for this long ...
MAX_WAIT_SECONDS = 2.0  # ... or this long after the first event of a burst
KEEPALIVE_SECONDS = 15.0
HTML_SUFFIXES = (".html", ".htm")
CONFIG_NAMES = ("sitegen.toml", "pyproject.toml")
# Only these reach the watcher: inotify is then not even asked about the opens and
# closes of every file a build reads, so the watch threads stay idle during builds.
WATCHED_EVENTS = [FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
                  DirCreatedEvent, DirDeletedEvent, DirMovedEvent]


class Report(Protocol):
    """What the preview needs of a `BuildReport`."""

    files_written: int
    files_removed: int

    def summary_line(self) -> str: ...


BuildFunc = Callable[[frozenset[str]], Report]


# ---------------------------------------------------------------- request paths

@dataclasses.dataclass(frozen=True)
class Resolved:
    """What to answer to one request path: a file (200), a redirect (301), 400 or 404."""

    status: int
    file: Path | None = None
    location: str = ""


def resolve_request(root: Path, base_path: str, raw_path: str) -> Resolved:
    """Map a raw request path (still %-encoded) to a file inside `root`, never outside it."""
    path, _, query = raw_path.partition("?")
    path = path.partition("#")[0]
    query = f"?{query}" if query else ""
    if not path.startswith("/") or path.startswith("//"):
        return Resolved(HTTPStatus.BAD_REQUEST)
    if base_path != "/":
        if path in ("/", base_path.rstrip("/")):
            return Resolved(HTTPStatus.MOVED_PERMANENTLY, location=base_path + query)
        if not path.startswith(base_path):
            return Resolved(HTTPStatus.NOT_FOUND)
    segments = decode_segments(path[len(base_path) - 1:])
    if segments is None:
        return Resolved(HTTPStatus.BAD_REQUEST)
    return _resolve_file(root, root.joinpath(*segments), path, query)


def decode_segments(path: str) -> list[str] | None:
    """The decoded segments of an absolute URL path; None when it could leave its folder."""
    lowered = path.lower()
    if any(bad in lowered for bad in ("%2f", "%5c", "%00", "\\", "\x00")):
        return None
    parts = path[1:].split("/")
    if parts[-1] == "":
        parts.pop()
    try:
        segments = [unquote(part, errors="strict") for part in parts]
    except UnicodeDecodeError:
        return None
    if any(seg in ("", ".", "..") or "/" in seg or "\\" in seg for seg in segments):
        return None
    return segments


def _resolve_file(root: Path, target: Path, path: str, query: str) -> Resolved:
    try:
        return _resolve_existing(root, target, path, query)
    except OSError:  # a name longer than the file system allows, for one
        return Resolved(HTTPStatus.NOT_FOUND)


def _resolve_existing(root: Path, target: Path, path: str, query: str) -> Resolved:
    if not is_inside(root, target):
        return Resolved(HTTPStatus.NOT_FOUND)
    if target.is_dir():
        index = target / "index.html"
        if not index.is_file() or not is_inside(root, index):
            return Resolved(HTTPStatus.NOT_FOUND)
        if not path.endswith("/"):
            return Resolved(HTTPStatus.MOVED_PERMANENTLY, location=f"{path}/{query}")
        return Resolved(HTTPStatus.OK, index)
    if target.is_file() and not path.endswith("/"):
        return Resolved(HTTPStatus.OK, target)
    return Resolved(HTTPStatus.NOT_FOUND)


def is_inside(root: Path, target: Path) -> bool:
    """Whether `target`, symlinks followed, is `root` or inside it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(target)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


# ---------------------------------------------------------------- script injection

def script_tag(epoch: int) -> bytes:
    return f'<script src="{SCRIPT_URL}" data-epoch="{epoch}" defer></script>'.encode()


def inject_script(html: bytes, tag: bytes) -> bytes:
    """`tag` before the last `</body>`, or at the end when there is none."""
    at = html.lower().rfind(b"</body")
    return html + tag if at < 0 else html[:at] + tag + html[at:]


def is_html(path: Path) -> bool:
    return path.suffix.lower() in HTML_SUFFIXES


def livereload_js() -> bytes:
    return resources.files("sitegen").joinpath("livereload.js").read_bytes()


# ---------------------------------------------------------------- build state

class BuildState:
    """The epoch of the last good build and the error of the last failed one.

    `version` counts every change pages should hear about; `epoch` only good builds
    that changed the output. A page reloads when the epoch differs from its own.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.epoch = 0
        self.version = 0
        self.error: dict[str, Any] | None = None
        self.building = False
        self.closed = False

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {"epoch": self.epoch, "version": self.version, "building": self.building,
                    "error": self.error}

    def set_building(self, building: bool) -> None:
        self._change(building=building)

    def succeed(self, changed: bool) -> None:
        self._change(building=False, error=None, epoch=self.epoch + int(changed))

    def fail(self, error: dict[str, Any]) -> None:
        self._change(building=False, error=error)

    def close(self) -> None:
        self._change(closed=True)

    def _change(self, **values: Any) -> None:
        with self._cond:
            for key, value in values.items():
                setattr(self, key, value)
            self.version += 1
            self._cond.notify_all()

    def wait_for_change(self, version: int, timeout: float) -> dict[str, Any] | None:
        """The state once its version differs from `version` (or at `timeout`); None if closed."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != version or self.closed, timeout)
            return None if self.closed else self.snapshot()


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The JSON the overlay shows: a message and each problem with file and line."""
    problems = getattr(exc, "problems", None)
    if problems:
        items = [{"path": str(p.path), "line": p.line, "message": p.message,
                  "severity": p.severity, "text": str(p)} for p in problems]
        return {"message": f"{len(items)} problem{'s' if len(items) != 1 else ''}",
                "problems": items}
    lines = str(exc).splitlines() or [type(exc).__name__]
    if not isinstance(exc, SitegenError):
        lines[0] = f"{type(exc).__name__}: {lines[0]}"
    items = [{"path": None, "line": None, "message": line, "severity": "error", "text": line}
             for line in lines]
    return {"message": lines[0], "problems": items}


# ---------------------------------------------------------------- debounced rebuilds

class Rebuilder:
    """Collects changed paths and runs `build(changes)` on one worker thread.

    A burst of events (a checkout of 500 files, an editor's write-and-rename) becomes one
    build: it starts when no event came for `quiet` seconds, or `max_wait` seconds after
    the burst began. Events during a build lead to one more build after it; never two at once.
    """

    def __init__(self, build: BuildFunc, state: BuildState, console: Console | None = None,
                 root: Path | None = None, quiet: float = QUIET_SECONDS,
                 max_wait: float = MAX_WAIT_SECONDS) -> None:
        self._build = build
        self.state = state
        self.console = console
        self.root = root
        self.quiet, self.max_wait = quiet, max_wait
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first = self._last = 0.0
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def notify(self, path: str) -> None:
        """Record a changed path (called from the watcher's thread)."""
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
                self._cond.notify_all()
            self._pending.add(path)
            self._last = now

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sitegen-rebuild", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop the worker; False if a build was still running after `timeout` seconds."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no change is pending and no build runs (for tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _run(self) -> None:
        while (changes := self._next_batch()) is not None:
            try:
                self.run_build(changes)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next_batch(self) -> frozenset[str] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._stopping)
            while not self._stopping:
                remaining = min(self._last + self.quiet, self._first + self.max_wait) \
                    - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._stopping:
                return None
            changes = frozenset(self._pending)
            self._pending.clear()
            self._busy = True
            return changes

    def run_build(self, changes: frozenset[str]) -> bool:
        """One build; updates the state and prints one line (or the problems)."""
        self.state.set_building(True)
        try:
            report = self._build(changes)
        except Exception as exc:  # a failed rebuild must not stop the server
            self.state.fail(error_payload(exc))
            self._print_failure(exc)
            return False
        except KeyboardInterrupt:
            # On the worker thread this comes from the build's worker processes, which
            # got the terminal's Ctrl-C too: the server is stopping, the build is dropped.
            if threading.current_thread() is threading.main_thread():
                self.state.set_building(False)
                raise
            self.state.fail(error_payload(SitegenError("build interrupted")))
            self._print("build interrupted", style="yellow")
            return False
        except BaseException:
            self.state.set_building(False)
            raise
        self.state.succeed(changed=bool(report.files_written or report.files_removed))
        self._print(f"{self._describe(changes)}{report.summary_line()}")
        return True

    def _describe(self, changes: frozenset[str]) -> str:
        if not changes:
            return ""
        first = min(changes)
        with suppress(ValueError):
            first = Path(first).relative_to(self.root).as_posix() if self.root else first
        more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
        return f"{first}{more} changed: "

    def _print_failure(self, exc: Exception) -> None:
        payload = error_payload(exc)
        for item in payload["problems"]:
            self._print(item["text"], style="red")
        if not isinstance(exc, SitegenError) and self.console is not None:
            self.console.print_exception()
        self._print(f"{payload['message']}; still serving the last good site.", style="red")

    def _print(self, text: str, style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, markup=False, highlight=False,
                               soft_wrap=True)


class SiteBuilder:
    """`build()` with the current Config; re-reads the config file when it changed, keeping
    the settings given on the command line (`overrides`) over the file's."""

    def __init__(self, config: Config, build: Callable[[Config], Report] = build_site,
                 overrides: dict[str, Any] | None = None,
                 on_reload: Callable[[Config], None] | None = None) -> None:
        self.config = config
        self._build = build
        self._overrides = dict(overrides or {})
        self._on_reload = on_reload

    @property
    def config_files(self) -> set[Path]:
        return {self.config.site_dir / name for name in CONFIG_NAMES}

    def __call__(self, changes: frozenset[str]) -> Report:
        if any(Path(path) in self.config_files for path in changes):
            self.config = load_config(self.config.site_dir, **self._overrides)
            if self._on_reload is not None:
                self._on_reload(self.config)
        return self._build(dataclasses.replace(self.config, now=datetime.now(UTC)))


# ---------------------------------------------------------------- watching

EDITOR_JUNK_SUFFIXES = (".swp", ".swx", ".swo", "~")


def is_editor_junk(name: str) -> bool:
    """Swap, backup and temporary files of editors (and every hidden file, as the build)."""
    return name.startswith(".") or name == "4913" or name.endswith(EDITOR_JUNK_SUFFIXES)


class ChangeFilter:
    """Which changed paths matter: sources and the config file, not outputs or editor junk."""

    def __init__(self, config: Config) -> None:
        self.roots = [Path(os.path.abspath(p))
                      for p in (config.content_dir, config.layouts_dir, config.static_dir)]
        self.config_files = {Path(os.path.abspath(config.site_dir / n)) for n in CONFIG_NAMES}
        self.excluded = [Path(os.path.abspath(p)) for p in (
            config.output_dir, config.cache_dir, work_dir_for(config.output_dir))]

    def accepts(self, path: str) -> bool:
        target = Path(os.path.abspath(path))
        if target in self.config_files:
            return True
        if any(target == ex or ex in target.parents for ex in self.excluded):
            return False
        for root in self.roots:
            if target == root or root in target.parents:
                rel = target.relative_to(root).parts
                return not any(is_editor_junk(part) for part in rel)
        return False


class SourceEventHandler(FileSystemEventHandler):
    """Passes the paths of relevant events to `notify` (the observer is scheduled with
    WATCHED_EVENTS, so only creations, deletions, moves and file changes arrive)."""

    def __init__(self, accepts: Callable[[str], bool], notify: Callable[[str], None]) -> None:
        self.accepts = accepts
        self.notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        for path in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(path)
            if path and self.accepts(path):
                self.notify(path)
                return


def watch_list(config: Config) -> list[tuple[Path, bool]]:
    """(folder, recursive) to watch: the source folders that exist, and the site folder
    (not recursively) for its config file."""
    folders = [(p, True) for p in (config.content_dir, config.layouts_dir, config.static_dir)
               if p.is_dir()]
    return [*folders, (config.site_dir, False)]


def start_observer(handler: FileSystemEventHandler, watches: list[tuple[Path, bool]],
                   console: Console | None = None,
                   factory: Callable[[], BaseObserver] = Observer) -> BaseObserver:
    """A started watchdog observer; a polling one when inotify runs out of watches."""
    # watchdog 7 registers a folder created inside a watched tree twice (once from its parent's
    # walk, once from its own event) and warns that it overwrites the first: harmless, noisy
    # on every `git checkout` that adds folders.
    warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning,
                            module=r"watchdog\.")
    try:
        return _start(factory(), handler, watches)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EMFILE):
            raise SitegenError(f"cannot watch the site: {exc}") from exc
        if console is not None:
            console.print(f"inotify limit reached ({exc.strerror}): watching by polling "
                          "instead; raise fs.inotify.max_user_watches to avoid it",
                          style="yellow", markup=False, soft_wrap=True)
        return _start(PollingObserver(timeout=1.0), handler, watches)


def _start(observer: BaseObserver, handler: FileSystemEventHandler,
           watches: list[tuple[Path, bool]]) -> BaseObserver:
    try:
        for path, recursive in watches:
            observer.schedule(handler, str(path), recursive=recursive,
                              event_filter=WATCHED_EVENTS)
        observer.start()
    except BaseException:
        observer.stop()  # stops the emitters that did start
        raise
    return observer


# ---------------------------------------------------------------- fork gate

class ForkGate:
    """Keeps HTTP threads idle while the build forks its worker processes.

    A forked child keeps only the forking thread; a lock another thread held at that
    moment stays locked in the child forever. Responses run inside `busy()`; before each
    fork the gate closes and waits (at most `limit` seconds) for them to finish.
    """

    def __init__(self, limit: float = 1.0) -> None:
        self.limit = limit
        self._cond = threading.Condition()
        self._busy = 0
        self._forking = False

    @contextmanager
    def busy(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._forking, self.limit)
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def before_fork(self) -> None:
        with self._cond:
            self._forking = True
            self._cond.wait_for(lambda: self._busy == 0, self.limit)

    def after_fork_in_parent(self) -> None:
        with self._cond:
            self._forking = False
            self._cond.notify_all()

    def after_fork_in_child(self) -> None:
        self._cond = threading.Condition()
        self._busy = 0
        self._forking = False


FORK_GATE = ForkGate()
os.register_at_fork(before=FORK_GATE.before_fork,
                    after_in_parent=FORK_GATE.after_fork_in_parent,
                    after_in_child=FORK_GATE.after_fork_in_child)


# ---------------------------------------------------------------- limits

@dataclasses.dataclass(frozen=True)
class Limits:
    """What one client may take of the preview server.

    - `request_timeout`: seconds a connection has, from its first byte's wait, to send its
      request line and headers (a client that trickles them, slowloris, is dropped), and the
      longest any later read or write of that connection may block;
    - `max_threads`: handler threads at once, one per connection; the next connection waits
      up to `queue_wait` seconds for one to end, then gets 503;
    - `max_streams`: how many of those threads may be live-reload event streams (see
      `PreviewHandler._send_events`); the other `max_threads - max_streams` stay for requests;
    - `max_request_line`: bytes of the request line (method, URL, version): longer is 414.
    """

    request_timeout: float = 10.0
    max_threads: int = 32
    max_streams: int = 16
    queue_wait: float = 2.0
    max_request_line: int = 8192

    def __post_init__(self) -> None:
        if not 0 < self.max_streams < self.max_threads:
            raise ValueError("Limits: 0 < max_streams < max_threads, so requests keep threads")
        if self.request_timeout <= 0 or self.queue_wait < 0 or self.max_request_line < 16:
            raise ValueError("Limits: request_timeout > 0, queue_wait >= 0, "
                             "max_request_line >= 16")


HANDLER_THREAD = "sitegen-request"  # and ":port"
# A stream over `max_streams` sends the state once and ends; EventSource reconnects after
# this many milliseconds, so that page polls instead of holding a thread.
STREAM_FULL_RETRY_MS = 2000
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
EVERY_INTERFACE = ("", "0.0.0.0", "::")
HOST_HEADER = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::[0-9]{1,5})?", re.ASCII)


def allowed_hosts(bind_host: str) -> frozenset[str] | None:
    """The names a `Host` header may give, port aside; None: any name.

    A page of another site whose name an attacker makes resolve to 127.0.0.1 (DNS rebinding)
    sends its own name as `Host`: refused, it cannot read the preview (drafts, file paths).
    Bound to every interface, the user asked to be reached by any name on the network.
    """
    if bind_host in EVERY_INTERFACE:
        return None
    name = f"[{bind_host}]" if ":" in bind_host else bind_host
    return LOCAL_HOSTS | {name.lower()}


def host_allowed(header: str | None, allowed: frozenset[str] | None) -> bool:
    """Whether a `Host` header (`name`, `name:port`, `[v6]:port`) names an allowed host.

    Any port is accepted (a forwarded port differs from the bound one); a request without
    `Host` is too: every browser sends one, so it cannot come from a rebinding page."""
    if allowed is None or header is None:
        return True
    match = HOST_HEADER.fullmatch(header.strip().lower())
    return match is not None and match.group(1) in allowed


class DeadlineReader(io.RawIOBase):
    """A socket's reads: none blocks longer than `timeout` seconds, nor past `deadline`
    (a `time.monotonic()` value) while one is set."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self.timeout = timeout
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait = self.timeout
        if self.deadline is not None:
            wait = min(wait, self.deadline - time.monotonic())
            if wait <= 0:
                raise TimeoutError("the request was not received in time")
        self._sock.settimeout(wait)
        return self._sock.recv_into(buffer)


def _plain(text: str) -> bytes:
    return f"{text}\n".encode()


# ---------------------------------------------------------------- HTTP

class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], preview: Preview,
                 limits: Limits | None = None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.preview = preview
        self.limits = limits or Limits()
        self.allowed_hosts = allowed_hosts(address[0])
        self._threads_free = threading.BoundedSemaphore(self.limits.max_threads)
        self.stream_slots = threading.BoundedSemaphore(self.limits.max_streams)
        super().__init__(address, PreviewHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection, at most `max_threads` at once. Waiting for one blocks
        accepting, so later connections wait in the listen backlog, in order."""
        if not self._threads_free.acquire(timeout=self.limits.queue_wait):
            self._refuse_busy(request)
            return
        try:
            threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name=f"{HANDLER_THREAD}:{self.server_port}", daemon=True).start()
        except BaseException:
            self._threads_free.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._threads_free.release()

    def _refuse_busy(self, request: socket.socket) -> None:
        body = _plain(f"503 Service Unavailable: the preview server is answering "
                      f"{self.limits.max_threads} connections already; try again.")
        head = (f"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8"
                f"\r\nContent-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close"
                f"\r\n\r\n").encode()
        with suppress(OSError):
            request.settimeout(1.0)  # a few hundred bytes into an empty send buffer
            request.sendall(head + body)
        self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        """Close, first discarding what the client sent that was not read (the rest of a
        refused request): closing with unread data resets the connection, and the client
        could lose the response before it read it."""
        with suppress(OSError):
            request.shutdown(socket.SHUT_WR)
            request.setblocking(False)
            for _ in range(16):  # at most 1 MiB, only what has arrived already
                if not request.recv(65536):
                    break
        self.close_request(request)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            self.preview.console.print(f"error answering {client_address}: {exc!r}",
                                       style="red", markup=False)


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewHTTPServer
    server_version = "sitegen"

    def setup(self) -> None:
        self.timeout = self.server.limits.request_timeout  # each read and write, at most
        super().setup()
        self.rfile.close()  # the socket's own file, replaced by one that keeps the deadline
        self._reader = DeadlineReader(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.limits.request_timeout
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The request line and headers, then the checks of `Limits` and of the `Host`."""
        limit = self.server.limits.max_request_line
        if len(self.raw_requestline.rstrip(b"\r\n")) > limit:
            self.command = self.request_version = self.requestline = ""
            self.close_connection = True
            body = _plain(f"414 URI Too Long: the request line is limited to {limit} bytes.")
            self._send(HTTPStatus.REQUEST_URI_TOO_LONG, body, "text/plain; charset=utf-8",
                       head=False)
            return False
        if not super().parse_request():
            return False
        self._reader.deadline = None
        self.connection.settimeout(self.timeout)
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            self._send(400, _plain("400 Bad Request: more than one Host header."),
                       "text/plain; charset=utf-8", self.command == "HEAD")
            return False
        if not host_allowed(hosts[0] if hosts else None, self.server.allowed_hosts):
            self._refuse_host(hosts[0])
            return False
        return True

    def _refuse_host(self, host: str) -> None:
        allowed = ", ".join(sorted(self.server.allowed_hosts or ()))
        body = _plain(
            f"421 Misdirected Request: this preview server answers to {allowed} only, "
            f"not to Host {host[:100]!r} (a guard against DNS rebinding). To be reached by "
            f"another name, start it with `sitegen serve --host NAME`, or with "
            f"`--host 0.0.0.0` to accept any name from the network.")
        self._send(HTTPStatus.MISDIRECTED_REQUEST, body, "text/plain; charset=utf-8",
                   self.command == "HEAD")

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console shows builds, not requests."""

    def _answer(self, head: bool) -> None:
        preview = self.server.preview
        path = self.path.partition("?")[0]
        if path == EVENTS_URL and not head:
            return self._send_events(preview.state)
        with FORK_GATE.busy():
            if path == STATE_URL:
                return self._send(200, json.dumps(preview.state.snapshot()).encode(),
                                  "application/json", head)
            if path == SCRIPT_URL:
                return self._send(200, preview.script, "text/javascript; charset=utf-8", head)
            self._send_site_file(preview, head)

    def _send_site_file(self, preview: Preview, head: bool) -> None:
        config = preview.config
        epoch = preview.state.epoch  # read before the file: a newer file still reloads
        found = resolve_request(config.output_dir, config.base_path, self.path)
        if found.status == HTTPStatus.MOVED_PERMANENTLY:
            self.send_response(found.status)
            self.send_header("Location", found.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif found.status == HTTPStatus.OK and found.file is not None:
            self._send_path(200, found.file, epoch, head)
        elif found.status == HTTPStatus.BAD_REQUEST:
            self._send(400, b"400 Bad Request\n", "text/plain; charset=utf-8", head)
        else:
            self._send_not_found(config.output_dir, epoch, head)

    def _send_not_found(self, root: Path, epoch: int, head: bool) -> None:
        page = root / "404.html"
        if page.is_file() and is_inside(root, page):
            return self._send_path(404, page, epoch, head)
        body = inject_script(b"404 Not Found\n", script_tag(epoch))
        self._send(404, body, "text/html; charset=utf-8", head)

    def _send_path(self, status: int, file: Path, epoch: int, head: bool) -> None:
        try:
            handle = file.open("rb")
        except OSError:
            return self._send(404, b"404 Not Found\n", "text/plain; charset=utf-8", head)
        with handle:
            if is_html(file):
                body = inject_script(handle.read(), script_tag(epoch))
                return self._send(status, body, "text/html; charset=utf-8", head)
            size = os.fstat(handle.fileno()).st_size
            self._headers(status, _content_type(file), size)
            if not head:
                shutil.copyfileobj(handle, self.wfile)

    def _send(self, status: int, body: bytes, content_type: str, head: bool) -> None:
        self._headers(status, content_type, len(body))
        if not head:
            self.wfile.write(body)

    def _headers(self, status: int, content_type: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send_events(self, state: BuildState) -> None:
        """Server-sent events: the state now, then at every change; comments keep it alive.

        Live reload is one such stream per open page, on its own thread for as long as the
        page stays open. Unbounded, open tabs would take every thread of `max_threads` and
        starve the pages themselves; so at most `max_streams` threads stream. A page beyond
        them gets the state once and the stream ends with a `retry` delay: its EventSource
        reconnects then, so the page polls (and still reloads after a build) without
        holding a thread, and takes a streaming slot again once one is free.
        """
        if not self.server.stream_slots.acquire(blocking=False):
            return self._send_state_once(state)
        try:
            self._stream(state)
        finally:
            self.server.stream_slots.release()

    def _stream(self, state: BuildState) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        version = -1
        with suppress(ConnectionError, TimeoutError):
            self.wfile.write(b"retry: 1000\n\n")
            while (snap := state.wait_for_change(version, KEEPALIVE_SECONDS)) is not None:
                message = b": keepalive\n\n"
                if snap["version"] != version:
                    version = snap["version"]
                    message = f"id: {version}\ndata: {json.dumps(snap)}\n\n".encode()
                with FORK_GATE.busy():
                    self.wfile.write(message)

    def _send_state_once(self, state: BuildState) -> None:
        snap = state.snapshot()
        body = (f"retry: {STREAM_FULL_RETRY_MS}\n\nid: {snap['version']}\n"
                f"data: {json.dumps(snap)}\n\n").encode()
        with FORK_GATE.busy():
            self._send(200, body, "text/event-stream", head=False)


def _content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json",
                                            "application/xml", "image/svg+xml"):
        kind += "; charset=utf-8"
    return kind


# ---------------------------------------------------------------- the preview

class Preview:
    """The server, the watcher and the rebuild worker of one `sitegen serve`."""

    def __init__(self, config: Config, host: str = "127.0.0.1", port: int = 8000,
                 console: Console | None = None, build: BuildFunc | None = None,
                 quiet: float = QUIET_SECONDS, max_wait: float = MAX_WAIT_SECONDS,
                 overrides: dict[str, Any] | None = None, limits: Limits | None = None) -> None:
        """`overrides`: the settings given on the command line, kept when the config file
        is read again; `limits`: the server's (default `Limits()`)."""
        self.console = console or Console(stderr=True, highlight=False)
        self.builder = SiteBuilder(config, functools.partial(build_site, log=self._log),
                                   overrides, on_reload=self._follow_config)
        self.state = BuildState()
        self.rebuilder = Rebuilder(build or self.builder, self.state, self.console,
                                   config.site_dir, quiet, max_wait)
        self.filter = ChangeFilter(config)
        self.script = livereload_js()
        self.observer: BaseObserver | None = None
        self._watched: set[Path] = set()
        self._unwatched: set[Path] = set()
        self._handler: SourceEventHandler | None = None
        self._http_thread: threading.Thread | None = None
        mimetypes.init()
        try:
            self.httpd = PreviewHTTPServer((host, port), self, limits)
        except OSError as exc:
            raise SitegenError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc

    @property
    def config(self) -> Config:
        return self.builder.config

    def _log(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}{self.config.base_path}"

    def initial_build(self) -> bool:
        return self.rebuilder.run_build(frozenset())

    def start(self, watch: bool = True) -> None:
        if watch:
            watches = watch_list(self.config)
            self._watched = {Path(p) for p, _ in watches}
            self._unwatched = set(self.filter.roots) - self._watched
            self._handler = SourceEventHandler(self._accepts, self._on_change)
            self.observer = start_observer(self._handler, watches, self.console)
        self.rebuilder.start()
        self._http_thread = threading.Thread(target=self.httpd.serve_forever,
                                             kwargs={"poll_interval": 0.2},
                                             name="sitegen-http", daemon=True)
        self._http_thread.start()

    def _accepts(self, path: str) -> bool:
        return self.filter.accepts(path)

    def _follow_config(self, config: Config) -> None:
        """A config file read again may name other folders: watch and filter for those."""
        self.filter = ChangeFilter(config)
        if self.observer is None or self._handler is None:
            return
        for path, recursive in watch_list(config):
            if path not in self._watched:
                with suppress(OSError):
                    self.observer.schedule(self._handler, str(path), recursive=recursive,
                                           event_filter=WATCHED_EVENTS)
                    self._watched.add(path)
        self._unwatched = set(self.filter.roots) - self._watched

    def _on_change(self, path: str) -> None:
        self.rebuilder.notify(path)
        target = Path(path)
        if target in self._unwatched and target.is_dir() and self.observer is not None:
            self._unwatched.discard(target)  # e.g. layouts/ made after the start
            with suppress(OSError):
                self.observer.schedule(self._handler, path, recursive=True,
                                       event_filter=WATCHED_EVENTS)

    def stop(self, build_timeout: float | None = None) -> bool:
        """Close event streams, stop the server, the watcher and the worker, in that order.

        False when a build was still running after `build_timeout` seconds."""
        self.state.close()
        if self._http_thread is not None:
            self.httpd.shutdown()
            self._http_thread.join(5)
        self.httpd.server_close()
        if self.observer is not None:
            self.observer.stop()
            with suppress(RuntimeError):
                self.observer.join(5)
        return self.rebuilder.stop(timeout=build_timeout)

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(config: Config, host: str = "127.0.0.1", port: int = 8000,
          console: Console | None = None, overrides: dict[str, Any] | None = None) -> None:
    """Build, serve `config.output_dir` and rebuild on changes until Ctrl-C. `overrides`:
    the settings given on the command line, kept when the config file is read again."""
    console = console or Console(stderr=True, highlight=False)
    preview = Preview(config, host, port, console, overrides=overrides)
    try:
        preview.initial_build()
        preview.start()
        console.print(f"Serving {preview.url} (Ctrl-C to stop)", markup=False, highlight=False)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        with _sigint_ignored():
            stopped = preview.stop(build_timeout=1.0)
        if not stopped:
            _finish_build(preview, console)
    console.print("Stopped.", markup=False)


def _finish_build(preview: Preview, console: Console) -> None:
    """Let a running build end (its output stays consistent); a second Ctrl-C quits now."""
    console.print("waiting for the running build to finish (Ctrl-C again to quit now)...",
                  markup=False)
    try:
        preview.rebuilder.stop(timeout=None)
    except KeyboardInterrupt:
        console.print("Stopped; the running build was abandoned.", markup=False)
        os._exit(130)  # skips the atexit join of the build's process pool


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C must not break the clean shutdown with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
