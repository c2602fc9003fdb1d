"""Shared browser fixtures: a folder served on 127.0.0.1, headless Debian Chromium.

    def test_something(serve_folder, chromium_page):
        url = serve_folder(output_dir, prefix="/repo/")  # -> "http://127.0.0.1:PORT/repo/"
        chromium_page.goto(url + "search/")

Playwright cannot download its own browser here, so it drives Debian's /usr/bin/chromium.
Every test that uses these fixtures is skipped when that binary or Playwright is missing.
Mark browser tests with `@pytest.mark.browser` (run them alone with `pytest -m browser`).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000

ServeFolder = Callable[..., str]


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


class _Handler(SimpleHTTPRequestHandler):
    """Serves `directory` at `prefix`; anything outside the prefix is a 404, as on a
    project site whose pages all live under /<repo>/."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / ".outside-the-prefix" / "missing")
        return super().translate_path("/" + path[len(self.prefix):])

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # every test sees the files as they are
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
        pass


class StaticServer:
    """A folder served over HTTP on 127.0.0.1 (an OS-chosen port) from a thread."""

    def __init__(self, root: Path, prefix: str = "/"):
        prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        handler = type("Handler", (_Handler,), {"prefix": prefix})
        self.httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{prefix}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve_folder() -> Iterator[ServeFolder]:
    """serve_folder(root, prefix="/") -> the URL of `root`, served until the test ends."""
    servers: list[StaticServer] = []

    def serve(root: Path, prefix: str = "/") -> str:
        server = StaticServer(Path(root), prefix)
        servers.append(server)
        return server.url

    yield serve
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole session (a Playwright `Browser`)."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chromium_context(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no shared cache or storage); its console errors and uncaught
    page errors are kept on `context.console_errors` (a missing /favicon.ico is not one)."""
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.console_errors = []

    def on_console(message: Any) -> None:
        source = (message.location or {}).get("url", "")
        if message.type == "error" and not source.endswith("/favicon.ico"):  # sites have none
            context.console_errors.append(f"{message.text} ({source})")

    context.on("console", on_console)
    context.on("weberror", lambda error: context.console_errors.append(str(error.error)))
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def chromium_page(chromium_context: Any) -> Any:
    """A new page in a fresh context."""
    return chromium_context.new_page()
