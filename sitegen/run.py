"""`Run`: what every stage of one build shares, fixed when the build starts; the timer of
its stages; the garbage collector paused while they run; freed memory given back."""

from __future__ import annotations

import ctypes
import functools
import gc
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from .config import Config
from .processes import Progress
from .records import PageState
from .state import BuildState


@dataclass(frozen=True)
class Run:
    """One build's settings, its cache, what the last build wrote (output path -> state: a
    Mapping read from the build state as asked for, pagestates.StoredPageStates; use only its
    Mapping methods), and where the workers report their progress."""

    config: Config
    cache: BuildState
    previous: Mapping[str, PageState]
    progress: Progress | None = None


class StageTimer:
    """Each stage's name and seconds, in order; said to `verbose_sink` as it ends."""

    def __init__(self, verbose_sink: Callable[[str], None] | None):
        self.stages: list[tuple[str, float]] = []
        self.sink = verbose_sink

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.stages.append((name, elapsed))
        if self.sink:
            self.sink(f"{name:<10} {elapsed:8.3f} s")


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the stages build their large, acyclic data
    (articles, indexes, page specs): the collector walked it again and again (unpickling the
    parse cache of 10,000 articles took 5x longer). Render workers collect their own garbage
    (processes.run_parallel)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def release_free_memory() -> None:
    """Give the C allocator's free pages back to the system (glibc's `malloc_trim`). What a
    stage made and dropped (the parse stage's unpickled messages and lookup tables) is
    otherwise kept as holes between what the build holds on to: ~700 bytes an article after
    the parse stage (measured at 20,000 articles, issue #20). Without glibc: nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library this process already uses
    except (OSError, AttributeError):  # musl has none
        return None
