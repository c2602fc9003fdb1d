"""`sitegen check`: every problem in one run, each with file and line, and nothing written."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import run_git
from PIL import Image

from sitegen import workers as workers_module
from sitegen.build import build
from sitegen.check import check_site
from sitegen.cli import main
from sitegen.config import load_config
from sitegen.errors import Problem

ROOT = Path(__file__).resolve().parent.parent
CONFIG = 'base_url = "https://example.org/"\ntimezone = "America/New_York"\n'


def make_site(tmp_path: Path, files: dict[str, str | bytes], config: str = CONFIG) -> Path:
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "sitegen.toml").write_text(config, encoding="utf-8")
    for name, data in files.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return site


def article(title: str, date: str = "2026-02-27 10:00:00 -0500", body: str = "Text.",
            **meta: str) -> str:
    lines = [f"title: {title}", f"date: {date}", *(f"{k}: {v}" for k, v in meta.items())]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


def image(fmt: str) -> bytes:
    """A real image: a build reads local images (images.py), and fake bytes are an error."""
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (40, 90, 140)).save(out, fmt)
    return out.getvalue()


def check(site: Path, **overrides) -> list[Problem]:
    return check_site(load_config(site, **overrides))


def lines(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


GOOD = article("Good story", tags="[Budget]", section="Politics", body=(
    "Intro with [an anchor](#details).\n"
    "\n"
    "See [the bundle](/2025/03/04/bundle/), [its map](/2025/03/04/bundle/map.svg),\n"
    "[the tag](/tags/budget/), [the section](/sections/politics/?page=1#top),\n"
    "[the day](/2026/02/27/), [the feed](/feed.xml), [search](/search/),\n"
    "[no slash](/archive), [the logo](/img/logo.png) and ![logo](/img/logo.png).\n"
    "[Elsewhere](https://example.com/x) and [mail](mailto:desk@example.org).\n"))
BUNDLE = article("Bundle", date="2025-03-04", slug="bundle", image="lead.jpg",
                 body="![map](map.svg)\n\n[the report](docs/report.pdf)\n\n"
                      "[back](../../../../2026/02/27/good-story/)\n")
VALID = {
    "content/2026/02/good-story.md": GOOD,  # the file name gives the URL
    "content/2025/03/bundle/index.md": BUNDLE,
    "content/2025/03/bundle/map.svg": "<svg/>",
    "content/2025/03/bundle/lead.jpg": image("JPEG"),
    "content/2025/03/bundle/docs/report.pdf": b"%PDF",
    "static/img/logo.png": image("PNG"),
}


def test_a_valid_site_has_no_problems(tmp_path: Path) -> None:
    assert lines(check(make_site(tmp_path, VALID))) == []


def test_broken_link_reported_with_its_line(tmp_path: Path) -> None:
    body = "First paragraph.\n\nSecond, see [the story](/2026/02/27/no-such-story/).\n"
    site = make_site(tmp_path, {**VALID, "content/2026/02/broken.md": article("Broken",
                                                                              body=body)})
    problems = check(site)
    assert lines(problems) == [
        "content/2026/02/broken.md:7: error: link '/2026/02/27/no-such-story/' leads nowhere: "
        "no page or file at /2026/02/27/no-such-story/"]


def test_links_carry_the_base_path_of_a_project_site(tmp_path: Path) -> None:
    config = CONFIG.replace("https://example.org/", "https://user.github.io/repo/")
    site = make_site(tmp_path, {**VALID, "content/2026/02/broken.md": article(
        "Broken", body="[x](/2026/02/27/nope/)\n")}, config)
    assert lines(check(site)) == [
        "content/2026/02/broken.md:5: error: link '/2026/02/27/nope/' leads nowhere: "
        "no page or file at /repo/2026/02/27/nope/"]


def test_missing_images_in_bundles_and_front_matter(tmp_path: Path) -> None:
    files = dict(VALID)
    files["content/2025/03/bundle/index.md"] = article(
        "Bundle", date="2025-03-04", slug="bundle", image="gone.jpg",
        body="![map](map.svg)\n\nText.\n\n![chart](chart.png)\n")
    files["content/2026/02/plain.md"] = article("Plain", image="photo.jpg",
                                                body="![still](/img/missing.png)\n")
    problems = lines(check(make_site(tmp_path, files)))
    assert problems == [
        "content/2025/03/bundle/index.md:5: error: image 'gone.jpg' is not a file of the "
        "bundle content/2025/03/bundle/",
        "content/2025/03/bundle/index.md:11: error: image 'chart.png' is not a file of the "
        "bundle content/2025/03/bundle/",
        "content/2026/02/plain.md:4: error: image 'photo.jpg' not found: only a page bundle "
        "(a folder with index.md) holds an article's files",
        "content/2026/02/plain.md:6: error: image '/img/missing.png' leads nowhere: "
        "no page or file at /img/missing.png",
    ]


def test_a_bundle_file_outside_content_is_one_problem_among_others(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    files = dict(VALID)
    files["content/2026/02/plain.md"] = article("Plain", body="[gone](/no/such/page/)\n")
    site = make_site(tmp_path, files)
    (site / "content/2025/03/bundle/leak.txt").symlink_to(secret)
    problems = lines(check(site))
    assert any("leak.txt" in p and "outside" in p for p in problems)
    assert any(p.startswith("content/2026/02/plain.md:5") and "/no/such/page/" in p
               for p in problems)


def test_every_parse_error_of_every_file_in_one_run(tmp_path: Path) -> None:
    files = {
        **VALID,
        "content/2026/02/a.md": "---\ntitle: A\ndate: not a date\ndraft: maybe\n---\nx\n",
        "content/2026/02/b.md": "---\ntitle: [unclosed\n---\n",
        "content/2026/02/c.md": "no front matter\n",
    }
    problems = lines(check(make_site(tmp_path, files)))
    assert [p.split(": error")[0] for p in problems] == [
        "content/2026/02/a.md:3", "content/2026/02/a.md:4", "content/2026/02/b.md:3",
        "content/2026/02/c.md:1"]


def test_duplicate_urls(tmp_path: Path) -> None:
    files = {**VALID, "content/2026/02/2026-02-27-good-story.md": article(
        "Good story", date="2026-02-27 18:00:00 -0500")}
    problems = lines(check(make_site(tmp_path, files)))
    assert len(problems) == 1
    assert "URL /2026/02/27/good-story/ is also the URL of content/2026/02/" in problems[0]


def test_typo_keys_warn_and_strict_makes_them_errors(tmp_path: Path) -> None:
    files = {**VALID, "content/2026/02/typo.md": article("Typo", sumary="'Short.'")}
    site = make_site(tmp_path, files)
    expected = "content/2026/02/typo.md:4: {}: unknown key 'sumary': did you mean 'summary'?"
    assert lines(check(site)) == [expected.format("warning")]
    assert lines(check(site, strict=True)) == [expected.format("error")]
    runner = CliRunner()
    assert runner.invoke(main, ["check", str(site)]).exit_code == 0
    strict = runner.invoke(main, ["check", str(site), "--strict"])
    assert strict.exit_code == 1
    assert expected.format("error") in strict.output


def test_links_to_unpublished_articles(tmp_path: Path) -> None:
    files = {
        **VALID,
        "content/2026/02/draft.md": article(
            "Draft story", date="2026-02-20", draft="true", slug="draft-story",
            body="[good](/2026/02/27/good-story/) [other draft](/2026/02/21/second-draft/)"),
        "content/2026/02/draft2.md": article("Second draft", date="2026-02-21", draft="true",
                                             slug="second-draft"),
        "content/2099/01/later.md": article("Later", date="2099-01-01"),
        "content/2026/02/links.md": article(
            "Links", body="[a draft](/2026/02/20/draft-story/)\n\n"
                          "[embargoed](/2099/01/01/later/)\n"),
    }
    assert lines(check(make_site(tmp_path, files))) == [
        "content/2026/02/links.md:5: error: link '/2026/02/20/draft-story/' leads to "
        "content/2026/02/draft.md, a draft",
        "content/2026/02/links.md:7: warning: link '/2099/01/01/later/' leads to "
        "content/2099/01/later.md, embargoed until 2099-01-01 00:00 -0500",
    ]


def test_layout_errors_with_file_and_line(tmp_path: Path) -> None:
    files = dict(VALID)
    files["layouts/terms.html"] = ('{% extends "base.html" %}\n{% block main %}\n'
                                   "<h1>{{ page.title }}</h1>\n{{ no_such_variable }}\n"
                                   "{% endblock %}\n")
    files["layouts/partials/unused.html"] = "<p>\n{% if x %}\nnever closed\n"
    problems = lines(check(make_site(tmp_path, files)))
    assert problems[0].startswith("layouts/partials/unused.html:3: error: Unexpected end of "
                                  "template")
    # the same mistake is reported once, though three kinds of page use the layout
    assert len(problems) == 2
    assert problems[1].startswith("layouts/terms.html:4: error: UndefinedError: "
                                  "'no_such_variable' is undefined (rendering /")


def test_article_layout_rendered_with_a_real_article(tmp_path: Path) -> None:
    source = (ROOT / "layouts" / "article.html").read_text(encoding="utf-8")
    broken = source.replace("{% block main %}",
                            "{% block main %}{{ article.title.no_such.attribute }}", 1)
    assert broken != source
    files = {**VALID, "layouts/article.html": broken}
    problems = lines(check(make_site(tmp_path, files)))
    assert len(problems) == 1
    assert problems[0].startswith("layouts/article.html:")
    assert "no_such" in problems[0] and "(rendering /20" in problems[0]


def test_cli_exits_1_and_lists_every_problem(tmp_path: Path) -> None:
    files = {**VALID,
             "content/2026/02/x.md": article("X", body="[a](/nope/)\n\n[b](/nope-either/)\n"),
             "content/2026/02/y.md": "---\ntitle: Y\n---\n"}
    result = CliRunner().invoke(main, ["check", str(make_site(tmp_path, files))])
    assert result.exit_code == 1
    assert "content/2026/02/x.md:5: error: link '/nope/'" in result.output
    assert "content/2026/02/x.md:7: error: link '/nope-either/'" in result.output
    assert "error: missing 'date'" in result.output
    assert "3 errors, 0 warnings" in result.output


def test_writes_nothing(tmp_path: Path) -> None:
    site = make_site(tmp_path, {**VALID, "content/2026/02/x.md": article("X",
                                                                         body="[a](/nope/)")})
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    assert len(check(site)) == 1
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before


def test_reads_the_build_cache_without_changing_it(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path, {**VALID, "content/2026/02/x.md": article(
        "X", draft="true", body="[a](/nope/)")})
    build(load_config(site, search=False))
    caches = sorted((site / ".sitegen-cache").glob("*.sqlite"))
    assert caches
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in caches]

    def no_parsing(worker, job, sources):
        raise AssertionError(f"parsed again: {[s.path for s in sources]}")

    monkeypatch.setattr(workers_module, "parse_many", no_parsing)
    assert lines(check(site)) == [
        "content/2026/02/x.md:6: error: link '/nope/' leads nowhere: no page or file at /nope/"]
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in caches] == digests


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_layouts_are_checked_with_the_git_history_they_show(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/2026/02/good-story.md": article("Good story")})
    broken = (ROOT / "layouts/article.html").read_text(encoding="utf-8").replace(
        "{{ rev.date | time12 }}", "{{ rev.date.no_such_field }}")
    assert "no_such_field" in broken
    (site / "layouts").mkdir()
    (site / "layouts/article.html").write_text(broken, encoding="utf-8")
    run_git(site, "init", "-q")
    run_git(site, "add", "content")
    run_git(site, "commit", "-qm", "Publish", date="2026-02-27T16:00:00+00:00")
    story = site / "content/2026/02/good-story.md"
    story.write_text(story.read_text(encoding="utf-8").replace("Text.", "Text, updated."),
                     encoding="utf-8")  # the body changes: an update, the loop's one revision
    run_git(site, "commit", "-qam", "Update", date="2026-02-28T10:00:00+00:00")
    found = lines(check(site))
    assert any("layouts/article.html" in line and "no_such_field" in line for line in found), found
    assert lines(check(site, git_history=False)) == []  # no revisions: the loop never runs


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "sitegen-check")
    assert hook["entry"] == "sitegen check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["files"] == "^(content|layouts|static)/"


def test_author_ids_without_an_entry_and_bylines_differing_in_case_are_listed(tmp_path):
    site = make_site(tmp_path, {
        "content/a.md": article("A", author="jdoe"),
        "content/b.md": article("B", author="nobody"),
        "content/c.md": article("C", author="'José Ruiz'"),
        "content/d.md": article("D", author="'jose ruiz'"),
        "data/authors.yaml": "jdoe:\n  name: Jane Doe\n",
    })
    found = lines(check(site))
    assert any("data/authors.yaml" in line and "nobody" in line for line in found), found
    assert any("José Ruiz" in line and "jose ruiz" in line for line in found), found
    assert not any("jdoe" in line for line in found), found


def test_an_article_linking_outside_content_is_listed_and_the_rest_checked(tmp_path):
    outside = tmp_path / "elsewhere.md"
    outside.write_text(article("Elsewhere"))
    site = make_site(tmp_path, {"content/a.md": article("A", body="[b](/no/such/page/)")})
    (site / "content" / "link.md").symlink_to(outside)
    found = lines(check(site))
    assert any("link.md" in line and "outside the content folder" in line for line in found)
    assert any("a.md" in line and "/no/such/page/" in line for line in found), found
