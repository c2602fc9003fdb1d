"""The digests the build cache keys on: an article's card and outline."""

from __future__ import annotations

import dataclasses
import logging
import pickle
import random
import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import build_site, read_tree, site_config

from sitegen import search
from sitegen.cache import BuildCache, database_path
from sitegen.fingerprint import card_digest, outline_digest, with_revisions
from sitegen.parsedrecords import parse_key
from sitegen.records import Article, Revision, Term

WHEN = datetime(2025, 1, 2, 3, 30, tzinfo=UTC)
ARTICLE = Article(source="a.md", digest="d1", title="Alpha", slug="alpha",
                  url="/2025/01/02/alpha/", date=WHEN, summary="S",
                  section=Term("World", "world", "/sections/world/"),
                  tags=(Term("Mexico", "mexico", "/tags/mexico/"),),
                  authors=(Term("Ann Lee", "ann-lee", "/authors/ann-lee/"),), story="s1")
OTHER = Term("Trade", "trade", "/tags/trade/")


@pytest.mark.parametrize("change", [
    {"url": "/2025/01/02/moved/"}, {"date": WHEN + timedelta(minutes=1)},
    {"date": WHEN.astimezone(timezone(timedelta(hours=-5)))},  # same instant, other day
    {"updated": WHEN + timedelta(hours=1)}, {"story": "s2"}, {"section": OTHER},
    {"section": None}, {"tags": (OTHER,)}, {"tags": ()}, {"authors": (OTHER,)},
])
def test_the_outline_follows_the_articles_place_in_the_site(change):
    assert outline_digest(dataclasses.replace(ARTICLE, **change)) != outline_digest(ARTICLE)


def test_tags_and_authors_are_told_apart_in_the_outline():
    tagged = dataclasses.replace(ARTICLE, tags=(OTHER,), authors=())
    authored = dataclasses.replace(ARTICLE, tags=(), authors=(OTHER,))
    assert outline_digest(tagged) != outline_digest(authored)


def test_what_only_the_article_shows_leaves_the_outline_alone():
    reworded = dataclasses.replace(ARTICLE, title="New", summary="New", digest="d2",
                                   body_html="<p>x</p>", words=9, image="i.png")
    assert outline_digest(reworded) == outline_digest(ARTICLE)
    assert card_digest(reworded) != card_digest(ARTICLE)


def test_git_history_brings_the_outline_and_card_along():
    parsed = dataclasses.replace(ARTICLE, card=card_digest(ARTICLE),
                                 outline=outline_digest(ARTICLE))
    later = WHEN + timedelta(days=2)
    dated = with_revisions(parsed, (Revision(later, "fix"),), later)
    assert dated.outline == outline_digest(dataclasses.replace(ARTICLE, updated=later))
    assert dated.outline != parsed.outline and dated.card != parsed.card
    unparsed = with_revisions(ARTICLE, (Revision(later, "fix"),), later)
    assert unparsed.outline == "" and unparsed.card == ""  # computed where they are needed


# ---------------------------------------------------------------- page bundles

SMALL = Path(__file__).resolve().parent / "sites" / "small"
BUNDLE = "content/2025/03/bundle-story"
BUNDLE_OUT = "2025/03/04/harbour-reopens-after-storm"


def small_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(SMALL, site)
    return site


def assert_same_as_clean_build(site: Path, **overrides: Any) -> None:
    """The site's output equals a build of the same site into a fresh output and cache."""
    clean = site.parent / f"clean-{time.monotonic_ns()}"
    build_site(site, output_dir=clean, cache_dir=clean.with_suffix(".cache"), **overrides)
    assert read_tree(site / "output") == read_tree(clean)


def test_a_file_removed_from_a_built_bundle_is_removed_from_the_site(tmp_path):
    site = small_site(tmp_path)
    (site / BUNDLE / "notes.txt").write_text("field notes")
    build_site(site)
    assert (site / "output" / BUNDLE_OUT / "notes.txt").is_file()
    (site / BUNDLE / "notes.txt").unlink()
    build_site(site)
    assert not (site / "output" / BUNDLE_OUT / "notes.txt").exists()
    assert_same_as_clean_build(site)


def test_a_file_added_to_a_built_bundle_is_published(tmp_path):
    site = small_site(tmp_path)
    build_site(site)
    (site / BUNDLE / "extra").mkdir()
    (site / BUNDLE / "extra/chart.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    build_site(site)
    assert (site / "output" / BUNDLE_OUT / "extra/chart.svg").read_text().startswith("<svg")
    assert_same_as_clean_build(site)


def test_the_parse_key_follows_the_bundle_listing():
    key = parse_key("a/index.md", "d1", "c1", ("photo.svg",))
    assert key != parse_key("a/index.md", "d1", "c1", ())
    assert key != parse_key("a/index.md", "d1", "c1", ("photo.svg", "notes.txt"))
    assert key == parse_key("a/index.md", "d1", "c1", ("photo.svg",))


# ---------------------------------------------------------------- a damaged cache

STORM = "content/2025/03/storm.md"


def database(site: Path, **overrides: Any) -> Path:
    config = site_config(site, **overrides)
    return database_path(config.cache_dir, config.output_dir)


def edit_an_article(site: Path) -> None:
    """An edit, so the next build reads the parse cache (a build that finds nothing changed
    reads none of it)."""
    path = site / STORM
    path.write_text(path.read_text().replace("on Sunday", "on Sunday night"))


def rebuild_after(damage: Callable[[Path], None], site: Path, caplog: pytest.LogCaptureFixture,
                  **overrides: Any) -> str:
    """Build, damage the cache, edit an article, build again: the one warning of the second
    build, whose output must be a clean build's."""
    build_site(site, **overrides)
    damage(site)
    edit_an_article(site)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        build_site(site, **overrides)
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("sitegen")]
    assert len(warnings) == 1, warnings
    assert_same_as_clean_build(site, **overrides)
    return warnings[0]


def sql(site: Path, *statements: tuple[str, tuple]) -> None:
    db = sqlite3.connect(database(site))
    try:
        for statement, params in statements:
            db.execute(statement, params)
        db.commit()
    finally:
        db.close()


def junk(size: int, seed: int = 13) -> bytes:
    return random.Random(seed).randbytes(size)


def overwrite(path: Path, start: int, data: bytes) -> None:
    with path.open("r+b") as file:
        file.seek(start)
        file.write(data)


@pytest.mark.parametrize("where", ["whole file", "header", "every page but the first"])
def test_random_bytes_in_the_database_are_found_and_the_database_discarded(tmp_path, caplog,
                                                                           where):
    def damage(site: Path) -> None:
        path = database(site)
        sql(site, ("PRAGMA wal_checkpoint(TRUNCATE)", ()))  # every page in the file itself
        size = path.stat().st_size
        start = {"whole file": 0, "header": 0, "every page but the first": 4096}[where]
        end = 100 if where == "header" else size
        assert size > 4096 * 3
        overwrite(path, start, junk(end - start))

    message = rebuild_after(damage, small_site(tmp_path), caplog)
    assert str(database(tmp_path / "site")) in message


@pytest.mark.parametrize("blob", [junk(300), b"\x80\x05junk", pickle.dumps(("no", "record")),
                                  pickle.dumps({"key": "no record"})])
def test_a_damaged_parsed_group_is_discarded(tmp_path, caplog, blob):
    # groups are read by a build that reads every record: here, one with no folder kept
    message = rebuild_after(lambda site: sql(site, ("UPDATE parsed_groups SET records = ?",
                                                    (blob,)), ("DELETE FROM parsed_folders", ())),
                            small_site(tmp_path), caplog)
    assert "parsed groups" in message


@pytest.mark.parametrize("blob", [junk(300), pickle.dumps({"no": "record"})])
def test_a_damaged_parsed_record_is_discarded(tmp_path, caplog, blob):
    # without the groups (as an older sitegen sharing the cache leaves it), records are read
    message = rebuild_after(lambda site: sql(site, ("UPDATE parsed SET record = ?", (blob,)),
                                             ("DELETE FROM parsed_groups", ()),
                                             ("DELETE FROM parsed_folders", ())),
                            small_site(tmp_path), caplog)
    assert "records" in message


def test_a_table_of_another_layout_is_found_and_the_database_discarded(tmp_path, caplog):
    message = rebuild_after(lambda site: sql(site, ("DROP TABLE pages", ()), (
        "CREATE TABLE pages (url TEXT PRIMARY KEY, fingerprint TEXT)", ())),
        small_site(tmp_path), caplog)
    assert "pages" in message


@pytest.mark.parametrize("table", ["parsed", "pages", "files", "meta", "sources",
                                   "parsed_groups"])
def test_a_dropped_table_is_found_and_the_database_discarded(tmp_path, caplog, table):
    message = rebuild_after(lambda site: sql(site, (f"DROP TABLE {table}", ())),
                            small_site(tmp_path), caplog)
    assert f"table {table} is missing" in message


def test_a_file_where_the_cache_folder_should_be_is_replaced(tmp_path, caplog):
    def damage(site: Path) -> None:
        cache_dir = site_config(site).cache_dir
        shutil.rmtree(cache_dir)
        cache_dir.write_bytes(junk(100))

    message = rebuild_after(damage, small_site(tmp_path), caplog)
    assert "not a folder" in message


def test_a_database_of_an_older_sitegen_gets_its_new_tables_without_a_warning(tmp_path,
                                                                              caplog):
    site = small_site(tmp_path)
    build_site(site)
    sql(site, ("DROP TABLE parsed_groups", ()), ("PRAGMA user_version = 0", ()))
    edit_an_article(site)
    with caplog.at_level(logging.WARNING, logger="sitegen"):
        report = build_site(site)
    assert not [r for r in caplog.records if r.name.startswith("sitegen")]
    assert report.pages_rendered < report.pages_planned  # the cache was kept
    assert_same_as_clean_build(site)


def test_damage_found_part_way_through_a_build_runs_it_again_on_a_fresh_cache(
        tmp_path, caplog, monkeypatch):
    real = BuildCache.bodies
    calls = []

    def damaged_once(self, keys):
        calls.append(keys)
        if len(calls) == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real(self, keys)

    site = small_site(tmp_path)
    build_site(site)
    monkeypatch.setattr(BuildCache, "bodies", damaged_once)
    rebuild_after(lambda site: None, site, caplog)
    assert len(calls) > 1


def test_a_locked_database_is_not_damage(tmp_path, monkeypatch):
    site = small_site(tmp_path)
    build_site(site)

    def locked(self, keys):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(BuildCache, "bodies", locked)
    edit_an_article(site)
    with pytest.raises(sqlite3.OperationalError):
        build_site(site)
    monkeypatch.undo()
    report = build_site(site)
    assert report.pages_rendered < report.pages_planned  # the cache is still there


# ---------------------------------------------------------------- the search stage's state

def search_state(site: Path) -> Path:
    config = site_config(site, search=True)
    return search.state_path(config.cache_dir, config.output_dir)


@pytest.mark.parametrize("text", [junk(200), b'{"settings": ', b"[1, 2]"])
def test_a_damaged_search_state_is_discarded(tmp_path, caplog, text):
    message = rebuild_after(lambda site: search_state(site).write_bytes(text),
                            small_site(tmp_path), caplog, search=True)
    assert search.STATE_FILE in message


def test_damaged_search_pieces_are_discarded(tmp_path, caplog):
    def damage(site: Path) -> None:
        config = site_config(site, search=True)
        pickles = [path for path in
                   search.pieces_dir(config.cache_dir, config.output_dir).iterdir()
                   if path.is_file()]  # the join's state and word tables are folders
        assert len(pickles) >= 2  # a piece and the runtime, at least
        for number, path in enumerate(pickles):
            path.write_bytes(junk(300, seed=number))

    message = rebuild_after(damage, small_site(tmp_path), caplog, search=True)
    assert ".pieces" in message
