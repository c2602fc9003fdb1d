"""The build's parallel work on Dask (`sitegen build --engine dask [--scheduler ADDRESS]`).

The only module that imports dask, and only once a build asks for it: processes.py decides
where work runs and hands a stage here when the config says `engine = "dask"`. A `Session`
lives for the whole build (processes.engine): it starts a `LocalCluster` (no address) or
connects to an existing scheduler on first use, checks that every worker runs this sitegen
version and sees the site, and closes at the end.

Each stage's shared part (its function, `job` and the config) is scattered to every worker
once; each chunk of items is a task argument, so the scheduler can run a chunk again on
another worker when the one running it dies. A chunk is a pure function of its items, the
job, the config and the site's files, so running it twice writes the same bytes.

Workers may run on any machine that mounts the site, the cache folder and the output
folder's parent at the same paths (a shared filesystem). They write plain files only: pages
into the staging folder, derived images, compiled templates and search pieces (each worker's
own Pagefind service indexes them, search/remote.py) into the cache folder. The
build's SQLite database (WAL mode, which processes on different machines cannot share) is
never written by a worker: parse workers send their rows back for this process to store
(workers.ParseJob), and render workers read the bodies from the database file alone, opened
read-only and immutable, after this process has checkpointed it and while it writes nothing
(workers.RenderJob.frozen_database).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import logging
import os
import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .config import Config
from .errors import SitegenError
from .outputtree import work_dir_for

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler given by address
WORKERS_TIMEOUT = 60.0  # seconds to wait for a scheduler's first worker
# Dask's settings for a build's session (its client and, for a LocalCluster, the scheduler
# and the workers its nannies start). A chunk's items are its task's only input, sent once,
# as the local pool pipes them: Dask warns about a task over 10 MB (a render batch of pages
# that list thousands of articles) and advises loading data with Dask, which does not apply.
# And Dask keeps its last 1,000 messages to each worker, each worker the last 1,000 tasks it
# was given, for debugging: with the chunks' items in them, 0.3 GB in the parent at 20,000
# articles, ~10 KB a page (measured with tracemalloc); sitegen does not read them.
LARGE_GRAPH = "distributed.admin.large-graph-warning-threshold"
LOG_LENGTH = "distributed.admin.low-level-log-length"
SESSION_SETTINGS = {LARGE_GRAPH: "1GiB", LOG_LENGTH: 0}
IN_FLIGHT_PER_THREAD = 3  # chunks submitted ahead per worker thread: none waits for work
INSTALL_HINT = "install it with `pip install 'sitegen-news[dask]'`"


class EngineError(SitegenError):
    """The Dask engine cannot run this build: dask missing, no scheduler, a worker unfit."""


def dask_installed() -> bool:
    """Whether `dask.distributed` can be imported, without importing it."""
    try:
        return importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def sitegen_version() -> str:
    """The version and the digest of sitegen's files (codeid): a worker with another
    commit's code at the same version would parse and render otherwise, and its parse
    cache keys would not be the build's."""
    from . import codeid  # read when called: a worker's own installed code

    return codeid.code_digest()


@dataclasses.dataclass(frozen=True)
class _Stage:
    """What every task of one stage shares: scattered to each worker once."""

    version: str  # the parent's sitegen version: a worker that runs another refuses
    config_key: str  # the build and its config's digest: one Worker per (process, key)
    config: Config
    func: Callable[[Any, Any, list], list]
    make_worker: Callable[[Config], Any]
    job: Any
    must_see: tuple[str, ...]  # paths every worker must see (a shared filesystem)


class Session:
    """One build's Dask client. A scheduler given by address is reached (and its workers
    checked) at once, so a wrong address fails before any work; a LocalCluster, which
    takes seconds to start, is started by the first stage that needs it."""

    def __init__(self, config: Config):
        if not dask_installed():
            raise EngineError(f"the Dask engine needs dask.distributed: {INSTALL_HINT}")
        self.config = config
        # a Worker lives for one build, as the local pool's do: what it keeps (the folders
        # its Stager made) is only true for that build
        self.build = uuid.uuid4().hex[:12]
        self._client: Any = None
        self._cluster: Any = None
        self._settings: Any = None  # dask.config.set's undo, while the session is open
        if config.scheduler:
            self._started()

    def close(self) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            with contextlib.suppress(Exception):  # a worker lost: its services died with it
                client.run(_end_build, self.build)
            client.close()
        if cluster is not None:
            cluster.close()
        settings, self._settings = self._settings, None
        if settings is not None:
            settings.__exit__(None, None, None)

    def run(self, work: Any, config: Config, progress: Callable[[str, int, int], None] | None
            ) -> Iterator:
        """Each item's results, in order, computed in chunks on the cluster's workers.

        A few chunks per worker thread are in flight at a time, not the whole stage: the
        scheduler (in this process for a LocalCluster) holds a copy of each chunk it has."""
        from distributed import KilledWorker, as_completed

        client = self._started()
        slots = sum(client.nthreads().values()) or 1
        stage = client.scatter(_stage_of(work, config, self.build), broadcast=True,
                               hash=False)
        chunks = _chunks(work, slots)
        tag = uuid.uuid4().hex[:12]
        running = as_completed(loop=client.loop)
        live: dict[int, Any] = {}  # chunk index -> its future, until its results are yielded

        def submit(index: int) -> None:
            live[index] = client.submit(_run_chunk, stage, chunks[index],
                                        key=f"sitegen-{work.label}-{tag}-{index}")
            running.add(live[index])

        for index in range(min(len(chunks), IN_FLIGHT_PER_THREAD * slots)):
            submit(index)
        order = {future.key: i for i, future in live.items()}
        total, done, next_index, submitted = len(work.items), 0, 0, len(live)
        ready: set[int] = set()
        try:
            for future in running:
                index = order.pop(future.key)
                done += len(chunks[index])
                if progress:
                    progress(work.label, done, total)
                if submitted < len(chunks):
                    submit(submitted)
                    order[live[submitted].key] = submitted
                    submitted += 1
                ready.add(index)
                while next_index in ready:  # results in the items' order, as the pool gives
                    ready.discard(next_index)
                    yield from live.pop(next_index).result()
                    next_index += 1
        except KilledWorker as exc:
            raise EngineError(f"Dask workers kept dying while running the {work.label} stage "
                              f"({exc}); see the workers' logs (out of memory?)") from None
        finally:
            client.cancel([*live.values(), stage])

    def _started(self) -> Any:
        if self._client is None:
            import dask

            # set for the session's whole life: the scheduler makes a worker's message log
            # when the worker joins, after the cluster has started
            self._settings = dask.config.set(SESSION_SETTINGS)
            try:
                self._client = self._connect()
                _check_workers(self._client, self.config)
            except BaseException:  # the settings undone, a cluster started closed
                self.close()
                raise
        return self._client

    def _connect(self) -> Any:
        from distributed import Client, LocalCluster

        address = self.config.scheduler
        if not address:
            # ":0": a free port for its HTTP server (None still takes 8787, and a second
            # cluster on the machine, or anything else on that port, made Dask warn)
            self._cluster = LocalCluster(n_workers=self.config.workers, threads_per_worker=1,
                                         processes=True, dashboard_address=":0",
                                         worker_dashboard_address=None,
                                         silence_logs=logging.ERROR)
            return Client(self._cluster, set_as_default=False)
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise EngineError(f"the Dask scheduler at {address} has no workers "
                              f"(none joined in {WORKERS_TIMEOUT:.0f} s)") from exc
        return client


def _stage_of(work: Any, config: Config, build: str = "") -> _Stage:
    key = hashlib.sha256(pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
    return _Stage(sitegen_version(), f"{build}-{key[:16]}", config, work.func,
                  work.make_worker, work.job, _site_paths(config))


def _site_paths(config: Config) -> tuple[str, ...]:
    """What a worker reads or writes: the site's config file and content, the cache, and
    the work folder beside the output (the staging folder is made in it)."""
    from .config import read_config_file

    source = read_config_file(config.site_dir)[1] or config.site_dir
    return tuple(str(p) for p in (source, config.content_dir, config.cache_dir,
                                  work_dir_for(config.output_dir)))


def _chunks(work: Any, slots: int) -> list[list]:
    """Chunks as the local pool cuts them: small enough for a short tail at the end."""
    total = len(work.items)
    size = max(20, min(100, total // (slots * 8)))
    if work.costly:
        size = max(1, min(8, total // (slots * 4)))
    return [list(work.items[start:start + size]) for start in range(0, total, size)]


# ---------------------------------------------------------------- the start-up check

def _check_workers(client: Any, config: Config) -> None:
    """Refuse workers that run another sitegen version or cannot see the site: each
    reads back a token file this process wrote into the cache and the work folder."""
    token = uuid.uuid4().hex
    folders = (config.cache_dir, work_dir_for(config.output_dir))
    written = []
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f".sitegen-dask-check-{token[:8]}"
            path.write_text(token)
            written.append(str(path))
        paths = tuple(written) + _site_paths(config)[:2]
        facts = client.run(_worker_facts, paths, token, on_error="return")
    finally:
        for path in written:
            Path(path).unlink(missing_ok=True)
    problems = [_fitness(address, fact) for address, fact in sorted(facts.items())]
    problems = [p for p in problems if p]
    if problems:
        raise EngineError("\n".join(problems))


def _fitness(address: str, fact: Any) -> str:
    """What keeps one worker from this build, or ""."""
    if isinstance(fact, BaseException):
        return (f"Dask worker {address} cannot run sitegen ({type(fact).__name__}: {fact}); "
                f"every worker needs sitegen {sitegen_version()} installed")
    version, unseen = fact
    if version != sitegen_version():
        return _mismatch(address, version)
    if unseen:
        return (f"Dask worker {address} cannot see the site: {', '.join(unseen)} missing "
                "there; the site, the cache folder and the output folder's parent must be "
                "on a filesystem every worker shares, at the same paths")
    return ""


def _mismatch(address: str, version: str) -> str:
    return (f"Dask worker {address} runs sitegen {version}, this build runs sitegen "
            f"{sitegen_version()}: install the same version on every worker")


def _worker_facts(paths: tuple[str, ...], token: str) -> tuple[str, list[str]]:
    """On a worker: its sitegen version, and which paths it cannot see (a token file whose
    content differs is another folder at the same path)."""
    unseen = []
    for path in paths:
        if ".sitegen-dask-check-" in os.path.basename(path):
            try:
                with open(path) as file:
                    if file.read() == token:
                        continue
            except OSError:
                pass
            unseen.append(os.path.dirname(path))
        elif not os.path.exists(path):
            unseen.append(path)
    return sitegen_version(), unseen


# ---------------------------------------------------------------- on a worker

_LOCK = threading.Lock()  # a worker's state (Markdown, images' uses) serves one task at a time
_WORKERS: OrderedDict[tuple[str, str], Any] = OrderedDict()
_KEEP = 2  # Workers kept per process: this build's, and one other's (two builds at once)
_SEEN: set[tuple[str, ...]] = set()


def _run_chunk(stage: _Stage, chunk: list) -> list:
    """One chunk of a stage on a Dask worker (with this process's Worker for the config)."""
    with _LOCK:
        _refuse_unfit(stage)
        return stage.func(_worker_for(stage), stage.job, chunk)


def _refuse_unfit(stage: _Stage) -> None:
    """A worker that joined after the start-up check is checked here."""
    from distributed import get_worker

    version = sitegen_version()
    if version != stage.version:
        raise EngineError(_mismatch(get_worker().address, version))
    if stage.must_see not in _SEEN:
        unseen = [p for p in stage.must_see if not os.path.exists(p)]
        if unseen:
            raise EngineError(f"Dask worker {get_worker().address} cannot see the site: "
                              f"{', '.join(unseen)} missing there")
        _SEEN.add(stage.must_see)


def _worker_for(stage: _Stage) -> Any:
    key = (f"{stage.make_worker.__module__}.{stage.make_worker.__qualname__}", stage.config_key)
    worker = _WORKERS.get(key)
    if worker is None:
        worker = _WORKERS[key] = stage.make_worker(stage.config)
        while len(_WORKERS) > _KEEP:
            _close(_WORKERS.popitem(last=False)[1])
    _WORKERS.move_to_end(key)
    return worker


def _end_build(build: str) -> None:
    """On a worker, when a build ends: drop its Workers, closing those that run something
    (the search stage's Pagefind service)."""
    with _LOCK:
        for key in [key for key in _WORKERS if key[1].startswith(f"{build}-")]:
            _close(_WORKERS.pop(key))


def _close(worker: Any) -> None:
    close = getattr(worker, "close", None)
    if close is not None:
        close()
