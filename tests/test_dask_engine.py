"""`sitegen build --engine dask`: the same bytes as the local pool, whole when a worker dies
mid-render, workers that may not share the build's SQLite database (another machine's) never
write it, a worker of another sitegen version refused, a chunk that gives the same bytes run
twice, and clear errors for a wrong address or a missing dask."""

from __future__ import annotations

import collections
import dataclasses
import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask engine needs dask[distributed] "
                    "(pip install 'sitegen-news[dask]')")

from click.testing import CliRunner  # noqa: E402
from conftest import ROOT, read_tree, site_config  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from genarchive import generate  # noqa: E402

import sitegen  # noqa: E402
from sitegen import codeid, dask_engine, scan, workers  # noqa: E402
from sitegen.build import build  # noqa: E402
from sitegen.cli import main  # noqa: E402
from sitegen.errors import ConfigError, SitegenError  # noqa: E402
from sitegen.outputdigest import output_digest  # noqa: E402
from sitegen.search import pieces_dir, remote  # noqa: E402
from sitegen.state import BuildState  # noqa: E402

# Builds of thousands of articles are `slow` (make test runs them, make test-fast does not):
# 2,000 for most; the 10,000 for one equivalence (83 s on 2 cores).
N = 2000


def _cluster(**options) -> LocalCluster:
    options.setdefault("n_workers", 2)
    return LocalCluster(processes=True, threads_per_worker=1, dashboard_address=":0",
                        worker_dashboard_address=None,
                        silence_logs=logging.CRITICAL, **options)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("dask-archive")
    generate(site / "content", N, seed=7)
    (site / "sitegen.toml").write_text('title = "Generated"\nbase_url = "https://example.org/"\n')
    return site


@pytest.fixture(scope="module")
def local_tree(archive) -> dict[str, bytes]:
    """The archive built by the local process pool: what every engine must write."""
    config = site_config(archive, output_dir=archive / "out-local",
                         cache_dir=archive / "cache-local", jobs=2)
    build(config)
    return read_tree(config.output_dir)


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as running:
        yield running


@dataclasses.dataclass
class Seen:
    works: dict[str, tuple] = dataclasses.field(default_factory=dict)  # label -> (work, config)
    items: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    progress: list[tuple[str, int, int]] = dataclasses.field(default_factory=list)


@pytest.fixture(scope="module")
def dask_build(archive):
    """The archive built on a LocalCluster the engine starts (2 workers: --jobs 2), with the
    stages it ran on Dask and the progress it reported."""
    seen = Seen()
    run = dask_engine.Session.run

    def spy(self, work, config, progress):
        seen.works[work.label] = (work, config)  # the last batch of each stage
        seen.items[work.label] += len(work.items)
        yield from run(self, work, config, progress)

    config = site_config(archive, output_dir=archive / "out-dask",
                         cache_dir=archive / "cache-dask", jobs=2, engine="dask")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dask_engine.Session, "run", spy)
        build(config, lambda *event: seen.progress.append(event))
    return read_tree(config.output_dir), seen


@pytest.mark.slow
def test_a_local_cluster_writes_the_same_bytes_as_the_local_pool(local_tree, dask_build):
    tree, seen = dask_build
    assert {"parse", "render"} <= seen.works.keys()  # the work did run on Dask
    assert len(tree) > N and tree == local_tree


@pytest.mark.slow
def test_ten_thousand_articles_on_a_local_cluster_are_the_same_bytes(tmp_path_factory):
    site = tmp_path_factory.mktemp("dask-10k")
    generate(site / "content", 10_000, seed=11)
    (site / "sitegen.toml").write_text('title = "Generated"\nbase_url = "https://example.org/"\n')
    trees = []
    for engine in ("local", "dask"):
        config = site_config(site, output_dir=site / f"out-{engine}",
                             cache_dir=site / f"cache-{engine}", jobs=2, engine=engine)
        build(config)
        trees.append(read_tree(config.output_dir))
    assert len(trees[0]) > 10_000 and trees[0] == trees[1]


@pytest.mark.slow
def test_progress_counts_every_item_as_the_local_build_does(dask_build):
    _tree, seen = dask_build
    render = [(done, total) for label, done, total in seen.progress if label == "render"]
    total = seen.items["render"]  # over every batch: the total grows as pages are planned
    assert len(render) > 10 and render[-1] == (total, total)
    assert render == sorted(render) and all(done <= most for done, most in render)


@pytest.mark.slow
def test_a_worker_killed_mid_render_leaves_the_output_whole(archive, local_tree, cluster):
    with Client(cluster, set_as_default=False) as client:
        pids = client.run(os.getpid)
        victim = pids[sorted(pids)[0]]
        killed = threading.Event()

        def progress(label: str, done: int, total: int) -> None:
            if label == "render" and not killed.is_set() and done < total // 2:
                killed.set()  # once: the kill itself runs in a thread of its own
                threading.Thread(target=os.kill, args=(victim, signal.SIGKILL)).start()

        config = site_config(archive, output_dir=archive / "out-kill",
                             cache_dir=archive / "cache-kill", engine="dask",
                             scheduler=cluster.scheduler_address)
        build(config, progress)
        assert killed.is_set()
        client.wait_for_workers(2, timeout=60)
        assert victim not in client.run(os.getpid).values()  # the nanny started another
    assert read_tree(config.output_dir) == local_tree


@pytest.mark.slow
def test_a_chunk_run_twice_on_two_workers_writes_the_same_bytes(dask_build, cluster, tmp_path):
    _tree, seen = dask_build
    with Client(cluster, set_as_default=False) as client:
        first, second = sorted(client.scheduler_info()["workers"])

        def twice(label: str, vary) -> list[list]:
            work, config = seen.works[label]
            chunk = list(work.items[:40])
            results = []
            for n, where in enumerate((first, second)):
                varied_work, varied_config = vary(work, config, tmp_path / f"{label}-{n}")
                stage = dask_engine._stage_of(varied_work, varied_config)
                results.append(client.submit(dask_engine._run_chunk, stage, chunk,
                                             workers=[where], pure=False).result())
            return results

        def own_staging(work, config, folder):  # bodies from the database as the build left it
            now = BuildState(config, read_only=True).database_signature()
            job = dataclasses.replace(work.job, staging=folder, frozen_database=now)
            return dataclasses.replace(work, job=job), config

        one, two = twice("render", own_staging)
        assert one == two and len(one) == 40
        assert read_tree(tmp_path / "render-0") == read_tree(tmp_path / "render-1") != {}

        def own_cache(work, config, folder):  # an empty cache: each run parses anew
            folder.mkdir()
            return work, dataclasses.replace(config, cache_dir=folder)

        one, two = twice("parse", own_cache)
        assert one == two and all(isinstance(sent, workers.ToStore) and sent.body is not None
                                  and isinstance(sent.outcome, bytes) for _, _, sent in one)


def _sizes(worker, job, chunk: list[bytes]) -> list[int]:
    return [len(item) for item in chunk]


def test_a_chunk_over_ten_megabytes_is_sent_without_a_warning(make_site, cluster):
    """A render batch of pages listing thousands of articles is a large task: Dask's warning
    about large graphs (its threshold is 10 MB) would be a build's only output."""
    from sitegen.processes import Work

    config = site_config(make_site({}), engine="dask", scheduler=cluster.scheduler_address)
    items = [os.urandom(6_000_000), os.urandom(6_000_000)]  # one chunk of 12 MB
    session = dask_engine.Session(config)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sizes = list(session.run(Work(_sizes, items, workers.Worker, "sizes"), config, None))
    finally:
        session.close()
    assert sizes == [6_000_000, 6_000_000]


class Marked:
    """An item whose copies can be counted in a process."""

    def __init__(self, n: int):
        self.n = n


def _numbers(worker, job, chunk: list[Marked]) -> list[int]:
    return [item.n for item in chunk]


def _marked_held(dask_worker=None) -> int:
    import gc

    gc.collect()
    return sum(isinstance(thing, Marked) for thing in gc.get_objects())


def _soon(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_no_process_keeps_the_items_of_chunks_it_has_run(make_site):
    """Dask keeps its last 1,000 messages to each worker and each worker its last 1,000
    tasks, for debugging: with the items in them, 0.3 GB in the parent at 20,000 articles.
    The session's LocalCluster keeps none."""
    from sitegen.processes import Work

    config = site_config(make_site({}), engine="dask", jobs=2)
    session = dask_engine.Session(config)
    try:
        items = [Marked(n) for n in range(400)]
        assert list(session.run(Work(_numbers, items, workers.Worker, "n"), config, None)) \
            == list(range(400))
        del items
        # the client and the scheduler (this process), then each worker, once the last
        # tasks' releases have reached them
        assert _soon(lambda: _marked_held() == 0)
        assert _soon(lambda: set(session._client.run(_marked_held).values()) == {0})
    finally:
        session.close()


@pytest.mark.parametrize("patch, runs", [
    ("sitegen.__version__ = '0.0.0-other'", "0.0.0-other+{files}"),
    # another commit's files at the same version (a checkout, a pip install git+...)
    ("import sitegen.codeid\nsitegen.codeid.code_digest = lambda: sitegen.__version__ + '+other'",
     "{version}+other"),
])
def test_a_worker_of_another_sitegen_version_is_refused(make_site, tmp_path, patch, runs):
    from sitegen.codeid import code_digest

    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2025-01-02\n---\nBody.\n"})
    preload = tmp_path / "other_version.py"
    preload.write_text(f"import sitegen\n{patch}\n")
    with _cluster(n_workers=1, preload=[str(preload)]) as other:
        result = CliRunner().invoke(main, [
            "build", str(site), "--no-search", "--engine", "dask",
            "--scheduler", other.scheduler_address, "--output", str(tmp_path / "out")])
        worker = next(iter(other.workers.values())).worker_address
    assert result.exit_code == 1, result.output
    version, files = code_digest().split("+")
    assert (f"Dask worker {worker} runs sitegen {runs.format(version=version, files=files)}, "
            f"this build runs sitegen {code_digest()}: install the same version on every "
            "worker") in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


# A worker on another machine may not share the build's SQLite database in WAL mode (nor
# lock it over a network filesystem): it may open it read-only and immutable, nothing else.
# This preload makes every worker keep to that, records each open, and refuses the rest.
ANOTHER_MACHINE = """
import sqlite3

if not hasattr(sqlite3, "sitegen_opened"):  # dask may run a preload more than once
    sqlite3.sitegen_opened = []
    _connect = sqlite3.connect

    def connect(database, *args, uri=False, **kwargs):
        name = str(database)
        sqlite3.sitegen_opened.append((name, bool(uri)))
        if name != ":memory:" and not (uri and "mode=ro" in name and "immutable=1" in name):
            raise sqlite3.OperationalError(f"another machine may not open {name} for writing")
        return _connect(database, *args, uri=uri, **kwargs)

    sqlite3.connect = connect
"""
PHOTOS = 3  # articles with a lead photo of their own: the images stage runs on Dask


def _photo(shade: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (900, 600), (shade, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def _with_photos(site: Path) -> None:
    for n, path in enumerate(sorted((site / "content").rglob("*.md"))[:PHOTOS]):
        (site / "static" / "photos").mkdir(parents=True, exist_ok=True)
        (site / "static" / "photos" / f"p{n}.jpg").write_bytes(_photo(40 * n))
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("---\n", f"---\nimage: /photos/p{n}.jpg\n", 1),
                        encoding="utf-8")


def test_workers_on_another_machine_never_write_the_build_database(tmp_path, monkeypatch):
    """Parse workers send their rows and image uses back for the build to store; render
    workers read bodies from the checkpointed database file, immutable. The same bytes as
    the local pool, built and after an edit (with every other file touched, so the workers
    hash them and find them parsed already)."""
    site = tmp_path / "site"
    generate(site / "content", 300, seed=3)
    (site / "sitegen.toml").write_text('title = "Generated"\nbase_url = "https://example.org/"\n')
    _with_photos(site)
    preload = tmp_path / "another_machine.py"
    preload.write_text(ANOTHER_MACHINE)
    ran: list[str] = []
    known: list[bool] = []  # per source parsed on Dask: whether the cache held it already
    run = dask_engine.Session.run

    def spy(self, work, config, progress):
        ran.append(work.label)
        for result in run(self, work, config, progress):
            if work.label == "parse":
                known.append(result[2].outcome is None)
            yield result

    monkeypatch.setattr(dask_engine.Session, "run", spy)
    with _cluster(n_workers=2, preload=[str(preload)]) as other, \
            Client(other, set_as_default=False) as client:
        def both() -> tuple[dict[str, bytes], dict[str, bytes]]:
            trees = []
            for engine in ("local", "dask"):
                config = site_config(site, output_dir=site / f"out-{engine}", jobs=2,
                                     cache_dir=site / f"cache-{engine}", engine=engine,
                                     scheduler=other.scheduler_address if engine == "dask"
                                     else None)
                build(config)
                trees.append(read_tree(config.output_dir))
            return trees[0], trees[1]

        local, on_dask = both()
        assert {"parse", "images", "render"} <= set(ran) and len(known) == 300
        assert not any(known) and len(local) > 300 and on_dask == local
        assert sum(name.startswith("assets/img/") and name.endswith(".webp")
                   for name in local) >= PHOTOS  # the photos' derived files

        edited = sorted((site / "content").rglob("*.md"))[PHOTOS + 1]
        edited.write_text(edited.read_text(encoding="utf-8").replace(
            "\n---\n", "\n---\nA paragraph added later.\n\n", 1), encoding="utf-8")
        later = time.time() + 5
        for path in (site / "content").rglob("*.md"):
            os.utime(path, (later, later))
        (site / "layouts").mkdir()  # every article's page renders again, its body read
        (site / "layouts" / "article.html").write_text(
            (ROOT / "layouts" / "article.html").read_text(encoding="utf-8").replace(
                "{% block main %}", "{% block main %}<i>v2</i>", 1), encoding="utf-8")
        monkeypatch.setattr(scan, "HASHED_IN_PARENT", 50)  # the workers hash them
        ran.clear()
        known.clear()
        local_again, dask_again = both()
        assert {"parse", "render"} <= set(ran) and known.count(False) == 1 == 300 - sum(known)
        assert dask_again == local_again != local
        assert b"A paragraph added later." in b"".join(dask_again.values())
        assert sum(b"<i>v2</i>" in data for data in dask_again.values()) > 250

        opened = [name for names in client.run(getattr, sqlite3, "sitegen_opened").values()
                  for name, _uri in names]
    bodies = [name for name in opened if "/build-" in name]
    assert bodies and all("mode=ro" in name and "immutable=1" in name for name in bodies)
    assert all(name == ":memory:" or name in bodies for name in opened), opened


def test_render_workers_refuse_a_database_written_after_it_was_frozen(make_site):
    site = make_site({})
    config = site_config(site)
    with BuildState.open(config) as state:
        state.put_parsed([("k", b"record", "<p>Body</p>")])
        frozen = state.freeze_for_readers()
        job = workers.RenderJob({}, "", site / "staging", frozen)
        worker = workers.Worker(config)
        assert workers._bodies(worker, job, ["k"]) == {"k": "<p>Body</p>"}
        assert not state.files.database.with_name(state.files.database.name + "-wal").stat(
            ).st_size  # every commit in the database file itself
        state.put_parsed([("k2", b"record", "<p>Later</p>" * 1000)])
        state.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with pytest.raises(SitegenError, match="changed while the pages were rendered"):
            workers._bodies(worker, job, ["k"])


def test_a_scheduler_nobody_answers_at_is_a_clear_error(make_site, monkeypatch):
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", 2.0)
    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2025-01-02\n---\nBody.\n"})
    started = time.monotonic()
    result = CliRunner().invoke(main, ["build", str(site), "--no-search", "--engine", "dask",
                                       "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1 and time.monotonic() - started < 30
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output and not (site / "output").exists()
    import dask

    assert dask.config.get(dask_engine.LOG_LENGTH) != 0  # the session's settings undone


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--scheduler", "http://host:8786", "'scheduler' must be a Dask scheduler address"),
    ("--scheduler", "tcp://host:port", "'scheduler' must be a Dask scheduler address"),
])
def test_a_malformed_scheduler_address_is_a_config_error(make_site, option, value, message):
    site = make_site({})
    result = CliRunner().invoke(main, ["build", str(site), "--engine", "dask", option, value])
    assert result.exit_code == ConfigError.exit_code and message in result.output


def test_an_unknown_engine_in_the_config_file_is_a_config_error(make_site):
    site = make_site({}, config='base_url = "https://example.org/"\nengine = "spark"\n')
    result = CliRunner().invoke(main, ["build", str(site)])
    assert result.exit_code == ConfigError.exit_code
    assert "'engine' must be 'local' or 'dask', got 'spark'" in result.output


def test_the_engine_does_not_change_the_output_digest(make_site):
    site = make_site({})
    local = site_config(site)
    on_dask = site_config(site, engine="dask", scheduler="tcp://10.0.0.1:8786")
    assert output_digest(local) == output_digest(on_dask)


def test_without_dask_installed_the_engine_says_how_to_install_it(make_site, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2025-01-02\n---\nBody.\n"})
    result = CliRunner().invoke(main, ["build", str(site), "--no-search", "--engine", "dask"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "needs dask.distributed: install it with `pip install 'sitegen-news[dask]'`" \
        in result.output


def test_a_local_build_never_imports_dask(make_site):
    site = make_site({f"content/a{i}.md": f"---\ntitle: A{i}\ndate: 2025-01-02\n---\nBody.\n"
                      for i in range(250)})  # past the threshold: the pool runs
    code = ("import sys; from sitegen.cli import main\n"
            "try:\n    main(['build', sys.argv[1], '--no-search', '-j', '2'])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "loaded = {m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}\n"
            "print('loaded', sorted(loaded))\n")
    done = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "loaded []" in done.stdout and (site / "output" / "index.html").is_file()


def test_a_worker_that_cannot_see_the_site_says_which_folder(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / ".sitegen-dask-check-1").write_text("another token: another folder")
    version, unseen = dask_engine._worker_facts(
        (str(folder / ".sitegen-dask-check-1"), str(tmp_path / "missing.toml")), "token")
    assert version == codeid.code_digest() and version.startswith(f"{sitegen.__version__}+")
    assert unseen == [str(folder), str(tmp_path / "missing.toml")]


# Each worker notes which pieces it kept and each Pagefind service it started (its pid), so
# a test can tell the pieces were indexed there, by one service a worker, stopped at the end.
SEARCH_LOG = """
from sitegen.search import remote, service

if not hasattr(remote, "sitegen_log"):  # dask may run a preload more than once
    remote.sitegen_log = {"kept": [], "services": []}
    _keep, _enter = remote.keep_piece, service.PagefindProcess.__enter__

    def keep_piece(cache, piece_id, files):
        remote.sitegen_log["kept"].append(piece_id)
        return _keep(cache, piece_id, files)

    def enter(self):
        started = _enter(self)
        remote.sitegen_log["services"].append(self.proc.pid)
        return started

    remote.keep_piece = keep_piece
    service.PagefindProcess.__enter__ = enter
"""


def _searched_site(root: Path, count: int) -> Path:
    site = root / "site"
    generate(site / "content", count, seed=5)
    (site / "sitegen.toml").write_text('title = "Generated"\nbase_url = "https://example.org/"\n')
    return site


def _bundle(tree: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in tree.items() if name.startswith("pagefind/")}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_search_pieces_indexed_on_workers_are_the_same_bytes(tmp_path, monkeypatch):
    """Pieces are indexed by one Pagefind service per worker, written into the piece cache
    there, their rows and the join made here: the tree, pagefind/ included, is the local
    engine's, built and after an edit (one piece, indexed here) and after adding articles
    (their pieces on the workers again); every service is stopped when the build ends."""
    site = _searched_site(tmp_path, 400)
    preload = tmp_path / "search_log.py"
    preload.write_text(SEARCH_LOG)
    indexed_here: list[str] = []
    keep = remote.keep_piece
    monkeypatch.setattr(remote, "keep_piece",
                        lambda cache, piece_id, files: (indexed_here.append(piece_id),
                                                        keep(cache, piece_id, files))[1])
    with _cluster(n_workers=2, preload=[str(preload)]) as other, \
            Client(other, set_as_default=False) as client:
        def both() -> tuple[dict[str, bytes], dict[str, bytes], list]:
            trees, reports = [], []
            for engine in ("local", "dask"):
                config = site_config(site, output_dir=site / f"out-{engine}", jobs=2,
                                     cache_dir=site / f"cache-{engine}", engine=engine,
                                     search=True, scheduler=other.scheduler_address
                                     if engine == "dask" else None)
                reports.append(build(config))
                trees.append(read_tree(config.output_dir))
            return trees[0], trees[1], reports

        def logs() -> dict[str, dict]:
            return client.run(getattr, remote, "sitegen_log")

        local, on_dask, _ = both()
        assert sum(name.startswith("pagefind/") for name in local) > 10
        assert on_dask == local
        kept = [piece for log in logs().values() for piece in log["kept"]]
        folder = pieces_dir(site / "cache-dask", site / "out-dask")
        pieces = {name[:-7] for name in os.listdir(folder) if name.endswith(".pickle")}
        assert len(kept) > 5 and set(kept) | {"runtime"} == pieces and len(set(kept)) == len(kept)
        assert not indexed_here  # nor did the parent run the workers' function itself
        services = [pid for log in logs().values() for pid in log["services"]]
        assert 1 <= len(services) <= 2  # one service a worker, not one a piece
        assert not any(_alive(pid) for pid in services)  # stopped when the build ended

        edited = sorted((site / "content").rglob("*.md"))[100]
        edited.write_text(edited.read_text(encoding="utf-8") + "\nA zebra crossed.\n",
                          encoding="utf-8")
        local_edit, dask_edit, _ = both()
        assert dask_edit == local_edit != local
        assert _bundle(dask_edit) != _bundle(local)  # the index changed too

        for year in (2016, 2019, 2022):  # three pieces change their pages
            (site / "content" / f"added-{year}.md").write_text(
                f"---\ntitle: Added in {year}\ndate: {year}-05-06\n---\nA late find.\n",
                encoding="utf-8")
        before = len(kept)
        local_more, dask_more, _ = both()
        assert dask_more == local_more and _bundle(local_more) != _bundle(local_edit)
        assert sum(len(log["kept"]) for log in logs().values()) > before
