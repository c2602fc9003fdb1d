"""Shortcodes and template tags: the three syntaxes, escapes, code protection, errors,
aliases, site overrides, --keep-going, golden output and the real-world archives.

Regenerate the golden output after an intended change with
`UPDATE_GOLDEN=1 pytest tests/test_shortcodes.py`, then review the diff of
tests/golden/shortcodes/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXED_NOW, article, build_site, read_tree, site_config

from sitegen.build import build
from sitegen.check import check_site
from sitegen.config import load_config
from sitegen.errors import ConfigError, ContentError
from sitegen.markup import MarkdownRenderer
from sitegen.shortcodes import Engine, Page, parse_args, scan
from sitegen.shortcodes.syntax import Tag
from sitegen.urls import Urls

SITE = Path(__file__).parent / "sites" / "shortcodes"
GOLDEN = Path(__file__).parent / "golden" / "shortcodes"
REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"


@pytest.fixture
def render(tmp_path):
    """render(markdown, config=...) -> (html, problems) through the real Markdown renderer."""
    def run(text: str, config: str = "", files: dict[str, str] | None = None):
        site = tmp_path / "site"
        (site / "content").mkdir(parents=True, exist_ok=True)
        (site / "sitegen.toml").write_text(
            config or 'title = "T"\nbase_url = "https://example.org/sub/"\n')
        for rel, content in (files or {}).items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_text(content)
        cfg = load_config(site)
        renderer = MarkdownRenderer(cfg.base_path, None, Engine(cfg, Urls(cfg)))
        out = renderer.render(text, Page("content/a.md", 10, None))
        return out.html, [str(p) for p in out.shortcode_problems]
    return run


# ---------------------------------------------------------------- syntax

def test_scan_reads_each_syntax_and_leaves_code_alone():
    text = ('{{< figure src="a.png" caption="x > y" >}} {{% note %}}*n*{{% /note %}} '
            '{% include a.html k=v %} [caption width=3]<img src=x> hi[/caption] '
            '{{ "/p" | relative_url }} `{{< inline_code >}}`\n\n'
            '```\n{{< fenced >}}\n```\n\n    {{< indented >}}\n')
    tags = [p for p in scan(text) if isinstance(p, Tag)]
    assert [(t.syntax, t.name, t.closing) for t in tags] == [
        ("hugo", "figure", False), ("hugo-md", "note", False), ("hugo-md", "note", True),
        ("liquid", "include", False), ("wp", "caption", False), ("wp", "caption", True),
        ("expr", "", False)]
    assert tags[0].args == 'src="a.png" caption="x > y"'


def test_arguments_positional_named_quoted_and_raw():
    args, kwargs = parse_args('a "b c" key="v\\"q" k2=v2 k3=\'s\' k4=`raw \\n` '
                              'https://x.com/?a=b ids=1,2,3')
    assert args == ("a", "b c", "https://x.com/?a=b")
    assert kwargs == {"key": 'v"q', "k2": "v2", "k3": "s", "k4": "raw \\n", "ids": "1,2,3"}
    assert parse_args('"a", "b"') == (("a", "b"), {})


def test_hugo_calls_inline_block_paired_and_self_closing(render):
    html, problems = render(
        'Text {{< youtube dQw4w9WgXcQ >}} after.\n\n'
        '{{< figure src="/i/a.png" alt="A" caption="Cap" />}}\n\n'
        '{{% note title="N" %}}\n**bold** [l](/x/)\n{{% /note %}}\n\n'
        '{{< pullquote >}}*quoted*{{< /pullquote >}}\n')
    assert problems == []
    # block output inside a paragraph splits it: no <figure> inside a <p>
    assert "<p>Text</p>\n<figure class=\"shortcode-video\">" in html
    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ" in html and "<p>after.</p>" in html
    assert '<img src="/sub/i/a.png" alt="A"' in html and "<figcaption>Cap" in html
    assert "<strong>bold</strong>" in html and 'href="/sub/x/"' in html
    assert "<blockquote><em>quoted</em></blockquote>" in html  # {{< >}}: one paragraph unwrapped
    assert "{{" not in html


def test_hugo_escape_shows_the_call_literally(render):
    html, problems = render('Write {{</* figure src="x.png" */>}} like this.\n\n'
                            '```\n{{</* note */>}}\n```\n')
    assert problems == []
    assert 'Write {{&lt; figure src="x.png" &gt;}} like this.' in html
    assert "<code>{{&lt; note &gt;}}\n</code>" in html


def test_code_spans_fenced_and_indented_code_are_never_touched(render):
    html, problems = render('Use `{{< figure src="a" >}}` and `{% include x %}`.\n\n'
                            '~~~\n{{< youtube abcdefgh >}}\n[caption]x[/caption]\n~~~\n\n'
                            'Para.\n\n    {{ site.nothing }}\n')
    assert problems == []
    assert '<code>{{&lt; figure src="a" &gt;}}</code>' in html
    assert "<code>{% include x %}</code>" in html
    assert "{{&lt; youtube abcdefgh &gt;}}\n[caption]x[/caption]" in html
    assert "<pre><code>{{ site.nothing }}" in html


def test_liquid_raw_inside_and_outside_code(render):
    html, problems = render('```\n{% raw %}{{ page.title }}{% endraw %}\n```\n\n'
                            '{% raw %}As written: {{ x }} {% if %}{% endraw %}\n')
    assert problems == []
    assert "<code>{{ page.title }}\n</code>" in html
    assert "<p>As written: {{ x }} {% if %}</p>" in html


def test_a_raw_tag_inside_raw_is_shown_as_written(render):
    """Jekyll's own release notes show the tag itself: `{% raw %}{% raw %}{% endraw %}`."""
    html, problems = render('[`{% raw %}{% highlight %}{% endraw %}` now behaves like '
                            '`{% raw %}{% raw %}{% endraw %}`](https://example.com/pr), so.\n\n'
                            '{% raw %}{% raw %} and {{ x }}{% endraw %} after\n')
    assert problems == []
    assert ('<a href="https://example.com/pr"><code>{% highlight %}</code> now behaves like '
            '<code>{% raw %}</code></a>, so.') in html
    assert "<p>{% raw %} and {{ x }} after</p>" in html


def test_liquid_highlight_is_a_code_block(render):
    html, problems = render('{% highlight ruby linenos %}\nputs "{{ x }}" if a < b\n'
                            '{% endhighlight %}\n')
    assert problems == []
    assert '<pre><code class="language-ruby">puts &#34;{{ x }}&#34; if a &lt; b\n</code></pre>' \
        in html


def test_liquid_urls_get_the_base_path_once(render):
    html, problems = render(
        '[a]({{ site.baseurl }}/about/) ![c]({{ "/c.png" | relative_url }}) '
        '[f]({{ "/feed.xml" | absolute_url }}) [u]({{ site.url }}{{ site.baseurl }}/x/) '
        '<img src="{{ site.baseurl }}/raw.png" alt="r"> [e]({{ "/e/" | url }})\n')
    assert problems == []
    assert 'href="/sub/about/"' in html and 'src="/sub/c.png"' in html
    assert 'href="https://example.org/sub/feed.xml"' in html
    assert 'href="https://example.org/sub/x/"' in html
    assert 'src="/sub/raw.png"' in html and 'href="/sub/e/"' in html


def test_site_variables_from_the_config_and_unknown_ones_are_errors(render):
    config = ('title = "T"\nbase_url = "https://example.org/"\n'
              '[site_variables]\nrepository = "https://github.com/o/r"\n')
    html, problems = render("[issues]({{ site.repository }}/issues) {{ site.missing }}\n",
                            config)
    assert 'href="https://github.com/o/r/issues"' in html
    assert problems == [
        "content/a.md:10: error: shortcode 'site.missing': unknown variable 'site.missing' in "
        "{{ site.missing }} (set site variables in [tool.sitegen.site_variables]); variables "
        "that exist: site.url, site.baseurl, site.title, site.description, site.repository, "
        "page.title, page.url, page.summary"]
    assert "{{" not in html


def test_wordpress_calls_and_ordinary_brackets(render):
    html, problems = render(
        '[caption id="attachment_6" align="alignright" width="300"]<img src="/b.jpg" '
        'alt="Boat" width="300" height="200" /> The boat[/caption]\n\n'
        '[embed]https://youtu.be/dQw4w9WgXcQ[/embed]\n\n[embed]https://example.com/r[/embed]\n\n'
        '[audio mp3="/a.mp3"] [video mp4="/v.mp4"]\n\n'
        'A [note] in [brackets], a [link](https://e.com) and [[gallery]].\n')
    assert problems == []
    assert re.search(r'<figure class="shortcode-caption alignright">\s*<img src="/b.jpg" '
                     r'alt="Boat"[^>]*>\s*<figcaption>The boat</figcaption>', html)
    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ" in html
    assert '<a href="https://example.com/r">https://example.com/r</a>' in html
    assert 'src="/sub/a.mp3"' in html and 'src="/sub/v.mp4"' in html
    assert "A [note] in [brackets], a <a href=\"https://e.com\">link</a> and [gallery]." in html


def test_include_renders_a_file_of_includes_with_its_parameters(render):
    html, problems = render('{% include box.md who="you" %}\n',
                            files={"includes/box.md": "Hello **{{ include.who }}**\n"})
    assert problems == []
    assert "<p>Hello <strong>you</strong></p>" in html


def test_aliases_point_a_name_at_a_built_in(render):
    config = ('title = "T"\nbase_url = "https://example.org/"\n'
              '[shortcode_aliases]\nimg-right = "figure"\nlegacy-img = "figure"\n')
    html, problems = render('{{< img-right src="a.png" alt="A" >}}\n\n'
                            '[legacy-img src="b.png" alt="B"]\n', config)
    assert problems == []
    assert 'src="a.png" alt="A"' in html and 'src="b.png" alt="B"' in html


def test_a_site_template_overrides_the_built_in(render):
    html, problems = render('{{< youtube abcdefghij >}}\n', files={
        "layouts/shortcodes/youtube.html": '<p class="mine">{{ arg("id", 0) }}</p>'})
    assert problems == []
    assert html == '<p class="mine">abcdefghij</p>'


@pytest.mark.parametrize(("text", "message"), [
    ("{{< nosuch a >}}", "shortcode 'nosuch': unknown shortcode 'nosuch'; shortcodes that "
                         "exist: audio, caption, comment, embed, figure,"),
    ("{{< figure >}}", "shortcode 'figure': needs src, the image's address"),
    ('{{< figure src="a" "b" >}}', "Hugo shortcodes take positional or named arguments"),
    ('{{< figure src="a >}}', "cannot read this tag (unclosed quote or missing end?): "
                              '{{< figure src="a >}}'),
    ("{{< figure src=`a >}}", "cannot read this tag"),
    ("{{< youtube x >}}", "needs a YouTube video id or URL, got 'x'"),
    ("{% post_url 2001-01-01-nothing %}", "post_url '2001-01-01-nothing': no article file"),
    ("[caption]text without end", "'caption' is never closed by [/caption]"),
    ("{% raw %}no end", "'{% raw %}' is never closed by '{% endraw %}'"),
    ("{{< /note >}}", "a closing tag without its opening {{< note >}}"),
    ('{{ "/x" | upcase }}', "unknown filter 'upcase'"),
])
def test_calls_that_cannot_render_are_errors_with_file_and_line(render, text, message):
    html, problems = render("First line.\n\n" + text + "\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith("content/a.md:12: error: ")
    assert message in problems[0]


def test_a_failed_paired_call_shows_its_inner_content(render):
    html, problems = render("{{< nosuch >}}Inner *text*{{< /nosuch >}}\n")
    assert len(problems) == 1
    assert html == "<p>Inner <em>text</em></p>"


def test_bodies_without_calls_take_the_fast_path(render, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("scanned a body without calls")
    monkeypatch.setattr(Engine, "expand", never)
    html, problems = render("Plain text with [a link](/x/) and [brackets].\n")
    assert html.startswith("<p>Plain text")


# ---------------------------------------------------------------- builds

def _site(make_site, body: str, config: str = "", **files: str) -> Path:
    return make_site({"content/a.md": article("A", "2025-01-02 10:00:00 +0000", body),
                      "content/2025-01-01-target.md": article("Target", "2025-01-01"),
                      **files}, config=config)


def test_build_fails_on_a_call_that_cannot_render_and_names_it(make_site):
    site = _site(make_site, "Before.\n\n{{< nosuch >}}\n")
    with pytest.raises(ContentError) as exc:
        build_site(site)
    assert "content/a.md:8: error: shortcode 'nosuch': unknown shortcode" in str(exc.value)


def test_keep_going_builds_the_article_and_lists_each_call(make_site, tmp_path):
    site = _site(make_site, "{{< nosuch >}}Kept inner{{< /nosuch >}}\n\n{% assign x = 1 %}\n")
    report = build_site(site, keep_going=True)
    assert len([w for w in report.warnings if "shortcode" in w]) == 2
    page = (site / "output/2025/01/02/a/index.html").read_text()
    assert "Kept inner" in page and "{{" not in page and "{%" not in page
    # the same cached article without --keep-going: still an error
    with pytest.raises(ContentError):
        build_site(site)


def test_check_reports_the_same_errors(make_site):
    site = _site(make_site, "{{< nosuch >}}\n")
    problems = check_site(site_config(site))
    assert any(p.severity == "error" and "unknown shortcode 'nosuch'" in p.message
               and p.line == 6 for p in problems)


def test_post_url_and_link_give_the_articles_url_under_the_base_path(make_site):
    config = 'title = "T"\nbase_url = "https://example.org/news/"\n'
    site = _site(make_site, "[p]({% post_url 2025-01-01-target %}) "
                            "[l]({% link 2025-01-01-target.md %})\n", config)
    build_site(site)
    page = (site / "output/2025/01/02/a/index.html").read_text()
    assert '<a href="/news/2025/01/01/target/">p</a> <a href="/news/2025/01/01/target/">l</a>' \
        in page
    assert not [p for p in check_site(site_config(site)) if p.severity == "error"]


def test_editing_a_shortcode_template_rebuilds_the_bodies(make_site):
    site = _site(make_site, "{{< note >}}Hi{{< /note >}}\n")
    build_site(site)
    (site / "layouts/shortcodes").mkdir(parents=True)
    (site / "layouts/shortcodes/note.html").write_text("<div class=\"edited\">{{ inner }}</div>")
    build_site(site)
    assert '<div class="edited">Hi</div>' in \
        (site / "output/2025/01/02/a/index.html").read_text()


def test_bad_alias_and_variable_config_is_rejected(tmp_path):
    (tmp_path / "sitegen.toml").write_text(
        '[shortcode_aliases]\n"bad name" = "figure"\nself = "self"\n'
        '[site_variables]\nlist = [1, 2]\n')
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    text = str(exc.value)
    assert "'bad name' is not a name" in text and "'self' must name another shortcode" in text
    assert "'list' must be text or a number" in text


# ---------------------------------------------------------------- golden

def test_every_built_in_matches_golden_output(tmp_path):
    config = load_config(SITE, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                         search=False, git_history=False, now=FIXED_NOW, jobs=1)
    build(config)
    tree = {k: v for k, v in read_tree(tmp_path / "out").items()
            if k.startswith("2025/03/0") and k.endswith("/index.html") and k.count("/") == 4}
    assert len(tree) == 3
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in tree.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    golden = read_tree(GOLDEN)
    assert sorted(tree) == sorted(golden)
    for rel in tree:
        assert tree[rel] == golden[rel], f"{rel} differs from tests/golden/shortcodes/{rel}"


# ---------------------------------------------------------------- real archives

_CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.S)
_SYNTAX = ("{{<", "{{%", "{%", "{{ site", "{{&lt;")


@pytest.mark.parametrize("archive", ["jekyll-posts", "hugo-letsencrypt"])
def test_real_archives_show_no_template_syntax(tmp_path, archive):
    source = REALWORLD / archive
    if not source.is_dir():
        pytest.skip(f"{source} is not here")
    site = tmp_path / "site"
    shutil.copytree(source, site / "content")
    (site / "sitegen.toml").write_text(
        'title = "Archive"\nbase_url = "https://example.org/"\n'
        '[site_variables]\nrepository = "https://github.com/jekyll/jekyll"\n')
    report = build(site_config(site, keep_going=True, git_history=False))
    pages = list((site / "output").rglob("index.html"))
    assert report.articles > 50 and pages
    seams = []
    for page in pages:
        text = _CODE.sub("", page.read_text(encoding="utf-8"))
        seams += [f"{page.relative_to(site)}: {s}" for s in _SYNTAX if s in text]
    assert seams == []
