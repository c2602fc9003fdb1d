"""Live reload in a real browser: `sitegen serve` in a subprocess, headless Debian Chromium
(the `chromium_page` fixture of tests/browser/conftest.py, which skips without it).

Edit an article: the open page shows the new text by itself. Break its front matter: an
overlay names the file and line. Fix it: the overlay goes and the page shows the fix.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ARTICLE = "---\ntitle: Hello World\ndate: 2025-01-02\nslug: hello-world\n---\n\n{body}\n"
ARTICLE_URL = "2025/01/02/hello-world/"
TIMEOUT_MS = 15_000

sync_api = pytest.importorskip("playwright.sync_api")


class Server:
    """`sitegen serve SITE --port 0 --no-search`, its output read on a thread."""

    def __init__(self, site: Path) -> None:
        sitegen = Path(sys.executable).with_name("sitegen")
        self.proc = subprocess.Popen(  # with Ctrl-C's default action (test_serve's note)
            [str(sitegen), "serve", str(site), "--port", "0", "--no-search"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def url(self, timeout: float = 30) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"sitegen serve printed no URL: {''.join(self.output)}")
            if match := re.match(r"Serving (http://\S+)", line):
                return match.group(1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def site(tmp_path: Path) -> Path:
    article = tmp_path / "content" / "2025" / "01" / "a.md"
    article.parent.mkdir(parents=True)
    article.write_text(ARTICLE.format(body="First text."), encoding="utf-8")
    return tmp_path


def test_edit_break_and_fix_an_article(chromium_page, site: Path) -> None:
    expect = sync_api.expect
    page = chromium_page
    server = Server(site)
    article = site / "content" / "2025" / "01" / "a.md"
    try:
        page.goto(server.url() + ARTICLE_URL)
        expect(page.locator("main")).to_contain_text("First text.")
        page.evaluate("window.__notReloaded = true")

        article.write_text(ARTICLE.format(body="Second text."), encoding="utf-8")
        expect(page.locator("main")).to_contain_text("Second text.", timeout=TIMEOUT_MS)
        assert page.evaluate("window.__notReloaded") is None  # reloaded by the script

        article.write_text("---\ntitle: [Hello World\ndate: 2025-01-02\nslug: hello-world\n"
                           "---\n\nBroken.\n", encoding="utf-8")
        overlay = page.get_by_role("alert")
        expect(overlay).to_contain_text(re.compile(r"content/2025/01/a\.md:\d+"),
                                        timeout=TIMEOUT_MS)
        expect(overlay).to_contain_text("invalid YAML")
        expect(page.locator("main")).to_contain_text("Second text.")  # the last good page

        article.write_text(ARTICLE.format(body="Fixed text."), encoding="utf-8")
        expect(page.locator("main")).to_contain_text("Fixed text.", timeout=TIMEOUT_MS)
        expect(page.get_by_role("alert")).to_have_count(0)
        # No script errors; a 404 here is Chromium's /favicon.ico (the theme has none).
        assert [e for e in page.context.console_errors if "status of 404" not in e] == []
        page.close()
    finally:
        returncode = server.stop()
    assert returncode == 0, "".join(server.output)
    assert "Traceback" not in "".join(server.output)
