from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sitegen import sources
from sitegen.config import load_config
from sitegen.content import ArticleError, parse_date, parse_source
from sitegen.records import SourceFile
from sitegen.urls import Urls

NY = load_config(Path("."), timezone="America/New_York").tz


def parse(text: str | bytes, path: str = "2025/01/a.md", tmp_path: Path | None = None, **cfg):
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
    article = parse(f"---\ntitle: T\n{line}\n---\nbody\n").article
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
