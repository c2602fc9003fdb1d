"""`sitegen new`: the draft it writes, its path, and that it never overwrites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sitegen import content, sources
from sitegen.authoring import new_article
from sitegen.cli import main
from sitegen.config import Config, load_config
from sitegen.errors import SitegenError
from sitegen.records import Article
from sitegen.urls import Urls

NOW = datetime(2026, 11, 29, 19, 5, 7, 123456, tzinfo=UTC)  # 14:05:07 in New York


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    (tmp_path / "sitegen.toml").write_text('timezone = "America/New_York"\n')
    (tmp_path / "content").mkdir()
    return tmp_path


def parse(path: Path, config: Config) -> Article:
    rel = path.relative_to(config.content_dir).as_posix()
    src = sources.read_source(rel, path, ())
    return content.parse_source(src, config, Urls(config)).article


def test_writes_a_draft_with_its_front_matter(site: Path) -> None:
    config = load_config(site, now=NOW)
    path = new_article(config, "Senate passes the budget", section="Politics",
                       tags=["Budget", "Congress"], authors=["Marco Rubio", "Ann Lee"])
    assert path == site / "content/2026/11/senate-passes-the-budget.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: Senate passes the budget\n"
                           "slug: senate-passes-the-budget\n"  # the URL outlives a new headline
                           "date: 2026-11-29 14:05:07 -0500\n")
    assert "draft: true\n" in text
    article = parse(path, config)
    assert article.title == "Senate passes the budget"
    assert article.date == datetime(2026, 11, 29, 14, 5, 7, tzinfo=config.tz)
    assert article.date.utcoffset() == timedelta(hours=-5)
    assert article.section is not None and article.section.name == "Politics"
    assert [t.name for t in article.tags] == ["Budget", "Congress"]
    assert [a.name for a in article.authors] == ["Marco Rubio", "Ann Lee"]
    assert article.draft is True
    assert article.summary == ""
    assert not config.publishes(article)


def test_folder_follows_the_local_date(site: Path) -> None:
    # 03:00 UTC on December 1st is still November 30th in New York.
    config = load_config(site, now=datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    path = new_article(config, "Late night vote")
    assert path == site / "content/2026/11/late-night-vote.md"
    assert parse(path, config).date.day == 30


@pytest.mark.parametrize("title", [
    'Fed: "No rate cut", says chair',
    "It's a #1 hit: yes",
    "- [draft] {not} a list & *not* an alias: @mention `code`",
    "Yes",
    "1984",
    "Ça va: Zürich über alles",
])
def test_titles_that_need_quoting_survive(site: Path, title: str) -> None:
    config = load_config(site, now=NOW)
    path = new_article(config, title, section="U.S.: Politics", tags=["yes", "no: maybe"],
                       authors=["O'Brien"])
    article = parse(path, config)
    assert article.title == title
    assert article.section is not None and article.section.name == "U.S.: Politics"
    assert [t.name for t in article.tags] == ["yes", "no: maybe"]
    assert [a.name for a in article.authors] == ["O'Brien"]


def test_never_overwrites(site: Path) -> None:
    config = load_config(site, now=NOW)
    path = new_article(config, "Storm hits the coast")
    path.write_text("---\ntitle: edited by hand\n---\n", encoding="utf-8")
    with pytest.raises(SitegenError, match="storm-hits-the-coast.md"):
        new_article(config, "Storm hits the coast")
    assert path.read_text(encoding="utf-8") == "---\ntitle: edited by hand\n---\n"


def test_refuses_when_a_bundle_has_the_slug(site: Path) -> None:
    bundle = site / "content/2026/11/storm-hits-the-coast/index.md"
    bundle.parent.mkdir(parents=True)
    bundle.write_text("---\ntitle: x\n---\n", encoding="utf-8")
    with pytest.raises(SitegenError, match="index.md"):
        new_article(load_config(site, now=NOW), "Storm hits the coast")
    assert not (site / "content/2026/11/storm-hits-the-coast.md").exists()


def test_headline_without_a_slug_is_refused(site: Path) -> None:
    with pytest.raises(SitegenError, match="no letters or digits"):
        new_article(load_config(site, now=NOW), "!!!")


def test_cli_prints_the_path_and_exits_1_on_a_second_run(site: Path) -> None:
    runner = CliRunner()
    args = ["new", "Council approves the plan", "--site", str(site), "--section", "City",
            "--tag", "Housing", "--tag", "Zoning", "--author", "Ann Lee"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    path = Path(first.output.strip())
    assert path.name == "council-approves-the-plan.md"
    assert path.parent.parent.parent == site / "content"
    article = parse(path, load_config(site))
    assert [t.name for t in article.tags] == ["Housing", "Zoning"]
    second = runner.invoke(main, args)
    assert second.exit_code == 1
    assert "already exists" in second.output


def test_a_very_long_headline_gives_a_short_file_name(site: Path) -> None:
    config = load_config(site, now=NOW)
    title = "Officials " + "announce " * 60 + "a plan"
    path = new_article(config, title)
    assert len(path.name.encode()) <= 103 and path.name.startswith("officials-announce-")
    assert content.parse_source(sources.read_source(
        path.relative_to(config.content_dir).as_posix(), path, ()), config,
        Urls(config)).article.title == title


@pytest.mark.parametrize("field", ["title", "tags", "section"])
def test_control_characters_are_refused(site: Path, field: str) -> None:
    config = load_config(site, now=NOW)
    values = {"title": "Plain", "section": None, "tags": ()}
    values[field] = ("Bad\x00title" if field == "title" else
                     ("ok", "b\x1bd") if field == "tags" else "S\x7f")
    with pytest.raises(SitegenError, match="control character U\\+00"):
        new_article(config, values.pop("title"), **values)
    assert not list((site / "content").rglob("*.md"))


def test_cli_new_with_a_headline_of_5000_characters(site: Path) -> None:
    result = CliRunner().invoke(main, ["new", "--site", str(site), "word " * 1000])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path.is_file() and len(path.name) <= 103
