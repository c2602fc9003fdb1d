"""The tested version ranges of upstream internals (sitegen/compat.py): inside, the fast paths;
outside, the stock paths, said once; Pagefind outside is an error."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import jinja2
import pytest
from conftest import site_config
from jinja2.compiler import CodeGenerator
from markdown.treeprocessors import InlineProcessor

from sitegen import compat, search
from sitegen.errors import SitegenError
from sitegen.markup import MarkdownRenderer
from sitegen.render import Renderer, quick_escaping_supported

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "## A *b* & [c](/d/)\n\n- `e` <i>f</i> **g**\n\n| h | i |\n|---|---|\n| 1 | 2 |"


@pytest.fixture(autouse=True)
def fresh_answers():
    """Each test asks anew; later tests get the installed versions' answers again."""
    compat.usable.cache_clear()
    yield
    compat.usable.cache_clear()


def installed(monkeypatch: pytest.MonkeyPatch, tested: compat.VersionRange,
              version: str | None) -> None:
    """Pretend `version` of `tested` is installed."""
    real = compat.installed_version
    monkeypatch.setattr(compat, "installed_version",
                        lambda asked: version if asked is tested else real(asked))


def test_a_range_holds_its_lower_bound_and_not_its_upper_one():
    tested = compat.MARKDOWN
    inside = [v for v in ("3.4.4", "3.5", "3.5.0", "3.7", "3.11.4", "3.11.9.post1", "3.12",
                          "3.12.0rc1", "4.0", "", "unknown") if tested.contains(v)]
    assert inside == ["3.5", "3.5.0", "3.7", "3.11.4", "3.11.9.post1"]
    assert compat.release("v1.6.0rc1") == (1, 6, 0) and compat.release("dev") is None
    assert compat.PAGEFIND.contains("1.5.2") and not compat.PAGEFIND.contains("1.5.0")


def test_pyproject_bounds_are_the_tested_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dependencies = {d.replace(" ", "") for d in project["dependencies"]}
    for tested in compat.RANGES:
        for requirement in tested.requirements:
            assert f"{requirement}{tested.text}" in dependencies, requirement


def test_lowest_pins_every_requirement_to_its_lower_bound(capsys):
    assert compat.main(["--lowest"]) == 0
    pins = capsys.readouterr().out.split()
    assert "markdown==3.5" in pins and "pagefind-bin==1.5.2" in pins
    assert len(pins) == sum(len(tested.requirements) for tested in compat.RANGES)


def test_markdown_outside_its_range_runs_stock_and_says_so_once(monkeypatch, capsys):
    quick = MarkdownRenderer("/r/")
    assert "parseBlocks" in vars(quick.md.parser)
    compat.usable.cache_clear()
    installed(monkeypatch, compat.MARKDOWN, "3.12.0")
    stock = [MarkdownRenderer("/r/"), MarkdownRenderer("/r/")]
    for renderer in stock:
        assert type(renderer.md.treeprocessors["inline"]) is InlineProcessor
        assert "parseBlocks" not in vars(renderer.md.parser)
        assert renderer.render(SAMPLE).html == quick.render(SAMPLE).html
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "Python-Markdown 3.12.0" in lines[0] and "markdown>=3.5,<3.12" in lines[0]
    assert "stock Python-Markdown" in lines[0]


def _jinja_render(renderer: Renderer) -> str:
    template = renderer.env.from_string("{{ t }} {{ d.k }} {{ d.items is defined }}")
    return template.render(t="<a href='x'>&</a>", d={"k": "<v>"})


def test_jinja_outside_its_range_uses_its_own_method_and_code_generator(
        make_site, monkeypatch, capsys):
    config = site_config(make_site({}))
    quick = Renderer(config)
    assert "sitegen_escape" in vars(quick.env)
    compat.usable.cache_clear()
    installed(monkeypatch, compat.JINJA2, "3.2.0")
    for _ in range(2):
        stock = Renderer(config)
        assert type(stock.env) is jinja2.Environment
        assert stock.env.code_generator_class is CodeGenerator
        assert "sitegen_escape" not in vars(stock.env)
        assert _jinja_render(stock) == _jinja_render(quick)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Jinja2 3.2.0" in err and "jinja2>=3.1,<3.2" in err


def test_markupsafe_outside_its_range_escapes_with_markupsafe_escape(
        make_site, monkeypatch, capsys):
    installed(monkeypatch, compat.MARKUPSAFE, "2.1.5")
    assert not quick_escaping_supported()
    stock = Renderer(site_config(make_site({})))
    assert "sitegen_escape" not in vars(stock.env)
    assert "escape(" in stock.env.compile("{{ t }}", raw=True)
    assert "sitegen_escape" not in stock.env.compile("{{ t }}", raw=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MarkupSafe 2.1.5" in err and "markupsafe.escape" in err


def test_check_all_says_once_for_each_package_outside(monkeypatch, capsys):
    versions = {compat.MARKDOWN: "3.4.4", compat.MARKUPSAFE: None}
    real = compat.installed_version
    monkeypatch.setattr(compat, "installed_version",
                        lambda asked: versions[asked] if asked in versions else real(asked))
    compat.check_all()
    compat.check_all()
    assert not compat.usable(compat.MARKDOWN) and compat.usable(compat.JINJA2)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "Python-Markdown 3.4.4" in lines[0] and "MarkupSafe (version unknown)" in lines[1]


def test_pagefind_has_no_stock_path_and_its_check_reads_the_range_here(monkeypatch):
    with pytest.raises(ValueError, match="Pagefind"):
        compat.usable(compat.PAGEFIND)
    narrower = compat.VersionRange("Pagefind", ("pagefind-bin",), (1, 5, 3), (1, 6), "", None)
    monkeypatch.setattr(compat, "PAGEFIND", narrower)
    with pytest.raises(SitegenError, match=r"Pagefind 1\.5\.2 .*>=1\.5\.3,<1\.6"):
        search.check_pagefind()


# ---------------------------------------------------------------- at both ends of each range

@pytest.mark.compat
def test_the_installed_versions_are_inside_the_tested_ranges(capsys):
    """Run in the lowest and the newest venv: the fast paths the equality tests compare with
    stock are on at both ends, and nothing is said."""
    for tested in compat.RANGES:
        version = compat.installed_version(tested)
        distribution = tested.requirements[0].split("[")[0]
        assert version == metadata.version(distribution)
        if tested.fallback is not None:
            assert compat.usable(tested), version
    assert compat.PAGEFIND.contains(search.check_pagefind()[1])
    assert quick_escaping_supported()
    assert capsys.readouterr().err == ""


def test_a_build_with_forked_workers_says_it_once(make_site, monkeypatch, capfd):
    """The build asks before it forks: its workers inherit the answers and say nothing."""
    from conftest import article, build_site

    versions = {compat.MARKDOWN: "3.12.0", compat.JINJA2: "3.2.0"}
    real = compat.installed_version
    monkeypatch.setattr(compat, "installed_version",
                        lambda asked: versions[asked] if asked in versions else real(asked))
    site = make_site({f"content/a{i}.md": article(f"Story {i}", f"2025-01-{i % 28 + 1:02d}",
                                                  body=f"Some *words* {i}.") for i in range(210)})
    report = build_site(site, jobs=2)
    assert report is not None
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert "Python-Markdown 3.12.0" in lines[0] and "Jinja2 3.2.0" in lines[1]
