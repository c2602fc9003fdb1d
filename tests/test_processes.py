"""Work handed to a forked process: the same result as computing it here, whatever happens
to the child."""

from __future__ import annotations

import os

import pytest

from sitegen.processes import Background


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
