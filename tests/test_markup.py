from __future__ import annotations

from sitegen.markup import MarkdownRenderer


def test_root_relative_links_get_the_base_path_and_are_recorded():
    r = MarkdownRenderer("/repo/")
    out = r.render("See [a](/2025/01/01/a/) and [b](https://x.org/) and ![i](map.svg)")
    assert 'href="/repo/2025/01/01/a/"' in out.html and 'src="map.svg"' in out.html
    assert 'href="https://x.org/"' in out.html
    assert out.internal_links == ("/2025/01/01/a/",)


def test_reset_between_documents():
    r = MarkdownRenderer()
    first = r.render("Text[^1]\n\n[^1]: Note\n\n## Heading")
    second = r.render("Plain")
    assert "footnote" in first.html and "footnote" not in second.html
    assert second.internal_links == ()
    assert second.html == "<p>Plain</p>"


def test_excerpt_words_and_empty_bodies():
    r = MarkdownRenderer()
    out = r.render("First *para* &amp; more.\n\nSecond.")
    assert out.excerpt == "First para & more." and out.words == 5
    assert r.render("  \n").html == ""


def test_extensions_tables_and_heading_ids():
    html = MarkdownRenderer().render("## Who\n\n| a | b |\n|---|---|\n| 1 | 2 |").html
    assert '<h2 id="who">' in html and "<table>" in html
