"""run.py: the garbage collector paused for the stages, and freed memory given back."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

from sitegen.run import _malloc_trim, cyclic_gc_paused


def test_the_collector_is_paused_inside_and_as_it_was_after():
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller's own pause is not undone
    finally:
        gc.enable()


@pytest.mark.skipif(_malloc_trim() is None, reason="glibc's malloc_trim is not there")
def test_the_holes_freed_objects_leave_go_back_to_the_system():
    """200 MB of objects the C allocator holds (past 512 bytes each), one in fifty kept, as the
    parse stage keeps its articles between the messages it drops: the rest goes back."""
    script = textwrap.dedent("""
        from sitegen.run import release_free_memory

        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) // 1024

        held = [bytes([i % 256]) * 1000 for i in range(200_000)]
        kept = held[::50]
        del held
        before = rss()
        release_free_memory()
        print(before, rss(), len(kept))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    before, after, kept = map(int, out.split())
    assert kept == 4_000 and before > 150 and after < before - 100

