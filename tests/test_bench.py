"""tools/bench.py: the issue #4 benchmark harness (its logic and its table, not timings)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "bench.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sitegen_bench", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


bench = _load()

SIZE_RE = re.compile(r"^\d+(\.\d+)? s( \(\d+\.\d+-\d+\.\d+\))?$")
MB_RE = re.compile(r"^[\d,]+ MB$")


# ---------------------------------------------------------------- parsing


def test_parse_summary_and_stages() -> None:
    err = ("load          0.032 s\nparse         1.707 s\nindex         0.034 s\n"
           "render        2.585 s\nsearch       12.125 s\n")
    out = ("995 articles, 2759 pages: 2759 rendered, 2764 written, 0 unchanged, 0 removed "
           "in 4.56 s\n")
    summary = bench.parse_summary(out)
    assert summary == bench.Summary(articles=995, pages=2759, rendered=2759, written=2764,
                                    unchanged=0, removed=0, seconds=4.56)
    assert bench.parse_stages(err) == {"load": 0.032, "parse": 1.707, "index": 0.034,
                                       "render": 2.585, "search": 12.125}
    assert bench.parse_summary("nothing here") is None
    # the line as this sitegen writes it (earlier revisions, timed by --rev, wrote the above)
    now = bench.parse_summary("995 articles, 2759 pages: 0 rendered, 2759 up to date; 0 files "
                              "written, 2764 unchanged, 0 removed in 0.21 s; 3 redirect pages")
    assert now == bench.Summary(articles=995, pages=2759, rendered=0, written=0,
                                unchanged=2764, removed=0, seconds=0.21)


def test_parse_time_maxrss() -> None:
    text = ('\tCommand being timed: "x"\n\tMaximum resident set size (kbytes): 174408\n'
            "\tAverage resident set size (kbytes): 0\n")
    assert bench.parse_time_maxrss(text) == 174408
    assert bench.parse_time_maxrss("") is None


# ---------------------------------------------------------------- memory of a process tree

# A parent holding ~40 MB starts a child holding ~80 MB; both live for a while.
TREE = """
import subprocess, sys, time
held = b"p" * 40_000_000
child = subprocess.Popen([sys.executable, "-c",
                          "import time; held = b'c' * 80_000_000; time.sleep(1.0)"])
child.wait()
print(len(held))
"""


@pytest.mark.parametrize("use_time", [False, True])
def test_measure_sees_the_whole_process_tree(tmp_path: Path, use_time: bool) -> None:
    if use_time and not os.access(bench.TIME_BIN, os.X_OK):
        pytest.skip("no /usr/bin/time")
    m = bench.measure([sys.executable, "-c", TREE], tmp_path, "tree", interval=0.02,
                      use_time=use_time)
    mb = 1024
    assert m.seconds >= 1.0
    assert m.max_rss_kb >= 80 * mb  # at least the largest process, the child
    assert m.tree_rss_kb >= 120 * mb  # parent and child at once
    assert m.tree_pss_kb == 0 or m.tree_pss_kb >= 110 * mb
    assert m.processes >= 2 and m.samples >= 5
    assert (tmp_path / "tree.out").read_text().strip() == "40000000"


def test_the_sampler_reads_pss_on_every_tenth_sample_only(monkeypatch) -> None:
    """PSS (smaps_rollup) costs ~16x what RSS does: read at every sample, it took ~10% of a
    core from the builds being timed."""
    reads = {"rss": 0, "pss": 0}

    def reader(kind: str, value: int):
        def read(pid: int) -> int:
            reads[kind] += 1
            return value
        return read

    monkeypatch.setattr(bench, "process_tree", lambda root, include_root=True: [root])
    monkeypatch.setattr(bench, "rss_kb", reader("rss", 5))
    monkeypatch.setattr(bench, "pss_kb", reader("pss", 4))
    sampler = bench.TreeSampler(os.getpid(), 0.05)
    for _ in range(30):
        sampler.sample()
    assert reads == {"rss": 30, "pss": 3}
    assert (sampler.peak_rss_kb, sampler.peak_pss_kb, sampler.samples) == (5, 4, 30)


def test_measure_reports_a_failing_command(tmp_path: Path) -> None:
    with pytest.raises(bench.BenchError, match="exited 3"):
        bench.measure([sys.executable, "-c", "import sys; print('bad', file=sys.stderr); "
                       "sys.exit(3)"], tmp_path, "fail")


# ---------------------------------------------------------------- the edited article


def test_edit_keeps_the_url_and_restores(tmp_path: Path) -> None:
    content = tmp_path / "content"
    bench.genarchive.generate(content, 30, seed=1)
    path = bench.pick_article(content)
    assert path == bench.pick_article(content)  # the same article every time
    before = path.read_bytes()
    head_before = before.decode().split("\n---\n")[0]
    original = bench.edit_article(path)
    assert original == before
    after = path.read_text()
    head, body = after[4:].split("\n---\n", 1)
    title = next(line for line in head.splitlines() if line.startswith("title:"))
    assert json.loads(title[len("title:"):]).endswith(bench.EDIT_SUFFIX)
    assert body.rstrip().endswith(bench.EDIT_PARAGRAPH)
    slug_lines = [line for line in head.splitlines() if line.startswith("slug:")]
    assert len(slug_lines) == 1  # the new headline keeps the URL
    if "\nslug:" in head_before:
        assert slug_lines[0] in head_before
    else:
        from slugify import slugify

        old_title = json.loads(next(line for line in head_before.splitlines()
                                    if line.startswith("title:"))[len("title:"):])
        assert slug_lines[0] == f"slug: {slugify(old_title)}"


# ---------------------------------------------------------------- targets


def _result(n: int, **seconds: list[float]) -> object:
    def m(s: float, rss_mb: float = 0) -> object:
        return bench.Measurement(seconds=s, max_rss_kb=int(rss_mb * 1024 / 2),
                                 tree_rss_kb=int(rss_mb * 1024), tree_pss_kb=0, processes=1,
                                 samples=1)

    rss = seconds.pop("rss", [0.0])[0]
    measurements = {k: [m(s, rss if k == "cold" else 0) for s in v] for k, v in seconds.items()}
    return bench.SizeResult(n=n, seed=1, runs=1, articles_edited="a.md",
                            load_before=(0, 0, 0), load_after=(0, 0, 0), started="now",
                            measurements=measurements)


def test_checks_at_10000_and_100000() -> None:
    res = _result(10_000, cold=[14.0, 15.0, 20.0], hugo=[10.0], warm=[0.4], edit=[2.0],
                  pagefind=[20.0], rss=[500])
    c = bench.checks(res, None)
    assert c["cold"].value == pytest.approx(1.5) and c["cold"].verdict == "PASS"
    assert c["cold_rss"].value == pytest.approx(500) and c["cold_rss"].verdict == "PASS"
    assert c["warm"].value == pytest.approx(0.04) and c["warm"].verdict == "PASS"
    assert c["edit"].value == pytest.approx(2 / 30) and c["edit"].verdict == "FAIL"

    big = _result(100_000, cold=[170.0], rss=[2100])
    c = bench.checks(big, res)
    assert c["linear"].value == pytest.approx(170 / 15) and c["linear"].verdict == "FAIL"
    assert c["cold_rss"].verdict == "FAIL"
    assert bench.checks(big, None)["linear"].verdict == "n/a"
    assert bench.checks(_result(1000, cold=[1.0], hugo=[1.0]), None) == {}
    rows = {r[0]: r for r in bench.table_rows(big, res)}
    linear = next(r for name, r in rows.items() if name.startswith("cold, no search: 100,000"))
    assert linear[3:] == ("11.3x", "<= 11x", "FAIL")


def test_checks_at_a_million_follow_issue_20() -> None:
    def pss(result: object, mb: float) -> object:
        for m in result.measurements["cold"]:
            m.tree_pss_kb = int(mb * 1024)
        return result

    base = _result(100_000, cold=[100.0])
    million = pss(_result(1_000_000, cold=[1050.0], warm=[12.0], edit=[9.0]), 3000)
    c = bench.checks(million, base)
    assert c["linear"].value == pytest.approx(10.5) and c["linear"].verdict == "PASS"
    assert c["linear"].name == "cold/cold at 100,000"
    assert c["cold_pss"].value == pytest.approx(3000) and c["cold_pss"].verdict == "PASS"
    assert c["warm"].value == 12.0 and c["warm"].verdict == "FAIL"
    assert c["warm"].target == "<= 10 s"
    assert "edit" not in c  # the edit's target is with search: no search was measured
    searched = pss(_result(1_000_000, cold=[1200.0], cold_search=[2000.0], warm=[5.0],
                           edit=[16.0]), 5000)
    c = bench.checks(searched, base)
    assert [c[k].verdict for k in ("linear", "cold_pss", "warm", "edit")] == \
        ["FAIL", "FAIL", "PASS", "FAIL"]
    rows = {r[0]: r for r in bench.table_rows(searched, base)}
    assert rows["peak RSS, cold no search: process tree, sum of PSS"][4:] == \
        ("<= 4096 MB", "FAIL")
    assert any(name.startswith("cold, no search: 1,000,000 vs 100,000") for name in rows)


def test_the_engine_option_names_its_results_file_and_report(tmp_path: Path) -> None:
    opts = bench.parse_args(["--engine", "dask", "--no-hugo", "--no-search",
                             "--workdir", str(tmp_path)])
    assert opts.engine == "dask"
    assert bench.results_path(tmp_path, 10, 1, "dask").name == "n10-s1-dask.json"
    assert bench.results_path(tmp_path, 10, 1).name == "n10-s1.json"
    res = _result(10, cold=[1.0])
    res.engine = "dask"
    assert bench.report(res).startswith("### 10 articles (seed 1), engine dask, 1 run")


# ---------------------------------------------------------------- end to end, tiny


def _rows(table: str) -> dict[str, list[str]]:
    rows = {}
    for line in table.splitlines():
        if line.startswith("Stages"):
            break
        if line.startswith("| ") and not line.startswith("| measure"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_main_at_a_tiny_size(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    printed: list[str] = []
    code = bench.main(["--sizes", "30", "--runs", "1", "--no-hugo", "--workdir", str(workdir),
                       "--json", str(tmp_path / "r.json")], out=printed.append)
    assert code == 0
    table = printed[-1]
    assert table.startswith("### 30 articles (seed 1), 1 run")
    assert "load average before" in table
    rows = _rows(table)
    # the search page's cost for three queries (issue #16), measured in Chromium when it is
    # installed: the rows' queries depend on the archive, so they are matched by their start
    browser_rows = [name for name in rows if name.startswith("search page, `")]
    assert len(browser_rows) in (0, 3), browser_rows
    for name in browser_rows:
        assert name.endswith("time to a first result"), name
        assert re.match(r"^[\d,]+ requests, [\d,]+ KB fetched$", rows.pop(name)[1]), name
    assert list(rows) == [
        "cold build, no search", "cold build, with search",
        "search index (`search` stage of the cold build)",
        "warm no-change rebuild, with search", "one-article edit, with search",
        "search index of the edit (`search` stage)",
        "peak RSS, cold no search: process tree, sum of RSS",
        "peak RSS, cold no search: process tree, sum of PSS",
        "peak RSS, cold no search: largest process (time -v)",
        "peak RSS, cold with search: process tree, sum of RSS",
        "peak RSS, cold with search: process tree, sum of PSS",
        "peak RSS, cold with search: largest process (time -v)",
        "pages written, cold", "pages, warm rebuild", "pages, one-article edit",
    ]
    for name in ("cold build, no search", "cold build, with search",
                 "warm no-change rebuild, with search", "one-article edit, with search",
                 "search index (`search` stage of the cold build)"):
        assert SIZE_RE.match(rows[name][0]), (name, rows[name])
    assert rows["cold build, no search"][1] == "-"  # no Hugo
    assert rows["search index (`search` stage of the cold build)"][1].startswith("Pagefind CLI ")
    assert MB_RE.match(rows["peak RSS, cold no search: process tree, sum of RSS"][0])
    assert MB_RE.match(rows["peak RSS, cold no search: largest process (time -v)"][0])
    assert re.match(r"^[\d,]+ written \([\d,]+ pages, \d+ articles\)$",
                    rows["pages written, cold"][0])
    assert rows["pages, warm rebuild"][0].startswith("0 rendered, 0 written, ")
    edit = re.match(r"^(\d+) rendered, (\d+) written", rows["pages, one-article edit"][0])
    assert edit and int(edit[1]) >= 1 and int(edit[2]) >= 1
    assert all(cells[3:] == ["", ""] for cells in rows.values())  # no target at 30
    stages = table.split("Stages (`sitegen build -v`):")[1]
    assert "| build (median s) | load | parse |" in stages and "search |" in stages
    for label in ("cold, no search", "cold, with search", "warm, no change", "one-article edit"):
        assert f"| {label} | " in stages

    data = json.loads((tmp_path / "r.json").read_text())
    size = data["sizes"][0]
    assert size["n"] == 30 and size["runs"] == 1
    cold = size["measurements"]["cold"][0]
    assert cold["summary"]["articles"] >= 25 and cold["summary"]["written"] > 30
    assert {"parse", "render", "write"} <= cold["stages"].keys()
    assert "search" in size["measurements"]["cold_search"][0]["stages"]
    assert size["measurements"]["hugo"] == []
    assert len(size["measurements"]["pagefind"]) == 1
    assert not any((workdir / "runs").iterdir())  # run folders removed

    # The archive is reused (and intact after the edit); --no-search builds without search.
    content = workdir / "archives" / "sitegen-n30-s1" / "content"
    edited = content / size["articles_edited"]
    mtimes = {p: p.stat().st_mtime_ns for p in content.rglob("*.md") if p != edited}
    fresh = tmp_path / "fresh"
    bench.genarchive.generate(fresh, 30, seed=1)
    assert edited.read_bytes() == (fresh / size["articles_edited"]).read_bytes()
    printed.clear()
    assert bench.main(["--sizes", "30", "--runs", "1", "--no-hugo", "--no-search",
                       "--workdir", str(workdir)], out=printed.append) == 0
    assert mtimes == {p: p.stat().st_mtime_ns for p in content.rglob("*.md") if p != edited}
    rows = _rows(printed[-1])
    assert "cold build, with search" not in rows
    assert SIZE_RE.match(rows["warm no-change rebuild"][0])
    assert SIZE_RE.match(rows["one-article edit"][0])
    saved = bench.from_json(json.loads((workdir / "results" / "n30-s1.json").read_text()))
    assert saved.measurements["cold"][0].summary.articles == cold["summary"]["articles"]

    printed.clear()
    assert bench.main(["--sizes", "30", "--workdir", str(workdir), "--report-only"],
                      out=printed.append) == 0
    assert "one-article edit" in printed[-1]


def test_snapshot_runs_the_committed_sitegen(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    cmd, revision = bench.snapshot("HEAD", tmp_path)
    sha = revision.split()[0]
    assert (tmp_path / "src" / sha / "sitegen" / "cli.py").is_file()
    assert (tmp_path / "src" / sha / "layouts" / "article.html").is_file()  # built-in theme
    done = subprocess.run([*cmd, "--version"], capture_output=True, text=True, check=True)
    assert "sitegen" in done.stdout
    assert bench.snapshot("HEAD", tmp_path) == (cmd, revision)  # extracted once
    with pytest.raises(bench.BenchError):
        bench.snapshot("no-such-revision", tmp_path)


# ---------------------------------------------------------------- the cost of shortcodes


def _m(cpu: float, wall: float) -> object:
    return bench.Measurement(seconds=wall, max_rss_kb=0, tree_rss_kb=0, tree_pss_kb=0,
                             processes=1, samples=1, cpu_seconds=cpu)


def test_parse_time_cpu() -> None:
    text = ("\tUser time (seconds): 5.47\n\tSystem time (seconds): 0.65\n"
            "\tPercent of CPU this job got: 93%\n")
    assert bench.parse_time_cpu(text) == pytest.approx(6.12)
    assert bench.parse_time_cpu("\tUser time (seconds): 5.47\n") is None


def test_shortcode_report_pairs_the_runs_and_holds_cpu_to_the_target() -> None:
    res = bench.ShortcodeResult(n=1000, seed=1, calls=3, runs=3, load_before=(1.0, 1.0, 1.0),
                                load_after=(2.0, 2.0, 2.0), started="now",
                                without=[_m(10.0, 5.0), _m(20.0, 6.0), _m(10.0, 5.0)],
                                with_calls=[_m(10.5, 5.5), _m(21.0, 6.0), _m(11.2, 5.0)],
                                loads=[1.0, 1.5, 2.0])
    # pair by pair: 1.05, 1.05, 1.12 -> 1.05; the ratio of the medians (11.20 / 10.00) would
    # be 1.12, decided by which runs happened to be slow on each side
    assert res.ratios(lambda m: m.cpu_seconds) == pytest.approx([1.05, 1.05, 1.12])
    table = bench.shortcode_report(res)
    assert table.startswith("### The cost of shortcodes (issue #14): 1,000 articles")
    assert "1-minute load after each pair: 1.00, 1.50, 2.00" in table
    rows = _rows(table.split("\n\n", 2)[2])
    cpu = rows["CPU time, user + sys of the process tree"]
    assert cpu[:2] == ["10.00 s (10.00-20.00)", "11.20 s (10.50-21.00)"]
    assert cpu[2] == "1.050x (1.050, 1.050, 1.120)" and cpu[3:] == ["1.120x", "<= 1.10x", "PASS"]
    assert rows["wall time"][2].startswith("1.000x (1.100, 1.000, 1.000)")
    assert rows["wall time"][4:] == ["", ""]  # no target on wall time
    res.with_calls[1] = _m(23.0, 6.0)
    res.with_calls[0] = _m(11.5, 5.5)  # 1.15, 1.15, 1.12
    assert _rows(bench.shortcode_report(res))[
        "CPU time, user + sys of the process tree"][5] == "FAIL"


def test_main_measures_shortcodes_in_pairs(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    printed: list[str] = []
    assert bench.main(["--shortcodes", "2", "--sizes", "20", "--runs", "2", "--workdir",
                       str(workdir)], out=printed.append) == 0
    rows = _rows(printed[-1].split("\n\n", 2)[2])
    assert list(rows) == ["CPU time, user + sys of the process tree", "wall time"]
    assert SIZE_RE.match(rows["wall time"][0]) and SIZE_RE.match(rows["wall time"][1])
    assert re.match(r"^\d+\.\d{3}x \(\d+\.\d{3}, \d+\.\d{3}\)$", rows["wall time"][2])
    assert rows["CPU time, user + sys of the process tree"][5] in ("PASS", "FAIL")
    archives = sorted(p.name for p in (workdir / "archives").iterdir())
    assert archives == ["sitegen-n20-s1", "sitegen-n20-s1-sc2"]
    with_calls = "".join(p.read_text() for p in
                         (workdir / "archives" / archives[1] / "content").rglob("*.md"))
    assert with_calls.count("{{< figure") + with_calls.count("youtube") > 0
    saved = json.loads((workdir / "results" / "shortcodes-n20-s1-k2.json").read_text())
    assert len(saved["without"]) == len(saved["with_calls"]) == 2
    assert all(m["cpu_seconds"] > 0 and m["summary"]["articles"] >= 15
               for m in saved["without"] + saved["with_calls"])
    printed.clear()
    assert bench.main(["--shortcodes", "2", "--sizes", "20", "--workdir", str(workdir),
                       "--report-only"], out=printed.append) == 0
    assert "CPU time, user + sys of the process tree" in printed[-1]
