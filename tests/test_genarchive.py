"""tools/genarchive.py: the deterministic synthetic archive for benchmarks and big-site tests."""

from __future__ import annotations

import collections
import importlib.util
import os
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from types import ModuleType

import frontmatter
import pytest
from slugify import slugify

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "genarchive.py"

KNOWN_KEYS = {
    "title", "date", "slug", "section", "tags", "authors", "author", "summary", "updated",
    "draft", "expires", "dateline", "source", "link", "image", "image_alt", "story",
    "corrections", "lang",
}
N = 400


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("genarchive", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["genarchive"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ga = _load()


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def written_day(value: object) -> date:
    """The date as written in front matter, whatever type PyYAML made of it."""
    if isinstance(value, datetime):
        return value.date()  # aware ones keep their own offset
    if isinstance(value, date):
        return value
    assert isinstance(value, str), value
    return date.fromisoformat(value[:10])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    dest = tmp_path_factory.mktemp("archive")
    return dest, ga.generate(dest, N, seed=1)


@pytest.fixture(scope="module")
def posts(site: tuple[Path, list[Path]]) -> dict[Path, frontmatter.Post]:
    return {p: frontmatter.load(p) for p in site[1]}


def test_count_and_layout(site: tuple[Path, list[Path]]) -> None:
    dest, paths = site
    assert len(paths) == N
    assert len(set(paths)) == N
    assert sorted(paths) == sorted(dest.rglob("*.md"))
    for p in paths:
        assert re.fullmatch(r"\d{4}/\d{2}/[a-z0-9-]+\.md", p.relative_to(dest).as_posix())


def test_deterministic(site: tuple[Path, list[Path]], tmp_path: Path) -> None:
    dest, _ = site
    ga.generate(tmp_path / "again", N, seed=1)
    assert snapshot(tmp_path / "again") == snapshot(dest)
    ga.generate(tmp_path / "other", N, seed=2)
    assert snapshot(tmp_path / "other") != snapshot(dest)


def test_deterministic_across_processes(tmp_path: Path) -> None:
    """No dependence on hash randomization (set order) or the clock."""
    outs = []
    for hashseed in ("1", "2"):
        out = tmp_path / f"h{hashseed}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        subprocess.run([sys.executable, str(SCRIPT), str(out), "-n", "120", "--seed", "7", "-q"],
                       check=True, env=env)
        outs.append(snapshot(out))
    assert outs[0] == outs[1]
    assert len(outs[0]) == 120


def test_front_matter(posts: dict[Path, frontmatter.Post]) -> None:
    for path, post in posts.items():
        meta = post.metadata
        assert set(meta) <= KNOWN_KEYS, (path, set(meta) - KNOWN_KEYS)
        assert isinstance(meta["title"], str) and meta["title"]
        assert meta["date"]
        assert isinstance(meta["summary"], str) and meta["summary"].endswith(".")
        assert isinstance(meta["section"], str)
        assert 1 <= len(meta["tags"]) <= 4 and len(set(meta["tags"])) == len(meta["tags"])
        authors = meta.get("authors") or [meta["author"]]
        assert 1 <= len(authors) <= 2
        for fix in meta.get("corrections", []):
            assert isinstance(fix["date"], date) and fix["text"]


def test_unique_titles_and_slugs(posts: dict[Path, frontmatter.Post]) -> None:
    titles = [post["title"] for post in posts.values()]
    assert len(set(titles)) == len(titles)
    slugs = []
    for path, post in posts.items():
        slug = post.get("slug") or slugify(post["title"])  # the contract's slug
        assert path.stem == slug
        slugs.append(slug)
    assert len(set(slugs)) == len(slugs)
    assert any("slug" in post.metadata for post in posts.values())


def test_urls_and_internal_links(site: tuple[Path, list[Path]],
                                 posts: dict[Path, frontmatter.Post]) -> None:
    dest, _ = site
    urls = {}
    for path, post in posts.items():
        day = written_day(post["date"])
        assert path.parent.relative_to(dest).as_posix() == f"{day:%Y/%m}"
        urls[f"/{day:%Y/%m/%d}/{path.stem}/"] = post
    links = [m for post in posts.values()
             for m in re.findall(r"\]\((/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/)\)", post.content)]
    assert len(links) > N // 10
    for url in links:
        assert url in urls, url
        assert not urls[url].get("draft")


def test_dates_span_formats_and_offsets(site: tuple[Path, list[Path]],
                                        posts: dict[Path, frontmatter.Post]) -> None:
    raw = [re.search(r"^date: (.*)$", p.read_text(), re.M).group(1) for p in site[1]]
    patterns = {
        "space": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}",
        "short": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{1,2}",
        "hour1": r"\d{4}-\d\d-\d\d \d:\d\d:\d\d [+-]\d{4}",
        "date": r"\d{4}-\d\d-\d\d",
        "naive": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
        "iso_quoted": r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d'",
        "iso": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
        "iso_z_ms": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
        "iso_z_quoted": r"'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'",
    }
    for name, pattern in patterns.items():
        assert any(re.fullmatch(pattern, r) for r in raw), name
    years = {written_day(post["date"]).year for post in posts.values()}
    assert min(years) == 2015 and max(years) == 2025
    offsets = {r[-5:] for r in raw if re.search(r"[+-]\d{4}$", r)}
    assert len(offsets) >= 5
    # Some articles fall on another day in UTC than the day they are filed under.
    aware = [v for v in (post["date"] for post in posts.values())
             if isinstance(v, datetime) and v.tzinfo is not None]
    differs = [v for v in aware if v.date() != v.astimezone(ga.UTC).date()]
    assert differs


def test_briefs_stories_and_drafts() -> None:
    arts = ga.build_articles(2000, seed=1)
    briefs = [a for a in arts if a.brief]
    assert 0.06 < len(briefs) / len(arts) < 0.14
    assert all(a.body == "" for a in briefs)
    assert any(a.link for a in briefs)
    stories = collections.Counter(a.story for a in arts if a.story)
    assert len(stories) >= 20
    assert all(2 <= size <= 6 for size in stories.values())
    for key in stories:  # a thread stays within one section
        assert len({a.section for a in arts if a.story == key}) == 1
    assert any(a.draft for a in arts)
    assert any(a.updated for a in arts)
    assert any(a.corrections for a in arts)


def test_shape_sections_tags_authors_bodies() -> None:
    arts = ga.build_articles(2000, seed=1)
    assert len({a.section for a in arts}) == 8
    assert len({a for art in arts for a in art.authors}) == 40
    tags = collections.Counter(t for a in arts for t in a.tags)
    assert len(tags) > 150
    counts = sorted(tags.values(), reverse=True)
    assert counts[0] > 10 * counts[len(counts) // 2]  # Zipf-like: few common, most rare
    for a in arts:
        if a.brief:
            continue
        words = len(a.body.split())
        assert 380 <= words <= 950, words
    bodies = "\n".join(a.body for a in arts)
    assert "\n## " in bodies and "\n- " in bodies and "*" in bodies


def test_hugo_style(tmp_path: Path) -> None:
    paths = ga.generate(tmp_path, 50, seed=3, style="hugo")
    assert len(paths) == 50
    assert all(p.parent == tmp_path / "content" / "posts" for p in paths)
    config = (tmp_path / "hugo.toml").read_text()
    assert 'posts = "/:year/:month/:day/:slug/"' in config
    assert 'author = "authors"' in config
    for name in ("baseof", "single", "list", "taxonomy", "term"):
        assert (tmp_path / "layouts" / "_default" / f"{name}.html").is_file()
    arts = {a.slug: a for a in ga.build_articles(50, seed=3)}
    for p in paths:
        meta = frontmatter.load(p).metadata
        art = arts[meta["slug"]]
        assert meta["title"] == art.title
        assert meta["categories"] == [art.section]
        assert meta["authors"] == art.authors
        assert isinstance(meta["date"], datetime) and meta["date"].tzinfo is not None
        # Hugo's :year/:month/:day come out as in sitegen's URL.
        assert f"/{meta['date']:%Y/%m/%d}/{meta['slug']}/" == art.url


def test_cli(tmp_path: Path) -> None:
    assert ga.main([str(tmp_path), "-n", "5", "--seed", "4", "-q"]) == 0
    assert len(list(tmp_path.rglob("*.md"))) == 5
    with pytest.raises(ValueError):
        ga.generate(tmp_path, 1, style="jekyll")


# ---------------------------------------------------------------- --shortcodes (issue #14)

_CALL = re.compile(r"\n\n(\{\{[<%] (figure|youtube|pullquote|note)\b.*?"
                   r"|\{% youtube [\w-]+ %\})(?=\n\n|\n$)", re.S)


def test_shortcodes_leave_the_rest_of_the_archive_as_it_was(tmp_path: Path) -> None:
    plain = snapshot(Path(ga.generate(tmp_path / "plain", 120, seed=2)[0]).parents[2])
    paths = ga.generate(tmp_path / "calls", 120, seed=2, shortcodes=3)
    calls = snapshot(paths[0].parents[2])
    assert sorted(plain) == sorted(calls)
    kinds: collections.Counter[str] = collections.Counter()
    for rel, data in calls.items():
        text = data.decode()
        found = _CALL.findall(text)
        body = text.split("\n---\n", 1)[1]
        assert len(found) == (3 if body else 0), rel  # briefs stay front matter only
        kinds.update(kind or "youtube-liquid" for _, kind in found)
        assert _CALL.sub("", text).encode() == plain[rel], rel  # the calls, and nothing else
    assert set(kinds) == {"figure", "youtube", "youtube-liquid", "pullquote", "note"}
    again = ga.generate(tmp_path / "again", 120, seed=2, shortcodes=3)
    assert snapshot(again[0].parents[2]) == calls


def test_shortcode_archive_builds_every_call(tmp_path: Path) -> None:
    from conftest import build_site

    site = tmp_path / "site"
    ga.generate(site / "content", 40, seed=5, shortcodes=3)
    (site / "sitegen.toml").write_text('title = "T"\nbase_url = "https://example.org/"\n'
                                       "git_history = false\n")
    report = build_site(site)
    assert report.articles >= 35
    pages = [p.read_text() for p in (site / "output").rglob("index.html")
             if re.search(r"/\d{4}/\d\d/\d\d/[^/]+/index\.html$", p.as_posix())]
    html = "\n".join(pages)
    assert "{{<" not in html and "{%" not in html and "{{%" not in html
    for marker in ('class="shortcode-figure"', "<figcaption>", "youtube-nocookie.com/embed/",
                   'class="shortcode-pullquote"', 'class="shortcode-note'):
        assert marker in html, marker


def test_shortcodes_option_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ga.generate(tmp_path, 5, style="hugo", shortcodes=2)
    with pytest.raises(SystemExit):
        ga.main([str(tmp_path), "-n", "5", "--shortcodes", "2", "--style", "hugo", "-q"])
    with pytest.raises(SystemExit):
        ga.main([str(tmp_path), "-n", "5", "--shortcodes", "-1", "-q"])
    assert ga.main([str(tmp_path / "ok"), "-n", "5", "--shortcodes", "2", "-q"]) == 0
