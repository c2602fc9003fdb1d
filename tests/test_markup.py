from __future__ import annotations

import pytest

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


INLINE_SAMPLES = [
    "Plain prose with no markup at all, over two\nlines of text.",
    "*em* **strong** ***both*** _u_ __uu__ a_b_c 2 * 3 * 4",
    "`code` ``co`de`` \\*escaped\\* back\\\\slash",
    "[link](/a/ \"t\") [ref][r] [short] ![img](/i.png) ![ref img][r]\n\n[r]: /r/\n[short]: /s/",
    "<https://example.org> <me@example.org> <span class=x>html</span> <!-- c -->",
    "AT&amp;T &copy; & alone &#169; &#xA9;",
    "line one  \nline two with a hard break",
    "Note[^1] here.\n\n[^1]: The *footnote* text.",
    "| a | b |\n|---|---|\n| *x* | `y` |",
    "Term\n: Definition with [a link](/d/)\n",
    "## Heading *em* {#custom}\n\nPara {: .cls }",
    "```\n*not em* [not link]\n```",
    "> quote with _em_ and &amp;\n\n- item *one*\n- item two",
    "# H1\n\n## H2 ##\n\nSetext\n======\n\nOther\n------\n\ntext # not a heading",
    "para\n\n---\n\n* * *\n\n___\n\nA well-known trade-off: said the mayor, 3 - 2 = 1.",
    "1. one\n2. two\n    - nested *x*\n    - nested y\n\n3. three\n\n+ plus\n+ list",
    "2024. A year that starts a line.\n\n- a\n\n    indented code\n\n> q1\n> q2\n\n>no space",
    "Term one\n:   its definition\n\nNot a term: a colon in prose.\n\n[id]: /u/ \"Title\"\n\n[id]",
    "Text[^n] and [^m].\n\n[^n]: first\n[^m]: second\n    continued",
    "<div class=\"raw\">\n*not em*\n</div>\n\n| one column |\n| --- |\n| row |",
    "    code first\n\ntext | with | pipes but no table\n\n*\temphasis?*",
    "AT&T and &amp without its semicolon &copy more, &#169 and &#xA9 too",
    "~~~\n<b>fenced</b> *x*\n~~~",
    "``` {.py}\n*code*\n```",
    "a line\n \nof one space",
    "**___[r]{: .c} _`***{: .c}__*",  # nested patterns start after the one that matched
    "line with trailing spaces   \n   \n\tTabbed\r\nwindows line\rold mac",
    "control \x02chars\x03 dropped",
]


@pytest.mark.compat  # fast path against stock: make test-compat
def test_quick_markdown_gives_the_same_html_as_python_markdown(monkeypatch):
    import markdown
    from markdown.treeprocessors import InlineProcessor

    from sitegen import quickmarkdown

    quick = MarkdownRenderer("/repo/")
    monkeypatch.setattr(quickmarkdown, "supported", lambda: False)
    stock = MarkdownRenderer("/repo/")
    assert type(stock.md.treeprocessors["inline"]) is InlineProcessor
    assert "parseBlocks" not in vars(stock.md.parser)
    assert "parseBlocks" in vars(quick.md.parser)
    assert isinstance(quick.md.treeprocessors["inline"], markdown.treeprocessors.InlineProcessor)
    for name in ("normalize_whitespace", "html_block", "fenced_code_block"):
        assert "run" in vars(quick.md.preprocessors[name]), name
        assert "run" not in vars(stock.md.preprocessors[name]), name
    for text in INLINE_SAMPLES:
        assert quick.render(text).html == stock.render(text).html, text
    assert quick.md.treeprocessors["inline"].trigger is not None  # the quick path was on


@pytest.mark.compat  # fast path against stock: make test-compat
def test_the_lone_star_pattern_of_markdown_before_3_11_keeps_the_quick_path(monkeypatch):
    """Python-Markdown before 3.11 registers `not_strong` (a lone `*` or `_`): the quick
    path must know it, or every document takes the slow path (2.5x the time on 3.10)."""
    from markdown.inlinepatterns import SimpleTextInlineProcessor

    from sitegen import quickmarkdown

    quick = MarkdownRenderer()
    monkeypatch.setattr(quickmarkdown, "supported", lambda: False)
    stock = MarkdownRenderer()
    for renderer in (quick, stock):
        if "not_strong" not in renderer.md.inlinePatterns:  # as Markdown 3.10 registers it
            renderer.md.inlinePatterns.register(SimpleTextInlineProcessor(
                r"((^|(?<=\s))(\*{1,3}|_{1,3})(?=\s|$))"), "not_strong", 70)
    for text in [*INLINE_SAMPLES, "a * b _ c", "*** lone", "x __ y **z**", "_ *a* _"]:
        assert quick.render(text).html == stock.render(text).html, text
    assert quick.md.treeprocessors["inline"].trigger is not None


def test_an_unknown_inline_pattern_turns_the_quick_path_off():
    from markdown.inlinepatterns import SimpleTagInlineProcessor

    renderer = MarkdownRenderer()
    renderer.md.inlinePatterns.register(
        SimpleTagInlineProcessor(r"()~~(.+?)~~", "del"), "strikethrough", 5)
    assert renderer.render("a ~~gone~~ word").html == "<p>a <del>gone</del> word</p>"
    assert renderer.md.treeprocessors["inline"].trigger is None


def test_without_the_internals_it_replaces_markdown_runs_stock(monkeypatch):
    from markdown.treeprocessors import InlineProcessor

    from sitegen import quickmarkdown

    quick = MarkdownRenderer()
    monkeypatch.setattr(quickmarkdown, "supported", lambda: False)
    stock = MarkdownRenderer()
    assert type(stock.md.treeprocessors["inline"]) is InlineProcessor
    assert "parseBlocks" not in vars(stock.md.parser)
    for text in INLINE_SAMPLES:
        assert stock.render(text).html == quick.render(text).html


@pytest.mark.compat  # fast path against stock: make test-compat
def test_quick_markdown_matches_stock_on_random_markup(monkeypatch):
    """Random mixes of every construct the shortcuts reason about, against stock."""
    import random

    from sitegen import quickmarkdown

    quick = MarkdownRenderer("/r/")
    monkeypatch.setattr(quickmarkdown, "supported", lambda: False)
    stock = MarkdownRenderer("/r/")
    tokens = ["*", "**", "_", "__", "`", "[", "]", "(/u/)", "](/u/)", "<b>", "</b>", "&amp;",
              "&", "&#169", "\\*", "\\", "  \n", "\n", "\n\n", "a", " ", "x y", "![i](/i.png)",
              "[^1]", "<http://e.org>", "[r]", "\n\n[r]: /r/\n", "{: .c}", "```", "~~~",
              "\n- ", "\n1. ", "# ", "\n> ", "|", "\n---\n", "\t"]
    rng = random.Random(4)
    differ = []
    for _ in range(5000):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 14)))
        if quick.render(text).html != stock.render(text).html:
            differ.append(text)
    assert differ == []
