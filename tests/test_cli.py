from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from conftest import article

from sitegen.cli import main
from sitegen.outputtree import MARKER

INVALID = Path(__file__).parent / "sites" / "invalid"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_build_prints_a_summary_line(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01")})
    result = run("build", str(site), "--no-search")
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.output and "rendered" in result.output
    assert (site / "output/index.html").is_file()


def test_a_relative_output_folder_is_taken_from_the_site(make_site, tmp_path, monkeypatch):
    site = make_site({"content/a.md": article("A", "2025-01-01")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("build", str(site), "--output", "public/site", "--no-search")
    assert result.exit_code == 0, result.output
    assert (site / "public/site/index.html").is_file()
    assert not any(elsewhere.iterdir())


def test_invalid_site_lists_every_problem_and_exits_1(tmp_path):
    site = tmp_path / "invalid"
    shutil.copytree(INVALID, site)
    (site / "output").mkdir()
    (site / "output/keep.html").write_text("previous site")
    (site / "output" / MARKER).write_text("generation: earlier\n")  # an earlier build's
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


def _console_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed entry point, `sitegen.cli:run`, as a shell runs it."""
    return subprocess.run([sys.executable, "-c", "from sitegen.cli import run; run()", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_console_script_exits_with_the_commands_code_and_output(make_site, tmp_path):
    site = make_site({"content/a.md": article("A", "2025-01-01")})
    done = _console_script("build", str(site), "--no-search", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 articles" in done.stdout + done.stderr
    assert (site / "output/index.html").is_file()
    shutil.copytree(INVALID, tmp_path / "invalid")
    failed = _console_script("build", str(tmp_path / "invalid"), "--no-search", cwd=tmp_path)
    assert failed.returncode == 1
    assert f"{tmp_path / 'invalid' / 'output'} left as it was" in failed.stderr
    usage = _console_script("no-such-command", cwd=tmp_path)
    assert usage.returncode == 2 and "No such command" in usage.stderr
    version = _console_script("--version", cwd=tmp_path)
    assert version.returncode == 0 and "sitegen" in version.stdout
