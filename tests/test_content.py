from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from sitegen import sources
from sitegen.cli import main
from sitegen.config import load_config
from sitegen.content import ArticleError, parse_source
from sitegen.dates import parse_date
from sitegen.errors import ContentError
from sitegen.records import SourceFile
from sitegen.urls import Urls

NY = load_config(Path("."), timezone="America/New_York").tz


def parse(text: str | bytes, path: str = "2025/01/a.md", tmp_path: Path | None = None, **cfg):
    cfg.setdefault("languages", ())  # the repository's sample site has two; these tests one
    config = load_config(Path(tmp_path or "."), timezone="America/New_York", **cfg)
    data = text.encode() if isinstance(text, str) else text
    return parse_source(SourceFile(path, data, "d"), config, Urls(config))


def problems(text: str | bytes, path: str = "2025/01/a.md"):
    with pytest.raises(ArticleError) as info:
        parse(text, path)
    return info.value.problems


def offset(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize("raw, expected", [
    ("2019-02-14 09:24:00 -0500", datetime(2019, 2, 14, 9, 24, tzinfo=offset(-5))),
    ("2015-03-17 14:00:00 -4", datetime(2015, 3, 17, 14, 0, tzinfo=offset(-4))),
    ("2019-02-14 8:32:24 -0400", datetime(2019, 2, 14, 8, 32, 24, tzinfo=offset(-4))),
    ("2015-06-01", datetime(2015, 6, 1, tzinfo=offset(-4))),  # New York summer time
    ("2014-05-14T11:02:00-04:00", datetime(2014, 5, 14, 11, 2, tzinfo=offset(-4))),
    ("2020-07-07T00:00:00.000Z", datetime(2020, 7, 7, tzinfo=UTC)),
    ("2020-01-07 10:00", datetime(2020, 1, 7, 10, tzinfo=offset(-5))),
])
def test_date_strings_keep_their_written_offset(raw, expected):
    value = parse_date(raw, NY)
    assert value == expected and value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("line, expected", [
    ("date: 2019-02-14 09:24:00 -0500", datetime(2019, 2, 14, 9, 24, tzinfo=offset(-5))),
    ("date: 2015-03-17 14:00:00 -4", datetime(2015, 3, 17, 14, tzinfo=offset(-4))),
    ("date: 2019-02-14 8:32:24 -0400", datetime(2019, 2, 14, 8, 32, 24, tzinfo=offset(-4))),
    ("date: 2015-06-01", datetime(2015, 6, 1, tzinfo=offset(-4))),
    ("date: '2014-05-14T11:02:00-04:00'", datetime(2014, 5, 14, 11, 2, tzinfo=offset(-4))),
    ("date: 2020-07-07T00:00:00.000Z", datetime(2020, 7, 7, tzinfo=UTC)),
    ("date: 2020-07-07 23:30:00", datetime(2020, 7, 7, 23, 30, tzinfo=offset(-4))),
])
def test_front_matter_dates_as_yaml_reads_them(line, expected):
    article = parse(f"---\ntitle: T\n{line}\n---\nbody\n", path="2025/01/t.md").article
    assert article.date == expected
    assert article.date.utcoffset() == expected.utcoffset()
    assert article.url == f"/{expected:%Y/%m/%d}/t/"


def test_date_from_file_name_when_front_matter_has_none():
    a = parse("---\ntitle: Hello\n---\n", path="2024/2024-12-5-hello.md").article
    assert (a.date.year, a.date.month, a.date.day) == (2024, 12, 5)
    b = parse("---\ntitle: Hello\n---\n", path="2019-02-14-x/index.md").article
    assert b.day_key == (2019, 2, 14)


def test_missing_date_without_file_name_date_is_an_error():
    [problem] = problems("---\ntitle: Hello\n---\n")
    assert "date" in problem.message and problem.line == 1  # the opening '---'


def test_bom_blank_lines_and_crlf():
    text = "\ufeff\n\n---\r\ntitle: Hi\r\ndate: 2020-01-01\r\n---\r\nBody\r\n"
    parsed = parse(text.encode("utf-8"))
    assert parsed.article.title == "Hi"
    assert parsed.body.strip() == "Body"


def test_all_fields_reach_the_record():
    parsed = parse("""---
title: Full
date: 2025-03-04 09:24:00 -0500
slug: custom-slug
section: World News
tags: [Marco Rubio, Mexico]
author: Jane Doe
summary: A summary.
updated: 2025-03-05
dateline: WASHINGTON
source: Reuters
link: https://example.com/original
image: map.svg
image_alt: A map
story: us-mexico
corrections:
  - date: 2025-03-06
    text: An earlier version misspelled a name.
lang: es
mood: calm
---
Body
""")
    a = parsed.article
    assert a.url == "/2025/03/04/custom-slug/"
    assert a.section.name == "World News" and a.section.url == "/sections/world-news/"
    assert [t.slug for t in a.tags] == ["marco-rubio", "mexico"]
    assert [x.name for x in a.authors] == ["Jane Doe"]
    assert a.image == "/2025/03/04/custom-slug/map.svg"
    assert a.corrections[0].text.startswith("An earlier")
    assert a.updated.day == 5 and a.lang == "es" and a.story == "us-mexico"
    assert dict(a.extra) == {"mood": "calm"}


@pytest.mark.parametrize("text, line, words", [
    ("---\ntitle: T\ndate: 2020-01-01\ntags:\n\t- a\n---\n", 5, "invalid YAML"),
    ("---\n- just\n- a list\n---\n", 2, "mapping"),
    ("---\ndate: 2020-01-01\n---\n", 1, "missing 'title'"),
    ("---\ntitle: T\ndate: yesterday\n---\n", 3, "not a date"),
    ("---\ntitle: T\ndate: 2020-13-45\n---\n", 3, "not a date"),
    ("---\ntitle: T\ndate: 2020-01-01\ntags: 5\n---\n", 4, "list of names"),
    ("---\ntitle: T\ndate: 2020-01-01\ndraft: maybe\n---\n", 4, "true or false"),
    ("---\ntitle: T\ndate: 2020-01-01\nslug: ../../x\n---\n", 4, "one URL segment"),
    ("---\ntitle: T\ndate: 2020-01-01\nslug: /etc/x\n---\n", 4, "one URL segment"),
    ("---\ntitle: T\ndate: 2020-01-01\nslug: a/../../b\n---\n", 4, "one URL segment"),
    ("---\ntitle: T\ndate: 2020-01-01\nlink: javascript:alert(1)\n---\n", 4, "http"),
    ("no front matter here\n", 1, "front matter"),
    ("---\ntitle: T\n", 1, "not closed"),
])
def test_bad_front_matter_names_the_line(text, line, words):
    found = problems(text)
    assert any(words in p.message and p.line == line for p in found), found
    assert all(str(p.path).endswith("2025/01/a.md") for p in found)


def test_every_problem_of_a_file_is_listed():
    found = problems("---\ntitle: T\ndate: nope\ndraft: maybe\ntags: 3\n---\n")
    assert sorted(p.line for p in found) == [3, 4, 5]


@pytest.mark.parametrize("data, words", [
    (b"---\ntitle: caf\xe9\ndate: 2020-01-01\n---\n", "UTF-8"),
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"---\ntitle: T\ndate: 2020-01-01\n---\n" + b"x" * (11 * 1024 * 1024), "limit"),
])
def test_unreadable_files(data, words):
    [problem] = problems(data)
    assert words in problem.message


def test_non_utf8_names_the_line():
    [problem] = problems(b"---\ntitle: T\ndate: 2020-01-01\n---\nok\n\xff\n")
    assert problem.line == 6


def test_typo_keys_are_warnings():
    parsed = parse("---\ntitle: T\ndate: 2020-01-01\ntag: [x]\nautor: Me\nsumary: s\n---\n")
    messages = [w.message for w in parsed.warnings]
    assert len(messages) == 3 and "did you mean 'tags'" in messages[0]
    assert [w.line for w in parsed.warnings] == [4, 5, 6]


def test_discover_finds_bundles_and_nested_articles(tmp_path):
    (tmp_path / "a/b/c").mkdir(parents=True)
    (tmp_path / "a/b/c/deep.md").write_text("x")
    (tmp_path / "bundle/img").mkdir(parents=True)
    (tmp_path / "bundle/index.md").write_text("x")
    (tmp_path / "bundle/photo.jpg").write_bytes(b"jpg")
    (tmp_path / "bundle/img/inner.png").write_bytes(b"png")
    (tmp_path / "bundle/img/other.md").write_text("not an article")
    (tmp_path / ".hidden.md").write_text("x")
    found = {rel: bundle for rel, _path, bundle in sources.discover(tmp_path)}
    assert found == {"a/b/c/deep.md": (), "bundle/index.md": ("img/inner.png", "img/other.md",
                                                              "photo.jpg")}


def test_the_config_publishes_what_is_not_draft_embargoed_or_expired(tmp_path):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    config = load_config(tmp_path, now=now)
    base = parse("---\ntitle: T\ndate: 2025-01-01\n---\n").article
    assert config.publishes(base)
    future = parse("---\ntitle: T\ndate: 2027-01-01\n---\n").article
    assert not config.publishes(future)
    assert load_config(tmp_path, now=now, future=True).publishes(future)
    draft = parse("---\ntitle: T\ndate: 2025-01-01\ndraft: true\n---\n").article
    assert not config.publishes(draft)
    assert load_config(tmp_path, now=now, drafts=True).publishes(draft)
    expired = parse("---\ntitle: T\ndate: 2025-01-01\nexpires: 2025-06-01\n---\n").article
    assert not config.publishes(expired)


def test_a_file_with_errors_also_reports_its_warnings():
    found = problems("---\ntitle: T\ndate: never\ntagz: [a]\n---\n")
    assert [(p.line, p.severity) for p in found] == [(3, "error"), (4, "warning")]


# ---------------------------------------------------------------- bad input, bounded (#13)

def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs" front matter: each anchor a list of nine aliases of the one before."""
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    names = "abcdefghijklmnop"[:levels]
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append(f"tags: *{names[-1]}")
    return "---\ntitle: T\ndate: 2020-01-01\n" + "\n".join(lines) + "\n---\nbody\n"


def test_a_yaml_alias_bomb_is_refused_fast_with_a_short_message():
    text = alias_bomb()
    assert len(text.encode()) < 450
    started = time.perf_counter()
    [problem] = problems(text)
    assert time.perf_counter() - started < 5
    assert "expands to more than 10,000 values" in problem.message
    assert problem.line == 8  # 'e': the first key whose value expands past the limit
    assert len(str(problem)) < 300


def test_a_recursive_alias_is_refused():
    [problem] = problems("---\ntitle: T\ndate: 2020-01-01\nloop: &a [*a]\n---\n")
    assert problem.line == 4 and "expands to more than" in problem.message


def test_aliases_of_a_modest_size_still_work():
    parsed = parse("---\ntitle: T\ndate: 2020-01-01\nx: &t [a, b]\ntags: *t\n---\n")
    assert [t.name for t in parsed.article.tags] == ["a", "b"]


def test_messages_quote_at_most_a_short_value():
    [problem] = problems("---\ntitle: T\ndate: 2020-01-01\ntags: [" +
                         ", ".join(["{a: 1}"] * 1000) + "]\n---\n")
    assert "list of names" in problem.message and len(problem.message) < 200


@pytest.mark.parametrize("text, line, key", [
    ("---\ntitle: T\ndate: 2020-01-01\ntitle: U\n---\n", 4, "title"),
    ("---\ntitle: T\ndate: 2020-01-01\ncorrections:\n  - text: a\n    text: b\n---\n", 6,
     "text"),
])
def test_duplicate_keys_name_the_key_and_its_line(text, line, key):
    [problem] = problems(text)
    assert problem.line == line and f"key '{key}' appears twice" in problem.message


@pytest.mark.parametrize("title, words", [
    ("!!binary aGVsbG8=", "binary data"),
    ("!!set {a, b}", "a set"),
    ("[a, b]", "a list"),
    ("{a: b}", "a mapping"),
    ("yes", "true/false"),
])
def test_a_title_that_is_not_text_is_an_error(title, words):
    [problem] = problems(f"---\ntitle: {title}\ndate: 2020-01-01\n---\n")
    assert problem.line == 2 and "'title' must be text" in problem.message
    assert words in problem.message


def test_a_title_of_5000_digits_is_text_and_its_slug_is_cut():
    # a bare index.md names no slug: the title gives it
    text = "---\ntitle: " + "7" * 5000 + "\ndate: 2020-01-01\n---\n"
    article = parse(text, path="index.md").article
    assert article.title == "7" * 5000
    assert article.slug == "7" * 100


def test_a_long_title_gives_a_slug_cut_at_a_word_boundary():
    title = " ".join(f"word{i}" for i in range(100))
    slug = parse(f"---\ntitle: {title}\ndate: 2020-01-01\n---\n", path="index.md").article.slug
    assert len(slug) <= 100 and slug.startswith("word0-word1-") and not slug.endswith("-")
    assert title.replace(" ", "-").startswith(slug + "-")  # whole words only


@pytest.mark.parametrize("slug, words", [
    ("a" * 101, "longer than 100 bytes"),
    ("é" * 51, "longer than 100 bytes"),
    ("index.html", "looks like a file name"),
    ("feed.xml", "looks like a file name"),
    ("Story.HTM", "looks like a file name"),
])
def test_slugs_must_be_plain_short_path_segments(slug, words):
    [problem] = problems(f"---\ntitle: T\ndate: 2020-01-01\nslug: {slug}\n---\n")
    assert problem.line == 4 and words in problem.message


@pytest.mark.parametrize("slug", ["pagefind", "assets", "search", "archive", "tags",
                                  "sections", "authors", "page", "Tags", "robots.txt"])
def test_a_root_permalink_slug_may_not_take_a_site_folder(slug):
    with pytest.raises(ArticleError) as info:
        parse(f"---\ntitle: T\ndate: 2020-01-01\nslug: {slug}\n---\n", permalink="/{slug}/")
    [problem] = info.value.problems
    assert problem.line == 4 and str(problem.path).endswith("a.md")
    if "." in slug:
        assert "looks like a file name" in problem.message
    else:
        assert f"the site's own {slug.lower()} folder" in problem.message


def test_a_title_slug_that_takes_a_site_folder_names_the_title():
    with pytest.raises(ArticleError) as info:
        parse("---\ntitle: Search\ndate: 2020-01-01\n---\n", path="index.md", permalink="/{slug}/")
    [problem] = info.value.problems
    assert problem.line == 2 and "the site's own search folder" in problem.message


def test_a_file_name_slug_that_takes_a_site_folder_is_refused():
    with pytest.raises(ArticleError) as info:
        parse("---\ntitle: T\ndate: 2020-01-01\n---\n", path="2020/search.md",
              permalink="/{slug}/")
    [problem] = info.value.problems
    assert problem.line == 1 and "the site's own search folder" in problem.message


def test_a_slug_that_is_a_date_archive_page_is_refused():
    with pytest.raises(ArticleError) as info:
        parse("---\ntitle: T\ndate: 2020-01-01\nslug: '02'\n---\n", permalink="/{year}/{slug}/")
    assert "date archive page /2020/02/" in info.value.problems[0].message


def test_site_folder_names_are_fine_below_the_root():
    assert parse("---\ntitle: Search\ndate: 2020-01-01\n---\n", path="index.md"
                 ).article.slug == "search"
    assert parse("---\ntitle: T\ndate: 2020-01-01\n---\n", path="2020/search.md"
                 ).article.slug == "search"


@pytest.mark.parametrize("key", ["date", "updated", "expires"])
@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00",
                                   "'9999-12-31 23:00:00 -0500'"])
def test_dates_that_overflow_in_utc_are_errors(key, value):
    extra = "" if key == "date" else f"\n{key}: {value}"
    first = value if key == "date" else "2020-01-01"
    found = problems(f"---\ntitle: T\ndate: {first}{extra}\n---\n")
    assert any("out of range" in p.message and f"'{key}'" in p.message for p in found), found


def test_a_correction_date_that_overflows_is_an_error():
    [problem] = problems("---\ntitle: T\ndate: 2020-01-01\ncorrections:\n"
                         "  - date: 0001-01-01T00:00:00+05:00\n    text: x\n---\n")
    assert problem.line == 4 and "out of range" in problem.message


def test_a_file_name_date_at_year_1_in_an_eastern_zone_is_no_date():
    [problem] = problems("---\ntitle: T\n---\n", path="0001-01-01-x.md")
    assert "missing 'date'" in problem.message


@pytest.mark.parametrize("raw, expected", [
    ("Thu, 14 Feb 2019 09:24:00 -0500", datetime(2019, 2, 14, 9, 24, tzinfo=offset(-5))),
    ("14 Feb 2019 09:24 +0100", datetime(2019, 2, 14, 9, 24, tzinfo=offset(1))),
    ("Thu, 14 Feb 2019 09:24:00 GMT", datetime(2019, 2, 14, 9, 24, tzinfo=UTC)),
    ("Thu, 14 Feb 2019 09:24:00 PST", datetime(2019, 2, 14, 9, 24, tzinfo=offset(-8))),
    ("February 14, 2019", datetime(2019, 2, 14, tzinfo=offset(-5))),
    ("Feb 14, 2019", datetime(2019, 2, 14, tzinfo=offset(-5))),
    ("Feb. 14, 2019, 9:24 p.m.", datetime(2019, 2, 14, 21, 24, tzinfo=offset(-5))),
    ("June 1, 2015 at 12:05 am", datetime(2015, 6, 1, 0, 5, tzinfo=offset(-4))),
    ("Thursday, February 14, 2019 09:24", datetime(2019, 2, 14, 9, 24, tzinfo=offset(-5))),
    ("14 February 2019", datetime(2019, 2, 14, tzinfo=offset(-5))),
    ("2019/02/14", datetime(2019, 2, 14, tzinfo=offset(-5))),
    ("2019/02/14 09:24:30", datetime(2019, 2, 14, 9, 24, 30, tzinfo=offset(-5))),
    (1550154240, datetime(2019, 2, 14, 9, 24, tzinfo=offset(-5))),
])
def test_more_date_formats(raw, expected):
    value = parse_date(raw, NY)
    assert value == expected and value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("raw", ["2019/02-14", "Febtober 14, 2019", "Feb 30, 2019",
                                 "Feb 14, 2019 13:00 pm", "Feb 14, 2019 09:24 XYZ", 2019,
                                 20190214, 99_999_999_999, True, "Thu, 14 Feb 2019 25:00 GMT"])
def test_what_is_still_no_date(raw):
    assert parse_date(raw, NY) is None


def test_front_matter_dates_in_the_new_formats():
    for line in ("date: Thu, 14 Feb 2019 09:24:00 -0500", "date: February 14, 2019 9:24 am",
                 "date: 2019/02/14 09:24", "date: 1550154240"):
        article = parse(f"---\ntitle: T\n{line}\n---\n").article
        assert article.date == datetime(2019, 2, 14, 9, 24, tzinfo=offset(-5)), line


def test_an_unreadable_date_lists_the_formats_that_work():
    [problem] = problems("---\ntitle: T\ndate: the day after\n---\n")
    assert problem.line == 3
    for example in ("2019-02-14", "2019/02/14", "February 14, 2019", "RFC 2822",
                    "Unix seconds"):
        assert example in problem.message


def test_control_characters_in_front_matter_are_errors_on_their_line():
    [problem] = problems('---\ntitle: T\ndate: 2020-01-01\nsummary: "a\\x00b"\n---\n')
    assert problem.line == 4 and "U+0000" in problem.message
    [problem] = problems('---\ntitle: T\ndate: 2020-01-01\ntags:\n  - ok\n  - "a\\u007f"\n---\n')
    assert problem.line == 6 and "U+007F" in problem.message


def test_raw_control_characters_in_front_matter_are_errors_on_their_line():
    [problem] = problems("---\ntitle: T\ndate: 2020-01-01\nsummary: a\x01b\n---\n")
    assert problem.line == 4


def test_control_characters_in_the_body_are_dropped_with_a_warning():
    parsed = parse("---\ntitle: T\ndate: 2020-01-01\n---\nfine\nbad\x0bline\x01\x7f end\n")
    assert parsed.body == "fine\nbadline end\n"
    [warning] = parsed.warnings
    assert warning.line == 6 and warning.severity == "warning"
    assert "3 control character(s)" in warning.message and "U+000B" in warning.message


def test_tags_over_max_tags_are_an_error_naming_the_line():
    tags = ", ".join(f"t{i}" for i in range(51))
    [problem] = problems(f"---\ntitle: T\ndate: 2020-01-01\ntags: [{tags}]\n---\n")
    assert problem.line == 4 and "51 tags, over the limit of 50" in problem.message
    assert "max_tags" in problem.message
    assert len(parse(f"---\ntitle: T\ndate: 2020-01-01\ntags: [{tags}]\n---\n",
                     max_tags=60).article.tags) == 51


def test_an_article_symlinked_from_outside_content_is_refused(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    (tmp_path / "secret.md").write_text("x")
    (content / "inside.md").write_text("x")
    (content / "leak.md").symlink_to(tmp_path / "secret.md")
    (content / "alias.md").symlink_to(content / "inside.md")
    (content / "b").mkdir()
    (content / "b/index.md").symlink_to(tmp_path / "secret.md")
    with pytest.raises(ContentError) as info:
        sources.discover(content)
    assert sorted(str(p.path) for p in info.value.problems) == ["content/b/index.md",
                                                                 "content/leak.md"]
    assert "outside the content folder" in info.value.problems[0].message
    (content / "leak.md").unlink()
    (content / "b/index.md").unlink()
    assert [rel for rel, _p, _b in sources.discover(content)] == ["alias.md", "inside.md"]


# ---------------------------------------------------------------- the same, through the CLI

def cli(*args: str):
    return CliRunner().invoke(main, [*args])


def assert_refused(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, Exception) \
        or isinstance(result.exception, SystemExit)
    return result.output


def test_cli_refuses_an_alias_bomb_quickly_and_briefly(make_site):
    site = make_site({"content/bomb.md": alias_bomb()})
    started = time.perf_counter()
    out = assert_refused(cli("build", str(site), "--no-search", "--jobs", "1"))
    assert time.perf_counter() - started < 5
    assert "content/bomb.md:8" in out and "expands to more than 10,000" in out
    assert len(out) < 1000


@pytest.mark.parametrize("date", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_cli_names_a_date_out_of_range(make_site, date):
    site = make_site({"content/a.md": f"---\ntitle: T\ndate: {date}\n---\nbody\n"})
    out = assert_refused(cli("build", str(site), "--no-search", "--jobs", "1"))
    assert "content/a.md:3" in out and "out of range" in out


def test_cli_names_both_files_of_urls_that_differ_only_in_case(make_site):
    site = make_site({
        "content/a.md": "---\ntitle: A\ndate: 2020-01-01\nslug: Story\n---\nbody\n",
        "content/b.md": "---\ntitle: B\ndate: 2020-01-01\nslug: story\n---\nbody\n",
    })
    out = assert_refused(cli("build", str(site), "--no-search", "--jobs", "1"))
    assert "differs only in case" in out
    assert "content/a.md" in out and "content/b.md" in out
    assert not (site / "output/2020/01/01/story").exists()


def test_cli_names_the_site_folder_a_root_slug_would_take(make_site):
    config = 'base_url = "https://example.org/"\npermalink = "/{slug}/"\n'
    site = make_site({"content/index.md": "---\ntitle: Pagefind\ndate: 2020-01-01\n---\nb\n"},
                     config=config)
    out = assert_refused(cli("build", str(site), "--no-search", "--jobs", "1"))
    assert "content/index.md:2" in out and "the site's own pagefind folder" in out


@pytest.mark.parametrize("permalink, words", [
    ("/{year}/../{slug}/", "'..'"),
    ("/{year}/{nope}/{slug}/", "unknown field {nope}"),
    ("/{0}/{slug}/", "unknown field {0}"),
    ("/{}/{slug}/", "unknown field {}"),
    ("/{year:>10}/{slug}/", "{year} takes no format"),
    ("/{slug!r}/{slug}/", "{slug} takes no format"),
    ("/{slug.upper}/{slug}/", "unknown field {slug.upper}"),
    ("/{year}/{slug}/{/", "permalink"),
    ("/{year}?x/{slug}/", "may hold only"),
])
def test_cli_refuses_a_broken_permalink_as_a_configuration_error(make_site, permalink, words):
    config = f'base_url = "https://example.org/"\npermalink = "{permalink}"\n'
    site = make_site({"content/a.md": "---\ntitle: T\ndate: 2020-01-01\n---\nb\n"},
                     config=config)
    out = assert_refused(cli("build", str(site), "--no-search"), code=2)
    assert "permalink" in out and words in out


def test_cli_max_tags_is_a_setting(make_site):
    tags = ", ".join(f"t{i}" for i in range(10_000))
    files = {"content/a.md": f"---\ntitle: T\ndate: 2020-01-01\ntags: [{tags}]\n---\nb\n"}
    site = make_site(files)
    out = assert_refused(cli("build", str(site), "--no-search", "--jobs", "1"))
    assert "content/a.md:4" in out and "10,000 tags, over the limit of 50 per article" in out
    assert not (site / "output/tags").exists()
    site = make_site(files, config='base_url = "https://example.org/"\nmax_tags = 0\n',
                     name="zero")
    assert "'max_tags' must be at least 1" in assert_refused(cli("build", str(site)), code=2)


def test_cli_refuses_an_article_linked_from_outside_content(make_site, tmp_path):
    (tmp_path / "secret.md").write_text("---\ntitle: Secret\ndate: 2020-01-01\n---\nkey\n")
    site = make_site({"content/a.md": "---\ntitle: A\ndate: 2020-01-01\n---\nbody\n"})
    (site / "content/leak.md").symlink_to(tmp_path / "secret.md")
    out = assert_refused(cli("build", str(site), "--no-search", "--jobs", "1"))
    assert "content/leak.md" in out and "outside the content folder" in out
