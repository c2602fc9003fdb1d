"""The preview server's limits, over real sockets on 127.0.0.1: slow requests are dropped,
handler threads are bounded (event streams among them), long request lines get 414, and a
Host header naming another site gets 421 (DNS rebinding)."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from sitegen.cli import main
from sitegen.config import load_config
from sitegen.serve import Limits, Preview, allowed_hosts, host_allowed
from sitegen.serve.server import HANDLER_THREAD

PAGE = b"<html><body>the page</body></html>"


@dataclass
class FakeReport:
    files_written: int = 1
    files_removed: int = 0

    def summary_line(self) -> str:
        return "fake build"


def fake_build(changes: frozenset[str]) -> FakeReport:
    return FakeReport()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Callable[..., Preview]]:
    """serving(limits=None, host="127.0.0.1") -> a started Preview of a one-page output/."""
    started: list[Preview] = []
    console = Console(file=open(os.devnull, "w"), highlight=False)  # noqa: SIM115

    def start(limits: Limits | None = None, host: str = "127.0.0.1") -> Preview:
        config = load_config(tmp_path, search=False, jobs=1)
        config.output_dir.mkdir(parents=True, exist_ok=True)
        (config.output_dir / "index.html").write_bytes(PAGE)
        preview = Preview(config, host=host, port=0, console=console, build=fake_build,
                          limits=limits)
        started.append(preview)
        preview.initial_build()
        preview.start(watch=False)
        return preview

    yield start
    for preview in started:
        preview.stop()
    console.file.close()


def port_of(preview: Preview) -> int:
    return int(preview.httpd.server_address[1])


def connect(preview: Preview) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(preview)), timeout=20)


def read_all(sock: socket.socket, within: float = 20.0) -> bytes:
    """What the server sends until it closes (or resets), or what came in `within` seconds."""
    data = b""
    deadline = time.monotonic() + within
    with suppress(ConnectionResetError, TimeoutError):
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not (chunk := sock.recv(65536)):
                break
            data += chunk
    return data


def exchange(preview: Preview, request: bytes, within: float = 20.0) -> bytes:
    with connect(preview) as sock:
        sock.sendall(request)
        return read_all(sock, within)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def get(preview: Preview, path: str = "/", host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port_of(preview), timeout=20)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def handler_threads(preview: Preview) -> int:
    name = f"{HANDLER_THREAD}:{port_of(preview)}"
    return sum(t.name == name for t in threading.enumerate())


def wait_until(predicate: Callable[[], object], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def closed_by_server(sock: socket.socket) -> bool:
    """Without waiting (a recv on a socket with a timeout polls first, even MSG_DONTWAIT)."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


# ---------------------------------------------------------------- slow requests

def test_a_silent_connection_is_dropped_after_the_request_timeout(serving) -> None:
    preview = serving(Limits(request_timeout=1.0))
    with connect(preview) as sock:
        started = time.monotonic()
        assert wait_until(lambda: handler_threads(preview) == 1)
        assert read_all(sock) == b""  # closed without an answer
        elapsed = time.monotonic() - started
    assert 0.8 < elapsed < 10
    assert wait_until(lambda: handler_threads(preview) == 0, 10)


def test_a_trickled_request_is_dropped_at_the_deadline(serving) -> None:
    """Each piece comes well within the per-read timeout; the whole never ends. Without a
    deadline for the whole request, the loop would run its 12 s and fail."""
    preview = serving(Limits(request_timeout=1.0))
    with connect(preview) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        dropped = False
        while not dropped and time.monotonic() - started < 12:
            time.sleep(0.2)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                dropped = True
            dropped = dropped or closed_by_server(sock)
        elapsed = time.monotonic() - started
    assert dropped and 0.5 < elapsed < 10


def test_a_request_sent_in_pieces_within_the_deadline_is_answered(serving) -> None:
    preview = serving(Limits(request_timeout=5.0))
    with connect(preview) as sock:
        for piece in (b"GET / HT", b"TP/1.0\r\nHost: local", b"host\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.1)
        response = read_all(sock)
    assert status_of(response) == 200 and b"the page" in response


# ---------------------------------------------------------------- threads

def test_threads_are_bounded_and_connections_beyond_get_503(serving) -> None:
    preview = serving(Limits(max_threads=3, max_streams=1, queue_wait=0.2,
                             request_timeout=60.0))
    holders = [connect(preview) for _ in range(3)]  # idle: each holds a thread
    try:
        assert wait_until(lambda: handler_threads(preview) == 3)
        extra = [connect(preview) for _ in range(6)]
        try:
            for sock in extra:
                sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            answers = [read_all(sock) for sock in extra]
            assert handler_threads(preview) == 3
        finally:
            for sock in extra:
                sock.close()
        assert all(status_of(answer) == 503 for answer in answers), answers
        assert b"Retry-After: 1" in answers[0] and b"answering 3 connections" in answers[0]
        assert get(preview)[0] == 503
    finally:
        for sock in holders:
            sock.close()
    # The holders' threads see the end of their connections and free their places.
    assert wait_until(lambda: handler_threads(preview) == 0)
    status, body = get(preview)
    assert status == 200 and b"the page" in body


def test_a_connection_beyond_the_bound_waits_for_a_free_thread(serving) -> None:
    preview = serving(Limits(max_threads=2, max_streams=1, queue_wait=30.0))
    holders = [connect(preview) for _ in range(2)]
    result: list[tuple[int, bytes]] = []
    waiter = threading.Thread(target=lambda: result.append(get(preview)))
    try:
        waiter.start()
        time.sleep(0.5)
        assert not result  # waiting in the backlog, not refused
    finally:
        holders[0].close()
        waiter.join(30)
        for sock in holders[1:]:
            sock.close()
    assert result and result[0][0] == 200


def read_event(response: http.client.HTTPResponse) -> dict:
    data = b""
    while not (b"data:" in data and data.endswith(b"\n\n")):
        line = response.fp.readline()
        assert line, data
        data += line
    return json.loads(data.split(b"data: ", 1)[1])


def test_event_streams_leave_threads_for_requests(serving) -> None:
    preview = serving(Limits(max_threads=4, max_streams=2, request_timeout=60.0))
    streams = []
    try:
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", port_of(preview), timeout=20)
            streams.append(conn)
            conn.request("GET", "/__sitegen__/events")
            assert read_event(conn.getresponse())["epoch"] == preview.state.epoch
        # A third page's stream gets the state once, and is told when to reconnect.
        response = exchange(preview, b"GET /__sitegen__/events HTTP/1.0\r\n\r\n", within=10)
        head, _, body = response.partition(b"\r\n\r\n")
        assert status_of(head) == 200 and body.startswith(b"retry: 2000\n"), response
        assert json.loads(body.split(b"data: ", 1)[1])["epoch"] == preview.state.epoch
        # Two threads stream; the other two still answer pages, many in a row.
        assert [get(preview)[0] for _ in range(10)] == [200] * 10
    finally:
        for conn in streams:
            conn.close()


# ---------------------------------------------------------------- long request lines

def request_line_of(length: int) -> bytes:
    fixed = len(b"GET / HTTP/1.0")
    return b"GET /" + b"a" * (length - fixed) + b" HTTP/1.0"


def test_the_request_line_limit_is_8_kib_by_default() -> None:
    assert Limits().max_request_line == 8192


@pytest.mark.parametrize("length, status", [(8192, 404), (8193, 414), (70_000, 414)])
def test_request_lines_over_the_limit_get_414(serving, length: int, status: int) -> None:
    preview = serving()
    line = request_line_of(length)
    assert len(line) == length
    response = exchange(preview, line + b"\r\nHost: 127.0.0.1\r\n\r\n")
    assert status_of(response) == status
    if length == 8193:
        assert b"limited to 8192 bytes" in response


TCP_CLOSE, TCP_CLOSE_WAIT = 7, 8  # Linux's tcpi_state: reset; the peer closed in order


def tcp_state(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="reads Linux's TCP_INFO")
def test_a_refused_request_ends_in_an_orderly_close(serving) -> None:
    """What the server did not read of a refused request is discarded before it closes:
    closing with unread data sends a reset, and some clients (Windows) then drop the
    answer they had received. One write, well under a loopback segment, so all of it
    has arrived when the server answers."""
    preview = serving()
    with connect(preview) as sock:
        sock.sendall(request_line_of(8193) + b"\r\n" + b"X-Junk: 0123456789\r\n" * 2000)
        assert status_of(read_all(sock)) == 414
        assert not wait_until(lambda: tcp_state(sock) != TCP_CLOSE_WAIT, 0.5)


def test_the_limit_is_the_servers(serving) -> None:
    preview = serving(Limits(max_request_line=100))
    assert status_of(exchange(preview, request_line_of(100) + b"\r\n\r\n")) == 404
    assert status_of(exchange(preview, request_line_of(101) + b"\r\n\r\n")) == 414


# ---------------------------------------------------------------- Host (DNS rebinding)

@pytest.mark.parametrize("header, ok", [
    (None, True),
    ("localhost", True), ("localhost:8000", True), ("LocalHost:8000", True),
    ("127.0.0.1", True), ("127.0.0.1:1", True), ("[::1]", True), ("[::1]:8000", True),
    ("evil.example", False), ("evil.example:8000", False), ("localhost.evil.example", False),
    ("127.0.0.1.nip.io", False), ("localhost:80:80", False), ("localhost:http", False),
    ("::1", False), ("[::1", False), ("", False), ("localhost@evil.example", False),
    ("0.0.0.0:8000", False), ("localhost:123456", False),
])
def test_host_header_on_the_loopback(header: str | None, ok: bool) -> None:
    assert host_allowed(header, allowed_hosts("127.0.0.1")) is ok


def test_the_host_given_is_accepted_too() -> None:
    named = allowed_hosts("Preview.Lan")
    assert host_allowed("preview.lan:8000", named) and host_allowed("localhost", named)
    assert not host_allowed("other.lan", named)
    assert host_allowed("192.168.1.5:8000", allowed_hosts("192.168.1.5"))
    assert host_allowed("[fe80::1]:8000", allowed_hosts("fe80::1"))
    assert not host_allowed("192.168.1.6", allowed_hosts("192.168.1.5"))


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", ""])
def test_every_interface_accepts_any_host(bind: str) -> None:
    assert allowed_hosts(bind) is None
    assert host_allowed("evil.example:8000", allowed_hosts(bind))


def test_a_foreign_host_gets_421_with_a_reason(serving) -> None:
    preview = serving()
    port = port_of(preview)
    for path in ("/", "/__sitegen__/state", "/__sitegen__/events"):
        status, body = get(preview, path, host=f"evil.example:{port}")
        assert status == 421, path
        assert b"DNS rebinding" in body and b"--host 0.0.0.0" in body
        assert b"the page" not in body and b"epoch" not in body
    assert get(preview, host=f"localhost:{port}")[0] == 200
    assert get(preview, host="[::1]")[0] == 200


def test_two_host_headers_are_a_bad_request(serving) -> None:
    preview = serving()
    request = b"GET / HTTP/1.0\r\nHost: localhost\r\nHost: evil.example\r\n\r\n"
    assert status_of(exchange(preview, request)) == 400


def test_bound_to_every_interface_any_host_is_served(serving) -> None:
    preview = serving(host="0.0.0.0")
    status, body = get(preview, host="my-laptop.lan:8000")
    assert status == 200 and b"the page" in body


def test_the_help_explains_the_host_check() -> None:
    text = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    assert "DNS rebinding" in text and "0.0.0.0" in text and "accepts any Host" in text


def test_limits_keep_threads_for_requests() -> None:
    with pytest.raises(ValueError, match="max_streams"):
        Limits(max_threads=4, max_streams=4)
    with pytest.raises(ValueError, match="request_timeout"):
        Limits(request_timeout=0)
