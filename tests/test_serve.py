"""The preview server: path safety, script injection, debounced rebuilds, error state,
concurrency, the base path, and a real small site edited while it is served."""

from __future__ import annotations

import errno
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from watchdog.observers.polling import PollingObserver

from sitegen.config import Config, load_config
from sitegen.errors import ContentError, Problem, SitegenError
from sitegen.serve import (
    BuildStatus,
    ChangeFilter,
    Preview,
    Rebuilder,
    SiteBuilder,
    SourceEventHandler,
    error_payload,
    inject_script,
    is_editor_junk,
    resolve_request,
    script_tag,
    start_observer,
)

ARTICLE = "---\ntitle: Hello World\nslug: hello-world\ndate: 2025-01-02\n---\n\n{body}\n"  # in a.md
ARTICLE_URL = "/2025/01/02/hello-world/"


# ---------------------------------------------------------------- helpers

@dataclass
class FakeReport:
    files_written: int = 1
    files_removed: int = 0

    def summary_line(self) -> str:
        return "fake build"


class FakeBuild:
    """A build function that counts its calls and can fail or be slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[frozenset[str]] = []
        self.delay = delay
        self.error: Exception | None = None

    def __call__(self, changes: frozenset[str]) -> FakeReport:
        self.calls.append(changes)
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return FakeReport()


def make_site(root: Path, body: str = "First text.", config: str = "") -> Path:
    article = root / "content" / "2025" / "01" / "a.md"
    article.parent.mkdir(parents=True, exist_ok=True)
    article.write_text(ARTICLE.format(body=body), encoding="utf-8")
    if config:
        (root / "sitegen.toml").write_text(config, encoding="utf-8")
    return root


TEST_OVERRIDES = {"search": False, "jobs": 1}  # as if given on the command line


def site_config(root: Path) -> Config:
    return load_config(root, **TEST_OVERRIDES)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def get(preview: Preview, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    host, port = preview.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture
def quiet_console() -> Console:
    return Console(file=open(os.devnull, "w"), highlight=False)  # noqa: SIM115


@pytest.fixture
def running(quiet_console: Console) -> Iterator[Callable[..., Preview]]:
    """running(config, build=None, watch=False) -> a started Preview on a free port."""
    started: list[Preview] = []

    def start(config: Config, build: FakeBuild | None = None, watch: bool = False,
              quiet: float = 0.1, max_wait: float = 1.0) -> Preview:
        preview = Preview(config, port=0, console=quiet_console, build=build, quiet=quiet,
                          max_wait=max_wait, overrides=TEST_OVERRIDES)
        started.append(preview)
        preview.initial_build()
        preview.start(watch=watch)
        return preview

    yield start
    for preview in started:
        preview.stop()


# ---------------------------------------------------------------- request paths

@pytest.fixture
def output(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    for rel in ("index.html", "a/b/index.html", "feed.xml", "a/empty/.keep"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    os.symlink(tmp_path, root / "escape-dir")
    os.symlink(root / "feed.xml", root / "inside.xml")
    return root


@pytest.mark.parametrize("raw, rel", [
    ("/", "index.html"),
    ("/?q=1", "index.html"),
    ("/a/b/", "a/b/index.html"),
    ("/feed.xml", "feed.xml"),
    ("/inside.xml", "inside.xml"),
    ("/%61/b/", "a/b/index.html"),
])
def test_files_inside_output_are_served(output: Path, raw: str, rel: str) -> None:
    found = resolve_request(output, "/", raw)
    assert (found.status, found.file) == (200, output / rel)


@pytest.mark.parametrize("raw", [
    "/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/a/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/a%2Fb/index.html", "/a%5cb",
    "/a\\b", "//etc/passwd", "/%2fetc/passwd", "http://example.org/", "etc/passwd",
    "/feed.xml%00.html", "/./feed.xml", "/a//b/", "/%ff",
])
def test_unsafe_paths_are_rejected(output: Path, raw: str) -> None:
    assert resolve_request(output, "/", raw).status == 400


@pytest.mark.parametrize("raw", [
    "/escape.txt", "/escape-dir/secret.txt", "/missing.html", "/feed.xml/", "/a/empty/",
    "/%252e%252e/secret.txt", "/" + "a" * 300, "/a/" + "b" * 300 + "/",
])
def test_escaping_symlinks_and_missing_files_are_not_found(output: Path, raw: str) -> None:
    assert resolve_request(output, "/", raw).status == 404


def test_folder_without_slash_redirects_keeping_the_query(output: Path) -> None:
    found = resolve_request(output, "/", "/a/b?x=1")
    assert (found.status, found.location) == (301, "/a/b/?x=1")


@pytest.mark.parametrize("raw, status, target", [
    ("/repo/", 200, "index.html"),
    ("/repo/a/b/", 200, "a/b/index.html"),
    ("/repo/feed.xml", 200, "feed.xml"),
    ("/repo/a/b", 301, "/repo/a/b/"),
    ("/", 301, "/repo/"),
    ("/repo", 301, "/repo/"),
    ("/feed.xml", 404, ""),
    ("/repository/feed.xml", 404, ""),
    ("/repo/../output/feed.xml", 400, ""),
])
def test_base_path_maps_onto_output(output: Path, raw: str, status: int, target: str) -> None:
    found = resolve_request(output, "/repo/", raw)
    assert found.status == status
    if status == 200:
        assert found.file == output / target
    if status == 301:
        assert found.location == target


# ---------------------------------------------------------------- injection

def test_script_goes_before_the_last_closing_body() -> None:
    html = b"<html><body><p>x</p><script>'</body>'</script></BODY></html>"
    out = inject_script(html, b"<s>")
    assert out == b"<html><body><p>x</p><script>'</body>'</script><s></BODY></html>"
    assert inject_script(b"<p>no body</p>", b"<s>") == b"<p>no body</p><s>"
    assert b'data-epoch="3"' in script_tag(3)


def test_only_html_responses_get_the_script(tmp_path: Path, running) -> None:
    preview = running(site_config(make_site(tmp_path)))
    status, headers, body = get(preview, ARTICLE_URL)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body.count(b"/__sitegen__/livereload.js") == 1
    assert body.index(b"livereload.js") < body.rindex(b"</body>")
    for path in ("/feed.xml", "/sitemap.xml", "/robots.txt"):
        status, _, body = get(preview, path)
        assert status == 200 and b"livereload" not in body, path
    status, headers, body = get(preview, "/__sitegen__/livereload.js")
    assert status == 200 and b"EventSource" in body
    assert "javascript" in headers["Content-Type"]


def test_output_folder_never_holds_the_script(tmp_path: Path, running) -> None:
    config = site_config(make_site(tmp_path))
    running(config)
    files = [p for p in config.output_dir.rglob("*") if p.is_file()]
    assert files
    assert not any(b"__sitegen__" in p.read_bytes() for p in files)


# ---------------------------------------------------------------- debounce

def test_a_burst_of_changes_is_one_build() -> None:
    fake = FakeBuild()
    rebuilder = Rebuilder(fake, BuildStatus(), quiet=0.1, max_wait=2.0)
    rebuilder.start()
    try:
        for i in range(500):
            rebuilder.notify(f"/site/content/{i}.md")
        assert rebuilder.wait_idle(5)
        time.sleep(0.2)
        assert len(fake.calls) == 1
        assert len(fake.calls[0]) == 500
    finally:
        rebuilder.stop()


def test_changes_during_a_build_make_exactly_one_more() -> None:
    fake = FakeBuild(delay=0.3)
    rebuilder = Rebuilder(fake, BuildStatus(), quiet=0.05, max_wait=1.0)
    rebuilder.start()
    try:
        rebuilder.notify("a.md")
        assert wait_until(lambda: fake.calls, 2)
        for i in range(20):
            rebuilder.notify(f"b{i}.md")
        assert wait_until(lambda: len(fake.calls) == 2, 3)
        assert rebuilder.wait_idle(3)
        assert len(fake.calls) == 2 and len(fake.calls[1]) == 20
    finally:
        rebuilder.stop()


def test_a_long_burst_builds_after_max_wait() -> None:
    fake = FakeBuild()
    rebuilder = Rebuilder(fake, BuildStatus(), quiet=0.2, max_wait=0.3)
    rebuilder.start()
    try:
        end = time.monotonic() + 0.8
        while time.monotonic() < end:
            rebuilder.notify("a.md")
            time.sleep(0.02)
        assert fake.calls, "no build while events kept coming"
    finally:
        rebuilder.stop()


@pytest.mark.parametrize("name, junk", [
    ("a.md", False), ("photo.jpg", False), (".a.md.swp", True), ("a.md~", True),
    (".#a.md", True), ("4913", True), ("a.md.swx", True), (".hidden", True),
])
def test_editor_junk(name: str, junk: bool) -> None:
    assert is_editor_junk(name) is junk


def test_change_filter(tmp_path: Path) -> None:
    config = site_config(make_site(tmp_path, config='title = "T"\n'))
    accepts = ChangeFilter(config).accepts
    site = str(tmp_path)
    assert accepts(f"{site}/content/2025/01/a.md")
    assert accepts(f"{site}/layouts/base.html")
    assert accepts(f"{site}/static/logo.png")
    assert accepts(f"{site}/sitegen.toml")
    assert accepts(f"{site}/pyproject.toml")
    for path in ("output/index.html", ".sitegen-cache/db", ".output.sitegen/staging/a/index.html",
                 "content/2025/01/.a.md.swp", "content/4913", "content/.git/HEAD",
                 "content/a.md~", "README.md", "output", "other.toml"):
        assert not accepts(f"{site}/{path}"), path


def test_editor_save_dance_is_one_build(tmp_path: Path, running) -> None:
    """Real watchdog events: swap files, a backup, a temp file renamed over the article,
    and writes into output/ and the cache make exactly one build."""
    site = make_site(tmp_path)
    fake = FakeBuild()
    preview = running(site_config(site), build=fake, watch=True)
    folder = site / "content" / "2025" / "01"
    time.sleep(0.2)  # let the watches settle
    (folder / ".a.md.swp").write_text("swap")
    (folder / "4913").write_text("")
    (folder / "4913").unlink()
    (folder / "a.md~").write_text("backup")
    tmp = folder / ".a.md.tmp"
    tmp.write_text(ARTICLE.format(body="Saved."))
    os.replace(tmp, folder / "a.md")
    (site / "output").mkdir(exist_ok=True)
    (site / "output" / "x.html").write_text("x")
    assert wait_until(lambda: len(fake.calls) >= 2, 5)
    assert preview.rebuilder.wait_idle(5)
    time.sleep(0.4)
    assert len(fake.calls) == 2  # the initial build and one rebuild
    assert fake.calls[1] == {str(folder / "a.md")}


def test_a_checkout_of_500_files_is_one_build(tmp_path: Path, running) -> None:
    site = make_site(tmp_path)
    fake = FakeBuild()
    preview = running(site_config(site), build=fake, watch=True, quiet=0.2, max_wait=3.0)
    time.sleep(0.2)
    for i in range(500):
        folder = site / "content" / "2024" / f"{i % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"story-{i}.md").write_text(ARTICLE.format(body=i))
    assert wait_until(lambda: len(fake.calls) >= 2, 5)
    assert preview.rebuilder.wait_idle(5)
    time.sleep(0.5)
    assert len(fake.calls) == 2
    assert any(p.endswith(".md") for p in fake.calls[1])


def test_inotify_limit_falls_back_to_polling(tmp_path: Path) -> None:
    class Exhausted:
        def schedule(self, *args: object, **kwargs: object) -> None:
            pass

        def start(self) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

        def stop(self) -> None:
            pass

    lines: list[str] = []
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    console.print = lambda text, **kw: lines.append(text)  # type: ignore[method-assign]
    handler = SourceEventHandler(lambda p: True, lambda p: None)
    observer = start_observer(handler, [(tmp_path, True)], console, factory=Exhausted)
    try:
        assert isinstance(observer, PollingObserver)
        assert any("polling" in line for line in lines)
    finally:
        observer.stop()
        observer.join(5)


def test_other_watch_errors_are_reported(tmp_path: Path) -> None:
    handler = SourceEventHandler(lambda p: True, lambda p: None)
    with pytest.raises(SitegenError, match="cannot watch"):
        start_observer(handler, [(tmp_path / "missing", True)], None)


# ---------------------------------------------------------------- state and errors

def test_failed_build_state_is_served_as_json(tmp_path: Path, running) -> None:
    fake = FakeBuild()
    preview = running(site_config(make_site(tmp_path)), build=fake)
    epoch = json.loads(get(preview, "/__sitegen__/state")[2])["epoch"]
    fake.error = ContentError([Problem("content/2025/01/a.md", 3, "invalid YAML: oops")])
    preview.rebuilder.notify("a.md")
    assert wait_until(lambda: preview.state.error is not None, 5)
    status, headers, body = get(preview, "/__sitegen__/state")
    state = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert state["epoch"] == epoch
    [problem] = state["error"]["problems"]
    assert problem["path"] == "content/2025/01/a.md" and problem["line"] == 3
    assert problem["text"] == "content/2025/01/a.md:3: error: invalid YAML: oops"
    fake.error = None
    preview.rebuilder.notify("a.md")
    assert wait_until(lambda: preview.state.error is None, 5)
    assert preview.state.epoch == epoch + 1


def test_events_stream_sends_the_state(tmp_path: Path, running) -> None:
    preview = running(site_config(make_site(tmp_path)), build=FakeBuild())
    host, port = preview.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/__sitegen__/events")
        response = conn.getresponse()
        assert response.getheader("Content-Type") == "text/event-stream"
        data = b""
        while b"data:" not in data or not data.endswith(b"\n\n"):
            data += response.fp.readline()
        state = json.loads(data.split(b"data: ", 1)[1])
        assert state["epoch"] == preview.state.epoch and state["error"] is None
    finally:
        conn.close()


def test_error_payload_without_problems() -> None:
    payload = error_payload(SitegenError("sitegen.toml: unknown setting 'x'\nsecond"))
    assert [p["text"] for p in payload["problems"]] == ["sitegen.toml: unknown setting 'x'",
                                                        "second"]
    assert error_payload(KeyError("k"))["message"] == "KeyError: 'k'"


def test_unexpected_exceptions_keep_the_server_up(tmp_path: Path, running) -> None:
    fake = FakeBuild()
    preview = running(site_config(make_site(tmp_path)), build=fake)
    fake.error = RuntimeError("bug")
    preview.rebuilder.notify("a.md")
    assert wait_until(lambda: preview.state.error is not None, 5)
    assert "RuntimeError: bug" in preview.state.error["message"]
    assert get(preview, "/__sitegen__/state")[0] == 200


# ---------------------------------------------------------------- server

def test_200_concurrent_requests(tmp_path: Path, running) -> None:
    preview = running(site_config(make_site(tmp_path)))
    paths = ["/", ARTICLE_URL, "/feed.xml", "/missing/", "/__sitegen__/state"] * 40
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda p: get(preview, p)[0], paths))
    assert len(statuses) == 200
    assert statuses.count(404) == 40 and statuses.count(200) == 160


def test_not_found_uses_404_page_with_the_script(tmp_path: Path, running) -> None:
    preview = running(site_config(make_site(tmp_path)))
    status, _, body = get(preview, "/no/such/page/")
    assert status == 404
    assert body.startswith((preview.config.output_dir / "404.html").read_bytes()[:50])
    assert b"livereload.js" in body
    (preview.config.output_dir / "404.html").unlink()
    status, _, body = get(preview, "/no/such/page/")
    assert status == 404 and b"404 Not Found" in body and b"livereload.js" in body


def test_failed_first_build_still_serves_the_overlay(tmp_path: Path, running) -> None:
    site = make_site(tmp_path)
    (site / "content/2025/01/a.md").write_text("no front matter\n")
    preview = running(site_config(site))
    assert preview.state.error is not None and preview.state.epoch == 0
    status, _, body = get(preview, "/")
    assert status == 404 and b"livereload.js" in body


def test_head_and_redirect(tmp_path: Path, running) -> None:
    preview = running(site_config(make_site(tmp_path)))
    status, headers, body = get(preview, ARTICLE_URL.rstrip("/"))
    assert status == 301 and headers["Location"] == ARTICLE_URL
    status, headers, body = get(preview, ARTICLE_URL, method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_busy_port_is_a_sitegen_error(tmp_path: Path, running) -> None:
    config = site_config(make_site(tmp_path))
    preview = running(config, build=FakeBuild())
    with pytest.raises(SitegenError, match="cannot listen"):
        Preview(config, port=preview.httpd.server_address[1])


def test_base_path_site(tmp_path: Path, running) -> None:
    site = make_site(tmp_path, config='base_url = "https://example.org/repo/"\n')
    preview = running(site_config(site))
    assert preview.url.endswith("/repo/")
    status, headers, _ = get(preview, "/")
    assert status == 301 and headers["Location"] == "/repo/"
    status, _, body = get(preview, "/repo" + ARTICLE_URL)
    assert status == 200 and b"First text." in body
    assert get(preview, ARTICLE_URL)[0] == 404


# ---------------------------------------------------------------- a real site, edited

def test_editing_an_article_rebuilds_and_bumps_the_epoch(tmp_path: Path, running) -> None:
    site = make_site(tmp_path)
    preview = running(site_config(site), watch=True)
    epoch = preview.state.epoch
    time.sleep(0.2)
    (site / "content/2025/01/a.md").write_text(ARTICLE.format(body="Second text."))
    assert wait_until(lambda: preview.state.epoch > epoch, 10)
    assert b"Second text." in get(preview, ARTICLE_URL)[2]

    (site / "content/2025/01/a.md").write_text("---\ntitle: [broken\ndate: 2025-01-02\n---\n")
    assert wait_until(lambda: preview.state.error is not None, 10)
    assert preview.state.error["problems"][0]["path"].endswith("a.md")
    assert b"Second text." in get(preview, ARTICLE_URL)[2]  # the last good site


def test_config_change_is_read_again(tmp_path: Path, running) -> None:
    site = make_site(tmp_path, config='title = "First Title"\n')
    preview = running(site_config(site), watch=True)
    assert b"First Title" in get(preview, "/")[2]
    time.sleep(0.2)
    (site / "sitegen.toml").write_text('title = "Second Title"\n')
    assert wait_until(lambda: b"Second Title" in get(preview, "/")[2], 10)
    (site / "sitegen.toml").write_text('title = "Third"\nno_such_setting = 1\n')
    assert wait_until(lambda: preview.state.error is not None, 10)
    assert "no_such_setting" in preview.state.error["problems"][0]["text"]


def test_a_content_folder_named_in_a_reloaded_config_is_watched(tmp_path: Path,
                                                               running) -> None:
    site = make_site(tmp_path, config='title = "T"\n')
    preview = running(site_config(site), watch=True)
    other = site / "archive" / "2025" / "01" / "a.md"
    other.parent.mkdir(parents=True)
    other.write_text(ARTICLE.format(body="From the other folder."), encoding="utf-8")
    time.sleep(0.2)
    (site / "sitegen.toml").write_text('title = "T"\ncontent_dir = "archive"\n')
    assert wait_until(lambda: b"From the other folder." in get(preview, ARTICLE_URL)[2], 10)
    epoch = preview.state.epoch
    other.write_text(ARTICLE.format(body="Edited in the other folder."), encoding="utf-8")
    # Not just a later epoch: a rebuild the config reload set off may end after the edit was
    # written without having seen it; the edit's own rebuild follows.
    assert wait_until(lambda: b"Edited in the other folder." in get(preview, ARTICLE_URL)[2],
                      10)
    assert wait_until(lambda: preview.state.epoch > epoch, 10)  # its files land first


def test_command_line_settings_outlive_a_config_reload(tmp_path: Path) -> None:
    site = make_site(tmp_path, config='title = "T"\ncontent_dir = "archive"\n')
    (site / "archive").mkdir()
    builds: list[Config] = []
    given = {"content_dir": Path("archive")}  # --content archive, as the file said too
    builder = SiteBuilder(load_config(site, **given), builds.append, given)
    (site / "sitegen.toml").write_text('title = "T2"\ncontent_dir = "content"\n')
    builder(frozenset({str(site / "sitegen.toml")}))
    assert (builds[-1].title, builds[-1].content_dir) == ("T2", site.resolve() / "archive")


def default_sigint() -> None:
    """Ctrl-C as a terminal delivers it, whatever started the tests: a shell that runs a
    command in the background (`make test &`) leaves SIGINT ignored, and Python keeps an
    ignored SIGINT ignored, so the server would never see it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def serving(command: list[str]) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """`sitegen serve` started by `command`, once it says "Serving": the process and the lines
    it printed so far; killed on leaving if it still runs."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=default_sigint)
    try:
        lines = []
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("Serving http://"):
                break
        assert lines and lines[-1].startswith("Serving"), lines
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    sitegen = Path(sys.executable).with_name("sitegen")
    with serving([str(sitegen), "serve", str(site), "--port", "0", "--no-search"]) as (proc, _):
        proc.send_signal(signal.SIGINT)
        # generous: CI once needed more than 15 s here while other suites loaded both cores
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "Traceback" not in rest and rest.strip().endswith("Stopped.")


# The server process logs every fork it makes (os.register_at_fork) and runs with
# DeprecationWarning as an error (Python 3.12+ warns when a process with threads forks).
FORK_PROBE = """
import os, sys, threading
log = open(sys.argv[1], "a")
def record():
    log.write(f"fork with {threading.active_count()} threads\\n")
    log.flush()
os.register_at_fork(before=record)
from sitegen.cli import main
sys.argv = ["sitegen", *sys.argv[2:]]
main()
"""


def test_the_server_never_forks_its_builds_run_in_the_build_host(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    forks = tmp_path / "forks.log"
    command = [sys.executable, "-W", "error::DeprecationWarning", "-c", FORK_PROBE, str(forks),
               "serve", str(site), "--port", "0", "--no-search"]
    with serving(command) as (proc, lines):
        url = lines[-1].split()[1]
        (site / "content/2025/01/a.md").write_text(ARTICLE.format(body="Rebuilt text."))
        page = url.rstrip("/") + ARTICLE_URL

        def rebuilt() -> bool:
            with urllib.request.urlopen(page, timeout=10) as response:
                return b"Rebuilt text." in response.read()

        assert wait_until(rebuilt, 30)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "DeprecationWarning" not in output
    assert not forks.exists() or forks.read_text() == ""  # the builds forked in the host
