"""Front matter of Hugo, Jekyll and WordPress read as sitegen's fields (sitegen/frontkeys.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sitegen import content, frontkeys
from sitegen.config import load_config
from sitegen.content import ArticleError, parse_source
from sitegen.errors import ConfigError
from sitegen.outputdigest import output_digest
from sitegen.records import SourceFile
from sitegen.urls import Urls

REALWORLD = Path(__file__).resolve().parent.parent.parent / "shared" / "realworld"


def parse(text: str, path: str = "2025/01/a.md", **cfg):
    config = load_config(Path("."), **cfg)
    return parse_source(SourceFile(path, text.encode(), "d"), config, Urls(config))


def article(text: str, **cfg):
    return parse(text, **cfg).article


def test_own_keys_are_contents_known_keys():
    assert frozenset(content.KNOWN_KEYS) == frontkeys.OWN_KEYS


def test_hugo_keys_map_to_their_fields():
    a = article("---\ntitle: T\npublishDate: 2020-03-04\nlastmod: 2020-05-06\n"
                "expiryDate: 2030-01-01\ndescription: The dek.\nkeywords: [ssl, tls]\n"
                "categories: [News, Security]\nimages: [/img/a.png, /img/b.png]\n"
                "aliases: [/old/one/, /old/two/]\nurl: /blog/t/\nweight: 3\n---\nbody\n")
    assert a.day_key == (2020, 3, 4)
    assert (a.updated.month, a.expires.year) == (5, 2030)
    assert a.summary == "The dek."
    assert a.section.name == "News"
    assert [t.name for t in a.tags] == ["ssl", "tls", "Security"]
    assert a.image == "/img/a.png"
    assert a.aliases == ("/old/one/", "/old/two/") and a.permalink == "/blog/t/"
    assert a.weight == 3
    assert dict(a.extra) == {}


def test_foreign_keys_are_matched_in_any_case():
    a = article("---\ntitle: T\ndate: 2020-01-01\nexpirydate: 2021-01-01\nLastMod: 2020-06-01\n"
                "---\n")
    assert a.expires.year == 2021 and a.updated.month == 6


def test_jekyll_keys_map_to_their_fields():
    a = article("---\ntitle: T\ndate: 2020-01-01\nexcerpt: Short.\ncategories: release news\n"
                "permalink: /2020/t.html\nredirect_from: /t/\n"
                "image: {path: /i.png, alt: A picture}\n---\n")
    assert a.summary == "Short." and a.section.name == "release"
    assert [t.name for t in a.tags] == ["news"]
    assert a.permalink == "/2020/t.html" and a.aliases == ("/t/",)
    assert (a.image, a.image_alt) == ("/i.png", "A picture")


def test_jekyll_category_is_one_name_and_featured_image_is_the_image():
    a = article("---\ntitle: T\ndate: 2020-01-01\ncategory: Press Release\n"
                "featured_image: /f.jpg\n---\n")
    assert a.section.name == "Press Release" and a.tags == () and a.image == "/f.jpg"


def test_categories_are_tags_when_a_section_is_given():
    a = article("---\ntitle: T\ndate: 2020-01-01\nsection: World\ntags: [a]\n"
                "categories: [b, c]\n---\n")
    assert a.section.name == "World" and [t.name for t in a.tags] == ["a", "b", "c"]


def test_sitegens_own_key_wins_over_a_foreign_one():
    a = article("---\ntitle: T\ndate: 2020-01-01\nsummary: Mine.\ndescription: Theirs.\n"
                "updated: 2020-02-02\nlastmod: 2020-03-03\nimage: /mine.png\n"
                "featured_image: /theirs.png\n---\n")
    assert a.summary == "Mine." and a.updated.month == 2 and a.image == "/mine.png"


@pytest.mark.parametrize("line", ["published: false", "headless: true", "draft: true"])
def test_unpublished_in_any_generators_words_is_a_draft(line):
    assert article(f"---\ntitle: T\ndate: 2020-01-01\n{line}\n---\n").draft


def test_published_true_is_not_a_draft():
    assert not article("---\ntitle: T\ndate: 2020-01-01\npublished: true\n---\n").draft


def test_bad_foreign_values_name_their_key_and_line():
    with pytest.raises(ArticleError) as info:
        parse("---\ntitle: T\ndate: 2020-01-01\nweight: heavy\nheadless: maybe\n---\n")
    found = {(p.line, p.message.split(" must")[0]) for p in info.value.problems}
    assert found == {(4, "'weight'"), (5, "'headless'")}


def test_a_bad_value_under_a_foreign_key_points_at_its_line():
    with pytest.raises(ArticleError) as info:
        parse("---\ntitle: T\ndate: 2020-01-01\n\nlastmod: someday\n---\n")
    [problem] = info.value.problems
    assert problem.line == 5 and "updated" in problem.message


def test_entities_are_decoded_once_in_text_fields():
    # a bare index.md names no slug, so the slug comes from the decoded title
    a = parse("---\ntitle: EPA&#8217;s Q&amp;A\ndate: 2020-01-01\nsummary: Tom &amp;amp; Jerry\n"
              "tags: [R&amp;D]\nauthors: [Ana &#8220;A&#8221; Lee]\ndescription: x\n---\n",
              path="index.md").article
    assert a.title == "EPA’s Q&A"
    assert a.summary == "Tom &amp; Jerry"  # once: what was written as &amp;amp; stays &amp;
    assert a.tags[0].name == "R&D" and a.tags[0].slug == "r-d"
    assert a.authors[0].name == "Ana “A” Lee"
    assert a.slug == "epas-q-a"


def test_known_foreign_keys_and_far_keys_are_no_typos():
    parsed = parse("---\ntitle: T\ndate: 2020-01-01\nsource_url: https://x.org/\nimages: []\n"
                   "layout: post\nversion: 1.0\nkeywords: []\n---\n")
    assert parsed.warnings == ()


@pytest.mark.parametrize("key, field", [("autor", "author"), ("sumary", "summary"),
                                        ("titel", "title"), ("tag", "tags"), ("dat", "date")])
def test_real_typos_still_warn(key, field):
    parsed = parse(f"---\ntitle: T\ndate: 2020-01-01\n{key}: x\n---\n")
    [warning] = parsed.warnings
    assert f"did you mean '{field}'" in warning.message and warning.line == 4


def test_the_sites_mapping_reads_its_own_keys():
    a = article("---\ntitle: T\ndate: 2020-01-01\ntopics: [Courts, Crime]\ndeck: The deck.\n"
                "source_url: https://example.org/story\nprimary_image: /p.jpg\n"
                "kicker: Exclusive\n---\n",
                front_matter={"topics": "tags", "deck": "summary", "source_url": "link",
                              "primary_image": "image", "kicker": "extra"})
    assert [t.name for t in a.tags] == ["Courts", "Crime"]
    assert a.summary == "The deck." and a.link == "https://example.org/story"
    assert a.image == "/p.jpg"
    assert a.extras["kicker"] == "Exclusive"


def test_the_sites_mapping_overrides_the_built_in_one():
    a = article("---\ntitle: T\ndate: 2020-01-01\ndescription: For search engines.\n---\n",
                front_matter={"description": "extra"})
    assert a.summary == "" and a.extras == {"description": "For search engines."}


def test_a_mapping_to_no_field_is_a_config_error(tmp_path):
    (tmp_path / "sitegen.toml").write_text('[front_matter]\ntopics = "tagz"\n')
    with pytest.raises(ConfigError, match="'topics' maps to 'tagz'"):
        load_config(tmp_path)


def test_the_mapping_is_read_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sitegen]\ntitle = "X"\n[tool.sitegen.front_matter]\ndeck = "summary"\n')
    assert load_config(tmp_path).front_matter == (("deck", "summary"),)


def test_the_mapping_changes_the_output_digest(tmp_path):
    plain = output_digest(load_config(tmp_path))
    assert output_digest(load_config(tmp_path, front_matter={"deck": "summary"})) \
        != plain


def _front_matter_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".md", ".markdown", ".html")
                  and not p.name.startswith("_index"))


@pytest.mark.parametrize("folder", ["hugo-letsencrypt/content", "jekyll-posts/docs/_posts"])
def test_realworld_archives_load_with_their_keys_mapped(folder):
    root = REALWORLD / folder
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    config = load_config(Path("."), timezone="UTC", now=datetime(2030, 1, 1, tzinfo=UTC))
    urls = Urls(config)
    articles, unreadable_dates = [], []
    for path in _front_matter_files(root):
        src = SourceFile(path.relative_to(root).as_posix(), path.read_bytes(), "d")
        try:
            parsed = parse_source(src, config, urls)
        except ArticleError as exc:  # a date no generator could read is content.py's to report
            assert all("'date' is not a date" in p.message for p in exc.problems), exc
            unreadable_dates.append(path.name)
            continue
        assert not [w for w in parsed.warnings if "did you mean" in w.message], path
        articles.append(parsed.article)
    assert len(articles) > 100 and len(unreadable_dates) <= 1
    assert all(a.title and a.date.year > 2000 for a in articles)
    assert not [a.title for a in articles if "&#" in a.title or "&amp;" in a.title]
    summaries = sum(bool(a.summary) for a in articles)
    sections = sum(bool(a.section) for a in articles)
    assert summaries > 20 or sections > 20  # excerpt and category are read
