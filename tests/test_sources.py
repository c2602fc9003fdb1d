"""Which files of content/ are articles, bundles, section intros or not used (sources.scan)."""

from __future__ import annotations

from pathlib import Path

from conftest import article, build_site

from sitegen import sources
from sitegen.htmlbody import render_html
from sitegen.records import BuildReport

HTML_POST = "---\ntitle: Plain HTML\ndate: 2025-01-03\n---\n<p>A <em>*raw*</em> paragraph.</p>\n" \
            "<p><a href=\"/about/\">About</a> <img src='/img/x.png' alt=\"\"></p>\n"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_every_markdown_extension_and_html_with_front_matter_is_an_article(tmp_path):
    write(tmp_path, {name: "---\ntitle: T\n---\n" for name in (
        "a.md", "b.markdown", "c.mdown", "d.mkd", "e.mkdn", "f.html")})
    write(tmp_path, {"plain.html": "<p>no front matter</p>", "notes.txt": "x",
                     "img/logo.png": "png", "post/_index.md": "---\ntitle: Blog\n---\n"})
    found = sources.scan(tmp_path)
    assert [rel for rel, _p, _b in found.articles] == [
        "a.md", "b.markdown", "c.mdown", "d.mkd", "e.mkdn", "f.html"]
    assert found.unused == ["notes.txt", "plain.html", "img/logo.png"]
    assert found.intros == ["post/_index.md"]


def test_an_index_beside_other_articles_is_a_section_intro_not_a_bundle(tmp_path):
    write(tmp_path, {"news/index.md": "---\ntitle: News from the city\n---\nIntro.\n",
                     "news/2025/01/a.md": "---\ntitle: A\n---\n",
                     "news/b.markdown": "---\ntitle: B\n---\n"})
    found = sources.scan(tmp_path)
    assert [rel for rel, _p, _b in found.articles] == ["news/b.markdown", "news/2025/01/a.md"]
    assert found.intros == ["news/index.md"]


def test_ordinary_bundles_stay_bundles(tmp_path):
    write(tmp_path, {
        # a dated index: a story with its files, even with Markdown among them
        "photos/index.md": "---\ntitle: Photos\ndate: 2025-01-01\n---\n",
        "photos/notes/caption.md": "x",
        # a dated folder name
        "2025-01-02-storm/index.markdown": "---\ntitle: Storm\n---\n",
        "2025-01-02-storm/more.md": "x",
        # deeper than a section's root
        "news/2025/quake/index.md": "---\ntitle: Quake\n---\n",
        "news/2025/quake/extra.md": "x",
    })
    found = {rel: bundle for rel, _p, bundle in sources.scan(tmp_path).articles}
    assert found == {"2025-01-02-storm/index.markdown": ("more.md",),
                     "news/2025/quake/index.md": ("extra.md",),
                     "photos/index.md": ("notes/caption.md",)}


def test_html_bodies_pass_through_with_links_under_the_base_path():
    rendered = render_html(HTML_POST.split("---\n", 2)[2], "/archive/")
    assert "<em>*raw*</em>" in rendered.html  # not read as Markdown
    assert 'href="/archive/about/"' in rendered.html and "src='/archive/img/x.png'" in rendered.html
    assert rendered.internal_links == ("/about/", "/img/x.png")
    assert rendered.excerpt == "A *raw* paragraph." and rendered.words == 4


def test_a_site_builds_markdown_html_and_intros_and_counts_unused_files(make_site):
    site = make_site({
        "content/2025/jekyll-post.markdown": article("Jekyll post", "2025-01-02",
                                                    "Some *emphasis*."),
        "content/2025/plain-html.html": HTML_POST,
        "content/2025/stray.html": "<p>no front matter</p>",
        "content/en/post/_index.md": "---\ntitle: Blog\nurl: /blog/\n---\n",
    })
    report = build_site(site)
    assert report.articles == 2
    out = site / "output/2025/01"
    assert "<em>emphasis</em>" in (out / "02/jekyll-post/index.html").read_text()
    assert "<em>*raw*</em>" in (out / "03/plain-html/index.html").read_text()


def test_the_summary_line_counts_unused_files():
    report = BuildReport(3, 9, 9, 9, 0, 0, 0.5, unused=("img/a.png", "notes.txt"))
    assert report.summary_line().endswith("in 0.50 s; 2 other files in content/ not used")
    assert "other" not in BuildReport(3, 9, 9, 9, 0, 0, 0.5).summary_line()
