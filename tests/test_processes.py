"""The processes sitegen starts: work handed to a forked process gives the same result as
computing it here, whatever happens to the child; the preview's build host answers, relays
its log, sends errors back whole, and dies with everything it started."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import article, build_site

from sitegen.errors import ContentError, Problem
from sitegen.processes import Background, BuildHost, HostDied, HostError, Work, run_parallel


def _whose(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def test_the_result_comes_from_a_forked_child():
    pid, value = Background(_whose, 21).result()
    assert value == 42 and pid != os.getpid()


def test_without_a_process_to_spare_it_is_computed_here(monkeypatch):
    def no_fork() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", no_fork)
    assert Background(_whose, 1).result() == (os.getpid(), 2)


def _fails_in_the_child(parent: int) -> str:
    if os.getpid() != parent:
        raise RuntimeError("only in the child")
    return "computed here"


def test_a_child_that_fails_leaves_the_work_to_this_process():
    assert Background(_fails_in_the_child, os.getpid()).result() == "computed here"


def test_an_error_of_the_work_itself_is_raised_here():
    with pytest.raises(ZeroDivisionError):
        Background(divmod, 1, 0).result()


def _big(n: int) -> bytes:
    return b"x" * n


def test_a_result_nobody_waits_for_does_not_leave_the_child_behind():
    """More than a pipe holds: the child would block on its write if close() only waited."""
    work = Background(_big, 4 << 20)
    pid = work._pid
    work.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already
    assert work.result() == b"x" * (4 << 20)  # computed here once the child is gone


# ---------------------------------------------------------------- the build host

def _answer(request, log):
    log(f"building {request}")
    log("done building")
    return {"built": request, "pid": os.getpid()}


def _fails_with_problems(request, log):
    raise ContentError([Problem(Path("content/a.md"), 3, "bad date")])


def _has_a_bug(request, log):
    return {}["missing"]


def _dies(request, log):
    if request == "die":
        os._exit(3)
    return "alive"


def _starts_a_grandchild(request, log):
    child = subprocess.Popen(["sleep", "60"])
    log(str(child.pid))
    time.sleep(60)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_the_build_host_answers_in_a_process_of_its_own_and_relays_its_log() -> None:
    host = BuildHost(_answer)
    logged: list[str] = []
    try:
        first = host.call("a", logged.append)
        second = host.call("b", logged.append)
    finally:
        host.close()
    assert first["built"] == "a" and second["built"] == "b"
    assert first["pid"] == second["pid"] != os.getpid()  # one host for every call
    assert logged == ["building a", "done building", "building b", "done building"]
    assert not _alive(first["pid"])


def test_a_sitegen_error_crosses_whole_and_a_bug_brings_its_traceback() -> None:
    host = BuildHost(_fails_with_problems)
    try:
        with pytest.raises(ContentError) as caught:
            host.call("x", print)
    finally:
        host.close()
    assert caught.value.problems == [Problem(Path("content/a.md"), 3, "bad date")]
    host = BuildHost(_has_a_bug)
    try:
        with pytest.raises(HostError, match="KeyError: 'missing'") as bug:
            host.call("x", print)
    finally:
        host.close()
    assert "_has_a_bug" in bug.value.details and "Traceback" in bug.value.details


def test_a_host_that_dies_is_reported_and_the_next_call_starts_another() -> None:
    host = BuildHost(_dies)
    try:
        with pytest.raises(HostDied, match="exit code 3"):
            host.call("die", print)
        assert host.call("live", print) == "alive"
    finally:
        host.close()


def test_kill_ends_the_host_and_every_process_it_started() -> None:
    host = BuildHost(_starts_a_grandchild)
    pids: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            host.call("x", pids.append)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 30
    while not pids and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids, "the host did not start its child"
    host_pid = host.pid
    host.kill()
    caller.join(10)
    assert not caller.is_alive() and isinstance(errors[0], HostDied)
    deadline = time.monotonic() + 10
    while (_alive(int(pids[0])) or _alive(host_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pids[0])) and not _alive(host_pid)


def test_the_host_is_forgotten_once_when_two_threads_see_it_end() -> None:
    """kill() and the call that sees the host die both forget it: the pipe is closed once
    (closed twice, the second close failed, or closed a descriptor reused meanwhile)."""
    closed: list[int] = []

    class SlowToClose:
        def close(self) -> None:
            time.sleep(0.2)
            closed.append(1)

    host = BuildHost(_starts_a_grandchild)
    host._conn = SlowToClose()
    threads = [threading.Thread(target=host._forget) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert closed == [1] and host._conn is None


def _slow(request, log):
    log("started")
    time.sleep(60)


def test_closing_a_host_whose_call_was_interrupted_ends_it_at_once() -> None:
    host = BuildHost(_slow)
    started = threading.Event()

    def interrupted(text: str) -> None:
        started.set()
        raise KeyboardInterrupt  # as Ctrl-C does to the caller while it waits

    with pytest.raises(KeyboardInterrupt):
        host.call("x", interrupted)
    assert started.is_set()
    host_pid = host.pid
    began = time.monotonic()
    host.close()
    assert time.monotonic() - began < 5 and host_pid is not None and not _alive(host_pid)


def _doubled(worker, job, chunk):
    return [(os.getpid(), item * 2) for item in chunk]


def _runs_a_pool(request, log):
    config = SimpleNamespace(workers=2, engine="local")
    work = Work(_doubled, list(range(6)), lambda config: None, "double", costly=True)
    return os.getpid(), list(run_parallel(work, config))  # type: ignore[arg-type]


def test_the_build_host_starts_the_worker_pool() -> None:
    host = BuildHost(_runs_a_pool)
    try:
        host_pid, results = host.call("x", print)
    finally:
        host.close()
    assert [value for _, value in results] == [0, 2, 4, 6, 8, 10]
    assert host_pid not in {pid for pid, _ in results}  # computed by the pool's workers


def test_a_build_with_search_never_forks_while_a_thread_of_its_own_runs(make_site) -> None:
    """The search stage runs threads (one per Pagefind service); every fork of a build (the
    pool, Background) must come while the process has one thread: Python 3.12 warns of a fork
    beside threads, and the preview's build host runs build after build."""
    site = make_site({f"content/2025/01/a{i}.md": article(f"Story {i}", "2025-01-02",
                                                          f"Words of story {i}.")
                      for i in range(3)})
    seen: list[int] = []
    os.register_at_fork(before=lambda: seen.append(threading.active_count()))
    before = threading.active_count()  # 1, unless an earlier test left a thread behind
    for edit in range(2):
        (site / "content/2025/01/a0.md").write_text(article("Story 0", "2025-01-02",
                                                            f"Edited {edit}."))
        build_site(site, search=True)
    assert seen and max(seen) == before, seen  # forks happened, none beside a build's thread
