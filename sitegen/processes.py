"""Every process sitegen starts for its work, and the only module that starts one.

- `run_parallel(work, config, progress)`: the build's worker pool. The work is one `Work`
  record: a module-level function called as `func(worker, job, chunk)`, the items, and the
  `job` every call shares. Workers are forked once the items exist and inherit them, so only
  index ranges travel; each worker process makes its own `worker` (its Markdown, Jinja and
  cache connection) with `make_worker(config)` once, and keeps it for its life.
- `engine(config)`: where the build's parallel work runs, entered once per build: the local
  pool (the default), or Dask when the config says `engine = "dask"` (dask_engine.py: a
  cluster for the whole build; chunks and the job are pickled to its workers).
- `Background(func, *args)`: one computation in a forked process while the build goes on.
- `BuildHost`: the preview server's builds, in a process of its own started before the
  server starts any thread. Forking a process that runs threads can leave a lock held
  forever in the child (Python 3.12 warns about it), so the server never forks: the host is
  single-threaded and forks the pool and background work itself.

Processes that run a program (Pagefind's service, git) are started by `subprocess` where
they are used; nothing else in sitegen forks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .config import Config
from .errors import SitegenError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

# multiprocessing and concurrent.futures are imported where a pool or the host starts: a
# build that finds nothing changed (the common case in `serve` and CI) never needs them.

T = TypeVar("T")
PARALLEL_THRESHOLD = 200  # below this many items a process pool costs more than it saves
Progress = Callable[[str, int, int], None]


# ---------------------------------------------------------------- the worker pool

@dataclasses.dataclass(frozen=True)
class Work:
    """One stage's work: `func(worker, job, chunk)` over chunks of `items`.

    `func` is a module-level function returning one result per item (or Problems);
    `job` is what every call needs besides its items (shared by fork; on Dask pickled
    once per stage);
    `costly`: each item is worth a worker of its own, as an image to resize is.
    """

    func: Callable[[Any, Any, list], list]
    items: Sequence[Any]
    make_worker: Callable[[Config], Any]
    label: str
    job: Any = None
    costly: bool = False


@dataclasses.dataclass
class _Inherited:
    """What the parent holds for the workers it forks: they inherit it, nothing is pickled."""

    work: Work | None = None
    worker: Any = None  # in a worker process: the state `work.make_worker` made for it


_INHERITED = _Inherited()


@dataclasses.dataclass
class _Engine:
    session: Any = None  # a dask_engine.Session while a build that asked for Dask runs


_ENGINE = _Engine()


@contextlib.contextmanager
def engine(config: Config) -> Iterator[None]:
    """Where this build's parallel work runs, for the whole build. The local pool needs
    nothing started; Dask's cluster or client starts on the first stage that needs it (a
    build that finds nothing changed never imports dask) and is closed at the end."""
    if config.engine != "dask" or _ENGINE.session is not None:
        yield
        return
    from .dask_engine import Session  # the only module that imports dask

    _ENGINE.session = Session(config)
    try:
        yield
    finally:
        session, _ENGINE.session = _ENGINE.session, None
        session.close()


def run_parallel(work: Work, config: Config, progress: Progress | None = None) -> Iterator:
    """Each item's results, in order: in a process pool when there is enough work."""
    if not work.items:
        return
    # The build's records are acyclic and live until the end: out of every collection, so
    # neither this process nor a forked worker walks (and so copies) them again and again.
    gc.freeze()
    try:
        if config.engine == "dask" and _worth_a_pool(work):
            yield from _run_on_dask(work, config, progress)
        elif _pool_size(work, config) <= 1:
            yield from _run_here(work, config, progress)
        else:
            yield from _run_forked(work, config, progress)
    finally:
        gc.unfreeze()


def _worth_a_pool(work: Work) -> bool:
    return len(work.items) >= (2 if work.costly else PARALLEL_THRESHOLD)


def _pool_size(work: Work, config: Config) -> int:
    count = len(work.items)
    if not _worth_a_pool(work) or not hasattr(os, "fork"):
        return 1
    return min(config.workers, count if work.costly else max(1, count // 50))


def _run_on_dask(work: Work, config: Config, progress: Progress | None) -> Iterator:
    if _ENGINE.session is None:  # a stage run outside a build: a cluster for it alone
        with engine(config):
            yield from _ENGINE.session.run(work, config, progress)
    else:
        yield from _ENGINE.session.run(work, config, progress)


def _run_here(work: Work, config: Config, progress: Progress | None) -> Iterator:
    worker = work.make_worker(config)
    collecting = gc.isenabled()
    total, done = len(work.items), 0
    for start in range(0, total, 100):
        chunk = list(work.items[start:start + 100])
        gc.enable()  # Jinja leaves reference cycles behind: collect them as we go
        results = work.func(worker, work.job, chunk)
        if not collecting:
            gc.disable()
        yield from results
        done += len(chunk)
        if progress:
            progress(work.label, done, total)


def _run_forked(work: Work, config: Config, progress: Progress | None) -> Iterator:
    workers = _pool_size(work, config)
    total, done = len(work.items), 0
    size = max(20, min(100, total // (workers * 8)))  # small chunks: a short tail at the end
    if work.costly:
        size = max(1, min(8, total // (workers * 4)))
    ranges = [(start, min(total, start + size)) for start in range(0, total, size)]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    _INHERITED.work = work
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork"),
                                 initializer=_start_worker, initargs=(config,)) as pool:
            for (start, end), results in zip(ranges, pool.map(_run_range, ranges),
                                             strict=True):
                yield from results
                done += end - start
                if progress:
                    progress(work.label, done, total)
    finally:
        _INHERITED.work = None


def _start_worker(config: Config) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.enable()  # for the worker's own garbage; what it inherited is frozen (run_parallel)
    assert _INHERITED.work is not None
    _INHERITED.worker = _INHERITED.work.make_worker(config)


def _run_range(bounds: tuple[int, int]) -> list:
    work = _INHERITED.work
    assert work is not None
    start, end = bounds
    return work.func(_INHERITED.worker, work.job, list(work.items[start:end]))


# ---------------------------------------------------------------- background work

class Background(Generic[T]):
    """`Background(func, *args)` forks at once; the child computes `func(*args)` and sends
    the result back through a pipe; `result()` waits for it.

    Where there is no fork, or the child fails, the result is computed in this process when
    asked for, so a caller never depends on the child: it only saves time. A raw fork, not
    multiprocessing: importing and starting that cost 23 ms, more than the work handed over.
    """

    def __init__(self, func: Callable[..., T], *args: Any):
        self._func = func
        self._args = args
        self._pid = 0
        self._pipe = -1
        if not hasattr(os, "fork"):
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare: computed here when asked for
            os.close(read)
            os.close(write)
            return
        if pid == 0:
            os.close(read)
            _background_child(write, func, args)
        os.close(write)
        self._pid, self._pipe = pid, read

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of a child whose result is not wanted (a build that stopped early): its
        write fails once the pipe is closed, and it is reaped rather than left a zombie."""
        if self._pid:
            pid, self._pid = self._pid, 0
            os.close(self._pipe)
            os.waitpid(pid, 0)

    def result(self) -> T:
        """The child's result, or the function's when there is no child or it failed."""
        if self._pid:
            pid, self._pid = self._pid, 0
            with os.fdopen(self._pipe, "rb") as pipe:
                data = pipe.read()
            os.waitpid(pid, 0)
            try:
                done, value = pickle.loads(data)
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
                done = False
            if done:
                return value
        return self._func(*self._args)


def _background_child(fd: int, func: Callable[..., Any], args: tuple) -> None:
    """Run in the forked child: never returns, and runs none of the parent's exit handlers
    (nor flushes its buffered output twice)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        try:
            data = pickle.dumps((True, func(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # the parent computes it again and reports what goes wrong
            data = pickle.dumps((False, None))
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)


# ---------------------------------------------------------------- the preview's build host

class HostError(Exception):
    """An error that is not sitegen's own, raised in the build host: its message and the
    host's traceback (`details`), since the exception itself may not cross processes."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.details)


class HostDied(HostError):
    """The build host ended without an answer (killed, out of memory)."""


class BuildHost:
    """Calls `run(request, log)` in a process of its own, one call at a time.

    The host is spawned (a fresh interpreter, not a fork: the caller may already run
    threads) in a process group of its own, so the terminal's Ctrl-C reaches the caller
    only, which decides whether to wait for a running build or `kill()` it with every
    worker the host forked. `run` is a module-level function; `log(text)` lines it writes
    come back to the caller's `log` while it runs. A host that died is started again by
    the next call.
    """

    def __init__(self, run: Callable[[Any, Callable[[str], None]], Any]):
        self._run = run
        self._process: BaseProcess | None = None
        self._conn: Any = None
        self._waiting = False  # a call was sent and its answer not read (an interrupted call)
        # kill() (a second Ctrl-C) and a call that sees the host die forget it at once, from
        # two threads: one of them closes the pipe, once
        self._forgetting = threading.Lock()

    def start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        from multiprocessing import get_context

        context = get_context("spawn")
        parent, child = context.Pipe()
        # not a daemon: a daemonic process may not start the worker pool
        self._process = context.Process(target=_host_main, args=(child, self._run),
                                        name="sitegen-build-host")
        self._process.start()
        child.close()
        self._conn = parent

    def call(self, request: Any, log: Callable[[str], None]) -> Any:
        """The host's `run(request)`; its exception is raised here."""
        self.start()
        conn = self._conn  # kill() from another thread may forget it meanwhile
        conn.send(request)
        self._waiting = True
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                raise HostDied(f"the build process ended unexpectedly ({self._ended()})") \
                    from None
            if kind == "log":
                log(value)
                continue
            self._waiting = False
            if kind == "done":
                return value
            raise value

    def close(self, timeout: float = 5.0) -> None:
        """End the host: at once if a call was interrupted (nobody waits for its answer),
        else when it reads the closed pipe."""
        if self._process is None:
            return
        if self._waiting:
            self.kill()
            return
        self._conn.close()
        self._process.join(timeout)
        if self._process.is_alive():
            self.kill()
        self._forget()

    def kill(self) -> None:
        """End the host and every process it started now (a second Ctrl-C)."""
        if self._process is not None and self._process.pid is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._process.kill()
            self._process.join(5)
        self._forget()

    def _ended(self) -> str:
        """How the host ended, once it has; it is forgotten (the next call starts one)."""
        process, code = self._process, None
        if process is not None:
            process.join(5)
            code = process.exitcode
        self._forget()
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _forget(self) -> None:
        with self._forgetting:
            conn, self._conn = self._conn, None
            self._process, self._waiting = None, False
        if conn is not None:
            conn.close()


def _host_main(conn: Any, run: Callable[[Any, Callable[[str], None]], Any]) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def log(text: str) -> None:
        conn.send(("log", text))

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("done", run(request, log))
        except Exception as exc:
            answer = ("error", _portable(exc))
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


def _portable(exc: Exception) -> Exception:
    """A sitegen error itself when it crosses processes intact; anything else (a bug) as a
    HostError with the host's traceback, which the caller prints."""
    if isinstance(exc, SitegenError):
        try:
            copy = pickle.loads(pickle.dumps(exc))
            if type(copy) is type(exc) and str(copy) == str(exc):
                return exc
        except Exception:  # noqa: BLE001 - any failure to pickle means: send a description
            pass
    details = "".join(traceback.format_exception(exc))
    return HostError(f"{type(exc).__name__}: {exc}", details)
