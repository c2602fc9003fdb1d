"""Git history: one batched `git log`, parsed into revisions per article."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import run_git

from sitegen import history
from sitegen.history import git_history

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

EST = timezone(timedelta(hours=-5))
CET = timezone(timedelta(hours=1))


def git(repo: Path, *args: str, date: str | None = None) -> None:
    run_git(repo, *args, date=date)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository whose site lives in a subfolder: repo/site/content/..."""
    root = tmp_path / "repo"
    content = root / "site" / "content"
    git(tmp_path, "init", "-q", str(root))
    write(content / "2026/02/first.md", "one\n")
    write(content / "2026/02/café-olé.md", "two\n")
    write(content / "2025/03/bundle/index.md", "three\n")
    write(content / "2025/03/bundle/photo.jpg", "jpg\n")
    write(root / "README.md", "not content\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Add the first stories: two of them",
        date="2026-02-01T09:30:00-05:00")
    write(content / "2026/02/first.md", "one, corrected\n")
    write(root / "README.md", "still not content\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Correct the first story", date="2026-02-03T18:00:00+01:00")
    write(content / "2025/03/bundle/index.md", "three, updated\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Update the bundle", date="2026-02-02T08:00:00-05:00")
    write(content / "2026/02/uncommitted.md", "new\n")
    return content


ALL = ["2026/02/first.md", "2026/02/café-olé.md", "2025/03/bundle/index.md",
       "2026/02/uncommitted.md"]


def test_revisions_newest_first_with_their_own_offsets(repo: Path) -> None:
    found = git_history(repo, ALL)
    assert set(found) == {"2026/02/first.md", "2026/02/café-olé.md", "2025/03/bundle/index.md"}
    first = found["2026/02/first.md"]
    assert [r.message for r in first] == ["Correct the first story",
                                          "Add the first stories: two of them"]
    assert first[0].date == datetime(2026, 2, 3, 18, 0, tzinfo=CET)
    assert first[0].date.utcoffset() == timedelta(hours=1)
    assert first[1].date == datetime(2026, 2, 1, 9, 30, tzinfo=EST)
    assert first[1].date.utcoffset() == timedelta(hours=-5)
    assert [r.message for r in found["2026/02/café-olé.md"]] == [
        "Add the first stories: two of them"]
    assert [r.message for r in found["2025/03/bundle/index.md"]] == [
        "Update the bundle", "Add the first stories: two of them"]


def test_only_the_paths_asked_for(repo: Path) -> None:
    assert set(git_history(repo, ["2026/02/first.md"])) == {"2026/02/first.md"}
    assert git_history(repo, []) == {}


def test_content_folder_at_the_repository_root(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path / "2026/01/a.md", "a\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "a", date="2026-01-05T10:00:00+00:00")
    found = git_history(tmp_path, ["2026/01/a.md"])
    assert [r.message for r in found["2026/01/a.md"]] == ["a"]


def test_one_log_for_the_whole_archive(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args, *rest, **kwargs):
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(history.subprocess, "run", counting_run)
    assert len(git_history(repo, ALL)) == 3
    assert len(calls) == 2  # rev-parse, then one log
    assert sum("log" in c for c in calls) == 1


def test_shallow_clone_gives_nothing(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.parent.parent.as_uri(), str(clone))
    assert git_history(clone / "site" / "content", ALL) == {}


def test_outside_a_repository_gives_nothing(tmp_path: Path) -> None:
    write(tmp_path / "content/2026/01/a.md", "a\n")
    assert git_history(tmp_path / "content", ["2026/01/a.md"]) == {}
    assert git_history(tmp_path / "missing", ["2026/01/a.md"]) == {}


def test_repository_without_commits_gives_nothing(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path / "2026/01/a.md", "a\n")
    assert git_history(tmp_path, ["2026/01/a.md"]) == {}


def test_without_git_gives_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert git_history(repo, ALL) == {}
