"""Output files as the last build left them, or not; and files no build wrote."""

from __future__ import annotations

from sitegen.records import PageState
from sitegen.writer import content_hash, files_not_as_left, find_strays


def test_files_not_as_left_are_the_missing_resized_and_replaced_ones(tmp_path):
    states = {}
    for rel in ("a/index.html", "b/index.html", "c.xml", "d/index.html", "e.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"<p>" + rel.encode() + b"</p>")
        states[rel] = PageState("fingerprint", content_hash(path.read_bytes()))
    (tmp_path / "b/index.html").unlink()
    (tmp_path / "c.xml").write_bytes(b"longer than it was when written")
    (tmp_path / "d/index.html").unlink()
    (tmp_path / "d/index.html").mkdir()
    (tmp_path / "e.txt").write_bytes(b"<p>E.TXT</p>")  # same size: taken as it was left
    assert files_not_as_left(tmp_path, states) == {"b/index.html", "c.xml", "d/index.html"}
    assert files_not_as_left(tmp_path, {}) == frozenset()


def test_strays_are_the_files_neither_recorded_nor_sitegens_own(tmp_path):
    for rel in ("index.html", "img/logo.png", "notes/todo.txt", "verify.html",
                "pagefind/x.pf_meta", ".sitegen-output"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    recorded = frozenset({"index.html", "img/logo.png"})
    assert find_strays(tmp_path, recorded) == ("notes/todo.txt", "verify.html")
    assert find_strays(tmp_path, frozenset()) == ()  # no records: nothing to tell apart
    assert find_strays(tmp_path, {"index.html"}, {"img/logo.png"}) == ("notes/todo.txt",
                                                                        "verify.html")


def test_strays_among_stored_states_are_found_by_a_merge_in_path_order(tmp_path):
    from sitegen.cache import BuildCache
    from sitegen.pagestates import save_page_states

    output = tmp_path / "output"
    names = ["a.html", "b/index.html", "b/x.txt", "c/index.html", "d.txt", "e/f/g.html", "z"]
    for rel in names:
        (output / rel).parent.mkdir(parents=True, exist_ok=True)
        (output / rel).write_text(rel)
    cache = BuildCache(tmp_path / "cache", output)
    try:
        recorded = {"a.html", "b/index.html", "c/index.html", "e/f/g.html", "gone.html"}
        save_page_states(cache.db, {rel: PageState("", "0:1") for rel in recorded})
        states = cache.page_states()
        assert find_strays(output, states, {"z"}) == ("b/x.txt", "d.txt")
        assert find_strays(output, states) == find_strays(output, recorded) == (
            "b/x.txt", "d.txt", "z")
    finally:
        cache.close()
