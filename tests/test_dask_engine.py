"""`sitegen build --engine dask`: the same bytes as the local pool, whole when a worker dies
mid-render, a worker of another sitegen version refused, a chunk that gives the same bytes
run twice, and clear errors for a wrong address or a missing dask."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask engine needs dask[distributed] "
                    "(pip install 'sitegen-news[dask]')")

from click.testing import CliRunner  # noqa: E402
from conftest import ROOT, read_tree, site_config  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from genarchive import generate  # noqa: E402

import sitegen  # noqa: E402
from sitegen import dask_engine  # noqa: E402
from sitegen.build import build  # noqa: E402
from sitegen.cli import main  # noqa: E402
from sitegen.errors import ConfigError  # noqa: E402
from sitegen.outputdigest import output_digest

# Builds of thousands of articles are `slow` (make test runs them, make test-fast does not):
# 2,000 for most; the 10,000 for one equivalence (83 s on 2 cores).
N = 2000


def _cluster(**options) -> LocalCluster:
    options.setdefault("n_workers", 2)
    return LocalCluster(processes=True, threads_per_worker=1, dashboard_address=None,
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
    progress: list[tuple[str, int, int]] = dataclasses.field(default_factory=list)


@pytest.fixture(scope="module")
def dask_build(archive):
    """The archive built on a LocalCluster the engine starts (2 workers: --jobs 2), with the
    stages it ran on Dask and the progress it reported."""
    seen = Seen()
    run = dask_engine.Session.run

    def spy(self, work, config, progress):
        seen.works[work.label] = (work, config)
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
    total = len(seen.works["render"][0].items)
    assert len(render) > 10 and {t for _, t in render} == {total}
    assert [d for d, _ in render] == sorted(d for d, _ in render) and render[-1][0] == total


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

        def own_staging(work, config, folder):
            return dataclasses.replace(work, job=dataclasses.replace(work.job, staging=folder)), \
                config

        one, two = twice("render", own_staging)
        assert one == two and len(one) == 40
        assert read_tree(tmp_path / "render-0") == read_tree(tmp_path / "render-1") != {}

        def own_cache(work, config, folder):  # an empty cache: each run parses anew
            folder.mkdir()
            return work, dataclasses.replace(config, cache_dir=folder)

        one, two = twice("parse", own_cache)
        assert one == two and all(isinstance(record, bytes) for _, _, record in one)


def test_a_worker_of_another_sitegen_version_is_refused(make_site, tmp_path):
    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2025-01-02\n---\nBody.\n"})
    preload = tmp_path / "other_version.py"
    preload.write_text("import sitegen\nsitegen.__version__ = '0.0.0-other'\n")
    with _cluster(n_workers=1, preload=[str(preload)]) as other:
        result = CliRunner().invoke(main, [
            "build", str(site), "--no-search", "--engine", "dask",
            "--scheduler", other.scheduler_address, "--output", str(tmp_path / "out")])
        worker = next(iter(other.workers.values())).worker_address
    assert result.exit_code == 1, result.output
    assert (f"Dask worker {worker} runs sitegen 0.0.0-other, this build runs sitegen "
            f"{sitegen.__version__}: install the same version on every worker") in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_worker_on_another_machine_is_refused(make_site, tmp_path):
    """The build cache is SQLite in WAL mode: its memory map is shared by one machine only."""
    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2025-01-02\n---\nBody.\n"})
    preload = tmp_path / "other_machine.py"
    preload.write_text("import sitegen.dask_engine as engine\n"
                       "engine.machine_id = lambda: 'another-machine'\n")
    with _cluster(n_workers=1, preload=[str(preload)]) as other:
        config = site_config(site, output_dir=tmp_path / "out", engine="dask",
                             scheduler=other.scheduler_address)
        with pytest.raises(dask_engine.EngineError, match="runs on another machine: workers "
                           "write the build cache .*, SQLite in WAL mode"):
            build(config)
    assert not config.output_dir.exists()


def test_a_scheduler_nobody_answers_at_is_a_clear_error(make_site, monkeypatch):
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", 2.0)
    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2025-01-02\n---\nBody.\n"})
    started = time.monotonic()
    result = CliRunner().invoke(main, ["build", str(site), "--no-search", "--engine", "dask",
                                       "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1 and time.monotonic() - started < 30
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output and not (site / "output").exists()


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
    version, unseen, _machine = dask_engine._worker_facts(
        (str(folder / ".sitegen-dask-check-1"), str(tmp_path / "missing.toml")), "token")
    assert version == sitegen.__version__
    assert unseen == [str(folder), str(tmp_path / "missing.toml")]
