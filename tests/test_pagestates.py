"""The last build's page states read from the database as asked for: a Mapping that is not a
dict, read in forked processes too, and saved by writing only the rows that changed."""

from __future__ import annotations

import os
import pickle
import sqlite3

import pytest

from sitegen import pagestates
from sitegen.cache import BuildCache
from sitegen.pagestates import WithExtra, save_page_states
from sitegen.processes import Background
from sitegen.records import PageState
from sitegen.writer import content_hash, files_not_as_left

STATES = {f"{n:03d}/index.html": PageState(f"fp{n}", f"{n:032x}:{n + 10}") for n in range(50)}


@pytest.fixture
def cache(tmp_path):
    cache = BuildCache(tmp_path / "cache", tmp_path / "output")
    yield cache
    cache.close()


def test_the_stored_states_are_a_mapping_equal_to_what_was_saved(cache):
    states = cache.page_states()
    assert not isinstance(states, dict) and not states and len(states) == 0
    assert save_page_states(cache.db, STATES) == 50
    states = cache.page_states()
    assert states == STATES and len(states) == 50 and bool(states)
    assert states["007/index.html"] == STATES["007/index.html"]
    assert states.get("007/index.html") == STATES["007/index.html"]
    assert states.get("missing", "default") == "default" and "missing" not in states
    assert "007/index.html" in states and 7 not in states
    with pytest.raises(KeyError):
        states["missing"]
    assert list(states) == sorted(STATES) == list(states.keys())
    assert dict(states.items()) == STATES and list(states.values()) == [
        STATES[rel] for rel in sorted(STATES)]
    assert list(states.sizes("010/", "012/")) == [("010/index.html", 20), ("011/index.html", 21)]


def test_a_first_build_asks_about_every_page_of_an_empty_table_with_one_query(cache):
    statements: list[str] = []
    states = cache.page_states()
    cache.db.set_trace_callback(statements.append)
    assert [states.get(f"{n}.html") for n in range(100)] == [None] * 100
    assert "1.html" not in states and len(statements) == 1


def test_a_forked_process_reads_through_a_connection_of_its_own(cache):
    save_page_states(cache.db, STATES)
    states = cache.page_states()
    assert states.get("001/index.html")  # the parent's connection is in use
    child = Background(lambda: (os.getpid(), dict(states.items()), states.get("002/index.html")))
    pid, seen, one = child.result()
    assert pid != os.getpid()  # computed in the child, not again here
    assert seen == STATES and one == STATES["002/index.html"]


def test_another_thread_reads_through_a_connection_of_its_own(cache):
    from concurrent.futures import ThreadPoolExecutor

    save_page_states(cache.db, STATES)
    states = cache.page_states()
    with ThreadPoolExecutor(2) as pool:  # a connection made in one thread fails in another
        seen = list(pool.map(lambda rel: states.get(rel), sorted(STATES)))
    assert seen == [STATES[rel] for rel in sorted(STATES)]


def test_pickled_it_travels_as_a_dict(cache):
    save_page_states(cache.db, STATES)
    copy = pickle.loads(pickle.dumps(cache.page_states()))
    assert type(copy) is dict and copy == STATES


def test_saving_writes_only_the_rows_that_changed(cache):
    save_page_states(cache.db, STATES)
    before = cache.db.total_changes
    assert save_page_states(cache.db, STATES) == 0
    assert cache.db.total_changes == before  # nothing written
    new = dict(STATES)
    new["001/index.html"] = PageState("changed", new["001/index.html"].output_hash)
    del new["002/index.html"]
    new["new/index.html"] = PageState("fp", "0:1")
    assert save_page_states(cache.db, new) == 3
    assert cache.db.total_changes == before + 3
    assert cache.page_states() == new


def test_saving_states_that_read_the_table_themselves(cache):
    """A build's new states may be a view over the stored ones (`WithExtra`)."""
    save_page_states(cache.db, STATES)
    extra = {".nojekyll": PageState("", content_hash(b"")),
             "000/index.html": PageState("", "0:0")}
    view = WithExtra(cache.page_states(), extra)
    assert len(view) == 51 and view["000/index.html"] == extra["000/index.html"]
    assert save_page_states(cache.db, view) == 2
    assert cache.page_states() == {**STATES, **extra}


def test_files_not_as_left_reads_the_stored_states_in_slices(tmp_path, cache, monkeypatch):
    output = tmp_path / "output"
    states = {}
    for n in range(3000):  # enough rows to cut into slices
        rel = f"{n % 7}/{n}.html"
        (output / rel).parent.mkdir(parents=True, exist_ok=True)
        (output / rel).write_bytes(b"x" * (n % 13))
        states[rel] = PageState("", content_hash(b"x" * (n % 13)))
    save_page_states(cache.db, states)
    (output / "3/3.html").unlink()
    (output / "3/2999.html").write_bytes(b"longer than it was")
    (output / "0/0.html").unlink()
    (output / "0/0.html").mkdir()
    expected = {"3/3.html", "3/2999.html", "0/0.html"}
    assert files_not_as_left(output, states) == expected  # a dict: read in one
    stored = cache.page_states()
    assert len(stored.split_points(2)) == 1 and len(stored.split_points(3)) == 2
    seen = []
    monkeypatch.setattr("sitegen.writer.Background",
                        lambda func, *args: seen.append(args) or Background(func, *args))
    assert files_not_as_left(output, stored) == expected
    assert len(seen) == min(os.cpu_count() or 1, 4) - 1  # one slice here, the rest forked
    monkeypatch.setattr(pagestates, "ROWS_A_FETCH", 7)  # many fetches a slice
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert files_not_as_left(output, cache.page_states()) == expected


def test_a_read_only_cache_without_a_database_reads_no_states(tmp_path):
    cache = BuildCache(tmp_path / "none", tmp_path / "output", read_only=True)
    try:
        states = cache.page_states()
        assert len(states) == 0 and Background(lambda: dict(states.items())).result() == {}
    finally:
        cache.close()
    assert not (tmp_path / "none").exists()


def test_a_damaged_database_is_a_database_error_when_read(tmp_path):
    cache = BuildCache(tmp_path / "cache", tmp_path / "output")
    try:
        states = cache.page_states()
        cache.db.execute("DROP TABLE pages")
        with pytest.raises(sqlite3.OperationalError):
            states.get("a")
    finally:
        cache.close()


def test_kept_states_are_the_last_builds_but_those_left_out(cache):
    save_page_states(cache.db, STATES)
    left_out = frozenset({"003/index.html", "007/index.html", "not-stored.html"})
    kept = pagestates.KeptStates(cache.page_states(), left_out)
    expected = {rel: state for rel, state in STATES.items() if rel not in left_out}
    assert not isinstance(kept, dict) and kept == expected and len(kept) == 48
    assert list(kept) == sorted(expected) and dict(kept.items()) == expected
    assert "003/index.html" not in kept and kept.get("003/index.html") is None
    assert kept["004/index.html"] == STATES["004/index.html"]
    with pytest.raises(KeyError):
        kept["007/index.html"]


def _new_states(cache, rows, kept):
    pagestates.start_new_states(cache.db)
    pagestates.add_new_states(cache.db, rows)
    planned = cache.page_states().beside(pagestates.NEW_TABLE)
    return pagestates.NewStates(planned, kept, cache.page_states())


def test_an_edit_builds_states_are_its_planned_pages_over_the_kept_ones(cache):
    save_page_states(cache.db, {**STATES, ".nojekyll": PageState("", "x:0")})
    planned = {"003/index.html": PageState("new3", "a:1"), "new/index.html": PageState("n", "b:2")}
    rows = [(rel, *state, rel == "new/index.html") for rel, state in planned.items()]
    left_out = frozenset({"003/index.html", "005/index.html", ".nojekyll"})
    states = _new_states(cache, rows, pagestates.KeptStates(cache.page_states(), left_out))
    expected = {**{r: s for r, s in STATES.items() if r not in left_out}, **planned}
    assert states == expected and len(states) == 50 and dict(states.items()) == expected
    assert states["003/index.html"] == PageState("new3", "a:1") and "005/index.html" not in states
    assert states.dropped() == [".nojekyll", "005/index.html"]
    assert list(states.planned.staged()) == [("new/index.html", "b:2")]
    assert states.planned.staged_count() == 1


def test_saving_a_builds_new_states_writes_only_what_changed_and_empties_its_table(cache):
    save_page_states(cache.db, {**STATES, ".nojekyll": PageState("", "x:0")})
    rows = [("003/index.html", "new3", "a:1", True), ("004/index.html", *STATES["004/index.html"],
                                                      False)]
    left_out = frozenset({"003/index.html", "004/index.html", "005/index.html"})
    states = _new_states(cache, rows, pagestates.KeptStates(cache.page_states(), left_out))
    extra = {".nojekyll": PageState("", "x:0"), "CNAME": PageState("", "c:4")}
    expected = dict(WithExtra(states, extra).items())
    statements: list[str] = []
    cache.db.set_trace_callback(statements.append)
    assert save_page_states(cache.db, WithExtra(states, extra)) == 3  # 003, 005 gone, CNAME
    cache.db.set_trace_callback(None)
    assert cache.page_states() == expected and "005/index.html" not in expected
    lookups = [s for s in statements if "WHERE url = " in s and s.startswith("SELECT")]
    assert len(lookups) <= 2 * len(left_out) + len(extra)  # about the few paths left out only
    assert cache.db.execute(f"SELECT count(*) FROM {pagestates.NEW_TABLE}").fetchone() == (0,)


def test_a_full_builds_new_states_drop_the_pages_it_did_not_plan(cache):
    save_page_states(cache.db, STATES)
    rows = [(rel, *state, False) for rel, state in STATES.items() if rel != "009/index.html"]
    states = _new_states(cache, rows, {})
    assert states.dropped() == ["009/index.html"] and len(states) == 49
    assert save_page_states(cache.db, WithExtra(states, {})) == 1
    assert "009/index.html" not in cache.page_states() and len(cache.page_states()) == 49
