"""sitegen's code identity: a build after the code changed (even at the same version, as a
checkout or a `pip install git+...` of another commit is) parses and renders again."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from conftest import article, site_config

from sitegen import __version__, codeid, content
from sitegen.build import build


@pytest.fixture
def copied_package(tmp_path, monkeypatch):
    """sitegen's files copied, with code_digest reading the copy."""
    copy = tmp_path / "package"
    shutil.copytree(codeid.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codeid, "PACKAGE", copy)
    codeid.code_digest.cache_clear()
    yield copy
    codeid.code_digest.cache_clear()


def test_the_digest_holds_the_version_and_follows_every_file(copied_package):
    before = codeid.code_digest()
    assert before.startswith(f"{__version__}+") and codeid.code_digest() is before  # once
    codeid.code_digest.cache_clear()
    assert codeid.code_digest() == before  # the same files, the same digest
    with open(copied_package / "markup.py", "a") as file:
        file.write("\n# another commit\n")
    codeid.code_digest.cache_clear()
    assert codeid.code_digest() != before
    codeid.code_digest.cache_clear()
    (copied_package / "markup.py").rename(copied_package / "markup2.py")
    assert codeid.code_digest() != before  # a file's name counts too


def test_a_build_after_the_code_changed_parses_again(make_site, copied_package, monkeypatch):
    site = make_site({"content/2025/01/a-story.md": article("A story", "2025-01-02")})
    config = site_config(site)
    build(config)
    page = config.output_dir / "2025" / "01" / "02" / "a-story" / "index.html"
    assert "A story" in page.read_text()

    parse_source = content.parse_source

    def new_code(*args, **kwargs):  # the next commit's parser: another title
        parsed = parse_source(*args, **kwargs)
        return dataclasses.replace(parsed, article=dataclasses.replace(
            parsed.article, title="A story, parsed by new code"))

    monkeypatch.setattr(content, "parse_source", new_code)
    (copied_package / "content.py").write_text("# the next commit's content.py\n")
    codeid.code_digest.cache_clear()
    report = build(config)
    assert report.pages_rendered > 0
    assert "A story, parsed by new code" in page.read_text()
