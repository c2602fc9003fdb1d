"""Raw HTML in article bodies: what the sanitizer keeps, removes and reports."""

from __future__ import annotations

import random
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import FIXED_NOW

from sitegen.build import build
from sitegen.check import check_site
from sitegen.config import load_config
from sitegen.errors import ConfigError
from sitegen.markup import MarkdownRenderer
from sitegen.outputdigest import output_digest
from sitegen.sanitize import (
    CLEAN_CONTENT,
    DEFAULT_IFRAME_HOSTS,
    GENERIC_ATTRIBUTES,
    POLICY,
    STYLE_VALUES,
    URL_ATTRIBUTES,
    Sanitizer,
    _url_ok,
    may_need_cleaning,
)

SAFE = Sanitizer()
YOUTUBE = ('<iframe src="https://www.youtube.com/embed/abc" width="560" height="315" '
           'title="Video" allow="encrypted-media" allowfullscreen loading="lazy" '
           'referrerpolicy="strict-origin"></iframe>')


def clean(html: str, sanitizer: Sanitizer = SAFE) -> tuple[str, list[str]]:
    out = sanitizer.clean(html)
    return out.html, [r.message for r in out.removed]


def test_script_and_style_elements_go_with_their_content():
    html, removed = clean('<p>Hi</p><script>alert("x")</script><style>p{}</style><p>end</p>')
    assert html == "<p>Hi</p><p>end</p>"
    assert removed == ["removed <script> element", "removed <style> element"]


def test_event_handlers_are_removed_and_the_element_kept():
    html, removed = clean('<p><a href="/a/" onclick="steal()">a</a> '
                          '<img src="x.png" alt="x" ONERROR="steal()"></p>')
    assert html == '<p><a href="/a/">a</a> <img src="x.png" alt="x"></p>'
    assert removed == ["removed onclick attribute from <a>", "removed onerror attribute from <img>"]


@pytest.mark.parametrize("href", [
    "javascript:alert(1)", "JavaScript:alert(1)", " \tjava&#x09;script:alert(1)",
    "javascript&colon;alert(1)", "&#106;avascript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
])
def test_script_urls_are_removed_from_links(href):
    html, removed = clean(f'<a href="{href}" title="t">click</a>')
    assert html == '<a title="t">click</a>'
    assert len(removed) == 1 and removed[0].endswith("URL from <a href>"), removed


def test_ordinary_urls_and_image_data_urls_are_kept():
    html = ('<p><a href="https://example.com/?a=1&amp;b=2">x</a> <a href="mailto:a@b.org">m</a> '
            '<a href="../up/">u</a> <a href="#fn:1">f</a> <a href="tel:+15551234">t</a> '
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot"></p>')
    assert clean(html) == (html, [])
    assert clean('<video src="data:image/png;base64,AA" controls></video>')[0] == \
        "<video controls=\"\"></video>"


def test_markdown_links_and_attribute_lists_cannot_smuggle_script():
    renderer = MarkdownRenderer()
    out = renderer.render('[x](javascript:alert(1)) and ![i](data:text/html,x)\n\n'
                          'Para\n{: onclick="steal()" .lead }')
    assert "javascript" not in out.html and "onclick" not in out.html
    assert "data:" not in out.html
    assert '<p class="lead">Para</p>' in out.html
    assert [r.message for r in out.removed] == [
        "removed javascript: URL from <a href>", "removed data: URL from <img src>",
        "removed onclick attribute from <p>"]


def test_iframe_from_an_allowed_host_is_kept_byte_for_byte():
    html = f"<figure>{YOUTUBE}<figcaption>A video</figcaption></figure>"
    assert clean(html) == (html, [])
    for src in ("https://www.youtube-nocookie.com/embed/a", "https://player.vimeo.com/video/1",
                "https://www.google.com/maps/embed?pb=1", "https://maps.google.com/maps?q=x",
                "https://www.openstreetmap.org/export/embed.html"):
        assert clean(f'<iframe src="{src}"></iframe>')[1] == []


@pytest.mark.parametrize(("src", "reason"), [
    ("https://example.com/x", "from example.com (not in iframe_hosts)"),
    ("http://www.youtube.com/embed/a", "with a non-https src (http://www.youtube.com/embed/a)"),
    ("https://www.google.com/search?q=1", "from www.google.com/search (not in iframe_hosts)"),
    ("https://www.youtube.com.evil.org/embed", "from www.youtube.com.evil.org (not in "
                                              "iframe_hosts)"),
    ("https://user@www.youtube.com/embed", "from user@www.youtube.com (not a plain host name)"),
    ("javascript:alert(1)", "with a non-https src (javascript:alert(1))"),
])
def test_iframe_from_another_host_is_removed_entirely(src, reason):
    html, removed = clean(f'<p>a</p><iframe src="{src}" title="t">fallback</iframe><p>b</p>')
    assert html == "<p>a</p><p>b</p>"
    assert removed == [f"removed iframe {reason}"]


def test_iframe_keeps_only_its_attributes_and_loses_its_fallback_content():
    html, removed = clean('<iframe src="https://player.vimeo.com/video/1" srcdoc="<b>x</b>" '
                          'onload="x()" sandbox="">fallback <b>text</b></iframe>')
    assert html == '<iframe src="https://player.vimeo.com/video/1"></iframe>'
    assert removed == ["removed srcdoc attribute from <iframe>",
                       "removed onload attribute from <iframe>",
                       "removed sandbox attribute from <iframe>"]
    assert clean("<iframe></iframe><p>x</p>") == ("<p>x</p>", ["removed iframe without a src"])


def test_iframe_hosts_replaces_the_default_list():
    own = Sanitizer(iframe_hosts=("embed.example.org/player",))
    assert clean('<iframe src="https://embed.example.org/player/7"></iframe>', own)[1] == []
    assert clean('<iframe src="https://embed.example.org/other"></iframe>', own)[0] == ""
    assert clean(YOUTUBE, own)[0] == ""


def test_forms_and_unknown_tags_lose_the_tag_keep_the_text():
    html, removed = clean('<form action="https://evil.example/"><label>Name</label>'
                          '<input name="n"><button formaction="x">Go</button>'
                          '<textarea>secret</textarea></form><marquee>hi</marquee>')
    assert html == "NameGohi"
    assert removed == ["removed <form> tag (its content kept)",
                       "removed <label> tag (its content kept)",
                       "removed <input> tag (its content kept)",
                       "removed <button> tag (its content kept)",
                       "removed <textarea> element", "removed <marquee> tag (its content kept)"]


def test_editorial_html_is_kept_as_written():
    html = (
        '<figure class="wide"><picture><source srcset="a.avif 1x, a2.avif 2x" type="image/avif">'
        '<img src="a.jpg" srcset="a.jpg 1x" sizes="100vw" width="800" height="600" '
        'loading="lazy" alt="Harbour"></picture><figcaption>The <mark>harbour</mark>'
        '</figcaption></figure>\n'
        '<blockquote cite="https://example.com/speech"><p>Quote<sup>1</sup> H<sub>2</sub>O'
        '</p></blockquote>\n'
        '<video controls width="640" poster="p.jpg"><source src="v.mp4" type="video/mp4">'
        '<track src="v.vtt" kind="captions" srclang="en" label="English"></video>\n'
        '<audio controls src="a.mp3"></audio>\n'
        '<details><summary>More</summary><aside>Side</aside></details>\n'
        '<dl><dt><abbr title="World Health Organization">WHO</abbr></dt>'
        '<dd><time datetime="2025-03-02">2 March</time></dd></dl>\n'
        '<table><caption>T</caption><thead><tr><th scope="col" style="text-align: left;">a</th>'
        '</tr></thead><tbody><tr><td colspan="2">1</td></tr></tbody></table>\n'
        '<!-- an editor\'s note --><p>&copy; &#8212; <span lang="fr">déjà</span></p>')
    assert clean(html) == (html, [])


SAFE_MARKDOWN = [
    "## Heading &amp; more {#custom .c}\n\nText *em* **strong** `code` &copy; &#8212; and "
    "[a link](https://example.com/?a=1&b=2 \"T\").",
    "Note[^1] here.\n\n[^1]: The *footnote*.",
    "| a | b |\n|:-:|--:|\n| 1 | 2 |",
    "```python\nx = 1 < 2 <script>\n```\n\n`<b onclick=x>`",
    "Mail <me@example.org> or <https://example.org/>.\n\n![img](/i.png \"t\")",
    "Term\n: Definition\n\n1. one\n2. two\n\n> quote",
    "<div class=\"raw\">\n<p>raw <b>bold</b> <i>it</i></p>\n</div>\n\nline  \nbreak\n\n---",
]


@pytest.mark.parametrize("text", SAFE_MARKDOWN)
def test_markdown_with_nothing_unsafe_comes_out_byte_for_byte(text):
    trusted = MarkdownRenderer("/", Sanitizer("trusted")).render(text)
    safe = MarkdownRenderer("/", Sanitizer()).render(text)
    assert safe.html == trusted.html and safe.removed == ()


UNSAFE = [
    "<script>x</script>", '<a href="javascript:x">a</a>', '<img src=x onerror=alert(1)>',
    '<img/src=x/onerror=alert(1)>', '<a href="x"onclick="y">z</a>', "<svg><script>x</script>",
    '<iframe src="https://evil.example/"></iframe>', "<!--><script>x</script>-->",
    '<p style="background:url(x)">s</p>', '<math><mi xlink:href="javascript:x">m</mi></math>',
    '<a href=" javascript:x">a</a>', "<base href=//evil.example/>", "<object data=x.swf>",
    '<meta http-equiv="refresh" content="0;url=javascript:x">', '<td style="color:red">c</td>',
]
FRAGMENTS = [*UNSAFE, YOUTUBE, "<p>", "</p>", "<b>", "text", "&amp;", "&copy;", "<!--", "-->",
             '<a href="/ok/">', "</a>", "<table>", "<td>", '"', "'", "<", ">", "=", " ",
             "<img src='y.png' alt=y>", "<div class=x>", "</div>", "<textarea>", "</iframe>"]


def test_cleaning_is_idempotent():
    rng = random.Random(13)
    samples = UNSAFE + ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 8)))
                        for _ in range(1500)]
    for html in samples:
        once = SAFE.clean(html)
        twice = SAFE.clean(once.html)
        assert twice.html == once.html and twice.removed == (), html


class _Audit(HTMLParser):
    """Python's HTML tokenizer (like a browser's) over cleaned output: anything not kept by
    the policy is a failure."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in POLICY:
            self.bad.append(tag)
        for name, value in attrs:
            allowed = name in POLICY.get(tag, ()) or name in GENERIC_ATTRIBUTES or (
                name == "style" and value in STYLE_VALUES)
            if not allowed or (name in URL_ATTRIBUTES and name != "srcset"
                               and not _url_ok(tag, name, value or "")):
                self.bad.append(f"{tag} {name}={value}")
        if tag == "iframe" and not dict(attrs).get("src", "").startswith(
                "https://www.youtube.com/"):
            self.bad.append("iframe")


def test_random_markup_never_comes_out_with_anything_the_policy_removes():
    rng = random.Random(7)
    for _ in range(3000):
        html = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 10)))
        audit = _Audit()
        audit.feed(SAFE.clean(html).html)
        audit.close()
        assert audit.bad == [], html
        assert not any(tag in SAFE.clean(html).html.lower() for tag in
                       ("<script", "<style", "<svg", "<math")), html


def test_trusted_mode_passes_everything():
    html = f"<script>x()</script><a href=\"javascript:y\" onclick=\"z\">a</a>{YOUTUBE}"
    assert clean(html, Sanitizer("trusted")) == (html, [])
    out = MarkdownRenderer("/", Sanitizer("trusted")).render("<form><input></form>")
    assert "<form><input></form>" in out.html and out.removed == ()


def test_the_markdown_prefilter_sees_every_way_to_write_unsafe_html():
    for text in ("<script>", "[x](javascript:y)", "[x]( <vbscript:y>)", "[x](java&#115;cript:y)",
                 "Para {: onclick=x }", "[r]\n\n[r]: javascript:y", "{{< youtube x >}}"):
        assert may_need_cleaning(text), text
    assert not may_need_cleaning("Plain: prose with [a link](https://e.org/x:y) & [b](/c/).")


# ------------------------------------------------------------------ config, build and check

def make_site(tmp_path: Path, body: str, config: str = "") -> Path:
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "sitegen.toml").write_text('base_url = "https://example.org/"\n' + config,
                                       encoding="utf-8")
    (site / "content" / "story.md").write_text(
        "---\ntitle: Story\ndate: 2025-03-02 10:00:00 +0000\n---\n" + body, encoding="utf-8")
    return site


def test_config_takes_a_mode_and_a_host_list(tmp_path):
    site = make_site(tmp_path, "x", 'raw_html = "trusted"\niframe_hosts = ["embed.example.org"]\n')
    config = load_config(site)
    assert config.raw_html == "trusted" and config.iframe_hosts == ("embed.example.org",)
    assert Sanitizer.from_config(config) == Sanitizer("trusted", ("embed.example.org",))
    default = load_config(make_site(tmp_path / "d", "x"))
    assert default.raw_html == "safe" and default.iframe_hosts == DEFAULT_IFRAME_HOSTS
    assert output_digest(config) != output_digest(default)


@pytest.mark.parametrize(("setting", "message"), [
    ('raw_html = "unsafe"', "'raw_html' must be one of 'safe', 'trusted', got 'unsafe'"),
    ("raw_html = true", "'raw_html' must be str"),
    ('iframe_hosts = "www.youtube.com"', "'iframe_hosts' must be list"),
    ('iframe_hosts = ["https://www.youtube.com/"]', "'https://www.youtube.com/' is not a host"),
    ('iframe_hosts = ["a host"]', "'a host' is not a host name"),
    ("iframe_hosts = [3]", "3 is not a host name"),
])
def test_config_refuses_bad_values(tmp_path, setting, message):
    with pytest.raises(ConfigError) as info:
        load_config(make_site(tmp_path, "x", setting + "\n"))
    assert message in str(info.value)


UNSAFE_BODY = """Intro paragraph.

<script>alert("x")</script>

A [bad link](javascript:alert(1)) here.

<p onclick="steal()">Click</p>

<iframe src="https://evil.example/frame"></iframe>

{YOUTUBE}
"""


def build_site(site: Path, tmp_path: Path) -> str:
    config = load_config(site, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                         search=False, git_history=False, now=FIXED_NOW, jobs=1)
    build(config)
    return (tmp_path / "out" / "2025" / "03" / "02" / "story" / "index.html").read_text()


def test_the_build_publishes_the_body_without_what_was_removed(tmp_path):
    page = build_site(make_site(tmp_path, UNSAFE_BODY.replace("{YOUTUBE}", YOUTUBE)), tmp_path)
    assert "alert" not in page and "steal" not in page and "evil.example" not in page
    assert '<iframe src="https://www.youtube.com/embed/abc" width="560"' in page
    assert "<p>Click</p>" in page and "<a>bad link</a>" in page


def test_trusted_site_publishes_the_body_as_written(tmp_path):
    site = make_site(tmp_path, UNSAFE_BODY.replace("{YOUTUBE}", YOUTUBE), 'raw_html = "trusted"\n')
    page = build_site(site, tmp_path)
    assert '<script>alert("x")</script>' in page and 'onclick="steal()"' in page
    assert content_problems(load_config(site, git_history=False, now=FIXED_NOW)) == []


def content_problems(config) -> list:
    """`check`'s problems in article files (not in the theme, whose layouts others change)."""
    return [p for p in check_site(config) if str(p.path).startswith("content")]


def test_check_lists_what_was_removed_per_file_and_line(tmp_path):
    site = make_site(tmp_path, UNSAFE_BODY.replace("{YOUTUBE}", YOUTUBE))
    problems = content_problems(load_config(site, git_history=False, now=FIXED_NOW))
    assert [str(p) for p in problems] == [
        "content/story.md:7: warning: removed <script> element",
        "content/story.md:9: warning: removed javascript: URL from <a href>",
        "content/story.md:11: warning: removed onclick attribute from <p>",
        "content/story.md:13: warning: removed iframe from evil.example (not in iframe_hosts)",
    ]
    strict = content_problems(load_config(site, git_history=False, now=FIXED_NOW, strict=True))
    assert {p.severity for p in strict} == {"error"}


def test_check_is_quiet_about_a_body_with_nothing_removed(tmp_path):
    site = make_site(tmp_path, f"Text with <b>bold</b> and {{: .x}} and\n\n{YOUTUBE}\n")
    assert content_problems(load_config(site, git_history=False, now=FIXED_NOW)) == []
    assert set(CLEAN_CONTENT).isdisjoint(POLICY)


def test_check_reads_an_html_article_as_html(tmp_path):
    site = make_site(tmp_path, "x")
    (site / "content" / "story.md").unlink()
    (site / "content" / "page.html").write_text(
        "---\ntitle: Page\ndate: 2025-03-02 10:00:00 +0000\n---\n<p>Intro</p>\n\n"
        "    <p onmouseover=\"x()\">indented, not code</p>\n", encoding="utf-8")
    problems = content_problems(load_config(site, git_history=False, now=FIXED_NOW))
    assert [str(p) for p in problems] == [
        "content/page.html:7: warning: removed onmouseover attribute from <p>"]
