"""Work a build hands to a forked process while it goes on with its own (a machine has more
than one core, and a rebuild's stages are one Python thread).

`Background(func, *args)` forks at once; the child computes `func(*args)` and sends the result
back through a pipe; `result()` waits for it. Where there is no fork, or the child fails, the
result is computed in this process when asked for, so a caller never depends on the child:
it only saves time. A raw fork, not multiprocessing: importing and starting that cost 23 ms,
more than the work handed over.
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
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
            _child(write, func, args)
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


def _child(fd: int, func: Callable[..., Any], args: tuple) -> None:
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
