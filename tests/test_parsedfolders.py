"""The parse stage's outcome kept by content folder (sitegen/parsedfolders.py): an edit makes
anew only its folder's outcome, and every build still equals a clean one: across folders
(duplicate URLs), in time (embargoes), after other settings, damage and deleted folders."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

import pytest
from conftest import article, build_site, site_config
from test_build import rebuild_and_compare

from sitegen import parsedfolders
from sitegen.cache import database_path
from sitegen.errors import ContentError

FILES = {
    "content/2025/03/alpha.md": article("Alpha", "2025-03-04 09:00:00", "Alpha body."),
    "content/2025/03/beta.md": article("Beta", "2025-03-05 09:00:00", "Beta body."),
    "content/2025/04/gamma.md": article("Gamma", "2025-04-01 09:00:00", "Gamma body."),
    "content/2024/12/delta.md": article("Delta", "2024-12-31 09:00:00", "Delta body."),
}


@pytest.fixture
def collected(monkeypatch) -> list[list[str]]:
    """The source paths of each folder outcome the parse stage makes (not reads) per build."""
    made: list[list[str]] = []
    real = parsedfolders.outcome_of

    def spy(sources, results, keys, config):
        made.append(sorted(src.path for src in sources))
        return real(sources, results, keys, config)

    monkeypatch.setattr(parsedfolders, "outcome_of", spy)
    return made


def _db(site) -> sqlite3.Connection:
    config = site_config(site)
    return sqlite3.connect(database_path(config.cache_dir, config.output_dir))


def test_an_edit_makes_anew_only_the_outcome_of_its_folder(make_site, collected):
    site = make_site(FILES)
    build_site(site)
    assert len(collected) == 3  # 2025/03, 2025/04, 2024/12
    collected.clear()
    path = site / "content/2025/03/beta.md"
    path.write_text(path.read_text().replace("Beta body.", "Beta body, corrected."))
    build_site(site)
    assert collected == [["2025/03/alpha.md", "2025/03/beta.md"]]
    assert "Beta body, corrected." in \
        (site / "output/2025/03/05/beta/index.html").read_text()
    rebuild_and_compare(site)


def test_other_settings_make_every_folder_anew(make_site, collected):
    site = make_site(FILES)
    build_site(site)
    collected.clear()
    build_site(site, strict=True)  # not part of the articles' parse keys
    assert len(collected) == 3
    collected.clear()
    build_site(site, strict=True)
    assert collected == []


def test_a_kept_folder_publishes_its_embargoed_article_when_its_time_comes(make_site):
    site = make_site({**FILES, "content/2025/06/embargoed.md":
                      article("Embargoed", "2025-06-10 09:00:00", "Not yet.")})
    before, after = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC)
    build_site(site, now=before)
    page = site / "output/2025/06/10/embargoed/index.html"
    assert not page.exists()
    (site / "content/2025/03/alpha.md").write_text(article("Alpha", "2025-03-04 09:00:00",
                                                           "Alpha body, corrected."))
    rebuild_and_compare(site, now=after)  # 2025/06 is unchanged, but its time came
    assert page.is_file()
    # and back: a build with an earlier `now` does not trust what was made later
    (site / "content/2025/03/alpha.md").write_text(article("Alpha", "2025-03-04 09:00:00",
                                                           "Alpha body."))
    rebuild_and_compare(site, now=before)
    assert not page.exists()


def test_a_url_taken_in_a_kept_folder_is_still_an_error(make_site, collected):
    site = make_site(FILES)
    build_site(site)
    collected.clear()
    (site / "content/elsewhere").mkdir()
    (site / "content/elsewhere/gamma.md").write_text(
        article("Gamma", "2025-04-01 09:00:00", "Another Gamma."))
    with pytest.raises(ContentError) as caught:
        build_site(site)
    assert collected == [["elsewhere/gamma.md"]]  # 2025/04 was not made again, yet:
    assert "content/elsewhere/gamma.md" in str(caught.value)
    assert "content/2025/04/gamma.md" in str(caught.value)
    report = build_site(site, keep_going=True)
    assert report.articles == 4 and any("elsewhere/gamma.md" in s for s in report.skipped)


def test_a_damaged_kept_outcome_is_made_again(make_site, collected, caplog):
    site = make_site(FILES)
    build_site(site)
    with _db(site) as db:
        db.execute("UPDATE parsed_folders SET outcome = x'800400' WHERE folder = '2025/04'")
    db.close()
    collected.clear()
    (site / "content/2024/12/delta.md").write_text(
        article("Delta", "2024-12-31 09:00:00", "Delta body, corrected."))
    with caplog.at_level(logging.WARNING):
        rebuild_and_compare(site)
    assert ["2025/04/gamma.md"] in collected
    assert "does not unpickle" in caplog.text


def test_a_deleted_folder_leaves_no_parsed_record_behind(make_site):
    site = make_site(FILES)
    build_site(site)
    with _db(site) as db:
        before = {key for (key,) in db.execute("SELECT key FROM parsed")}
    db.close()
    (site / "content/2024/12/delta.md").unlink()
    (site / "content/2024/12").rmdir()
    (site / "content/2024").rmdir()
    rebuild_and_compare(site)
    with _db(site) as db:
        after = {key for (key,) in db.execute("SELECT key FROM parsed")}
        folders = {folder for (folder,) in db.execute("SELECT folder FROM parsed_folders")}
    db.close()
    assert len(before - after) == 1 and after < before
    assert folders == {"2025/03", "2025/04"}


def test_a_kept_folders_warnings_are_reported_again(make_site):
    site = make_site({**FILES, "content/2025/04/gamma.md":
                      article("Gamma", "2025-04-01 09:00:00", "Gamma {{< nosuch >}} body.")})
    first = build_site(site, keep_going=True)
    assert first.warnings or first.skipped
    (site / "content/2024/12/delta.md").write_text(
        article("Delta", "2024-12-31 09:00:00", "Delta body, corrected."))
    again = build_site(site, keep_going=True)
    assert (again.warnings, again.skipped) == (first.warnings, first.skipped)
