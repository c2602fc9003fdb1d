"""The search stage's page rows (search/pagestore.py, search/stale.py): an edit looks at the
pieces it touched and nothing else, and every way the stored rows can be missing, old or
out of step still ends in the bundle a clean build writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import article, build_site, read_tree
from test_search import YEAR

from sitegen import search
from sitegen.search import stale

EDITED = ("m2-9.md", "2024-02-09 10:00:00", "Rewritten around a quasarscope café.")


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search.plan_pieces, "__defaults__", (3,))


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> list[search.SearchReport]:
    found: list[search.SearchReport] = []
    original = search.update_search_index

    def spy(*args, **kwargs):
        found.append(original(*args, **kwargs))
        return found[-1]

    monkeypatch.setattr(search, "update_search_index", spy)
    return found


@pytest.fixture
def looked_at(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every piece whose pages the search stage compared."""
    seen: list[str] = []
    original = stale.check_piece

    def spy(piece, *args, **kwargs):
        seen.append(piece.id)
        return original(piece, *args, **kwargs)

    monkeypatch.setattr(stale, "check_piece", spy)
    return seen


def _edit(site: Path) -> None:
    name, date, body = EDITED
    (site / "content" / name).write_text(article("Story 2-9", date, body, section="World",
                                                 tags=["Tag2"]), encoding="utf-8")


def _clean_bundle(make_site) -> dict:
    name, date, body = EDITED
    clean = make_site({**YEAR, f"content/{name}": article("Story 2-9", date, body,
                                                          section="World", tags=["Tag2"])},
                      name="clean")
    build_site(clean, search=True)
    return read_tree(clean / "output" / "pagefind")


def _pieces_folder(site: Path) -> Path:
    return next((site / ".sitegen-cache").glob("search-index-*.pieces"))


def _state_file(site: Path) -> Path:
    return next((site / ".sitegen-cache").glob("search-index-*.json"))


def test_an_edit_neither_plans_the_archive_nor_looks_at_other_pieces(
        make_site, small_pieces, looked_at, monkeypatch):
    site = make_site(YEAR)
    calls: list[tuple] = []
    original = search.update_search_index

    def spy(*args, **kwargs):
        report = original(*args, **kwargs)
        # the build's page hashes read its database, closed when the build ends: a copy
        config, articles, changed, hashes = args
        calls.append(((config, articles, changed, dict(hashes)), kwargs))
        return report

    monkeypatch.setattr(search, "update_search_index", spy)
    build_site(site, search=True)
    (config, articles, _changed, page_hashes), options = calls[-1]
    monkeypatch.setattr(search, "plan_pieces", lambda *args, **kwargs: pytest.fail("planned"))
    looked_at.clear()
    now = options["generations"][1]  # the stage again, as a build that wrote one page
    url = next(a.url for a in articles if a.title == "Story 2-9")
    report = original(config, articles, {url}, page_hashes, generations=(now, now))
    assert looked_at == ["2024-02"] and report.pieces == () and not report.joined
    monkeypatch.undo()
    monkeypatch.setattr(search.plan_pieces, "__defaults__", (3,))
    _edit(site)
    build_site(site, search=True)
    assert "2024-02" in looked_at
    assert read_tree(site / "output" / "pagefind") == _clean_bundle(make_site)


def test_a_build_without_search_between_makes_the_next_one_check_every_piece(
        make_site, small_pieces, looked_at):
    site = make_site(YEAR)
    build_site(site, search=True)
    _edit(site)
    build_site(site, search=False)
    looked_at.clear()
    build_site(site, search=True)  # rewrites no page: only the tokens tell 2024-02 changed
    assert sorted(looked_at) == ["2024-01", "2024-02", "2024-03", "2024-q2"]
    assert read_tree(site / "output" / "pagefind") == _clean_bundle(make_site)


def test_the_state_of_an_older_sitegen_is_taken_over_without_indexing_again(
        make_site, small_pieces, reports):
    site = make_site(YEAR)
    build_site(site, search=True)
    folder = _pieces_folder(site)
    with sqlite3.connect(folder / "pages.sqlite") as db:  # the per-page JSON of before
        rows = db.execute("SELECT piece, url, token, digest FROM pages ORDER BY piece, pos")
        pieces: dict[str, dict] = {}
        for piece, url, token, digest in rows:
            pieces.setdefault(piece, {})[url] = [token, digest]
    (folder / "pages.sqlite").unlink()
    data = json.loads(_state_file(site).read_bytes())
    data["state"] = {"order": data["state"]["order"], "pieces": pieces}
    _state_file(site).write_text(json.dumps(data))
    _edit(site)
    build_site(site, search=True)
    assert reports[-1].pieces == ("2024-02",) and reports[-1].spliced
    assert read_tree(site / "output" / "pagefind") == _clean_bundle(make_site)
    state = json.loads(_state_file(site).read_bytes())["state"]
    assert state["pieces"] == {} and state["pages"]


@pytest.mark.parametrize("damage", ["version", "garbage", "missing"])
def test_rows_out_of_step_with_the_state_index_everything_again(make_site, small_pieces,
                                                                 reports, damage):
    site = make_site(YEAR)
    build_site(site, search=True)
    database = _pieces_folder(site) / "pages.sqlite"
    if damage == "version":  # a build killed between committing the rows and the state
        with sqlite3.connect(database) as db:
            db.execute("UPDATE meta SET value = 'other' WHERE key = 'version'")
    elif damage == "garbage":
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        database.write_bytes(b"not a database" * 100)
    else:
        database.unlink()
    _edit(site)
    build_site(site, search=True)
    assert reports[-1].pieces == ("2024-q2", "2024-03", "2024-02", "2024-01")
    assert read_tree(site / "output" / "pagefind") == _clean_bundle(make_site)


def test_rows_follow_articles_added_and_removed(make_site, small_pieces, reports):
    site = make_site(YEAR)
    build_site(site, search=True)
    (site / "content" / "m3-9.md").unlink()
    (site / "content" / "m4-1.md").write_text(article("April", "2024-04-01", "A new month."),
                                              encoding="utf-8")
    build_site(site, search=True)
    with sqlite3.connect(_pieces_folder(site) / "pages.sqlite") as db:
        stored = db.execute("SELECT piece, count(*) FROM pages GROUP BY piece").fetchall()
    assert sorted(stored) == [("2024-01", 3), ("2024-02", 3), ("2024-03", 2), ("2024-04", 1),
                              ("2024-05", 3)]
    _edit(site)
    build_site(site, search=True)
    assert reports[-1].pieces == ("2024-02",) and reports[-1].spliced


def test_the_builds_page_hashes_are_read_from_its_page_states_as_asked():
    class State:
        def __init__(self, output_hash: str):
            self.output_hash = output_hash

    states = {"a/index.html": State("1"), "b/index.html": State("2")}
    hashes = search.OutputHashes(states)
    assert hashes.get("a/index.html") == "1" and hashes.get("c/index.html") is None
    assert dict(hashes) == {"a/index.html": "1", "b/index.html": "2"} and len(hashes) == 2
    states["c/index.html"] = State("3")  # a view, not a copy
    assert hashes["c/index.html"] == "3"


def test_a_month_cut_into_thirds_indexes_its_new_pieces_only(make_site, small_pieces,
                                                             reports):
    """An added article cuts March into thirds: each third is a piece the rows never held,
    indexed now even where none of its pages was written again (not skipped, which left the
    join a piece short and the build indexing every piece again)."""
    added = {"content/m3-25.md": article("Story 3-25", "2024-03-25 10:00:00", "Late March.")}
    site = make_site(YEAR)
    build_site(site, search=True)
    (site / "content" / "m3-25.md").write_text(added["content/m3-25.md"], encoding="utf-8")
    build_site(site, search=True)
    assert set(reports[-1].pieces) == {"2024-03-t1", "2024-03-t2", "2024-03-t3"}
    clean = make_site({**YEAR, **added}, name="clean")
    build_site(clean, search=True)
    assert read_tree(site / "output" / "pagefind") == read_tree(clean / "output" / "pagefind")
