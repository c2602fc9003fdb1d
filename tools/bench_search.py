#!/usr/bin/env python3
"""The search-index benchmark of issue #3: sitegen's search stage beside the Pagefind CLI.

    python tools/bench_search.py [--sizes 1000,10000] [--runs 3] [--jobs N]
                                 [--workdir bench-out/search] [--json FILE]
                                 [--variants cli,single,pieces] [--keep-archive]

For each size, `tools/genarchive.py` writes a deterministic archive (kept and reused under the
work dir) and sitegen builds it once without search. Every run then indexes the same article
pages, each variant into a fresh folder (a hard-linked copy of that output, so nothing is
written into a just-deleted tree, see DESIGN.md's pitfalls):

  cli        `pagefind --site OUTPUT --output-path ...`, what other generators run after a build
  single     sitegen's search stage with every article in one Pagefind index (one piece)
  pieces     sitegen's search stage as it ships: pieces of <= 40 articles indexed `--jobs` at
             once, joined into one site-wide bundle
  edit       then one article page changes and the stage runs again (one piece re-indexed)
  no-op      then the stage runs again with nothing changed

`browser_costs` measures the search page itself in headless Chromium (Debian's chromium, driven
by Playwright): for each query, from a cold browser, the requests and bytes until the first
result shows, and the time to it.

sitegen's variants run in a child process that loads the article records from a pickle and
times only `update_search_index` (the build's "search" stage); the CLI is timed around its
process. Memory, sampled from /proc every 20 ms: the peak of the summed RSS of the Pagefind
processes (the CLI itself, or sitegen's `pagefind --service` children), and the peak RSS of the
Python process running the stage (it holds the article records in a real build anyway).
Bundle size: the bytes and files under the bundle folder, what a deploy uploads.
Medians over the runs, range beside them.

`--variants pieces` runs sitegen's stage alone (at 100,000 articles the CLI and `single` need
~23 GB). An archive is generated and built again whenever sitegen's code changed;
`--keep-archive` reuses the one already in the work dir (its pages as an older sitegen wrote
them: fine for timing the search stage, whose input they are).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import process_tree, rss_kb  # the process-tree memory sampling of tools/bench.py

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKDIR = ROOT / "bench-out" / "search"
BASE_URL = "http://localhost/"
SEED = 1
VARIANTS = ("cli", "single", "pieces", "edit", "no-op")


# ---------------------------------------------------------------- memory of a process tree

class Sampler(threading.Thread):
    """Peak RSS of a root process and, separately, of the sum of all its descendants."""

    def __init__(self, root: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.root_kb = self.descendants_kb = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            pids = process_tree(self.root, include_root=False)
            self.root_kb = max(self.root_kb, rss_kb(self.root))
            self.descendants_kb = max(self.descendants_kb, sum(map(rss_kb, pids)))
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# ---------------------------------------------------------------- one measurement

@dataclass
class Result:
    seconds: float
    index_rss_kb: int  # peak summed RSS of the Pagefind processes
    python_rss_kb: int = 0  # peak RSS of the Python process running the stage (sitegen only)
    bundle_bytes: int = 0
    bundle_files: int = 0
    pieces: int = 0  # indexes Pagefind built
    pages: int = 0
    index_cpu: float = 0.0  # user+sys seconds of the Pagefind processes
    python_cpu: float = 0.0  # user+sys seconds of the Python process in the stage


def bundle_size(folder: Path) -> tuple[int, int]:
    total = files = 0
    for path in folder.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
            files += 1
    return total, files


def run_cli(pages: Path, dest: Path) -> Result:
    from sitegen.search import pagefind_executable

    dest.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen([str(pagefind_executable()), "--site", str(pages), "--output-path",
                             str(dest), "--quiet"], stdout=subprocess.DEVNULL)
    sampler = Sampler(os.getpid())  # the CLI is our only child: its RSS is the descendants'
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    sampler.stop()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"pagefind CLI exited {os.waitstatus_to_exitcode(status)}")
    size, files = bundle_size(dest)
    count = len(list((dest / "fragment").iterdir()))
    return Result(seconds, sampler.descendants_kb, 0, size, files, 1, count,
                  usage.ru_utime + usage.ru_stime)


def run_child(variant: str, site: Path, output: Path, articles: Path, jobs: int
              ) -> dict[str, Result]:
    """sitegen's stage in a child process (see `child_main`); its results by variant."""
    cmd = [sys.executable, __file__, "--child", variant, "--site", str(site),
           "--output", str(output), "--articles", str(articles), "--jobs", str(jobs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    results: dict[str, Result] = {}
    sampler: Sampler | None = None
    for line in proc.stdout:  # the child says when each variant starts and ends
        message = json.loads(line)
        if message["event"] == "start":
            sampler = Sampler(proc.pid)
            sampler.start()
        else:
            assert sampler is not None
            sampler.stop()
            results[message["variant"]] = Result(
                message["seconds"], sampler.descendants_kb, sampler.root_kb,
                message["bundle_bytes"], message["bundle_files"], message["pieces"],
                message["pages"], message["index_cpu"], message["python_cpu"])
    if proc.wait():
        raise SystemExit(f"sitegen child ({variant}) exited {proc.returncode}")
    return results


def child_main(args: argparse.Namespace) -> None:
    """Index `--output`'s article pages with sitegen's search stage; report on stdout."""
    from sitegen import search
    from sitegen.config import load_config
    from sitegen.urls import Urls

    output = Path(args.output)
    config = load_config(Path(args.site), output_dir=output,
                         cache_dir=output.with_name(output.name + ".cache"),
                         base_url=BASE_URL, search=True, jobs=args.jobs)
    articles = pickle.loads(Path(args.articles).read_bytes())
    if args.child == "single":  # every article in one index, for comparison
        planned = search.plan_pieces
        search.plan_pieces = lambda items, max_pages=0: [search.PiecePlan(
            "all", tuple(url for piece in planned(items) for url in piece.urls))]

    def cpu(who: int) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    def stage(variant: str, changed: set[str]) -> None:
        print(json.dumps({"event": "start", "variant": variant}), flush=True)
        time.sleep(0.05)  # let the sampler take its baseline
        before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
        report = search.update_search_index(config, articles, changed)
        python_cpu = cpu(resource.RUSAGE_SELF) - before[0]
        index_cpu = cpu(resource.RUSAGE_CHILDREN) - before[1]
        size, files = bundle_size(output / "pagefind")
        print(json.dumps({"event": "end", "variant": variant, "seconds": report.seconds,
                          "bundle_bytes": size, "bundle_files": files,
                          "pieces": len(report.pieces), "pages": report.pages_indexed,
                          "index_cpu": index_cpu, "python_cpu": python_cpu}), flush=True)

    stage(args.child, {a.url for a in articles})
    if args.child == "pieces":
        edited = articles[len(articles) // 3]
        page = output / Urls(config).output_path(edited.url)
        html = page.read_text(encoding="utf-8")
        html = html.replace('<div class="story-body">',
                            '<div class="story-body">\n<p>Edited by the benchmark.</p>', 1)
        tmp = page.with_name(".bench.tmp")
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, page)  # a new file: the hard-linked original stays as it was
        stage("edit", {edited.url})
        stage("no-op", set())


# ---------------------------------------------------------------- preparing an archive

def prepare(n: int, workdir: Path, log, keep: bool = False) -> tuple[Path, Path, Path]:
    """The site folder, its no-search output and the pickled article records for size n
    (`keep`: any archive of that size already prepared)."""
    home = workdir / f"a{n}"
    site, output, articles = home / "site", home / "output", home / "articles.pickle"
    marker = home / "ready.json"
    key = {"n": n, "seed": SEED, "generator": _digest(ROOT / "tools" / "genarchive.py"),
           "sitegen": _sitegen_digest()}
    if marker.is_file() and (keep or json.loads(marker.read_text()) == key):
        return site, output, articles
    log(f"{n:,} articles: generating and building the archive (once)")
    shutil.rmtree(home, ignore_errors=True)
    site.mkdir(parents=True)
    subprocess.run([sys.executable, str(ROOT / "tools" / "genarchive.py"), str(site / "content"),
                    "-n", str(n), "--seed", str(SEED), "-q"], check=True)
    (site / "sitegen.toml").write_text(f'title = "Bench"\nbase_url = "{BASE_URL}"\n')

    from sitegen import build as build_module
    from sitegen import search
    from sitegen.config import load_config

    captured: list[Any] = []
    original = search.update_search_index
    def capture(_config: Any, arts: list, *_rest: Any, **_options: Any) -> Any:
        captured.append(list(arts))
        return search.SearchReport(0, (), 0, False, 0.0)

    search.update_search_index = capture
    try:
        build_module.build(load_config(site, output_dir=output, cache_dir=home / "build-cache",
                                       base_url=BASE_URL, search=True, git_history=False))
    finally:
        search.update_search_index = original
    articles.write_bytes(pickle.dumps(captured[-1]))
    marker.write_text(json.dumps(key))
    return site, output, articles


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()


def _sitegen_digest() -> str:
    import hashlib

    digest = hashlib.blake2b(digest_size=8)
    for path in sorted((ROOT / "sitegen").rglob("*.py")) + sorted((ROOT / "layouts").rglob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def linked_copy(source: Path, dest: Path) -> None:
    """`dest` as a hard-linked copy of `source` (cheap; files are replaced, never edited)."""
    subprocess.run(["cp", "-al", str(source), str(dest)], check=True)


# ---------------------------------------------------------------- the search page in a browser

QUERIES = ("council", "stonebrook", '"council members"')  # common, rare, an exact phrase
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 120_000  # a query with no first result by then is reported as timed out


@dataclass
class PageCost:
    query: str
    results: int  # the count the page says
    requests: int  # until the first result shows, the page itself included
    kilobytes: float
    milliseconds: float


def browser_costs(output: Path, queries: Sequence[str] = QUERIES) -> list[PageCost]:
    """The search page of `output` (built for `/`) in headless Chromium, one cold browser
    context a query: requests and bytes until the first result shows, and the time to it.
    Empty when Chromium or Playwright is missing."""
    import functools
    import re
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import quote

    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        return []
    if not os.access(CHROMIUM, os.X_OK):
        return []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(output)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/search/?q="
    costs: list[PageCost] = []
    failures: list[BaseException] = []

    def measure() -> None:
        """Playwright's sync API refuses a thread with a running asyncio loop (the browser
        tests' session keeps one in the test process): it runs in a thread of its own."""
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
                for query in queries:
                    context = browser.new_context()
                    page = context.new_page()
                    seen: list[int] = []
                    page.on("requestfinished", lambda request, seen=seen: seen.append(
                        request.sizes()["responseBodySize"]))
                    start = time.perf_counter()
                    page.goto(url + quote(query))
                    try:
                        page.wait_for_function(  # a first result, or the word that there is none
                            "document.querySelector('#search-results > li') || /^No results/"
                            ".test(document.getElementById('search-status').textContent)",
                            timeout=TIMEOUT_MS)
                    except PlaywrightTimeout:  # reported as such; the other figures stand
                        costs.append(PageCost(query, -1, len(seen), sum(seen) / 1024, -1.0))
                        context.close()
                        continue
                    elapsed = (time.perf_counter() - start) * 1000
                    requests, size = len(seen), sum(seen)
                    status = page.locator("#search-status").inner_text()
                    found = re.match(r"([\d,]+) results?", status)
                    results = int(found.group(1).replace(",", "")) if found else 0
                    costs.append(PageCost(query, results, requests, size / 1024, elapsed))
                    context.close()
                browser.close()
        except BaseException as exc:  # re-raised by the caller's thread
            failures.append(exc)

    try:
        worker = threading.Thread(target=measure)
        worker.start()
        worker.join()
    finally:
        server.shutdown()
        server.server_close()
    if failures:
        raise failures[0]
    return costs


def costs_table(n: int, costs: Sequence[PageCost]) -> str:
    lines = [f"### The search page at {n:,} articles (headless Chromium, cold cache, local "
             "server)", "", "| query | results | requests to a first result "
             "| bytes fetched | time to a first result |", "|---|---|---|---|---|"]
    lines += [f"| `{c.query}` | {c.results:,} | {c.requests} | {c.kilobytes:,.0f} KB "
              f"| {c.milliseconds:,.0f} ms |" if c.milliseconds >= 0 else
              f"| `{c.query}` | - | {c.requests} | {c.kilobytes:,.0f} KB "
              f"| none within {TIMEOUT_MS // 1000} s |" for c in costs]
    return "\n".join(lines)


# ---------------------------------------------------------------- the benchmark

@dataclass
class SizeResult:
    n: int
    runs: list[dict[str, Result]] = field(default_factory=list)
    page: list[PageCost] = field(default_factory=list)  # the search page's costs

    def values(self, variant: str, attr: str) -> list[float]:
        return [getattr(run[variant], attr) for run in self.runs if variant in run]


def bench_size(n: int, runs: int, jobs: int, workdir: Path, log,
               variants: Sequence[str] = ("cli", "single", "pieces"), keep: bool = False
               ) -> SizeResult:
    site, output, articles = prepare(n, workdir, log, keep)
    result = SizeResult(n)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for r in range(runs):
        run_dir = workdir / f"a{n}" / f"run-{stamp}-{r}"
        run_dir.mkdir(parents=True)
        measured: dict[str, Result] = {}
        if "cli" in variants:
            log(f"{n:,} articles, run {r + 1}/{runs}: cli")
            measured["cli"] = run_cli(output, run_dir / "cli" / "pagefind")
        for variant in [v for v in ("single", "pieces") if v in variants]:
            log(f"{n:,} articles, run {r + 1}/{runs}: {variant}")
            linked_copy(output, run_dir / variant)
            measured.update(run_child(variant, site, run_dir / variant, articles, jobs))
        result.runs.append(measured)
        if r == 0 and "pieces" in variants:
            result.page = browser_costs(run_dir / "pieces")
    for r in range(runs):
        shutil.rmtree(workdir / f"a{n}" / f"run-{stamp}-{r}", ignore_errors=True)
    return result


def _fmt_s(values: Sequence[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f} s"
    return f"{med:.2f} s ({min(values):.2f}-{max(values):.2f})"


def _fmt_mb(values: Sequence[float]) -> str:
    return f"{statistics.median(values) / 1024:,.0f} MB" if values else "-"


def report(results: Sequence[SizeResult], jobs: int) -> str:
    lines = [f"# Search index: sitegen vs the Pagefind CLI ({platform.node()}, "
             f"{os.cpu_count()} CPUs, --jobs {jobs})", ""]
    for size in results:
        lines += [f"## {size.n:,} articles ({len(size.runs)} run(s); median, range)", "",
                  "| variant | time | CPU Pagefind + Python | Pagefind RSS (peak, sum) "
                  "| Python RSS | bundle | files | indexes built | pages indexed |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for variant in VARIANTS:
            if not size.values(variant, "seconds"):
                continue
            bundle = size.values(variant, "bundle_bytes")
            cpu = (f"{statistics.median(size.values(variant, 'index_cpu')):.1f} + "
                   f"{statistics.median(size.values(variant, 'python_cpu')):.1f} s")
            lines.append(
                f"| {variant} | {_fmt_s(size.values(variant, 'seconds'))} | {cpu} "
                f"| {_fmt_mb(size.values(variant, 'index_rss_kb'))} "
                f"| {_fmt_mb(size.values(variant, 'python_rss_kb')) if variant != 'cli' else '-'} "
                f"| {statistics.median(bundle) / 1e6:.1f} MB "
                f"| {statistics.median(size.values(variant, 'bundle_files')):,.0f} "
                f"| {statistics.median(size.values(variant, 'pieces')):.0f} "
                f"| {statistics.median(size.values(variant, 'pages')):,.0f} |")
        if size.values("cli", "seconds") and size.values("pieces", "seconds"):
            cli = statistics.median(size.values("cli", "seconds"))
            pieces = statistics.median(size.values("pieces", "seconds"))
            verdict = "met" if pieces <= cli else "NOT met"
            lines += ["", f"Target (pieces no slower than the CLI): {verdict}: "
                          f"{pieces:.2f} s vs {cli:.2f} s ({cli / pieces:.2f}x)."]
        lines.append("")
        if size.page:
            lines += [costs_table(size.n, size.page), ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--variants", default="cli,single,pieces",
                        help="which of cli, single, pieces to run (pieces: also edit, no-op)")
    parser.add_argument("--keep-archive", action="store_true",
                        help="reuse a prepared archive even if sitegen changed since")
    parser.add_argument("--child", choices=("single", "pieces"), help=argparse.SUPPRESS)
    parser.add_argument("--site", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--articles", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.child:
        child_main(args)
        return 0

    def log(message: str) -> None:
        print(f"[bench_search] {message}", file=sys.stderr, flush=True)

    variants = tuple(args.variants.split(","))
    unknown = set(variants) - {"cli", "single", "pieces"}
    if unknown:
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    results = [bench_size(int(n), args.runs, args.jobs, args.workdir, log, variants,
                          args.keep_archive) for n in args.sizes.split(",")]
    print(report(results, args.jobs))
    if args.json:
        args.json.write_text(json.dumps(
            [{"n": r.n, "runs": [{k: asdict(v) for k, v in run.items()} for run in r.runs]}
             for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
