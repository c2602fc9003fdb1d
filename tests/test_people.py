"""data/authors.yaml: bylines, author pages, JSON-LD and feeds use people's names and details."""

from __future__ import annotations

import json
import re

import pytest
from conftest import article, build_site

from sitegen.config import load_config
from sitegen.errors import ConfigError
from sitegen.people import Person, author_problems, load_people
from sitegen.records import Article, Term

AUTHORS = """
jdoe:
  name: Jane Doe
  role: Courts reporter
  bio: Covers the state's courts.
  photo: /img/jdoe.jpg
  links: {Website: "https://jdoe.example/"}
"""


@pytest.fixture
def site(make_site):
    return make_site({
        "data/authors.yaml": AUTHORS,
        "content/court-rules.md": article("Court rules", "2025-01-02", authors=["jdoe", "Ann Lee"]),
        "content/q-a-epas-plan.md": article("Q&amp;A: EPA&#8217;s plan", "2025-01-03",
                                            author="jdoe"),
    })


def test_bylines_author_pages_json_ld_and_feeds_use_the_entry(site):
    build_site(site)
    page = (site / "output/2025/01/02/court-rules/index.html").read_text()
    assert '>Jane Doe</a>' in page and '>Ann Lee</a>' in page and ">jdoe<" not in page
    [ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    jane, ann = json.loads(ld)["author"]
    assert jane == {"@type": "Person", "name": "Jane Doe", "url": "https://example.org/authors/jdoe/",
                    "jobTitle": "Courts reporter", "image": "https://example.org/img/jdoe.jpg",
                    "sameAs": ["https://jdoe.example/"]}
    assert ann == {"@type": "Person", "name": "Ann Lee",
                   "url": "https://example.org/authors/ann-lee/"}
    author_page = (site / "output/authors/jdoe/index.html").read_text()
    assert "<h1>Jane Doe</h1>" in author_page and "Covers the state&#39;s courts." in author_page
    assert 'src="/img/jdoe.jpg"' in author_page and 'href="https://jdoe.example/"' in author_page
    assert "<dc:creator>Jane Doe</dc:creator>" in (site / "output/feed.xml").read_text()


def test_entities_in_titles_are_decoded_once_everywhere(site):
    build_site(site)
    page = (site / "output/2025/01/03/q-a-epas-plan/index.html").read_text()
    assert "<h1 data-pagefind-meta=\"title\">Q&amp;A: EPA’s plan</h1>" in page
    older = (site / "output/2025/01/02/court-rules/index.html").read_text()
    assert "Q&amp;A: EPA’s plan" in older and "&amp;amp;" not in older  # prev/next link
    for feed in ("feed.xml", "atom.xml"):
        text = (site / "output" / feed).read_text()
        assert "Q&amp;A: EPA’s plan" in text and "&#8217;" not in text and "&amp;amp;" not in text


def test_an_edit_of_the_authors_file_changes_the_output(site):
    build_site(site)
    (site / "data/authors.yaml").write_text(AUTHORS.replace("Jane Doe", "Jane Q. Doe"))
    build_site(site)
    assert ">Jane Q. Doe</a>" in (site / "output/2025/01/02/court-rules/index.html").read_text()


def test_toml_authors_and_short_entries(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/authors.toml").write_text('ann = "Ann Lee"\n[bo]\nname = "Bo Chen"\n'
                                                'links = ["https://bo.example/"]\n')
    assert load_config(tmp_path).people == (
        Person("ann", "Ann Lee"), Person("bo", "Bo Chen", links=(("bo.example", "https://bo.example/"),)))


@pytest.mark.parametrize("text, message", [
    ("jdoe: [1, 2]\n", "'jdoe' must be a name or a table"),
    ("jdoe:\n  name: J\n  twitter: x\n", "unknown field 'twitter'"),
    ("jdoe:\n  links: [javascript:alert(1)]\n", "is not an http(s) or mailto URL"),
    ("jdoe: [\n", "authors.yaml:2: invalid YAML"),
])
def test_bad_authors_files_are_config_errors(tmp_path, text, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/authors.yaml").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_people(tmp_path)


def _with_authors(*names: str) -> Article:
    from datetime import UTC, datetime

    from sitegen.urls import slugify

    return Article("a.md", "d", "T", "t", "/t/", datetime(2025, 1, 1, tzinfo=UTC), "",
                   authors=tuple(Term(n, slugify(n), f"/authors/{slugify(n)}/") for n in names))


def test_check_lists_ids_without_an_entry_and_spellings_of_one_byline():
    people = (Person("jdoe", "Jane Doe"),)
    articles = [_with_authors("jdoe", "José Ruiz"), _with_authors("jose ruiz"),
                _with_authors("Nobody")]
    assert author_problems(articles, people, has_file=True) == [
        "author 'José Ruiz' (1 article) has no entry in data/authors",
        "author 'Nobody' (1 article) has no entry in data/authors",
        "author 'jose ruiz' (1 article) has no entry in data/authors",
        "bylines that differ only in case or accents: 'José Ruiz', 'jose ruiz'",
    ]
    assert author_problems(articles, people, has_file=False) == [
        "bylines that differ only in case or accents: 'José Ruiz', 'jose ruiz'"]
