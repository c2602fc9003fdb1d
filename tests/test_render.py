from __future__ import annotations

import pytest
from conftest import article, build_site, site_config

from sitegen.render import template_digests


def test_site_layouts_override_the_theme_file_by_file(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01"),
                      "layouts/404.html": "{% extends 'base.html' %}{% block main %}"
                                          "<h1>Lost at sea</h1>{% endblock %}",
                      "layouts/assets/style.css": "body{color:red}"})
    build_site(site)
    assert "Lost at sea" in (site / "output/404.html").read_text()
    assert "masthead" in (site / "output/404.html").read_text()  # base.html from the theme
    assert (site / "output/assets/style.css").read_text() == "body{color:red}"
    assert "Skip to content" in (site / "output/index.html").read_text()


def test_template_digest_follows_extends_and_includes(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01")})
    before = template_digests(site_config(site))
    (site / "layouts/partials").mkdir(parents=True)
    (site / "layouts/partials/headline.html").write_text("{{ item.title }}")
    after = template_digests(site_config(site))
    assert before["list.html"] != after["list.html"]  # includes the partial
    assert before["home.html"] != after["home.html"]
    assert before["terms.html"] == after["terms.html"]  # does not use it
    assert before["article.html"] == after["article.html"]


def test_article_page_head(make_site):
    site = make_site({"content/a-headline.md": article("A headline", "2025-01-01 10:00:00 +0100",
                                                       summary="The summary.", image="/img/x.png")},
                     config='base_url = "https://x.org/repo/"\nlanguage = "en-GB"\n')
    build_site(site)
    html = (site / "output/2025/01/01/a-headline/index.html").read_text()
    assert '<html lang="en-GB">' in html
    assert "<title>A headline | " in html
    assert '<meta name="description" content="The summary.">' in html
    assert '<link rel="canonical" href="https://x.org/repo/2025/01/01/a-headline/">' in html
    assert '<meta property="og:image" content="https://x.org/repo/img/x.png">' in html
    assert 'type="application/rss+xml"' in html and '"@type": "NewsArticle"' in html


def test_memo_renders_a_macro_once_per_object_and_macro():
    import jinja2

    from sitegen.render import MacroMemo

    runs = []
    env = jinja2.Environment(loader=jinja2.DictLoader({
        "m.html": "{% macro a(x) %}{{ tick() }}<a>{{ x.t }}</a>{% endmacro %}"
                  "{% macro b(x) %}{{ tick() }}<b>{{ x.t }}</b>{% endmacro %}",
        "page.html": "{% from 'm.html' import a, b %}{% for x in xs %}"
                     "{{ a | memo(x) }}{{ b | memo(x) }}{% endfor %}",
    }), autoescape=True)
    env.filters["memo"] = MacroMemo()
    env.globals["tick"] = lambda: runs.append(1) or ""

    class Item:
        def __init__(self, t):
            self.t = t

    one, two = Item("<1>"), Item("2")
    page = env.get_template("page.html")
    assert page.render(xs=[one, two, one]) == ("<a>&lt;1&gt;</a><b>&lt;1&gt;</b><a>2</a><b>2</b>"
                                               "<a>&lt;1&gt;</a><b>&lt;1&gt;</b>")
    assert len(runs) == 4  # two macros x two objects; the repeat came from the memo
    assert page.render(xs=[two, Item("2")]) == "<a>2</a><b>2</b>" * 2
    assert len(runs) == 6  # another page reuses it too; an equal but new object is its own
    env.filters["memo"] = small = MacroMemo(limit=3)
    items = [Item(str(i)) for i in range(10)]
    assert env.get_template("page.html").render(xs=items) == "".join(
        f"<a>{i}</a><b>{i}</b>" for i in range(10))
    assert len(small.done) <= 3


def test_memo_knows_an_article_by_its_card_and_lets_the_object_go():
    """On Dask each chunk of pages arrives as new objects: the same article (same card) is
    rendered once, and the memo keeps its output, not the object."""
    import dataclasses
    import pickle
    from datetime import datetime

    import jinja2

    from sitegen.fingerprint import card_digest
    from sitegen.records import Article
    from sitegen.render import MacroMemo

    runs = []
    env = jinja2.Environment(loader=jinja2.DictLoader({
        "m.html": "{% macro a(x) %}{{ tick() }}<a>{{ x.title }}</a>{% endmacro %}",
        "page.html": "{% from 'm.html' import a %}{% for x in xs %}{{ a | memo(x) }}{% endfor %}",
    }), autoescape=True)
    env.filters["memo"] = memo = MacroMemo()
    env.globals["tick"] = lambda: runs.append(1) or ""

    def article(title):
        plain = Article(source="a.md", digest="d", title=title, slug="s", url="/s/",
                        date=datetime(2025, 1, 1), summary="")
        return dataclasses.replace(plain, card=card_digest(plain))

    page = env.get_template("page.html")
    first = article("One")
    again = pickle.loads(pickle.dumps(first))  # another chunk's copy of the same article
    assert page.render(xs=[first]) == page.render(xs=[again]) == "<a>One</a>"
    assert len(runs) == 1
    assert page.render(xs=[article("Two")]) == "<a>Two</a>" and len(runs) == 2
    assert len(memo.done) == 2
    assert all(kept is None for kept, _ in memo.done.values())  # no article object held


def test_dot_access_on_dicts_keeps_jinja_semantics(make_site):
    import jinja2
    import pytest

    from sitegen.render import Renderer

    env = Renderer(site_config(make_site({"content/a.md": article("A", "2025-01-01")}))).env
    page = {"title": "T", "items": "shadowed", "n": 0}

    def show(source, **context):
        return env.from_string(source).render(**context)

    assert show("{{ p.title }} {{ p.n }}", p=page) == "T 0"
    assert show("{{ p.items() | list | length }}", p=page) == "3"  # dict methods win, as in Jinja
    assert show("{{ p['items'] }}", p=page) == "shadowed"
    with pytest.raises(jinja2.UndefinedError, match="no attribute 'missing'"):
        show("{{ p.missing }}", p=page)
    assert show("{{ t.upper() }} {{ l.0 }}", t="x", l=["first"]) == "X first"


@pytest.mark.compat  # fast path against stock: make test-compat
def test_quick_escape_is_markupsafe_escape():
    import markupsafe

    from sitegen.render import escape, quick_escaping_supported

    class Html:
        def __html__(self):
            return "<b>safe</b>"

    class Text(str):
        pass

    assert quick_escaping_supported()
    for value in ["plain", "<a href=\"x\">'&'</a>", "", "é & ü", markupsafe.Markup("<i>"),
                  Text("<sub>"), 42, 3.5, None, Html(), ("<t>",)]:
        quick, stock = escape(value), markupsafe.escape(value)
        assert (quick, type(quick)) == (stock, type(stock)), value


@pytest.mark.compat  # fast path against stock: make test-compat
def test_quick_escaping_renders_the_same_site(make_site, monkeypatch):
    from conftest import read_tree

    import sitegen.render as render_module
    from sitegen.render import Renderer

    renderer = Renderer(site_config(make_site({})))
    source = renderer.env.loader.get_source(renderer.env, "article.html")[0]
    assert "environment.sitegen_escape(" in renderer.env.compile(source, raw=True)

    files = {f"content/a{i}.md": article(
        f"Story <{i}> & 'more'", f"2026-02-0{i + 1} 10:00:00 -0500", section="World & Co",
        body="Body with <em>html</em> & entities &amp; text.", tags=["A&B", "<c>"])
        for i in range(3)}
    site = make_site(files)
    build_site(site, search=False)
    monkeypatch.setattr(render_module, "quick_escaping_supported", lambda: False)
    stock = site.parent / "stock"
    build_site(site, search=False, output_dir=stock, cache_dir=site.parent / "stock-cache")
    assert read_tree(site / "output") == read_tree(stock)


def test_the_sections_nav_marks_the_current_section_only(make_site):
    import re

    site = make_site({
        "content/a.md": article("A", "2026-02-01 10:00:00 -0500", section="World"),
        "content/b.md": article("B", "2026-02-02 10:00:00 -0500", section="Sport"),
    })
    build_site(site, search=False)

    def current(rel):
        html = (site / "output" / rel).read_text()
        nav = html.split('class="sections-nav"', 1)[1].split("</nav>", 1)[0]
        return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)

    assert current("sections/world/index.html") == ["/sections/world/"]
    assert current("sections/sport/index.html") == ["/sections/sport/"]
    assert current("index.html") == ["/"]
    assert current("2026/02/01/a/index.html") == []


def test_compiled_templates_are_cached_and_follow_an_edited_template(make_site):
    site = make_site({"content/a.md": article("A", "2025-01-01"),
                      "layouts/404.html": "{% extends 'base.html' %}{% block main %}"
                                          "<h1>Lost at sea</h1>{% endblock %}"})
    build_site(site)
    [folder] = (site / ".sitegen-cache").glob("templates-*")
    cached = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(cached) >= 3  # 404.html, base.html and what base.html includes
    (site / "layouts/404.html").write_text("{% extends 'base.html' %}{% block main %}"
                                           "<h1>Adrift</h1>{% endblock %}")
    build_site(site)
    assert "Adrift" in (site / "output/404.html").read_text()
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert sum(after[name] != mtime for name, mtime in cached.items()) == 1  # 404.html only
