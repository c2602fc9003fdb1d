"""`sitegen check` against git: URLs the commit being made would lose, and `--fix`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import article, run_git, site_config

from sitegen.check import check_site
from sitegen.cli import main
from sitegen.urlcheck import add_alias


@pytest.fixture
def repo(make_site) -> Path:
    """A site in a git repository: two published articles committed."""
    site = make_site({
        "content/harbour.md": article("Harbour reopens", "2025-03-04"),
        "content/2025/vote.md": "---\n# the council's vote\ntitle: Council votes\n"
                                "date: 2025-03-05\ntags: [Council]  # local\n---\n\nBody.\r\n",
    })
    run_git(site, "init", "-q")
    run_git(site, "add", ".")
    run_git(site, "commit", "-q", "-m", "first")
    return site


def _check(site: Path, fix: bool = False) -> tuple[list, list[str]]:
    notes: list[str] = []
    problems = check_site(site_config(site, git_history=False), fix=fix, notes=notes)
    return problems, notes


def _errors(site: Path) -> list[str]:
    return [str(p) for p in _check(site)[0] if p.severity == "error"]


def test_a_headline_edit_in_the_index_is_no_problem(repo: Path) -> None:
    (repo / "content/harbour.md").write_text(article("Harbour reopens at last", "2025-03-04"))
    run_git(repo, "add", ".")
    assert _check(repo) == ([], [])


def test_a_changed_url_is_an_error_naming_the_file_and_both_urls(repo: Path) -> None:
    (repo / "content/harbour.md").write_text(article("Harbour", "2025-03-04", slug="port"))
    run_git(repo, "add", ".")
    assert _errors(repo) == ["content/harbour.md: error: its URL would change from "
                             "/2025/03/04/harbour/ to /2025/03/04/port/ with no redirect: add "
                             "the old path to its aliases (`sitegen check --fix` does)"]


def test_only_the_index_counts_not_the_working_tree(repo: Path) -> None:
    (repo / "content/harbour.md").write_text(article("Harbour", "2025-03-04", slug="port"))
    assert _errors(repo) == []  # not staged: not in the commit being made


def test_a_rename_that_changes_the_url_is_caught(repo: Path) -> None:
    run_git(repo, "mv", "content/harbour.md", "content/port.md")
    errors = _errors(repo)
    assert len(errors) == 1 and errors[0].startswith("content/port.md: error:")
    assert "/2025/03/04/harbour/ to /2025/03/04/port/" in errors[0]


def test_a_deleted_article_is_an_error_unless_another_lists_its_url(repo: Path) -> None:
    run_git(repo, "rm", "-q", "content/harbour.md")
    errors = _errors(repo)
    assert len(errors) == 1 and "/2025/03/04/harbour/ of content/harbour.md would disappear" \
        in errors[0]
    (repo / "content/2025/vote.md").write_text(article(
        "Council votes", "2025-03-05", aliases="[/2025/03/04/harbour/]"))
    run_git(repo, "add", ".")
    assert _errors(repo) == []


def test_an_alias_keeps_the_old_url(repo: Path) -> None:
    (repo / "content/harbour.md").write_text(article(
        "Harbour", "2025-03-04", slug="port", aliases="[/2025/03/04/harbour/]"))
    run_git(repo, "add", ".")
    assert _errors(repo) == []


def test_fix_adds_the_alias_and_nothing_else_then_check_passes(repo: Path) -> None:
    path = repo / "content/2025/vote.md"
    before = path.read_bytes()
    changed = before.replace(b"date: 2025-03-05\n", b"date: 2025-03-05\nslug: the-vote\n")
    path.write_bytes(changed)
    run_git(repo, "add", ".")
    result = CliRunner().invoke(main, ["check", str(repo), "--fix"])
    assert result.exit_code == 1  # mended in the working tree, not yet staged
    assert "added the alias /2025/03/05/vote/" in result.output
    assert path.read_bytes() == changed.replace(
        b"  # local\n---", b"  # local\naliases: [/2025/03/05/vote/]\n---")
    run_git(repo, "add", ".")
    result = CliRunner().invoke(main, ["check", str(repo)])
    assert result.exit_code == 0, result.output


def test_outside_git_the_url_check_says_it_skipped(make_site) -> None:
    site = make_site({"content/a.md": article("Alpha", "2025-03-04")})
    assert _check(site) == ([], ["URL check skipped: content/ is not in a git repository "
                                 "with a commit"])
    result = CliRunner().invoke(main, ["check", str(site)])
    assert result.exit_code == 0 and "URL check skipped" in result.output


def test_a_repository_without_a_commit_is_skipped_too(make_site) -> None:
    site = make_site({"content/a.md": article("Alpha", "2025-03-04")})
    run_git(site, "init", "-q")
    assert _check(site)[1][0].startswith("URL check skipped")


# ---------------------------------------------------------------- the textual edit

@pytest.mark.parametrize(("front", "expected"), [
    ("title: A\n", "title: A\naliases: [/old/]\n"),
    ("aliases: [/a/, /b/]  # kept\n", "aliases: [/a/, /b/, /old/]  # kept\n"),
    ("aliases: []\n", "aliases: [/old/]\n"),
    ("aliases: /a/\n", "aliases: [/a/, /old/]\n"),
    ("redirect_from:\n  - /a/\n  - /b/\ntitle: A\n",
     "redirect_from:\n  - /a/\n  - /b/\n  - /old/\ntitle: A\n"),
    ("aliases:\n- /a/\n# note\ntitle: A\n", "aliases:\n- /a/\n- /old/\n# note\ntitle: A\n"),
])
def test_add_alias_edits_the_front_matter_as_text(front: str, expected: str) -> None:
    body = "\n# Heading\n\naliases: not front matter\n"
    assert add_alias(f"---\n{front}---\n{body}".encode(), "/old/") == \
        f"---\n{expected}---\n{body}".encode()


def test_add_alias_keeps_crlf_and_quotes_what_yaml_would_misread() -> None:
    data = b"---\r\ntitle: A\r\n---\r\nBody\r\n"
    assert add_alias(data, "/a: b/") == \
        b'---\r\ntitle: A\r\naliases: ["/a: b/"]\r\n---\r\nBody\r\n'


def test_add_alias_refuses_a_list_it_cannot_extend() -> None:
    with pytest.raises(ValueError):
        add_alias(b"---\naliases: [\n  /a/]\n---\n", "/old/")
