"""Intro pages (Hugo's _index.md, an index.md at a section's root) of sections, tags, authors."""

from __future__ import annotations

from conftest import article, build_site

INTRO = "---\ntitle: News from City Hall\n---\nEverything the *council* decides.\n"


def test_intros_give_term_pages_a_title_and_text_and_are_no_articles(make_site):
    site = make_site({
        "content/news/_index.md": INTRO,
        "content/news/a.md": article("Budget passes", "2025-01-02", section="News",
                                     tags=["Budget"]),
        "content/tags/budget/_index.markdown": "---\ntitle: The city budget\n---\n",
        "content/authors/ann-lee/_index.md": "---\ntitle: Ann Lee&#8217;s desk\n---\nHi.\n",
        "content/b.md": article("Other", "2025-01-03", author="Ann Lee"),
    })
    report = build_site(site)
    assert report.articles == 2
    section = (site / "output/sections/news/index.html").read_text()
    assert "<h1>News from City Hall</h1>" in section
    assert "Everything the <em>council</em> decides." in section
    assert "<h1>The city budget</h1>" in (site / "output/tags/budget/index.html").read_text()
    assert "<h1>Ann Lee’s desk</h1>" in (site / "output/authors/ann-lee/index.html").read_text()


def test_an_index_at_a_sections_root_is_its_intro_and_keeps_its_articles(make_site):
    site = make_site({
        "content/news/index.md": INTRO,
        "content/news/2025/a.md": article("Budget passes", "2025-01-02", section="News"),
        "content/news/b.md": article("Roads", "2025-01-04", section="News"),
    })
    report = build_site(site)
    assert report.articles == 2
    assert "<h1>News from City Hall</h1>" in \
        (site / "output/sections/news/index.html").read_text()


def test_an_intro_for_no_term_and_without_a_date_does_not_fail(make_site):
    site = make_site({"content/en/post/_index.md": "---\ntitle: Blog\nurl: /blog/\n---\n",
                      "content/en/post/a.md": article("A", "2025-01-02")})
    assert build_site(site).articles == 1
