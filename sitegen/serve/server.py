"""The preview's HTTP server: one thread per connection within `Limits`, `Host` checks
against DNS rebinding, files, the live-reload script and the build's event stream."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import socket
import socketserver
import sys
import threading
import time
from contextlib import suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from ..config import Config
from .files import (
    EVENTS_URL,
    SCRIPT_URL,
    STATE_URL,
    content_type,
    inject_script,
    is_html,
    is_inside,
    resolve_request,
    script_tag,
)
from .rebuild import BuildStatus


class Site(Protocol):
    """What the server reads of the preview it serves (preview.Preview)."""

    state: BuildStatus
    script: bytes
    console: Console

    @property
    def config(self) -> Config: ...


KEEPALIVE_SECONDS = 15.0


# -- limits

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


# -- HTTP

class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], preview: Site,
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
        if path == STATE_URL:
            return self._send(200, json.dumps(preview.state.snapshot()).encode(),
                              "application/json", head)
        if path == SCRIPT_URL:
            return self._send(200, preview.script, "text/javascript; charset=utf-8", head)
        self._send_site_file(preview, head)

    def _send_site_file(self, preview: Site, head: bool) -> None:
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
            self._headers(status, content_type(file), size)
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

    def _send_events(self, state: BuildStatus) -> None:
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

    def _stream(self, state: BuildStatus) -> None:
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
                self.wfile.write(message)

    def _send_state_once(self, state: BuildStatus) -> None:
        snap = state.snapshot()
        body = (f"retry: {STREAM_FULL_RETRY_MS}\n\nid: {snap['version']}\n"
                f"data: {json.dumps(snap)}\n\n").encode()
        self._send(200, body, "text/event-stream", head=False)
