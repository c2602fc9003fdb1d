from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import article

from sitegen.cli import main

INVALID = Path(__file__).parent / "sites" / "invalid"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_build_prints_a_summary_line(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01")})
    result = run("build", str(site), "--no-search")
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.output and "rendered" in result.output
    assert (site / "output/index.html").is_file()


def test_invalid_site_lists_every_problem_and_exits_1(tmp_path):
    site = tmp_path / "invalid"
    shutil.copytree(INVALID, site)
    (site / "output").mkdir()
    (site / "output/keep.html").write_text("previous site")
    result = run("build", str(site), "--no-search")
    assert result.exit_code == 1
    out = result.output
    for expected in ["content/tab.md:5", "content/notitle.md:1", "content/baddate.md:3",
                     "content/types.md:4", "content/types.md:5", "content/latin1.md:2",
                     "content/empty.md", "content/list.md:2", "content/slug.md:4"]:
        assert expected in out, expected
    assert (site / "output/keep.html").read_text() == "previous site"


def test_strict_turns_typo_warnings_into_errors(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01", autor="Me")})
    assert run("build", str(site), "--no-search").exit_code == 0
    result = run("build", str(site), "--no-search", "--strict")
    assert result.exit_code == 1 and "did you mean 'author'" in result.output


def test_keep_going_exits_0_and_lists_skipped(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01"),
                      "content/b.md": "---\ntitle: B\ndate: never\n---\n"})
    result = run("build", str(site), "--no-search", "--keep-going")
    assert result.exit_code == 0 and "skipped content/b.md:3" in result.output


def test_bad_usage_exits_2(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01")})
    assert run("build", str(site), "--jobs", "0").exit_code == 2
    assert run("build", str(site), "--base-url", "not a url").exit_code == 2
    assert run("build", str(site), "--output", str(site / "content")).exit_code == 2
    assert run("build", str(site), "--output", str(site)).exit_code == 2
