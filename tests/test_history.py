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


def test_updates_newest_first_with_their_own_offsets(repo: Path) -> None:
    found = git_history(repo, ALL)
    # café-olé.md was only added: its publication is no update
    assert set(found) == {"2026/02/first.md", "2025/03/bundle/index.md"}
    first = found["2026/02/first.md"]
    assert len(first) == 1
    assert first[0].date == datetime(2026, 2, 3, 18, 0, tzinfo=CET)
    assert first[0].date.utcoffset() == timedelta(hours=1)
    assert first[0].note == ""  # never the commit's own message
    assert [r.date for r in found["2025/03/bundle/index.md"]] == [
        datetime(2026, 2, 2, 8, 0, tzinfo=EST)]


def test_only_the_paths_asked_for(repo: Path) -> None:
    assert set(git_history(repo, ["2026/02/first.md"])) == {"2026/02/first.md"}
    assert git_history(repo, []) == {}


def test_content_folder_at_the_repository_root(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write(tmp_path / "2026/01/a.md", "a\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "a", date="2026-01-05T10:00:00+00:00")
    write(tmp_path / "2026/01/a.md", "a, more\n")
    git(tmp_path, "commit", "-qam", "more", date="2026-01-06T10:00:00+00:00")
    found = git_history(tmp_path, ["2026/01/a.md"])
    assert [r.date.day for r in found["2026/01/a.md"]] == [6]


def test_one_log_and_one_blob_read_for_the_whole_archive(repo: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args, *rest, **kwargs):
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(history.subprocess, "run", counting_run)
    assert len(git_history(repo, ALL)) == 2
    assert len(calls) == 3  # rev-parse, one log, one cat-file --batch
    assert sum("log" in c for c in calls) == 1
    assert sum("cat-file" in c for c in calls) == 1


# ---------------------------------------------------------------- what counts as an update

def article(title: str, body: str, summary: str = "", tags: str = "[a]") -> str:
    lines = ["---", f"title: {title}", "date: 2026-01-01 09:00:00 +0000", f"tags: {tags}"]
    if summary:
        lines.append(f"summary: {summary}")
    return "\n".join([*lines, "---", "", body, ""])


@pytest.fixture()
def news(tmp_path: Path) -> Path:
    """A repository with one article, published on January 1."""
    git(tmp_path, "init", "-q")
    write(tmp_path / "a.md", article("Alpha", "Body."))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "Publish alpha", date="2026-01-01T09:00:00+00:00")
    return tmp_path


def commit(repo: Path, text: str, message: str, date: str) -> str:
    write(repo / "a.md", text)
    git(repo, "commit", "-qam", message, date=date)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def dates(repo: Path) -> list[int]:
    return [r.date.day for r in git_history(repo, ["a.md"]).get("a.md", ())]


def test_the_first_commit_is_never_an_update(news: Path) -> None:
    assert git_history(news, ["a.md"]) == {}
    commit(news, article("Alpha", "Body, fixed."), "Fix", "2026-01-02T09:00:00+00:00")
    assert dates(news) == [2]


def test_a_front_matter_only_commit_is_not_an_update(news: Path) -> None:
    commit(news, article("Alpha", "Body.", tags="[a, b]"), "Retag", "2026-01-02T09:00:00+00:00")
    assert dates(news) == []
    commit(news, article("Alpha, revised", "Body.", tags="[a, b]"), "Retitle",
           "2026-01-03T09:00:00+00:00")
    commit(news, article("Alpha, revised", "Body.", "A new dek.", tags="[a, b]"), "Dek",
           "2026-01-04T09:00:00+00:00")
    commit(news, article("Alpha, revised", "Body.", "A new dek.", tags="[c]"), "Retag",
           "2026-01-05T09:00:00+00:00")
    assert dates(news) == [4, 3]  # the headline and the summary count; tags do not


def test_a_summary_under_a_foreign_key_counts_as_the_summary(news: Path) -> None:
    text = article("Alpha", "Body.").replace("tags: [a]", "tags: [a]\ndescription: Old")
    commit(news, text, "Add a description", "2026-01-02T09:00:00+00:00")
    commit(news, text.replace("Old", "New"), "Change it", "2026-01-03T09:00:00+00:00")
    assert dates(news) == [3, 2]


def test_an_ignored_revision_is_not_counted(news: Path) -> None:
    kept = commit(news, article("Alpha", "Body two."), "Edit", "2026-01-02T09:00:00+00:00")
    ignored = commit(news, article("Alpha", "Body three."), "Reformat",
                     "2026-01-03T09:00:00+00:00")
    assert dates(news) == [3, 2]
    write(news / history.IGNORE_REVS_FILE,
          f"# mass reformatting\n{ignored}  # prettier\n{kept[:7]}\n")
    assert dates(news) == [2]  # an abbreviated hash is not GitHub's format: not honoured
    before = history.head_commit(news)
    write(news / history.IGNORE_REVS_FILE, f"{ignored}\n{kept}\n")
    assert dates(news) == []
    assert history.head_commit(news) != before  # a changed list is a history change


def test_a_revision_note_trailer_is_the_readers_note(news: Path) -> None:
    commit(news, article("Alpha", "Body, fixed."),
           "Fix the mayor's name\n\nInternal detail.\n\n"
           "Revision-Note: Corrected the spelling of the mayor's name.\nSigned-off-by: T <t@e>",
           "2026-01-02T09:00:00+00:00")
    (revision,) = git_history(news, ["a.md"])["a.md"]
    assert revision.note == "Corrected the spelling of the mayor's name."


def test_a_file_without_front_matter_counts_every_change(news: Path) -> None:
    commit(news, "plain text\n", "Plain", "2026-01-02T09:00:00+00:00")
    commit(news, "plain text, changed\n", "Plain again", "2026-01-03T09:00:00+00:00")
    assert dates(news) == [3, 2]


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


def test_what_an_edit_changed_is_remembered(news: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    commit(news, article("Alpha", "Body.", tags="[b]"), "Retag", "2026-01-02T09:00:00+00:00")
    commit(news, article("Alpha", "Body two.", tags="[b]"), "Edit", "2026-01-03T09:00:00+00:00")
    cache = tmp_path / "cache"
    first = git_history(news, ["a.md"], cache)
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args, *rest, **kwargs):
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(history.subprocess, "run", counting_run)
    assert git_history(news, ["a.md"], cache) == first
    assert [r.date.day for r in first["a.md"]] == [3]
    assert not any("cat-file" in c for c in calls)  # no blob read again
